/*
 * Every exception vector raised for real (SDM vol. 3, 6.15 "Exception and
 * Interrupt Reference"), checking the vector, the error code, the saved
 * CS:rIP (faults point at the instruction, traps after it) and the saved
 * rFLAGS.  Built twice: vectors32 (32-bit protected mode) and vectors64
 * (64-bit mode).  #DF comes three ways: two contributory faults, a stack
 * that faults during delivery (through IST1, vectors64) and a task gate
 * (vectors32); vectors64 also faults in compatibility mode.  NMI (2),
 * #MC (18) and the reserved vectors are not raised; #TS needs a task
 * switch, so only vectors32 has it.
 *
 * Where QEMU's TCG differs from the SDM the check follows the SDM and
 * says so; "-append qemu=1" skips those checks.
 */
#include "x86.h"

#ifdef __x86_64__
#define AR(x) "%r" x
#else
#define AR(x) "%e" x
#endif

#ifdef __x86_64__
#define USER_CS UCS64
#else
#define USER_CS UCS32
#endif

ulong pre_flags, pre_sp;
/* The flags and stack pointer just before the faulting instruction. */
#define SAVE_STATE "pushf\n\tpop pre_flags\n\tmov " AR("sp") ", pre_sp\n\t"

static int check(int got, int vec, long err, const void *rip, const char *what)
{
    int ok = got == vec && (err < 0 || exc.error == (ulong)err) && exc.rip == (ulong)rip &&
             exc.cs == KCS;

    return report(ok, "%s: vector %d (want %d), error 0x%lx, at %lx:%lx (want %lx)", what, got,
                  vec, (unsigned long)exc.error, (unsigned long)exc.cs,
                  (unsigned long)exc.rip, (unsigned long)rip);
}

/* The saved rFLAGS equal the flags before the instruction, RF aside (which
 * hardware sets in the image of a fault, vol. 3, 18.3.1.1, and QEMU does not). */
static void check_flags(const char *what, ulong want_set)
{
    ulong got = exc.rflags & ~X86_EFLAGS_RF;

    report(got == pre_flags && (pre_flags & want_set) == want_set,
           "%s: saved rflags %lx, before %lx", what, (unsigned long)exc.rflags,
           (unsigned long)pre_flags);
}

/* ---- #DE ---- */
ASMFN(do_de, "xor %ecx, %ecx\n\tmov $1, %eax\n\txor %edx, %edx\n\t"
      "mov $0x7f, %bl\n\tadd $1, %bl\n\tstc\n\tstd\n\t" SAVE_STATE
      "de_at: div %ecx\n\tcld\n\tret");
ASMFN(do_de_ovf, "mov $0x80000000, %eax\n\tcltd\n\tmov $-1, %ecx\n\t"
      "de_ovf_at: idiv %ecx\n\tret");
extern char de_at[], de_ovf_at[];

/* ---- #DB ---- */
ASMFN(do_db_tf, "pushf\n\torl $0x100, (" AR("sp") ")\n\tpopf\n\t"
      "db_tf_first: nop\n\tdb_tf_after: nop\n\tret");
ASMFN(do_icebp, ".byte 0xf1\n\ticebp_after: ret");
extern char db_tf_first[], db_tf_after[], icebp_after[];

/* ---- #BP, #OF, #BR ---- */
ASMFN(do_int3, "int3\n\tint3_after: ret");
ASMFN(do_int3_cd, "int $3\n\tint3_cd_after: ret");
extern char int3_after[], int3_cd_after[];
#ifndef __x86_64__
ASMFN(do_into, "mov $0x7f, %al\n\tadd $1, %al\n\tinto\n\tinto_after: ret");
ASMFN(do_into_no, "mov $0x7e, %al\n\tadd $1, %al\n\tinto\n\tret");
ASMFN(do_bound, "mov $bound_pair, %edx\n\tmov $11, %eax\n\tbound_at: bound %eax, (%edx)\n\tret");
ASMFN(do_bound_ok, "mov $bound_pair, %edx\n\tmov $10, %eax\n\tbound %eax, (%edx)\n\tret");
extern char into_after[], bound_at[];
int32_t bound_pair[2] = { -5, 10 };
#else
ASMFN(do_into64, "into_at64: .byte 0xce\n\tret");
extern char into_at64[];
#endif

