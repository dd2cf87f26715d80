/*
 * The software CPU's memory path: segmentation (limits, rights, the 64-bit
 * canonical rule), the paging walks of SDM vol. 3, chapter 4 (32-bit, PAE
 * and 4-level), the accessed/dirty bits, the permission checks and #PF
 * error codes, and a direct-mapped TLB of 4 KiB pages in front of them.
 * RAM is reached through host pointers; a page that is not RAM goes to
 * io_mmio() under the big lock.
 *
 * Threads: a struct tcg_cpu and its TLB belong to its vCPU thread.  The
 * A/D updates of paging entries in guest RAM are atomic ORs, since another
 * vCPU may share the tables.
 */
#include <string.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"
#include "system/log.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/runstate.h"

#define PAGE_SIZE 4096u
#define PAGE_MASK 0xfffull

/* Paging-structure entry bits (SDM vol. 3, 4.3, 4.4.2, 4.5). */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_XD (1ull << 63)

/* #PF error code bits (SDM vol. 3, 4.7). */
#define PFERR_P 1u
#define PFERR_W 2u
#define PFERR_U 4u
#define PFERR_RSVD 8u
#define PFERR_I 16u

#define PHYS_MASK (((1ull << TCG_PHYS_BITS) - 1) & ~PAGE_MASK)

/* A TLB entry bit beside TLB_W/U/X and TLB_CODE: the 4 KiB piece of a
 * large page, which INVLPG must drop with all its pieces. */
#define TLB_LARGE 0x40

/* ---- segmentation ---- */

static enum tcg_status seg_fault(struct tcg_cpu *cpu, unsigned seg)
{
    return tcg_raise_err(cpu, seg == S_SS ? EXC_SS : EXC_GP, 0);
}

/* Inline into the memory accesses below, which run for every memory operand. */
static inline __attribute__((always_inline)) enum tcg_status
linear(struct tcg_cpu *cpu, unsigned seg, uint64_t off, unsigned size, enum tcg_access acc,
       uint64_t *lin)
{
    const struct x86_segment *s = &cpu->st.seg[seg < S__MAX ? seg : S_DS];
    uint64_t end = off + (size ? size - 1 : 0);

    if (cpu->mode == MODE_LONG64) {
        /* SDM vol. 3, 3.2.4: only FS and GS keep a base; no limits. */
        uint64_t a = off + ((seg == S_FS || seg == S_GS) ? s->base : 0);

        if (!tcg_canonical(a) || !tcg_canonical(a + (size ? size - 1 : 0))) {
            return seg_fault(cpu, seg);
        }
        *lin = a;
        return TCG_OK;
    }
    if ((cpu->st.cr0 & CR0_PE) && !(cpu->st.rflags & RFLAGS_VM)) {
        /* Protected mode (SDM vol. 3, 5.3 and 5.4): a null selector, then
         * the type, then the limit. */
        if (s->unusable || !s->present) {
            return seg_fault(cpu, seg);
        }
        if (acc != ACC_EXEC) {
            bool code = s->type & 8;

            if (acc == ACC_WRITE ? (code || !(s->type & 2)) : (code && !(s->type & 2))) {
                return seg_fault(cpu, seg);
            }
            if (!code && (s->type & 4)) {
                /* Expand-down: offsets above the limit up to 64K or 4G. */
                uint64_t upper = s->db ? 0xffffffffull : 0xffffull;

                if (off <= s->limit || end > upper) {
                    return seg_fault(cpu, seg);
                }
                *lin = (s->base + off) & 0xffffffffull;
                return TCG_OK;
            }
        }
    }
    /* Real mode keeps the cached limit as well (SDM vol. 3, 20.1.1). */
    if (end > s->limit) {
        return seg_fault(cpu, seg);
    }
    *lin = (s->base + off) & 0xffffffffull;
    return TCG_OK;
}

enum tcg_status tcg_linear(struct tcg_cpu *cpu, unsigned seg, uint64_t off, unsigned size,
                           enum tcg_access acc, uint64_t *lin)
{
    return linear(cpu, seg, off, size, acc, lin);
}

/* ---- the TLB ---- */

