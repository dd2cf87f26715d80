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
    /* SDM vol. 3, table 9-1: DR6, DR7, x87 control word and MXCSR after
     * power-up (FINIT's 037Fh, as QEMU and KVM report it). */
    s->dr[6] = 0xffff0ff0;
    s->dr[7] = 0x400;
    s->fpu.fcw = 0x37f;
    s->fpu.mxcsr = 0x1f80;
    /* SDM vol. 3, 9.4 "Multiple-Processor (MP) Initialization": only the
     * BSP runs after RESET; the others wait for INIT and a SIPI. */
    s->wait_for_sipi = !bsp;
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

/*
 * 64-bit mode with paging on at cr3: CS a long-mode code segment, the data
 * segments flat, as a loader leaves them for a kernel's 64-bit entry.  The
 * selectors (0x10 code, 0x18 data) are the Linux boot protocol's
 * __BOOT_CS/__BOOT_DS; the caller writes a GDT with them at gdt_base.
 */
void x86_cpu_state_flat64(struct x86_cpu_state *s, uint64_t rip, uint64_t cr3,
                          uint64_t gdt_base, uint16_t gdt_limit)
{
    x86_cpu_state_reset(s, true);
    s->rip = rip;
    s->cr0 = CR0_PE | CR0_ET | CR0_PG;
    s->cr3 = cr3;
    s->cr4 = CR4_PAE;
    s->efer = EFER_LME | EFER_LMA;
    seg_set(&s->seg[S_CS], 0x10, 0, 0xffffffffu, 0xb, true, false, true);
    s->seg[S_CS].l = true;
    for (int i = 0; i < S__MAX; i++) {
        if (i == S_CS || i == S_LDTR || i == S_TR) {
            continue;
        }
        seg_set(&s->seg[i], 0x18, 0, 0xffffffffu, 0x3, true, true, true);
    }
    seg_set(&s->seg[S_TR], 0, 0, 0xffff, 0xb, false, false, false);
    s->gdt.base = gdt_base;
    s->gdt.limit = gdt_limit;
}

/* The descriptor's attribute bits in the layout of its high dword. */
static unsigned seg_flags(const struct x86_segment *sg)
{
    return (sg->type << 8) | (sg->s << 12) | (sg->dpl << 13) | (sg->present << 15) |
           (sg->avl << 20) | (sg->l << 21) | (sg->db << 22) | ((unsigned)sg->g << 23);
}

/* QEMU's decoding of a segment after its raw fields: only in protected mode
 * and for present segments. */
static void dump_seg_kind(FILE *f, const struct x86_cpu_state *s, const struct x86_segment *sg)
{
    static const char *const sys64[16] = {
        "Reserved", "Reserved", "LDT", "Reserved", "Reserved", "Reserved", "Reserved",
        "Reserved", "Reserved", "TSS64-avl", "Reserved", "TSS64-busy", "CallGate64",
        "Reserved", "IntGate64", "TrapGate64",
    };
    static const char *const sys32[16] = {
        "Reserved", "TSS16-avl", "LDT", "TSS16-busy", "CallGate16", "TaskGate",
        "IntGate16", "TrapGate16", "Reserved", "TSS32-avl", "Reserved", "TSS32-busy",
        "CallGate32", "Reserved", "IntGate32", "TrapGate32",
    };

    if (!(s->cr0 & CR0_PE) || !sg->present) {
        return;
    }
    fprintf(f, " DPL=%d ", sg->dpl);
    if (!sg->s) {
        fputs(((s->efer & EFER_LMA) ? sys64 : sys32)[sg->type & 15], f);
    } else if (sg->type & 8) {
        fprintf(f, "%s [%c%c%c]", sg->l ? "CS64" : sg->db ? "CS32" : "CS16",
                (sg->type & 4) ? 'C' : '-', (sg->type & 2) ? 'R' : '-',
                (sg->type & 1) ? 'A' : '-');
    } else {
        fprintf(f, "%s [%c%c%c]", sg->db ? "DS  " : "DS16", (sg->type & 4) ? 'E' : '-',
                (sg->type & 2) ? 'W' : '-', (sg->type & 1) ? 'A' : '-');
    }
}

/* CPL as the SDM defines it: SS.DPL in protected mode (5.5), 3 in
 * virtual-8086 mode, 0 in real mode. */
static unsigned state_cpl(const struct x86_cpu_state *s)
{
    if (!(s->cr0 & CR0_PE)) {
        return 0;
    }
    if (s->rflags & (1ull << 17)) {
        return 3;
    }
    return s->seg[S_SS].dpl;
}