/* ---- #UD ---- */
ASMFN(do_ud2, "stc\n\t" SAVE_STATE "ud2_at: ud2\n\tret");
ASMFN(do_lock_nop, "lock_at: .byte 0xf0, 0x90\n\tret");
extern char ud2_at[], lock_at[];

/* ---- #NM ---- */
ASMFN(do_nm, "nm_at: fninit\n\tret");
ASMFN(do_nm_wait, "nm_wait_at: fwait\n\tret");
extern char nm_at[], nm_wait_at[];

/* ---- #NP, #SS, #GP: segment loads (the selector in the error code, 6.13) ---- */
#define SEL_NP_DATA (GDT_FREE + 0x00)
#define SEL_SMALL_SS (GDT_FREE + 0x08)
#define SEL_XONLY (GDT_FREE + 0x10)
#define SEL_SMALL_DS (GDT_FREE + 0x18)
#define SEL_SHORT_TSS (GDT_FREE + 0x20)
#define SEL_NP_STACK (GDT_FREE + 0x28)
#define SEL_OUTSIDE 0x108

ASMFN(do_np, "mov $0x50, %eax\n\tnp_at: mov %eax, %es\n\tret");
ASMFN(do_ss_np, "mov $0x78, %eax\n\tss_np_at: mov %eax, %ss\n\tret");
ASMFN(do_gp_outside, "mov $0x10b, %eax\n\tgp_outside_at: mov %eax, %ds\n\tret");
ASMFN(do_gp_sys, "mov $0x40, %eax\n\tgp_sys_at: mov %eax, %fs\n\tret");
ASMFN(do_gp_xonly, "mov $0x60, %eax\n\tgp_xonly_at: mov %eax, %gs\n\tret");
ASMFN(do_gp_ss_rpl, "mov $0x13, %eax\n\tgp_ss_rpl_at: mov %eax, %ss\n\tret");
ASMFN(do_gp_cr4, "mov %cr4, " AR("ax") "\n\tbts $15, " AR("ax") "\n\t"
      "gp_cr4_at: mov " AR("ax") ", %cr4\n\tret");
extern char np_at[], ss_np_at[], gp_outside_at[], gp_sys_at[], gp_xonly_at[], gp_ss_rpl_at[];
extern char gp_cr4_at[];
#ifdef __x86_64__
ASMFN(do_gp_noncanon, "movabs $0x800000000000, %rax\n\tgp_nc_at: mov (%rax), %eax\n\tret");
/* A reference through rBP uses SS: #SS(0), not #GP, when not canonical (6.15 #SS). */
ASMFN(do_ss_noncanon, "push %rbp\n\tmovabs $0x800000000000, %rbp\n\t"
      "ss_nc_at: mov (%rbp), %eax\n\tpop %rbp\n\tret");
extern char gp_nc_at[], ss_nc_at[];
#else
ASMFN(do_gp_ss_null, "xor %eax, %eax\n\tgp_ss_null_at: mov %eax, %ss\n\tret");
ASMFN(do_gp_limit, "mov $0x68, %eax\n\tmov %eax, %fs\n\tgp_limit_at: mov %fs:0x1000, %eax\n\tret");
ASMFN(do_gp_jmp_data, "gp_jmp_data_at: ljmp $0x10, $1f\n1:\tret");
/* SS limited to 16 MiB: the stack (below 16 MiB) works, [ebp + 32 MiB] does not. */
ASMFN(do_ss_limit, "push %ebp\n\tmov $0x58, %eax\n\tmov %eax, %ss\n\txor %ebp, %ebp\n\t"
      "ss_limit_at: mov 0x2000000(%ebp), %eax\n\tpop %ebp\n\tret");
ASMFN(do_ts, "ts_at: ljmp $0x70, $0\n\tret");
extern char gp_ss_null_at[], gp_limit_at[], gp_jmp_data_at[], ss_limit_at[], ts_at[];
#endif