/*
 * The slot of a page.  Folding the higher bits in keeps pages that lie a
 * multiple of 1 MiB apart (code, stack and data of a small kernel often
 * do) out of each other's way.
 */
static inline unsigned tlb_index(uint64_t vpage)
{
    return (unsigned)(vpage ^ (vpage >> 8) ^ (vpage >> 16)) & (TCG_TLB_SIZE - 1);
}

static void tlb_fast_flush(struct tcg_cpu *cpu)
{
    memset(cpu->tlbf, 0xff, sizeof(cpu->tlbf));
}

void tcg_tlb_flush(struct tcg_cpu *cpu)
{
    for (unsigned i = 0; i < TCG_TLB_SIZE; i++) {
        cpu->tlb[i].vpage = ~0ull;
    }
    tlb_fast_flush(cpu);
    /* Block links stand for TLB lookups: they go with the TLB. */
    tcg_blocks_unlink(cpu->blocks);
}

/*
 * INVLPG (SDM vol. 3, 4.10.4.1) drops the translation of lin's page.  A
 * large page is cached as its 4 KiB pieces, each in its own slot, and any
 * of them may be the one lin lies in: every large-page piece goes, which
 * drops more than asked, as the SDM allows.
 */
void tcg_tlb_flush_page(struct tcg_cpu *cpu, uint64_t lin)
{
    struct tcg_tlb_entry *e = &cpu->tlb[tlb_index(lin >> 12)];

    tcg_blocks_unlink(cpu->blocks);
    /* The fast TLB does not know which of its pages were large: all of it goes. */
    tlb_fast_flush(cpu);
    if (e->vpage == lin >> 12) {
        e->vpage = ~0ull;
    }
    for (unsigned i = 0; i < TCG_TLB_SIZE; i++) {
        if (cpu->tlb[i].perm & TLB_LARGE) {
            cpu->tlb[i].vpage = ~0ull;
            cpu->tlb[i].perm = 0;
        }
    }
}

void tcg_tlb_mark_code(struct tcg_cpu *cpu, uint64_t gpa_page, bool code)
{
    for (unsigned i = 0; i < TCG_TLB_SIZE; i++) {
        struct tcg_tlb_entry *e = &cpu->tlb[i];

        if (e->vpage != ~0ull && e->gpa_page == gpa_page) {
            e->perm = code ? (e->perm | TLB_CODE) : (e->perm & ~TLB_CODE);
        }
    }
    /* Writes to a code page must reach the block cache: none goes there fast. */
    if (code) {
        for (unsigned i = 0; i < TCG_TLB_FAST_SIZE; i++) {
            if (cpu->tlbf[i].gpa_page == gpa_page) {
                cpu->tlbf[i].write = ~0ull;
            }
        }
    }
}

/*
 * Whether an access of kind acc may use a page whose walk found perm
 * (SDM vol. 3, 4.6): user is a CPL-3 access that is not implicit.
 */
static inline bool perm_ok(const struct tcg_cpu *cpu, unsigned perm, enum tcg_access acc,
                           bool user, bool implicit)
{
    if (!(cpu->st.cr0 & CR0_PG)) {
        return true;    /* SMEP/SMAP and the rest need paging */
    }
    if (user && !(perm & TLB_U)) {
        return false;
    }
    switch (acc) {
    case ACC_WRITE:
        if (!(perm & TLB_W) && (user || (cpu->st.cr0 & CR0_WP))) {
            return false;
        }
        break;
    case ACC_EXEC:
        if (!(perm & TLB_X)) {
            return false;
        }
        if (!user && (perm & TLB_U) && (cpu->st.cr4 & CR4_SMEP)) {
            return false;
        }
        return true;
    default:
        break;
    }
    /* SMAP (4.6.1): supervisor data access to a user page, unless an
     * explicit access at CPL < 3 with EFLAGS.AC set ("if EFLAGS.AC = 0
     * or the access is implicit", never). */
    if (!user && (perm & TLB_U) && (cpu->st.cr4 & CR4_SMAP) &&
        (implicit || cpu->cpl == 3 || !(cpu->st.rflags & RFLAGS_AC))) {
        return false;
    }
    return true;
}