void x86_cpu_state_dump(const struct x86_cpu_state *s, FILE *f)
{
    static const char *const segs[S__MAX] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDT", "TR" };
    /* Printed as RAX RBX RCX RDX / RSI RDI RBP RSP / R8.. R15. */
    static const int order[16] = { 0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15 };
    static const char *const names64[16] = {
        "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
        "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
    };
    static const char *const names32[8] = { "EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI" };
    bool code64 = (s->efer & EFER_LMA) && s->seg[S_CS].l;
    uint64_t fl = s->rflags;
    char flags[8] = {
        (fl & RFLAGS_DF) ? 'D' : '-', (fl & RFLAGS_OF) ? 'O' : '-',
        (fl & RFLAGS_SF) ? 'S' : '-', (fl & RFLAGS_ZF) ? 'Z' : '-',
        (fl & RFLAGS_AF) ? 'A' : '-', (fl & RFLAGS_PF) ? 'P' : '-',
        (fl & RFLAGS_CF) ? 'C' : '-', 0,
    };
    unsigned nxmm = code64 ? 16 : 8;

    /* Two layouts, as QEMU's x86_cpu_dump_state: 64-bit code gets the
     * 64-bit one, everything else (real, protected, compatibility) 32. */
    if (code64) {
        for (int i = 0; i < 16; i++) {
            fprintf(f, "%-3s=%016" PRIx64 "%s", names64[order[i]], s->regs[order[i]],
                    (i % 4 == 3) ? "\n" : " ");
        }
        fprintf(f, "RIP=%016" PRIx64 " RFL=%08" PRIx64, s->rip, s->rflags);
    } else {
        for (int i = 0; i < 8; i++) {
            fprintf(f, "%s=%08" PRIx32 "%s", names32[order[i]], (uint32_t)s->regs[order[i]],
                    (i % 4 == 3) ? "\n" : " ");
        }
        fprintf(f, "EIP=%08" PRIx32 " EFL=%08" PRIx32, (uint32_t)s->rip, (uint32_t)s->rflags);
    }
    fprintf(f, " [%s] CPL=%u II=0 A20=1 SMM=0 HLT=%d\n", flags, state_cpl(s), s->halted);
    for (int i = 0; i < S__MAX; i++) {
        const struct x86_segment *sg = &s->seg[i];

        if (code64) {
            fprintf(f, "%-3s=%04x %016" PRIx64 " %08x %08x", segs[i], sg->selector, sg->base,
                    sg->limit, seg_flags(sg));
        } else {
            fprintf(f, "%-3s=%04x %08" PRIx32 " %08x %08x", segs[i], sg->selector,
                    (uint32_t)sg->base, sg->limit, seg_flags(sg));
        }
        dump_seg_kind(f, s, sg);
        fputc('\n', f);
    }
    if (code64) {
        fprintf(f, "GDT=     %016" PRIx64 " %08x\n", s->gdt.base, s->gdt.limit);
        fprintf(f, "IDT=     %016" PRIx64 " %08x\n", s->idt.base, s->idt.limit);
        fprintf(f, "CR0=%08" PRIx32 " CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08" PRIx32 "\n",
                (uint32_t)s->cr0, s->cr2, s->cr3, (uint32_t)s->cr4);
    } else {
        fprintf(f, "GDT=     %08" PRIx32 " %08x\n", (uint32_t)s->gdt.base, s->gdt.limit);
        fprintf(f, "IDT=     %08" PRIx32 " %08x\n", (uint32_t)s->idt.base, s->idt.limit);
        fprintf(f, "CR0=%08" PRIx32 " CR2=%08" PRIx32 " CR3=%08" PRIx32 " CR4=%08" PRIx32 "\n",
                (uint32_t)s->cr0, (uint32_t)s->cr2, (uint32_t)s->cr3, (uint32_t)s->cr4);
    }
    for (int i = 0; i < 4; i++) {
        fprintf(f, "DR%d=%016" PRIx64 " ", i, s->dr[i]);
    }
    fprintf(f, "\nDR6=%016" PRIx64 " DR7=%016" PRIx64 "\n", s->dr[6], s->dr[7]);
    fprintf(f, "EFER=%016" PRIx64 "\n", s->efer);
    fprintf(f, "FCW=%04x FSW=%04x [ST=%d] FTW=%02x MXCSR=%08" PRIx32 "\n", s->fpu.fcw,
            s->fpu.fsw, (s->fpu.fsw >> 11) & 7, s->fpu.ftw, s->fpu.mxcsr);
    for (int i = 0; i < 8; i++) {
        fprintf(f, "FPR%d=%016" PRIx64 " %04x%s", i, s->fpu.st[i].mant, s->fpu.st[i].exp,
                (i & 1) ? "\n" : " ");
    }
    for (unsigned i = 0; i < nxmm; i++) {
        fprintf(f, "XMM%02u=%016" PRIx64 " %016" PRIx64 "%s", i, s->fpu.xmm[i].hi,
                s->fpu.xmm[i].lo, (i & 1) ? "\n" : " ");
    }
}