/* ---- #PF ---- */
#ifdef __x86_64__
#define PF_ADDR 0x140000123ul      /* above the 4 GiB the runtime maps */
#else
#define PF_ADDR 0x40000123ul       /* above the 1 GiB pf_setup() maps */
#endif
static volatile uint32_t *pf_ptr = (volatile uint32_t *)PF_ADDR;
static void pf_read(ulong a) { (void)*pf_ptr; }
static void pf_write(ulong a) { *pf_ptr = 1; }
static void pf_fetch(ulong a) { ((void (*)(void))PF_ADDR)(); }

#ifndef __x86_64__
static uint32_t pf_pd[1024] __attribute__((aligned(4096)));

/* 32-bit paging with 4 MiB pages for the first 1 GiB (vol. 3, 4.3). */
static void pf_setup(void)
{
    for (unsigned i = 0; i < 256; i++) {
        pf_pd[i] = (i << 22) | 0x87;      /* P RW US PS */
    }
    write_cr3((ulong)pf_pd);
    write_cr4(read_cr4() | X86_CR4_PSE);
    write_cr0(read_cr0() | X86_CR0_PG);
}

static void pf_teardown(void)
{
    write_cr0(read_cr0() & ~X86_CR0_PG);
}
#endif

/* ---- #MF, #XM, #AC ---- */
static const uint16_t fcw_zm_unmasked __attribute__((used)) = 0x37b;
ASMFN(do_mf, "fninit\n\tfldcw fcw_zm_unmasked\n\tfldz\n\tfld1\n\tfdiv %st(1), %st\n\t"
      "mf_at: fwait\n\tret");
extern char mf_at[];
static const uint32_t mxcsr_zm_unmasked __attribute__((used)) = 0x1d80;
static const uint32_t mxcsr_default __attribute__((used)) = 0x1f80;
static const uint32_t f_one __attribute__((used)) = 0x3f800000, f_zero __attribute__((used));
ASMFN(do_xm, "ldmxcsr mxcsr_zm_unmasked\n\tmovss f_one, %xmm0\n\t"
      "xm_at: divss f_zero, %xmm0\n\tret");
extern char xm_at[];
ASMFN(do_ldmxcsr_default, "ldmxcsr mxcsr_default\n\tret");
static uint8_t ac_buf[16] __attribute__((aligned(16), used));
ASMFN(do_ac_user, "mov $ac_buf + 1, %eax\n\tac_at: mov (" AR("ax") "), %ecx\n\tret");
extern char ac_at[];

static uint32_t read_mxcsr(void)
{
    uint32_t v;

    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}

static uint16_t read_fsw(void)
{
    uint16_t v;

    __asm__ volatile("fnstsw %0" : "=m"(v));
    return v;
}

static void test_de(void)
{
    int v = exc_catch(do_de, 0);

    check(v, 0, 0, de_at, "#DE divide by zero");
    /* div 0 after "add" set OF, SF, AF; stc/std set CF and DF. */
    check_flags("#DE", X86_EFLAGS_CF | X86_EFLAGS_DF | X86_EFLAGS_OF);
    v = exc_catch(do_de_ovf, 0);
    check(v, 0, 0, de_ovf_at, "#DE quotient overflow");
}

static void clear_tf(struct exc_frame *f)
{
    f->rflags &= ~X86_EFLAGS_TF;
}

static void test_db(void)
{
    ulong dr6;
    int v;

    __asm__ volatile("mov %0, %%dr6" : : "r"((ulong)0xffff0ff0));
    v = exc_catch(do_db_tf, 0);
    /* POPF set TF: the trap comes after the instruction that follows (18.3.1.4). */
    check(v, 1, 0, db_tf_after, "#DB single step");
    __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
    report((dr6 & 0x4000) && (exc.rflags & X86_EFLAGS_TF),
           "#DB single step: DR6 %lx has BS, saved TF", (unsigned long)dr6);
    /* The handler returns with TF clear: execution goes on after the nop. */
    set_handler(1, clear_tf);
    v = exc_catch(do_db_tf, 0);
    set_handler(1, NULL);
    report(v == -1 && exc.rip == (ulong)db_tf_after, "#DB single step, IRET resumes");
    /* QEMU 7.2 raises #UD for F1. */
    if (qemu_differs("#DB ICEBP")) {
        return;
    }
    v = exc_catch(do_icebp, 0);
    check(v, 1, 0, icebp_after, "#DB ICEBP (INT1) is a trap");
}

