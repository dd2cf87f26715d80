/*
 * Debug registers and single step (SDM vol. 3, ch. 18): DR0-DR3
 * instruction and data breakpoints with their DR6 bits, RF to step past an
 * instruction breakpoint, single step over several instructions, the MOV SS
 * shadow that holds the single-step trap back for one instruction
 * (6.8.3), DR7.GD, and DR4/DR5 with CR4.DE.  Built as debug32 and debug64.
 */
#include "x86.h"

#ifdef __x86_64__
#define AR(x) "%r" x
#else
#define AR(x) "%e" x
#endif

#define DR6_B(n) (1ul << (n))
#define DR6_BD (1ul << 13)
#define DR6_BS (1ul << 14)

static void set_dr(int n, ulong v)
{
    switch (n) {
    case 0: __asm__ volatile("mov %0, %%dr0" : : "r"(v)); break;
    case 1: __asm__ volatile("mov %0, %%dr1" : : "r"(v)); break;
    case 2: __asm__ volatile("mov %0, %%dr2" : : "r"(v)); break;
    case 3: __asm__ volatile("mov %0, %%dr3" : : "r"(v)); break;
    case 6: __asm__ volatile("mov %0, %%dr6" : : "r"(v)); break;
    default: __asm__ volatile("mov %0, %%dr7" : : "r"(v)); break;
    }
}

static ulong get_dr6(void)
{
    ulong v;

    __asm__ volatile("mov %%dr6, %0" : "=r"(v));
    return v;
}

volatile uint32_t watched[4] __attribute__((aligned(16)));
static volatile unsigned hits;
static volatile ulong hit_rip[8], hit_dr6[8];

/* Records the hit; RF lets the instruction run when we return (18.3.1.1). */
static void db_resume(struct exc_frame *f)
{
    if (hits < 8) {
        hit_rip[hits] = f->rip;
        hit_dr6[hits] = get_dr6();
    }
    hits++;
    set_dr(6, 0xffff0ff0);
    f->rflags |= X86_EFLAGS_RF;
}

/* Counts single steps; stops stepping at step_end. */
ulong step_end;
static void db_step(struct exc_frame *f)
{
    db_resume(f);
    if (f->rip == step_end || hits >= 8) {
        f->rflags &= ~X86_EFLAGS_TF;
    }
}

ASMFN(do_insn_bp, "nop\n\tbp_target: inc " AR("ax") "\n\tret");
ASMFN(do_write, "movl $1, watched + 4\n\twrite_after: nop\n\tret");
ASMFN(do_read, "mov watched + 8, %eax\n\tread_after: nop\n\tret");
ASMFN(do_steps, "pushf\n\torl $0x100, (" AR("sp") ")\n\tpopf\n\tstep1: nop\n\tstep2: "
      "xor %eax, %eax\n\tstep3: inc %eax\n\tstep4: ret");
ASMFN(do_movss, "pushf\n\torl $0x100, (" AR("sp") ")\n\tpopf\n\tmov %ss, %eax\n\t"
      "movss_at: mov %eax, %ss\n\tmovss_next: nop\n\tmovss_after: nop\n\tret");
ASMFN(do_dr_gd, "gd_at: mov %dr0, " AR("ax") "\n\tret");
ASMFN(do_dr4, "dr4_at: mov %dr4, " AR("ax") "\n\tret");
extern char bp_target[], write_after[], read_after[], step1[], step2[], step3[], step4[];
extern char movss_at[], movss_next[], movss_after[], gd_at[], dr4_at[];

static void test_insn_bp(void)
{
    hits = 0;
    set_handler(1, db_resume);
    set_dr(6, 0xffff0ff0);
    set_dr(0, (ulong)bp_target);
    set_dr(7, 0x1);                   /* L0, execute (R/W0 = 00, LEN0 = 00) */
    exc_catch(do_insn_bp, 0);
    set_dr(7, 0);
    report(hits == 1 && hit_rip[0] == (ulong)bp_target && (hit_dr6[0] & 0xf) == DR6_B(0),
           "DR0 instruction breakpoint: a fault at it, DR6 %lx, then RF steps past",
           (unsigned long)hit_dr6[0]);
}

static void test_data_bp(void)
{
    hits = 0;
    set_dr(1, (ulong)&watched[1]);
    set_dr(7, (0x1ul << 20 | 0x3ul << 22) | 0x4);     /* L1, write, 4 bytes */
    exc_catch(do_write, 0);
    report(hits == 1 && hit_rip[0] == (ulong)write_after && (hit_dr6[0] & 0xf) == DR6_B(1),
           "DR1 data write breakpoint: a trap after the write, DR6 %lx",
           (unsigned long)hit_dr6[0]);
    hits = 0;
    exc_catch(do_read, 0);
    report(hits == 0, "DR1 (write only) ignores a read elsewhere");
    set_dr(3, (ulong)&watched[2]);
    set_dr(7, (0x3ul << 28 | 0x3ul << 30) | 0x40);    /* L3, read/write, 4 bytes */
    exc_catch(do_read, 0);
    report(hits == 1 && hit_rip[0] == (ulong)read_after && (hit_dr6[0] & 0xf) == DR6_B(3),
           "DR3 read/write breakpoint on a read: DR6 %lx", (unsigned long)hit_dr6[0]);
    set_dr(7, 0);
}

