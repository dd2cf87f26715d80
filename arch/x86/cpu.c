/*
 * Architectural vCPU state: power-on values, the Multiboot entry state and
 * a register dump for error reports.  Pure functions; any thread.
 */
#include <inttypes.h>
#include <string.h>

#include "arch/x86/cpu.h"

static void seg_set(struct x86_segment *sg, uint16_t sel, uint64_t base, uint32_t limit,
                    uint8_t type, bool s, bool db, bool g)
{
    memset(sg, 0, sizeof(*sg));
    sg->selector = sel;
    sg->base = base;
    sg->limit = limit;
    sg->type = type;
    sg->s = s;
    sg->present = true;
    sg->db = db;
    sg->g = g;
}

/*
 * SDM vol. 3, 9.1.1, table 9-1: CS selector F000h with base FFFF0000h and
 * EIP FFF0h, the other segments base 0 limit FFFFh, EDX holding the
 * processor signature (left 0: no model-specific signature is promised).
 */
void x86_cpu_state_reset(struct x86_cpu_state *s, bool bsp)
{
    memset(s, 0, sizeof(*s));
    s->rip = 0xfff0;
    s->rflags = RFLAGS_FIXED;
    seg_set(&s->seg[S_CS], 0xf000, 0xffff0000ull, 0xffff, 0xb, true, false, false);
    for (int i = 0; i < S__MAX; i++) {
        if (i == S_CS || i == S_LDTR || i == S_TR) {
            continue;
        }
        seg_set(&s->seg[i], 0, 0, 0xffff, 0x3, true, false, false);
    }
    seg_set(&s->seg[S_LDTR], 0, 0, 0xffff, 0x2, false, false, false);
    seg_set(&s->seg[S_TR], 0, 0, 0xffff, 0xb, false, false, false);
    s->gdt.limit = 0xffff;
    s->idt.limit = 0xffff;
    s->cr0 = CR0_ET | CR0_NW | CR0_CD;
    s->apic_base = APIC_DEFAULT_BASE | MSR_IA32_APICBASE_ENABLE |
                   (bsp ? MSR_IA32_APICBASE_BSP : 0);
}

/*
 * Multiboot 0.6.96, 3.2: CS a 32-bit read/execute code segment with offset
 * 0 and limit FFFFFFFFh, the data segments likewise read/write, CR0.PE set
 * and PG clear, EFLAGS.VM and IF clear.  The GDTR may be invalid: the OS
 * must load its own before it reloads a segment register.
 */
void x86_cpu_state_flat32(struct x86_cpu_state *s, uint32_t eip)
{
    x86_cpu_state_reset(s, true);
    s->rip = eip;
    s->cr0 = CR0_PE | CR0_ET;
    seg_set(&s->seg[S_CS], 0x08, 0, 0xffffffffu, 0xb, true, true, true);
    for (int i = 0; i < S__MAX; i++) {
        if (i == S_CS || i == S_LDTR || i == S_TR) {
            continue;
        }
        seg_set(&s->seg[i], 0x10, 0, 0xffffffffu, 0x3, true, true, true);
    }
    /* A busy 32-bit TSS: VMX entry checks demand a usable TR in protected mode. */
    seg_set(&s->seg[S_TR], 0, 0, 0xffff, 0xb, false, false, false);
    s->gdt.base = 0;
    s->gdt.limit = 0;
}

static void dump_seg(FILE *f, const char *name, const struct x86_segment *sg)
{
    unsigned flags = (sg->type << 8) | (sg->s << 12) | (sg->dpl << 13) | (sg->present << 15) |
                     (sg->avl << 20) | (sg->l << 21) | (sg->db << 22) | (sg->g << 23);

    fprintf(f, "%-3s=%04x %016" PRIx64 " %08x %08x\n", name, sg->selector, sg->base,
            sg->limit, flags);
}

void x86_cpu_state_dump(const struct x86_cpu_state *s, FILE *f)
{
    static const char *const gpr[16] = {
        "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
        "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
    };
    static const char *const segs[S__MAX] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDT", "TR" };
    static const int order[16] = { 0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15 };

    for (int i = 0; i < 16; i++) {
        fprintf(f, "%s=%016" PRIx64 "%s", gpr[order[i]], s->regs[order[i]],
                (i % 4 == 3) ? "\n" : " ");
    }
    fprintf(f, "RIP=%016" PRIx64 " RFL=%08" PRIx64 "\n", s->rip, s->rflags);
    for (int i = 0; i < S__MAX; i++) {
        dump_seg(f, segs[i], &s->seg[i]);
    }
    fprintf(f, "GDT=     %016" PRIx64 " %08x\n", s->gdt.base, s->gdt.limit);
    fprintf(f, "IDT=     %016" PRIx64 " %08x\n", s->idt.base, s->idt.limit);
    fprintf(f, "CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08" PRIx64 "\n",
            s->cr0, s->cr2, s->cr3, s->cr4);
    fprintf(f, "EFER=%016" PRIx64 "\n", s->efer);
}