static unsigned bp_seen;

static void count_bp(struct exc_frame *f)
{
    bp_seen++;
}

static void test_bp_of_br(void)
{
    int v;

    v = exc_catch(do_int3, 0);
    check(v, 3, 0, int3_after, "#BP int3");
    v = exc_catch(do_int3_cd, 0);
    check(v, 3, 0, int3_cd_after, "#BP int $3");
    set_handler(3, count_bp);
    v = exc_catch(do_int3, 0);
    set_handler(3, NULL);
    report(v == -1 && bp_seen == 1, "#BP int3, IRET resumes after it");
#ifdef __x86_64__
    v = exc_catch(do_into64, 0);
    check(v, 6, 0, into_at64, "INTO is #UD in 64-bit mode");
    report_skip("#BR: BOUND does not exist in 64-bit mode");
#else
    v = exc_catch(do_into, 0);
    check(v, 4, 0, into_after, "#OF into with OF=1");
    report(exc_catch(do_into_no, 0) == -1, "into with OF=0: no exception");
    v = exc_catch(do_bound, 0);
    check(v, 5, 0, bound_at, "#BR bound, index above the upper bound");
    report(exc_catch(do_bound_ok, 0) == -1, "bound, index at the upper bound: no exception");
#endif
}

static void test_ud(void)
{
    int v = exc_catch(do_ud2, 0);

    check(v, 6, 0, ud2_at, "#UD ud2");
    check_flags("#UD", X86_EFLAGS_CF);
#ifdef __x86_64__
    /* 64-bit mode pushes SS:RSP always, RSP as it was before (6.14.2). */
    report(exc.rsp == pre_sp && exc.ss == KDS, "#UD: saved ss:rsp %lx:%lx (want %x:%lx)",
           (unsigned long)exc.ss, (unsigned long)exc.rsp, KDS, (unsigned long)pre_sp);
#endif
    v = exc_catch(do_lock_nop, 0);
    check(v, 6, 0, lock_at, "#UD lock nop");
}

static void test_nm(void)
{
    ulong cr0 = read_cr0();
    int v;

    write_cr0(cr0 | X86_CR0_TS);
    v = exc_catch(do_nm, 0);
    check(v, 7, 0, nm_at, "#NM fninit with CR0.TS");
    /* WAIT raises #NM only when MP and TS are both set (table 2-2). */
    write_cr0((cr0 & ~X86_CR0_MP) | X86_CR0_TS);
    report(exc_catch(do_nm_wait, 0) == -1, "fwait with TS and not MP: no exception");
    write_cr0(cr0 | X86_CR0_TS | X86_CR0_MP);
    v = exc_catch(do_nm_wait, 0);
    check(v, 7, 0, nm_wait_at, "#NM fwait with TS and MP");
    write_cr0((cr0 & ~X86_CR0_TS) | X86_CR0_EM);
    v = exc_catch(do_nm, 0);
    check(v, 7, 0, nm_at, "#NM fninit with CR0.EM");
    write_cr0(cr0);
    __asm__ volatile("clts");
    report(exc_catch(do_nm, 0) == -1, "fninit after clts: no exception");
}

static void test_df(void)
{
    int v;

    /* #DE, then #NP for its absent gate: two contributory exceptions make #DF(0) (6.15, #DF). */
    set_idt_gate(0, isr_stub(0), KCS, 0xe, 0, 0, 0);
    v = exc_catch(do_de, 0);
    reset_idt_gate(0);
    report(v == 8 && exc.error == 0, "#DF from #DE through an absent gate: vector %d error 0x%lx",
           v, (unsigned long)exc.error);
    /* #UD (benign) through an absent gate is just #NP, the gate in the error code
     * with IDT (bit 1) and EXT (bit 0) set. */
    /* QEMU leaves EXT clear, and counts 16-byte gates in 64-bit mode; the
     * index is the vector in either mode. */
    if (qemu_differs("#NP for #UD through an absent gate")) {
        return;
    }
    set_idt_gate(6, isr_stub(6), KCS, 0xe, 0, 0, 0);
    v = exc_catch(do_ud2, 0);
    reset_idt_gate(6);
    check(v, 11, 6 * 8 + 3, ud2_at, "#NP for #UD through an absent gate");
}

