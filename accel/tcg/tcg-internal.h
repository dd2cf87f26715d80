/*
 * What the core files of the software CPU (mmu.c, operand.c, cpu-exec.c,
 * block-cache.c, exec-system.c, tcg.c) share beyond tcg-cpu.h.  Owned by
 * the core thread; the executor families use tcg-cpu.h only.
 *
 * Threads: all of it works on one struct tcg_cpu, on its vCPU thread.
 */
#ifndef HYVM_TCG_INTERNAL_H
#define HYVM_TCG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "accel/tcg/tcg-cpu.h"

/* A 64-bit linear address is canonical: bits 63:47 all equal (SDM vol. 1,
 * 3.3.7.1; 48-bit linear addresses, no LA57). */
static inline bool tcg_canonical(uint64_t a)
{
    return (uint64_t)(((int64_t)(a << 16)) >> 16) == a;
}

/* Privileged instructions outside CPL 0: #GP(0). */
static inline enum tcg_status tcg_need_cpl0(struct tcg_cpu *cpu)
{
    return cpu->cpl ? tcg_raise_err(cpu, EXC_GP, 0) : TCG_OK;
}

/* The physical-address width the software CPU implements (QEMU's TCG
 * default); paging-structure bits above it are reserved (SDM vol. 3, 4.1.4). */
#define TCG_PHYS_BITS 40

/*
 * A TLB entry bit beside TLB_W/U/X: this vCPU has decoded blocks in the
 * page, so a write through this entry takes the slow path, which tells the
 * block cache (self-modifying code).  Other vCPUs' blocks are in the
 * page's code word (code-pages.c), which a write checks as well.
 */
#define TLB_CODE 0x80

#define MSR_IA32_TSC 0x10
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_FMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176

/* ---- mmu.c ---- */
/*
 * Implicit supervisor accesses (descriptor tables, SDM vol. 3, 4.6): the
 * CPL does not make them user accesses.
 */
enum tcg_status tcg_read_lin_sys(struct tcg_cpu *cpu, uint64_t lin, void *buf, unsigned size);
enum tcg_status tcg_write_lin_sys(struct tcg_cpu *cpu, uint64_t lin, const void *buf,
                                  unsigned size);
/*
 * Translates the linear address of an instruction fetch: on success *gpa
 * is the guest-physical address and *host the host address of that byte,
 * or NULL when the page is not RAM.
 */
enum tcg_status tcg_translate_exec(struct tcg_cpu *cpu, uint64_t lin, uint64_t *gpa,
                                   uint8_t **host);
/* Sets or clears TLB_CODE on every entry that maps gpa_page. */
void tcg_tlb_mark_code(struct tcg_cpu *cpu, uint64_t gpa_page, bool code);

/* ---- block-cache.c ---- */
/*
 * A decoded run of instructions within one guest-physical page, ended by a
 * control transfer, an instruction that changes the mode or the mapping,
 * or the end of the page.  An instruction that crosses the page is never
 * in a block: tcg_step() runs it.
 */
/*
 * A block the loop went to after this one: the block at linear address lin
 * for CPL cpl.  It stands for the TLB lookup and the cache lookup as long as
 * the cache's generation is still gen: no TLB flush (the mapping and the
 * permissions of lin are the ones the TLB checked) and no block dropped
 * (to is alive) since.
 */
struct tcg_block_link {
    uint64_t lin;
    uint64_t gen;
    struct tcg_block *to;
    uint8_t cpl;
};

#define TCG_BLOCK_LINKS 2

struct tcg_block {
    uint64_t gpa;               /* of the first instruction */
    struct tcg_block *hnext;    /* lookup chain */
    struct tcg_block *pnext;    /* blocks of the same page */
    uint32_t bytes;             /* length of the run in bytes */
    uint16_t n;                 /* instructions */
    uint8_t mode;               /* enum cpu_mode it was decoded for */
    bool dead;                  /* invalidated while running: freed on leave */
    uint8_t link_next;          /* the slot the next new link takes */
    /* The last successors (a jump's target and its fall-through). */
    struct tcg_block_link link[TCG_BLOCK_LINKS];
    /* Host code doing what run_block's loop does (jit-translate.h), or NULL:
     * the loop runs it.  It lives in the vCPU's code buffer, which is only
     * reset between blocks, after the cache is flushed. */
    uint64_t (*code)(struct tcg_cpu *cpu, const bool *hit);
    struct insn insn[];
};