void tcg_tlb_fast_fill(struct tcg_cpu *cpu, uint64_t lin)
{
    const struct tcg_tlb_entry *e = &cpu->tlb[tlb_index(lin >> 12)];
    struct tcg_tlb_fast *f = &cpu->tlbf[(lin >> 12) & (TCG_TLB_FAST_SIZE - 1)];
    uint64_t ctx = cpu->tlb_ctx, page = lin & ~(uint64_t)PAGE_MASK;
    bool user = ctx & TCG_TLB_CTX_USER;

    f->read = ~0ull;
    __atomic_store_n(&f->write, ~0ull, __ATOMIC_RELAXED);
    if (e->vpage != lin >> 12 || !e->host || (ctx & TCG_TLB_CTX_ALIGN) ||
        !(ctx & TCG_TLB_CTX_VALID) || (cpu->st.dr[7] & 0xff) ||
        (!user && (e->perm & TLB_U) && (cpu->st.cr4 & CR4_SMAP) && (cpu->st.cr0 & CR0_PG))) {
        return;
    }
    f->addend = (uintptr_t)e->host - (uintptr_t)page;
    __atomic_store_n(&f->gpa_page, e->gpa_page, __ATOMIC_RELAXED);
    if (perm_ok(cpu, e->perm, ACC_READ, user, false)) {
        f->read = page | ctx;
    }
    if (perm_ok(cpu, e->perm, ACC_WRITE, user, false) && e->dirty && !(e->perm & TLB_CODE) &&
        !__atomic_load_n(e->code, __ATOMIC_RELAXED)) {
        __atomic_store_n(&f->write, page | ctx, __ATOMIC_RELAXED);
        /* Another vCPU may be making the page code now: it sets the word, then clears the
         * write tag of any slot it sees mapping the page (code-pages.c).  Either it saw this
         * slot or this sees its word. */
        if (tcg_mttcg) {
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (__atomic_load_n(e->code, __ATOMIC_RELAXED)) {
                __atomic_store_n(&f->write, ~0ull, __ATOMIC_RELAXED);
            }
        }
    }
}

/* ---- the walk ---- */

struct walk {
    uint64_t gpa;       /* of the byte */
    unsigned perm;      /* TLB_W | TLB_U | TLB_X */
    bool dirty;
};

/* A paging-structure entry in guest RAM; outside RAM it reads as not present. */
static inline void *pte_ptr(uint64_t gpa, unsigned size)
{
    return ram_hva(gpa, size);
}

static inline uint64_t pte_load(void *p, unsigned size)
{
    if (size == 4) {
        return __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
    }
    return __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
}