/* ---- gates: absent, past the IDT limit; more #UD and #DE forms ---- */
ASMFN(do_int90, "int90_at: int $0x90\n\tret");
ASMFN(do_ud0, "ud0_at: .byte 0x0f, 0xff, 0xc0\n\tret");
ASMFN(do_mov_cr1, "cr1_at: mov %cr1, " AR("ax") "\n\tret");
extern char int90_at[], ud0_at[], cr1_at[];
#ifndef __x86_64__
ASMFN(do_aam0, "aam0_at: .byte 0xd4, 0x00\n\tret");
extern char aam0_at[];
#endif

struct desc_ptr {
    uint16_t limit;
    ulong base;
} __attribute__((packed));

static void test_gates(void)
{
    struct desc_ptr idtr, small;
    int v;

    /* INT n through an absent gate: #NP, EXT clear (software), IDT set. */
    if (MODE_BITS == 32 || !qemu_differs("#NP int 90h through an absent gate")) {
        set_idt_gate(0x90, isr_stub(0x90), KCS, 0xe, 0, 0, 0);
        v = exc_catch(do_int90, 0);
        reset_idt_gate(0x90);
        check(v, 11, 0x90 * 8 + 2, int90_at, "#NP int 90h through an absent gate");
    }
    /* Past the IDT limit: #GP with the same error code (6.10). */
    __asm__ volatile("sidt %0" : "=m"(idtr));
    small = idtr;
    small.limit = 0x40 * (MODE_BITS / 4) - 1;
    __asm__ volatile("lidt %0" : : "m"(small));
    v = exc_catch(do_int90, 0);
    __asm__ volatile("lidt %0" : : "m"(idtr));
    if (MODE_BITS == 32 || !qemu_differs("#GP int 90h past the IDT limit")) {
        check(v, 13, 0x90 * 8 + 2, int90_at, "#GP int 90h past the IDT limit");
    }
    v = exc_catch(do_ud0, 0);
    check(v, 6, 0, ud0_at, "#UD ud0");
    v = exc_catch(do_mov_cr1, 0);
    check(v, 6, 0, cr1_at, "#UD mov from cr1");
#ifndef __x86_64__
    v = exc_catch(do_aam0, 0);
    check(v, 0, 0, aam0_at, "#DE aam 0");
#endif
}

#ifdef __x86_64__
/* RSP0 on a page that is not there: pushing the frame of INT 81h from CPL 3
 * faults, and so does pushing that #PF's frame; #PF then #PF is #DF, which
 * IST1 lets through (6.15, #DF; 6.14.5). */
/* Compatibility mode at CPL 0: the handler (64-bit) sees the 32-bit CS. */
struct far32 {
    uint32_t off;
    uint16_t sel;
} __attribute__((packed));
extern char compat_ud_at[];
struct far32 compat_ptr = { 0, KCS32 };
ASMFN(do_compat_ud, "lea compat_ud_at(%rip), %rax\n\tmov %eax, compat_ptr\n\t"
      "ljmp *compat_ptr\n\t.code32\ncompat_ud_at: ud2\n\t.code64");

static void test_compat(void)
{
    int v = exc_catch(do_compat_ud, 0);

    report(v == 6 && exc.cs == KCS32 && exc.rip == (ulong)compat_ud_at && exc.ss == KDS,
           "#UD in compatibility mode: saved cs:rip %lx:%lx", (unsigned long)exc.cs,
           (unsigned long)exc.rip);
}

static void user_nothing(ulong a)
{
}