/* The block at gpa for mode, or NULL. */
struct tcg_block *tcg_blocks_lookup(struct tcg_block_cache *bc, uint64_t gpa, enum cpu_mode mode);
/* Adds a block decoded by the loop (cpu-exec.c); its page becomes code. */
void tcg_blocks_insert(struct tcg_cpu *cpu, struct tcg_block *b);
/*
 * The block the loop runs: a write into its page (tcg_code_written) sets
 * *tcg_blocks_hit(bc) so the loop leaves it after the current instruction,
 * and leaving frees it if it was dropped meanwhile.
 */
void tcg_blocks_enter(struct tcg_block_cache *bc, struct tcg_block *b);
void tcg_blocks_leave(struct tcg_block_cache *bc);
bool *tcg_blocks_hit(struct tcg_block_cache *bc);
/*
 * The block the loop is in, and where that is kept: translated code that goes on to the next
 * block by itself (jit-translate.c, chaining) makes that one current, as entering it would
 * (the hit flag is clear there already).
 */
struct tcg_block *tcg_blocks_current(const struct tcg_block_cache *bc);
struct tcg_block **tcg_blocks_current_ptr(struct tcg_block_cache *bc);
/* Where the generation is kept, for translated code that checks a link. */
const uint64_t *tcg_blocks_gen_ptr(const struct tcg_block_cache *bc);

/*
 * The cache's generation: it moves on whenever a block is dropped and
 * whenever the vCPU's TLB is flushed (tcg_blocks_unlink), which makes every
 * tcg_block_link made before stale.
 */
uint64_t tcg_blocks_gen(const struct tcg_block_cache *bc);
void tcg_blocks_unlink(struct tcg_block_cache *bc);

struct tcg_block_cache *tcg_blocks_new(void);
void tcg_blocks_free(struct tcg_block_cache *bc);
/* Drops every block (mode or mapping changes that outlive the TLB). */
void tcg_blocks_flush(struct tcg_block_cache *bc);
bool tcg_blocks_page_has_code(struct tcg_block_cache *bc, uint64_t gpa_page);
/* Drops cpu's own blocks of the page (the one running is left after its instruction). */
void tcg_blocks_drop_page(struct tcg_cpu *cpu, uint64_t gpa_page);

/* ---- code-pages.c ---- (any thread) */
/* The page's code word: bit min(i, 31) while vCPU i may have blocks there. */
uint32_t *tcg_code_word(uint64_t gpa_page);
/* Some vCPU may have blocks in the page. */
bool tcg_code_page(uint64_t gpa_page);
/* cpu is about to decode the page (before it reads a byte of it). */
void tcg_code_mark(struct tcg_cpu *cpu, uint64_t gpa_page);
/* cpu stored into a page with code: every vCPU's blocks of it go. */
void tcg_code_written(struct tcg_cpu *cpu, uint64_t gpa_page);
/* On cpu's thread: drops the pages other vCPUs wrote since the last call. */
void tcg_code_drain(struct tcg_cpu *cpu);
void tcg_code_cpu_free(struct tcg_cpu *cpu);
/* A device wrote [gpa, gpa + len) of RAM (ram_set_write_hook). */
void tcg_ram_written(uint64_t gpa, uint64_t len);
/* [gpa, gpa + len) maps to other bytes now (mem_set_map_hook): every vCPU's blocks of it
 * and every TLB go; the calling vCPU's at once, the others' before their next block. */
void tcg_map_changed(uint64_t gpa, uint64_t len);

/* ---- exec-system.c ---- */
/*
 * Delivers cpu->exc through the IDT (or the real-mode IVT), escalating to
 * #DF as SDM vol. 3, 6.15 says; false when the CPU shuts down (a fault
 * while delivering #DF: a triple fault), with cpu->exc the last fault.
 */
bool tcg_deliver_exception(struct tcg_cpu *cpu);
enum tcg_status tcg_read_cr(struct tcg_cpu *cpu, unsigned n, uint64_t *val);
enum tcg_status tcg_write_cr(struct tcg_cpu *cpu, unsigned n, uint64_t val);
enum tcg_status tcg_read_dr(struct tcg_cpu *cpu, unsigned n, uint64_t *val);
enum tcg_status tcg_write_dr(struct tcg_cpu *cpu, unsigned n, uint64_t val);

/* ---- interrupts.c ---- (the userspace i8259, i8254 and local APIC, see
 * interrupts.h for the APIC calls; big lock held
 * except for tcg_irqchip_ack, which takes it) */