static inline void pte_set(void *p, unsigned size, uint64_t bits)
{
    if (size == 4) {
        __atomic_fetch_or((uint32_t *)p, (uint32_t)bits, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_or((uint64_t *)p, bits, __ATOMIC_RELAXED);
    }
}

static enum tcg_status page_fault(struct tcg_cpu *cpu, uint64_t lin, uint32_t err)
{
    enum tcg_status st = tcg_raise_err(cpu, EXC_PF, err);

    cpu->exc.cr2 = lin;
    return st;
}

/*
 * Walks the paging structures for lin (SDM vol. 3, 4.3 to 4.5).  The A
 * bits of every entry used, and the D bit of the last one for a write,
 * are set only once the access is known to be allowed, as the check comes
 * first on real processors too (4.8: an access that faults sets no D bit).
 */
static enum tcg_status walk(struct tcg_cpu *cpu, uint64_t lin, enum tcg_access acc,
                            bool user, bool implicit, struct walk *w)
{
    const bool nxe = cpu->st.efer & EFER_NXE;
    const bool pae = cpu->st.cr4 & CR4_PAE;
    const bool lma = cpu->st.efer & EFER_LMA;
    const unsigned esize = pae ? 8 : 4;
    void *ptes[5];
    unsigned nptes = 0;
    uint64_t table, entry = 0, page_base, page_mask;
    unsigned perm = TLB_W | TLB_U | TLB_X;
    int level;
    uint32_t err = 0;

    if (!pae) {
        table = cpu->st.cr3 & 0xfffff000ull;
        level = 2;
    } else if (lma) {
        table = cpu->st.cr3 & PHYS_MASK;
        level = 4;
    } else {
        /* PAE: the PDPTE of bits 31:30 (4.4.1); its RW/US/XD bits are reserved. */
        uint64_t gpa = (cpu->st.cr3 & 0xffffffe0ull) + ((lin >> 30) & 3) * 8;
        void *p = pte_ptr(gpa, 8);

        entry = p ? pte_load(p, 8) : 0;
        if (!(entry & PTE_P)) {
            goto not_present;
        }
        if (entry & (~PHYS_MASK & ~0xe00ull & ~0x19ull)) {
            goto reserved;
        }
        table = entry & PHYS_MASK;
        level = 2;
    }

    for (;;) {
        unsigned shift = 12 + (level - 1) * (pae ? 9 : 10);
        unsigned idx = (lin >> shift) & (pae ? 0x1ff : 0x3ff);
        uint64_t gpa = table + (uint64_t)idx * esize;
        void *p = pte_ptr(gpa, esize);
        bool leaf;

        entry = p ? pte_load(p, esize) : 0;
        if (!(entry & PTE_P)) {
            goto not_present;
        }
        ptes[nptes++] = p;
        if (pae) {
            uint64_t rsvd = ~PHYS_MASK & 0x7ff0000000000000ull;

            if (!nxe && (entry & PTE_XD)) {
                goto reserved;
            }
            if (entry & rsvd & ~0x7ff0000000000000ull) {
                goto reserved;
            }
            if (entry & ((1ull << 52) - 1) & ~PHYS_MASK & ~PAGE_MASK) {
                goto reserved;
            }
            if (level == 4 && (entry & PTE_PS)) {
                goto reserved;
            }
            if (nxe && (entry & PTE_XD)) {
                perm &= ~TLB_X;
            }
        }
        if (!(entry & PTE_RW)) {
            perm &= ~TLB_W;
        }
        if (!(entry & PTE_US)) {
            perm &= ~TLB_U;
        }
        leaf = level == 1 ||
               ((entry & PTE_PS) && (pae ? (level == 2 || level == 3)
                                         : (cpu->st.cr4 & CR4_PSE) != 0));
        if (leaf) {
            break;
        }
        table = pae ? (entry & PHYS_MASK) : (entry & 0xfffff000ull);
        level--;
    }

    /* The page frame, and the reserved bits of large pages (4.3, 4.4.2, 4.5.4). */
    if (level == 1) {
        page_mask = PAGE_MASK;
        page_base = pae ? (entry & PHYS_MASK) : (entry & 0xfffff000ull);
    } else if (!pae) {
        /* 4 MiB page; PSE-36 puts physical bits 39:32 in bits 20:13. */
        page_mask = 0x3fffffull;
        if (entry & (1ull << 21)) {
            goto reserved;
        }
        page_base = (entry & 0xffc00000ull) | (((entry >> 13) & 0xffull) << 32);
        if (page_base & ~((1ull << TCG_PHYS_BITS) - 1)) {
            goto reserved;
        }
    } else {
        page_mask = level == 2 ? 0x1fffffull : 0x3fffffffull;
        if (entry & page_mask & ~PAGE_MASK & ~0x1000ull) {
            goto reserved;      /* bits 20:13 (2 MiB) or 29:13 (1 GiB) */
        }
        page_base = entry & PHYS_MASK & ~page_mask;
    }

    if (!perm_ok(cpu, perm, acc, user, implicit)) {
        err = PFERR_P;
        goto fault;
    }
    for (unsigned i = 0; i < nptes; i++) {
        uint64_t bits = PTE_A;

        if (i == nptes - 1 && acc == ACC_WRITE) {
            bits |= PTE_D;
        }
        if ((pte_load(ptes[i], esize) & bits) != bits) {
            pte_set(ptes[i], esize, bits);
        }
    }
    w->gpa = page_base | (lin & page_mask);
    w->perm = perm | (level > 1 ? TLB_LARGE : 0);
    w->dirty = acc == ACC_WRITE || (entry & PTE_D);
    return TCG_OK;

reserved:
    err = PFERR_P | PFERR_RSVD;
    goto fault;
not_present:
    err = 0;
fault:
    if (acc == ACC_WRITE) {
        err |= PFERR_W;
    }
    if (user) {
        err |= PFERR_U;
    }
    if (acc == ACC_EXEC && ((nxe && pae) || (cpu->st.cr4 & CR4_SMEP))) {
        err |= PFERR_I;
    }
    return page_fault(cpu, lin, err);
}

static uint32_t mmio_code_word;   /* e->code of an MMIO entry: always 0 */
/* e->code of a read-only page (ROM, or RAM a PAM register write-protects): never 0, so
 * every store takes the slow path, where write_page drops it. */
static uint32_t rom_code_word = 1;

/* Fills the TLB slot of lin's page for acc; the page walk or its fault.
 * Out of line: the hit path below stays small enough to inline. */
static __attribute__((noinline)) enum tcg_status tlb_fill(struct tcg_cpu *cpu, uint64_t lin, enum tcg_access acc,
                                bool user, bool implicit, struct tcg_tlb_entry **out)
{
    struct tcg_tlb_entry *e = &cpu->tlb[tlb_index(lin >> 12)];
    struct walk w;
    bool readonly;

    if (cpu->st.cr0 & CR0_PG) {
        enum tcg_status st = walk(cpu, lin, acc, user, implicit, &w);

        if (st != TCG_OK) {
            return st;
        }
    } else {
        w.gpa = lin & 0xffffffffull;
        w.perm = TLB_W | TLB_U | TLB_X;
        w.dirty = true;
    }
    e->vpage = lin >> 12;
    e->gpa_page = w.gpa & ~PAGE_MASK;
    e->host = mem_page_host(e->gpa_page, &readonly);
    e->perm = w.perm;
    /* MMIO has no code word (nothing reads it there): no leaf for a guest's MMIO addresses. */
    e->code = !e->host ? &mmio_code_word : readonly ? &rom_code_word
                                                     : tcg_code_word(e->gpa_page);
    if (cpu->blocks && tcg_blocks_page_has_code(cpu->blocks, e->gpa_page)) {
        e->perm |= TLB_CODE;
    }
    e->dirty = w.dirty;
    *out = e;
    return TCG_OK;
}

/* The TLB entry for an access to lin, from the TLB or a walk. */
static inline __attribute__((always_inline)) enum tcg_status tlb_get(struct tcg_cpu *cpu, uint64_t lin, enum tcg_access acc,
                                      bool implicit, struct tcg_tlb_entry **out)
{
    struct tcg_tlb_entry *e = &cpu->tlb[tlb_index(lin >> 12)];
    bool user = cpu->cpl == 3 && !implicit;

    if (e->vpage == lin >> 12 && perm_ok(cpu, e->perm, acc, user, implicit) &&
        (acc != ACC_WRITE || e->dirty)) {
        *out = e;
        return TCG_OK;
    }
    return tlb_fill(cpu, lin, acc, user, implicit, out);
}

enum tcg_status tcg_translate_exec(struct tcg_cpu *cpu, uint64_t lin, uint64_t *gpa,
                                   uint8_t **host)
{
    struct tcg_tlb_entry *e;
    enum tcg_status st = tlb_get(cpu, lin, ACC_EXEC, false, &e);

    if (st != TCG_OK) {
        return st;
    }
    *gpa = e->gpa_page | (lin & PAGE_MASK);
    *host = e->host ? e->host + (lin & PAGE_MASK) : NULL;
    return TCG_OK;
}

/* ---- the accesses ---- */

/* memcpy of the usual operand sizes as one load and one store, not a call. */
static inline void copy_bytes(void *dst, const void *src, unsigned size)
{
    switch (size) {
    case 1:
        memcpy(dst, src, 1);
        break;
    case 2:
        memcpy(dst, src, 2);
        break;
    case 4:
        memcpy(dst, src, 4);
        break;
    case 8:
        memcpy(dst, src, 8);
        break;
    default:
        memcpy(dst, src, size);
        break;
    }
}

static void mmio(uint64_t gpa, void *buf, unsigned size, bool is_write)
{
    bql_lock();
    io_mmio(gpa, buf, size, is_write);
    bql_unlock();
    /* A write that powered the machine off, reset it with -no-reboot or
     * paused it (the GED's sleep and reset registers) is the last
     * instruction the guest runs, as for port I/O (exec-system.c). */
    if (is_write && (vm_exit_requested() || vm_pause_pending() || vm_reset_pending())) {
        struct tcg_cpu *cpu = tcg_current_cpu();

        if (cpu) {
            tcg_stop_after_insn(cpu);
        }
    }
}

/* In legacy modes linear addresses wrap at 4 GiB. */
static inline uint64_t lin_next(const struct tcg_cpu *cpu, uint64_t lin)
{
    return cpu->mode == MODE_LONG64 ? lin : lin & 0xffffffffull;
}

static enum tcg_status read_lin(struct tcg_cpu *cpu, uint64_t lin, void *buf, unsigned size,
                                enum tcg_access acc, bool implicit)
{
    unsigned off = lin & PAGE_MASK;
    struct tcg_tlb_entry *e, *e2;
    enum tcg_status st;
    unsigned first;
    uint64_t gpa1;

    if (__builtin_expect((cpu->st.dr[7] & 0xff) != 0, 0) && acc != ACC_EXEC) {
        tcg_debug_check_data(cpu, lin, size, false);    /* DR7 data breakpoints */
    }
    if (off + size <= PAGE_SIZE) {
        st = tlb_get(cpu, lin, acc, implicit, &e);
        if (st != TCG_OK) {
            return st;
        }
        if (e->host) {
            copy_bytes(buf, e->host + off, size);
        } else {
            mmio(e->gpa_page + off, buf, size, false);
        }
        return TCG_OK;
    }
    /* Across a page: both translations before any byte is read, as an MMIO
     * read may have side effects. */
    first = PAGE_SIZE - off;
    st = tlb_get(cpu, lin, acc, implicit, &e);
    if (st != TCG_OK) {
        return st;
    }
    gpa1 = e->gpa_page;
    st = tlb_get(cpu, lin_next(cpu, lin + first), acc, implicit, &e2);
    if (st != TCG_OK) {
        return st;
    }
    /* e may have been evicted by e2's fill if both share a slot. */
    {
        bool readonly;
        uint8_t *h1 = mem_page_host(gpa1, &readonly);

        if (h1) {
            memcpy(buf, h1 + off, first);
        } else {
            mmio(gpa1 + off, buf, first, false);
        }
    }
    if (e2->host) {
        memcpy((uint8_t *)buf + first, e2->host, size - first);
    } else {
        mmio(e2->gpa_page, (uint8_t *)buf + first, size - first, false);
    }
    return TCG_OK;
}

/*
 * The read of a locked instruction's destination (locked.c): naturally aligned RAM without
 * code or data breakpoints is read for a compare-and-exchange; anything else runs serially.
 */
static __attribute__((noinline)) enum tcg_status
locked_read(struct tcg_cpu *cpu, uint64_t lin, void *buf, unsigned size)
{
    struct tcg_tlb_entry *e;
    enum tcg_status st;

    if ((size & (size - 1)) == 0 && size <= 16 && !(lin & (size - 1)) &&
        !(cpu->st.dr[7] & 0xff)) {
        st = tlb_get(cpu, lin, ACC_WRITE, false, &e);
        if (st != TCG_OK) {
            return st;
        }
        if (e->host && !(e->perm & TLB_CODE) && !__atomic_load_n(e->code, __ATOMIC_ACQUIRE)) {
            tcg_locked_load(cpu, lin, e->host + (lin & PAGE_MASK), size);
            memcpy(buf, cpu->lk.old, size);
            return TCG_OK;
        }
    }
    tcg_locked_serial(cpu);
    return read_lin(cpu, lin, buf, size, ACC_WRITE, false);
}

enum tcg_status tcg_read_lin(struct tcg_cpu *cpu, uint64_t lin, void *buf, unsigned size,
                             enum tcg_access acc)
{
    if (__builtin_expect(cpu->lk.state == LK_ARMED, 0) && acc == ACC_WRITE) {
        return locked_read(cpu, lin, buf, size);
    }
    return read_lin(cpu, lin, buf, size, acc, false);
}

enum tcg_status tcg_read_lin_sys(struct tcg_cpu *cpu, uint64_t lin, void *buf, unsigned size)
{
    return read_lin(cpu, lin, buf, size, ACC_READ, true);
}

/* Stores into one page; a page with decoded code tells the block cache.  A read-only
 * page (ROM) ignores the store, as the chip does. */
static void write_page(struct tcg_cpu *cpu, uint64_t gpa_page, unsigned perm, unsigned off,
                       const void *buf, unsigned size)
{
    bool readonly;
    uint8_t *h = mem_page_host(gpa_page, &readonly);

    if (!h) {
        mmio(gpa_page + off, (void *)buf, size, true);
        return;
    }
    if (readonly) {
        log_mask(LOG_GUEST_ERROR, "write to ROM at 0x%" G_GINT64_MODIFIER "x dropped\n",
                 gpa_page + off);
        return;
    }
    memcpy(h + off, buf, size);
    if ((perm & TLB_CODE) || tcg_code_page(gpa_page)) {
        tcg_code_written(cpu, gpa_page);
    }
}

static enum tcg_status write_lin(struct tcg_cpu *cpu, uint64_t lin, const void *buf,
                                 unsigned size, bool implicit)
{
    unsigned off = lin & PAGE_MASK;
    struct tcg_tlb_entry *e, *e2;
    enum tcg_status st;
    unsigned first, perm1;
    uint64_t gpa1;

    if (__builtin_expect((cpu->st.dr[7] & 0xff) != 0, 0)) {
        tcg_debug_check_data(cpu, lin, size, true);
    }
    if (off + size <= PAGE_SIZE) {
        st = tlb_get(cpu, lin, ACC_WRITE, implicit, &e);
        if (st != TCG_OK) {
            return st;
        }
        if (e->host && !(e->perm & TLB_CODE) && !__atomic_load_n(e->code, __ATOMIC_RELAXED)) {
            copy_bytes(e->host + off, buf, size);
        } else {
            write_page(cpu, e->gpa_page, e->perm, off, buf, size);
        }
        return TCG_OK;
    }
    /* Across a page: no byte is stored unless both pages may be written. */
    first = PAGE_SIZE - off;
    st = tlb_get(cpu, lin, ACC_WRITE, implicit, &e);
    if (st != TCG_OK) {
        return st;
    }
    gpa1 = e->gpa_page;
    perm1 = e->perm;
    st = tlb_get(cpu, lin_next(cpu, lin + first), ACC_WRITE, implicit, &e2);
    if (st != TCG_OK) {
        return st;
    }
    write_page(cpu, e2->gpa_page, e2->perm, 0, (const uint8_t *)buf + first, size - first);
    write_page(cpu, gpa1, perm1, off, buf, first);
    return TCG_OK;
}

enum tcg_status tcg_write_lin(struct tcg_cpu *cpu, uint64_t lin, const void *buf,
                              unsigned size)
{
    if (__builtin_expect(cpu->lk.state == LK_READ, 0) &&
        tcg_locked_capture(cpu, lin, buf, size)) {
        return TCG_OK;
    }
    return write_lin(cpu, lin, buf, size, false);
}

enum tcg_status tcg_write_lin_sys(struct tcg_cpu *cpu, uint64_t lin, const void *buf,
                                  unsigned size)
{
    return write_lin(cpu, lin, buf, size, true);
}

/*
 * Alignment checking (SDM vol. 3, 6.15, interrupt 17): with CR0.AM and
 * EFLAGS.AC, an explicit data access at CPL 3 to an address not aligned
 * to its size (words, doublewords, quadwords; 8 for the 10-byte x87
 * formats) is #AC(0).  Implicit supervisor accesses never are.
 */
static inline bool misaligned(const struct tcg_cpu *cpu, uint64_t lin, unsigned size)
{
    unsigned align = size >= 8 ? 8 : size;

    if (__builtin_expect(cpu->cpl != 3, 1) || align < 2 || size > 10 ||
        !(cpu->st.rflags & RFLAGS_AC) || !(cpu->st.cr0 & CR0_AM)) {
        return false;
    }
    return (lin & (align - 1)) != 0;
}

/*
 * The common case of an explicit access, inline: no data breakpoint armed,
 * within one page, a TLB hit on RAM (and, for a store, no decoded code in
 * the page).  Anything else goes to read_lin()/write_lin(), which check
 * the same again and do the rest.
 */
static inline __attribute__((always_inline)) struct tcg_tlb_entry *
tlb_hit_ram(struct tcg_cpu *cpu, uint64_t lin, unsigned size, enum tcg_access acc)
{
    struct tcg_tlb_entry *e = &cpu->tlb[tlb_index(lin >> 12)];

    if (__builtin_expect((cpu->st.dr[7] & 0xff) != 0, 0) ||
        (lin & PAGE_MASK) + size > PAGE_SIZE) {
        return NULL;
    }
    if (e->vpage != lin >> 12 || !e->host ||
        !perm_ok(cpu, e->perm, acc, cpu->cpl == 3, false) ||
        (acc == ACC_WRITE && (!e->dirty || (e->perm & TLB_CODE) ||
                              __atomic_load_n(e->code, __ATOMIC_RELAXED)))) {
        return NULL;
    }
    return e;
}

uint8_t *tcg_tlb_host(struct tcg_cpu *cpu, uint64_t lin, unsigned size, enum tcg_access acc)
{
    struct tcg_tlb_entry *e = tlb_hit_ram(cpu, lin, size, acc);

    return e ? e->host + (lin & PAGE_MASK) : NULL;
}

static inline __attribute__((always_inline)) enum tcg_status
read_lin_fast(struct tcg_cpu *cpu, uint64_t lin, void *buf, unsigned size, enum tcg_access acc)
{
    struct tcg_tlb_entry *e = tlb_hit_ram(cpu, lin, size, acc);

    if (__builtin_expect(e != NULL, 1)) {
        copy_bytes(buf, e->host + (lin & PAGE_MASK), size);
        return TCG_OK;
    }
    return read_lin(cpu, lin, buf, size, acc, false);
}

enum tcg_status tcg_mem_read(struct tcg_cpu *cpu, unsigned seg, uint64_t off, void *buf,
                             unsigned size)
{
    uint64_t lin;
    enum tcg_status st = linear(cpu, seg, off, size, ACC_READ, &lin);

    if (st != TCG_OK) {
        return st;
    }
    if (misaligned(cpu, lin, size)) {
        return tcg_raise_err(cpu, EXC_AC, 0);
    }
    return read_lin_fast(cpu, lin, buf, size, ACC_READ);
}

/*
 * The read half of a read-modify-write: the processor asks for write
 * access before it reads (a read-only segment is #GP/#SS, a read-only or
 * absent page is a #PF with the W bit set, and the D bit is set), so the
 * translation is done as for the write that follows.
 */
enum tcg_status tcg_mem_read_rmw(struct tcg_cpu *cpu, unsigned seg, uint64_t off, void *buf,
                                 unsigned size)
{
    uint64_t lin;
    enum tcg_status st = linear(cpu, seg, off, size, ACC_WRITE, &lin);

    if (st != TCG_OK) {
        return st;
    }
    if (misaligned(cpu, lin, size)) {
        return tcg_raise_err(cpu, EXC_AC, 0);
    }
    if (__builtin_expect(cpu->lk.state == LK_ARMED, 0)) {
        return locked_read(cpu, lin, buf, size);
    }
    return read_lin_fast(cpu, lin, buf, size, ACC_WRITE);
}

enum tcg_status tcg_mem_write(struct tcg_cpu *cpu, unsigned seg, uint64_t off,
                              const void *buf, unsigned size)
{
    struct tcg_tlb_entry *e;
    uint64_t lin;
    enum tcg_status st = linear(cpu, seg, off, size, ACC_WRITE, &lin);

    if (st != TCG_OK) {
        return st;
    }
    if (misaligned(cpu, lin, size)) {
        return tcg_raise_err(cpu, EXC_AC, 0);
    }
    if (__builtin_expect(cpu->lk.state == LK_READ, 0) &&
        tcg_locked_capture(cpu, lin, buf, size)) {
        return TCG_OK;
    }
    e = tlb_hit_ram(cpu, lin, size, ACC_WRITE);
    if (__builtin_expect(e != NULL, 1)) {
        copy_bytes(e->host + (lin & PAGE_MASK), buf, size);
        return TCG_OK;
    }
    return write_lin(cpu, lin, buf, size, false);
}