static void test_df_stack(void)
{
    struct hw_tss *t = &tss_area.tss;
    uint64_t rsp0 = t->rsp0;
    int v;

    set_idt_gate(8, isr_stub(8), KCS, 0xe, 0, 1, 1);
    t->rsp0 = 0x140001000ull;
    v = run_user(user_nothing, 0);
    t->rsp0 = rsp0;
    reset_idt_gate(8);
    report(v == 8 && exc.error == 0 && read_cr2() == 0x140001000ull - 8 &&
           exc.frame == (ulong)ist1_stack_top - 5 * 8,
           "#DF from #PF on the TSS stack, through IST1: vector %d cr2 %lx", v,
           (unsigned long)read_cr2());
}
#endif

#ifndef __x86_64__
/* ---- #DF through a task gate, as 32-bit Linux has it (8.3, 8.4, 6.11) ---- */
#define SEL_DF_TSS (GDT_FREE + 0x30)
static struct hw_tss df_tss __attribute__((aligned(128)));
static uint8_t df_stack[2048] __attribute__((aligned(16)));
volatile ulong df_tr, df_flags, df_err, df_link, df_old_type;

/* The double-fault task: note what the switch did, make #DE deliverable
 * again, and return to the old task with IRET (NT set: a task return),
 * which runs the faulting DIV again. */
void df_task_fix(void);
ASMFN(df_task_entry, "str %ax\n\tmovzwl %ax, %eax\n\tmov %eax, df_tr\n\tpushf\n\t"
      "pop df_flags\n\tmov (%esp), %eax\n\tmov %eax, df_err\n\tcall df_task_fix\n\t"
      "add $4, %esp\n\tiret\n\tjmp df_task_entry");

void df_task_fix(void)
{
    df_link = df_tss.link;
    df_old_type = (get_gdt_entry(TSS_SEL) >> 40) & 0xf;
    reset_idt_gate(0);
}

static void test_df_task(void)
{
    int v;

    memset(&df_tss, 0, sizeof(df_tss));
    df_tss.eip = (ulong)df_task_entry;
    df_tss.eflags = 2;
    df_tss.esp = (ulong)df_stack + sizeof(df_stack);
    df_tss.cs = KCS;
    df_tss.ss = df_tss.ds = df_tss.es = df_tss.fs = df_tss.gs = KDS;
    df_tss.cr3 = read_cr3();
    df_tss.iomap = sizeof(df_tss);
    set_gdt_entry(SEL_DF_TSS, seg_desc((ulong)&df_tss, sizeof(df_tss) - 1, 0x89, 0));
    set_idt_gate(8, 0, SEL_DF_TSS, 0x5, 0, 0, 1);           /* task gate */
    set_idt_gate(0, isr_stub(0), KCS, 0xe, 0, 0, 0);
    df_tr = 0;
    v = exc_catch(do_de, 0);
    reset_idt_gate(0);
    reset_idt_gate(8);
    report(df_tr == SEL_DF_TSS && df_err == 0 && (df_flags & X86_EFLAGS_NT) &&
           df_link == TSS_SEL && df_old_type == 0xb,
           "#DF through a task gate: TR %lx, error %lx, NT, back link %lx, old TSS busy",
           (unsigned long)df_tr, (unsigned long)df_err, (unsigned long)df_link);
    /* The task return resumed the old task at the DIV, which faulted again. */
    check(v, 0, 0, de_at, "IRET back to the old task, #DE again");
    report(((get_gdt_entry(SEL_DF_TSS) >> 40) & 0xf) == 0x9 &&
           ((get_gdt_entry(TSS_SEL) >> 40) & 0xf) == 0xb,
           "after the task return: the double-fault TSS is free, ours busy");
}
#endif