struct machine;
struct vcpu;
int tcg_irqchip_init(struct machine *m, GError **errp);
void tcg_irqchip_set_irq(unsigned gsi, int level);
/* The interrupt-acknowledge cycle: the vector, or -1 if INTR fell. */
int tcg_irqchip_ack(struct tcg_cpu *cpu);
/* The HPET's legacy replacement route took IRQ 0 from the i8254 (on) or gave it back. */
void tcg_irqchip_pit_gate(bool hpet_legacy);
void tcg_irqchip_reset(void);

/* ---- tcg.c ---- */
/* The vCPU's INTR pin is now level (wakes it from HLT when raised). */
void tcg_vcpu_set_intr(struct vcpu *vcpu, bool level);
/* Leave the guest after the current instruction (an MMIO write ended or
 * paused the VM: it is the last instruction the guest runs). */
void tcg_stop_after_insn(struct tcg_cpu *cpu);
/* INIT and start-up IPIs reaching a vCPU (its APIC already took them). */
void tcg_vcpu_init_signal(struct vcpu *vcpu);
void tcg_vcpu_sipi(struct vcpu *vcpu, uint8_t vector);
/* The software vCPU this thread runs, NULL elsewhere (the APIC page is the
 * accessing vCPU's own). */
struct tcg_cpu *tcg_current_cpu(void);
/* Every vCPU created so far, in index order (NULL entries for none). */
unsigned tcg_cpu_count(void);
struct tcg_cpu *tcg_cpu_at(unsigned i);
/* cpu's vCPU index (0 for a unit test's CPU). */
unsigned tcg_cpu_index(const struct tcg_cpu *cpu);
/* Asks cpu to leave translated code at its next block boundary (any thread). */
void tcg_cpu_request_exit(struct tcg_cpu *cpu);
/* The vCPUs run on their threads at once (-accel tcg,thread=multi with more than one):
 * locked instructions then go through tcg_exec_locked. */
extern bool tcg_mttcg;

/* ---- icount.c (-icount: one vCPU at a time, in turns counted in instructions) ---- */
extern bool tcg_icount_on;
/* Makes the virtual clock count instructions (before any timer exists). */
void tcg_icount_enable(int shift, bool sleep);
void tcg_icount_add_vcpu(unsigned index);
/* Waits until it is vCPU me's turn; false when kicked meanwhile. */
bool tcg_icount_wait_turn(unsigned me, volatile bool *kick);
/* Gives the turn to the next vCPU after me that has something to run;
 * false, keeping it, when none has. */
bool tcg_icount_pass_turn(unsigned me);
/* tcg.c: vCPU index runs, or would run once its turn comes (not halted,
 * or an interrupt, NMI or start-up IPI it would take). */
bool tcg_icount_has_work(unsigned index);
/* Nobody has anything to run: moves the clock to the next timer (in host time with sleep=on)
 * and runs what is due. */
void tcg_icount_idle(volatile bool *kick);
/* Runs the timers whose deadline the clock reached; true when any did. */
bool tcg_icount_run_timers(void);
/* Where the turn that starts now ends. */
uint64_t tcg_icount_slice_end(const struct tcg_cpu *cpu);
/* cpu->icount_limit: the next timer deadline or slice_end, whichever is first. */
void tcg_icount_set_limit(struct tcg_cpu *cpu, uint64_t slice_end);
/* Wakes whoever waits for a turn or in the idle wait. */
void tcg_icount_wake(void);

/* ---- cpu-exec.c ---- */
/* The handler the interpreter runs in with (the locked wrapper aside). */
tcg_exec_fn tcg_handler_of(const struct insn *in);

/* ---- locked.c ---- */
/* A LOCK-prefixed instruction, or XCHG with memory (always locked). */
bool tcg_insn_locked(const struct insn *in);
/* Runs in's handler so that its read-modify-write of memory is atomic for other vCPUs. */
enum tcg_status tcg_exec_locked(struct tcg_cpu *cpu, const struct insn *in);
/* cpu->lk.state: outside a locked instruction; waiting for its read; read; written (held
 * back); or running serially under the process-wide mutex. */
enum { LK_OFF, LK_ARMED, LK_READ, LK_WRITTEN, LK_SERIAL };
/* For mmu.c: the read of a locked destination at host (aligned, RAM, no code) ... */
void tcg_locked_load(struct tcg_cpu *cpu, uint64_t lin, uint8_t *host, unsigned size);
/* ... any other one: run serially from here on ... */
void tcg_locked_serial(struct tcg_cpu *cpu);
/* ... and the write of the bytes read, held back (false: another write). */
bool tcg_locked_capture(struct tcg_cpu *cpu, uint64_t lin, const void *buf, unsigned size);

#endif