ASMFN(do_out80, "outb %al, $0x80\n\tout_after: nop\n\tret");
#ifdef __x86_64__
ASMFN(do_write_hi, "movl $1, watched + 12\n\twrite_hi_after: nop\n\tret");
extern char write_hi_after[];
#endif
extern char out_after[];

static void test_more_bp(void)
{
    ulong cr4 = read_cr4();

    /* Two enabled breakpoints on one instruction: both B bits (18.2.3). */
    hits = 0;
    set_dr(0, (ulong)bp_target);
    set_dr(2, (ulong)bp_target);
    set_dr(7, 0x1 | 0x10);
    exc_catch(do_insn_bp, 0);
    report(hits == 1 && (hit_dr6[0] & 0x5) == 0x5, "DR0 and DR2 on one instruction: DR6 %lx",
           (unsigned long)hit_dr6[0]);
    /* Not enabled in DR7: nothing. */
    hits = 0;
    set_dr(7, 0);
    exc_catch(do_insn_bp, 0);
    report(hits == 0, "a breakpoint address without its DR7 enable does nothing");
#ifdef __x86_64__
    /* LEN = 10b: 8 bytes, a write to the upper half hits (18.2.5). */
    hits = 0;
    set_dr(1, (ulong)&watched[2]);
    set_dr(7, (0x1ul << 20 | 0x2ul << 22) | 0x4);
    exc_catch(do_write_hi, 0);
    report(hits == 1 && hit_rip[0] == (ulong)write_hi_after && (hit_dr6[0] & 0xf) == DR6_B(1),
           "an 8-byte write breakpoint catches a write to its upper dword");
    set_dr(7, 0);
#endif
    /* An I/O breakpoint needs CR4.DE (R/W = 10b); QEMU has none. */
    if (qemu_differs("I/O breakpoint")) {
        return;
    }
    write_cr4(cr4 | X86_CR4_DE);
    hits = 0;
    set_dr(0, 0x80);
    set_dr(7, 0x1 | (0x2ul << 16));
    exc_catch(do_out80, 0);
    set_dr(7, 0);
    write_cr4(cr4);
    report(hits == 1 && hit_rip[0] == (ulong)out_after && (hit_dr6[0] & 0xf) == DR6_B(0),
           "I/O breakpoint on port 80h: a trap after the OUT, DR6 %lx",
           (unsigned long)hit_dr6[0]);
}

static void test_steps(void)
{
    hits = 0;
    step_end = (ulong)step4;
    set_handler(1, db_step);
    exc_catch(do_steps, 0);
    report(hits == 3 && hit_rip[0] == (ulong)step2 && hit_rip[1] == (ulong)step3 &&
           hit_rip[2] == (ulong)step4 && (hit_dr6[2] & DR6_BS),
           "single step: %u traps after each instruction, DR6.BS", hits);
    hits = 0;
    step_end = (ulong)movss_after;
    exc_catch(do_movss, 0);
    /* A trap after the MOV to EAX; none after MOV SS, the next after the nop. */
    report(hits == 2 && hit_rip[0] == (ulong)movss_at && hit_rip[1] == (ulong)movss_after &&
           hit_rip[1] != (ulong)movss_next,
           "mov ss holds the single-step trap back one instruction: %u traps, at %lx, %lx",
           hits, (unsigned long)hit_rip[0], (unsigned long)hit_rip[1]);
    set_handler(1, NULL);
}

static void test_gd_de(void)
{
    ulong cr4 = read_cr4();
    int v;

    /* QEMU 7.2 does not implement DR7.GD. */
    if (qemu_differs("DR7.GD")) {
        goto de;
    }
    set_dr(6, 0xffff0ff0);
    set_dr(7, 1ul << 13);             /* GD: the next DR access faults */
    v = exc_catch(do_dr_gd, 0);
    report(v == 1 && exc.rip == (ulong)gd_at && (get_dr6() & DR6_BD),
           "DR7.GD: #DB fault on mov from dr0, DR6.BD (%d)", v);
    set_dr(7, 0);
de:
    write_cr4(cr4 & ~X86_CR4_DE);
    report(exc_catch(do_dr4, 0) == -1, "mov from dr4 with CR4.DE clear aliases DR6");
    write_cr4(cr4 | X86_CR4_DE);
    v = exc_catch(do_dr4, 0);
    report(v == 6 && exc.rip == (ulong)dr4_at, "mov from dr4 with CR4.DE set: #UD (%d)", v);
    write_cr4(cr4);
}

int main(const struct mb_info *mbi)
{
    x86_parse_args(mbi);
    test_name = MODE_BITS == 64 ? "debug64" : "debug32";
    x86_setup();
    test_insn_bp();
    test_data_bp();
    test_more_bp();
    test_steps();
    test_gd_de();
    return report_summary();
}