static void test_segments(void)
{
    int v;

    set_gdt_entry(SEL_NP_DATA, 0x00cf12000000ffffull);          /* data, not present */
    set_gdt_entry(SEL_NP_STACK, 0x00cf12000000ffffull);
    set_gdt_entry(SEL_XONLY, 0x00cf98000000ffffull);            /* code, execute-only */
    set_gdt_entry(SEL_SMALL_SS, seg_desc(0, 0xfff, 0x92, 0xc)); /* 16 MiB */
    set_gdt_entry(SEL_SMALL_DS, seg_desc(0, 0xfff, 0x92, 0x4)); /* 4 KiB */
    set_gdt_entry(SEL_SHORT_TSS, seg_desc((ulong)&tss_area, 0x40, 0x89, 0));

    v = exc_catch(do_np, 0);
    check(v, 11, SEL_NP_DATA, np_at, "#NP mov es, not-present data segment");
    v = exc_catch(do_ss_np, 0);
    check(v, 12, SEL_NP_STACK, ss_np_at, "#SS mov ss, not-present segment");
    v = exc_catch(do_gp_outside, 0);
    check(v, 13, SEL_OUTSIDE, gp_outside_at, "#GP mov ds, selector past the GDT limit");
    v = exc_catch(do_gp_sys, 0);
    check(v, 13, TSS_SEL, gp_sys_at, "#GP mov fs, a TSS descriptor");
    v = exc_catch(do_gp_xonly, 0);
    check(v, 13, SEL_XONLY, gp_xonly_at, "#GP mov gs, execute-only code");
    v = exc_catch(do_gp_ss_rpl, 0);
    check(v, 13, KDS, gp_ss_rpl_at, "#GP mov ss, RPL 3 at CPL 0");
    /* QEMU 7.2 loops forever on this one. */
    if (!qemu_differs("#GP mov cr4, reserved bit")) {
        v = exc_catch(do_gp_cr4, 0);
        check(v, 13, 0, gp_cr4_at, "#GP mov cr4, reserved bit 15");
    }
#ifdef __x86_64__
    v = exc_catch(do_gp_noncanon, 0);
    check(v, 13, 0, gp_nc_at, "#GP non-canonical address");
    /* QEMU's TCG raises #GP(0) here: its page walk does not know SS. */
    if (!qemu_differs("#SS non-canonical stack reference")) {
        v = exc_catch(do_ss_noncanon, 0);
        check(v, 12, 0, ss_nc_at, "#SS non-canonical rbp reference");
    }
    report_skip("#TS: no task switch in 64-bit mode");
#else
    v = exc_catch(do_gp_ss_null, 0);
    check(v, 13, 0, gp_ss_null_at, "#GP mov ss, null");
    /* QEMU's TCG does not check data segment limits. */
    if (!qemu_differs("#GP past a data segment limit")) {
        v = exc_catch(do_gp_limit, 0);
        check(v, 13, 0, gp_limit_at, "#GP past a 4 KiB data segment limit");
    }
    v = exc_catch(do_gp_jmp_data, 0);
    check(v, 13, KDS, gp_jmp_data_at, "#GP ljmp to a data segment");
    if (!qemu_differs("#SS past the stack segment limit")) {
        v = exc_catch(do_ss_limit, 0);
        check(v, 12, 0, ss_limit_at, "#SS past the stack segment limit");
    }
    /* A TSS limit below 67H faults before anything is switched (vol. 3, 8.3, table 8-1). */
    v = exc_catch(do_ts, 0);
    check(v, 10, SEL_SHORT_TSS, ts_at, "#TS ljmp to a TSS with limit 40H");
#endif
}

static void test_pf(void)
{
    int v;

#ifndef __x86_64__
    pf_setup();
#endif
    v = exc_catch(pf_read, 0);
    report(v == 14 && exc.error == 0 && exc.cr2 == PF_ADDR,
           "#PF read, not present: vector %d error 0x%lx cr2 %lx", v,
           (unsigned long)exc.error, (unsigned long)exc.cr2);
    v = exc_catch(pf_write, 0);
    report(v == 14 && exc.error == 2 && exc.cr2 == PF_ADDR,
           "#PF write, not present: vector %d error 0x%lx cr2 %lx", v,
           (unsigned long)exc.error, (unsigned long)exc.cr2);
    v = run_user(pf_read, 0);
    report(v == 14 && exc.error == 4 && exc.cr2 == PF_ADDR && (exc.cs & 3) == 3,
           "#PF user read, not present: vector %d error 0x%lx cr2 %lx", v,
           (unsigned long)exc.error, (unsigned long)exc.cr2);
    /* A fetch: rIP and CR2 are the target; I/D only with PAE and NXE (4.7). */
    v = exc_catch(pf_fetch, 0);
    report(v == 14 && exc.error == 0 && exc.cr2 == PF_ADDR && exc.rip == PF_ADDR,
           "#PF fetch, not present, NXE=0: vector %d error 0x%lx cr2 %lx rip %lx", v,
           (unsigned long)exc.error, (unsigned long)exc.cr2, (unsigned long)exc.rip);
#ifdef __x86_64__
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    v = exc_catch(pf_fetch, 0);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_NXE);
    report(v == 14 && exc.error == 0x10 && exc.cr2 == PF_ADDR,
           "#PF fetch, not present, NXE=1: vector %d error 0x%lx", v, (unsigned long)exc.error);
#else
    pf_teardown();
#endif
}

static void test_mf(void)
{
    ulong cr0 = read_cr0();
    int v;

    write_cr0((cr0 | X86_CR0_NE | X86_CR0_MP) & ~(X86_CR0_TS | X86_CR0_EM));
    v = exc_catch(do_mf, 0);
    check(v, 16, 0, mf_at, "#MF fwait after an unmasked x87 divide by zero");
    report((read_fsw() & 0x84) == 0x84, "#MF: FSW %x has ES and ZE", read_fsw());
    __asm__ volatile("fninit");
    write_cr0(cr0);
}

static void test_xm(void)
{
    ulong cr4 = read_cr4();
    int v;

    if (!(cpuid(1, 0).d & (1u << 25))) {
        report_skip("#XM: no SSE");
        return;
    }
    write_cr0(read_cr0() & ~(X86_CR0_TS | X86_CR0_EM));
    write_cr4(cr4 | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT);
    /* QEMU 7.2 sets the flag but raises nothing. */
    if (!qemu_differs("#XM")) {
        v = exc_catch(do_xm, 0);
        check(v, 19, 0, xm_at, "#XM divss by zero, ZM clear");
        report((read_mxcsr() & 0x3f) == 0x04, "#XM: MXCSR %x has ZE only", read_mxcsr());
    }
    /* Without OSXMMEXCPT an unmasked SIMD exception is #UD (6.15, #XM). */
    write_cr4((cr4 | X86_CR4_OSFXSR) & ~X86_CR4_OSXMMEXCPT);
    if (!quirks) {
        v = exc_catch(do_xm, 0);
        check(v, 6, 0, xm_at, "#UD for it without CR4.OSXMMEXCPT");
    }
    exc_catch(do_ldmxcsr_default, 0);
    write_cr4(cr4);
}

static void test_ac(void)
{
    ulong cr0 = read_cr0();
    int v;

    /* QEMU's TCG has no alignment checking. */
    if (qemu_differs("#AC")) {
        return;
    }
    write_cr0(cr0 | X86_CR0_AM);
    user_rflags = X86_EFLAGS_AC;
    v = run_user(do_ac_user, 0);
    user_rflags = 0;
    report(v == 17 && exc.error == 0 && exc.rip == (ulong)ac_at && exc.cs == USER_CS,
           "#AC misaligned load at CPL 3: vector %d error 0x%lx rip %lx", v,
           (unsigned long)exc.error, (unsigned long)exc.rip);
    /* The same access with AC clear, or at CPL 0, is fine. */
    report(run_user(do_ac_user, 0) == USER_RET_VEC, "misaligned load at CPL 3 with AC clear");
    write_cr0(cr0);
}

int main(const struct mb_info *mbi)
{
    x86_parse_args(mbi);
    test_name = MODE_BITS == 64 ? "vectors64" : "vectors32";
    x86_setup();
    test_de();
    test_db();
    test_bp_of_br();
    test_ud();
    test_nm();
    test_df();
    test_gates();
    test_segments();
    test_pf();
#ifdef __x86_64__
    test_df_stack();
    test_compat();
#else
    test_df_task();
#endif
    test_mf();
    test_xm();
    test_ac();
    return report_summary();
}
