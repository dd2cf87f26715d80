/*
 * Fast system calls (SDM vol. 2B SYSCALL, SYSRET, SYSENTER, SYSEXIT):
 * syscall64 makes SYSCALL/SYSRET round trips from 64-bit CPL 3 (RCX and
 * R11 contents, RFLAGS masked by SFMASK, the selectors from STAR) and
 * returns to compatibility mode with a 32-bit SYSRET; syscall32 makes
 * SYSENTER/SYSEXIT round trips in 32-bit protected mode.
 */
#include "x86.h"

#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
#define MSR_SYSENTER_CS 0x174u
#define MSR_SYSENTER_ESP 0x175u
#define MSR_SYSENTER_EIP 0x176u

/* What the kernel side saw. */
volatile ulong k_rcx, k_r11, k_flags, k_cs, k_ss, k_sp, k_rax;
/* What the user side saw after the return. */
volatile ulong u_cs, u_ss, u_flags, u_rcx;

#ifdef __x86_64__
/* SYSCALL: CS/SS from STAR[47:32], RCX = next RIP, R11 = RFLAGS (RF clear),
 * RFLAGS &= ~SFMASK; the stack is still the user's.  SYSRET: CS/SS from
 * STAR[63:48] (+16, +8 for 64-bit), RIP = RCX, RFLAGS = R11. */
ASMFN(sc_entry, "mov %rcx, k_rcx\n\tmov %r11, k_r11\n\tmov %rax, k_rax\n\tpushf\n\t"
      "pop k_flags\n\tmov %cs, k_cs\n\tmov %ss, k_ss\n\tcmp $0x32, %rax\n\tje 1f\n\t"
      "sysretq\n1:\tmov $sc_compat, %ecx\n\tsysretl");
ASMFN(u_syscall, "push %rbx\n\tpushf\n\torl $0x400, (%rsp)\n\tpopf\n\tpushf\n\tpop u_flags\n\t"
      "mov $0x64, %eax\n\tsyscall\n\tsc_after: mov %rcx, u_rcx\n\tpushf\n\tpop %rbx\n\t"
      "cld\n\tmov %rbx, u_flags\n\tmov %cs, u_cs\n\tmov %ss, u_ss\n\tpop %rbx\n\tret");
/* SYSRET without REX.W lands in 32-bit code at CPL 3 (compatibility mode). */
/* IRETQ to CPL 3 nulled DS (its DPL 0 < CPL), which compatibility mode cannot use. */
ASMFN(u_syscall_compat, "mov $0x32, %eax\n\tsyscall\n\tud2\n\t.code32\n"
      "sc_compat: mov $0x23, %eax\n\tmov %eax, %ds\n\tmov %cs, u_cs\n\tint $0x81\n"
      "sc_compat_after: ud2\n\t.code64");
/* POPF sets TF: the trap comes after the next instruction, SYSCALL. */
ASMFN(u_syscall_tf, "mov $0x64, %eax\n\tpushf\n\torl $0x100, (%rsp)\n\tpopf\n\tsyscall\n\tret");
extern char sc_after[], sc_compat_after[];

static void test_syscall(void)
{
    ulong sfmask = X86_EFLAGS_DF | X86_EFLAGS_AC | X86_EFLAGS_NT | X86_EFLAGS_TF;
    int v;

    if (!((cpuid(0x80000001, 0).d >> 11) & 1)) {
        report_skip("SYSCALL: not in CPUID");
        return;
    }
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    wrmsr(MSR_STAR, (0x18ull << 48) | ((uint64_t)KCS << 32));
    wrmsr(MSR_LSTAR, (ulong)sc_entry);
    wrmsr(MSR_FMASK, sfmask);
    v = run_user(u_syscall, 0);
    report(v == USER_RET_VEC, "syscall/sysret round trip from CPL 3: %d", v);
    report(k_rcx == (ulong)sc_after && u_rcx == (ulong)sc_after,
           "RCX holds the return address: %lx", (unsigned long)k_rcx);
    report(k_r11 == (u_flags & ~X86_EFLAGS_RF) && (k_r11 & X86_EFLAGS_DF),
           "R11 holds RFLAGS: %lx (user had %lx)", (unsigned long)k_r11,
           (unsigned long)u_flags);
    report(!(k_flags & sfmask) && k_rax == 0x64, "SFMASK cleared DF in the kernel: %lx",
           (unsigned long)k_flags);
    report((k_cs & 0xffff) == KCS && (k_ss & 0xffff) == KDS, "kernel cs %lx ss %lx",
           (unsigned long)k_cs, (unsigned long)k_ss);
    report((u_cs & 0xffff) == UCS64 && (u_ss & 0xffff) == UDS && (u_flags & X86_EFLAGS_DF),
           "sysretq: cs %lx ss %lx, RFLAGS from R11 (DF set again)", (unsigned long)u_cs,
           (unsigned long)u_ss);
    v = run_user(u_syscall_compat, 0);
    report(v == USER_RET_VEC && exc.cs == UCS32 && exc.rip == (ulong)sc_compat_after &&
           (u_cs & 0xffff) == UCS32,
           "sysretl to compatibility mode: %d, cs %lx rip %lx", v, (unsigned long)exc.cs,
           (unsigned long)exc.rip);
    /* SFMASK without TF: the single-step trap comes after SYSCALL, at CPL 0,
     * on the first kernel instruction (a trap after the instruction). */
    wrmsr(MSR_FMASK, X86_EFLAGS_DF | X86_EFLAGS_AC);
    v = run_user(u_syscall_tf, 0);
    wrmsr(MSR_FMASK, sfmask);
    report(v == 1 && exc.cs == KCS && exc.rip == (ulong)sc_entry,
           "syscall with TF set and not masked: #DB at the entry point %lx:%lx (%d)",
           (unsigned long)exc.cs, (unsigned long)exc.rip, v);
    /* SFMASK with TF: SYSCALL single-steps by TF as it leaves it, so no
     * trap in the kernel; SYSRET sets TF again from R11 and the trap comes
     * back in user code (as kvm-unit-tests' syscall test expects). */
    v = run_user(u_syscall_tf, 0);
    report(v == 1 && exc.cs == UCS64,
           "syscall with TF masked by SFMASK: no #DB in the kernel, one in user code "
           "%lx:%lx (%d)", (unsigned long)exc.cs, (unsigned long)exc.rip, v);
    /* Without EFER.SCE the instruction does not exist (#UD). */
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_SCE);
    v = run_user(u_syscall, 0);
    report(v == 6, "syscall with EFER.SCE clear: #UD (%d)", v);
}
#else
/* SYSENTER: CS = SYSENTER_CS, SS = +8, ESP/EIP from the MSRs, IF and VM
 * clear.  SYSEXIT: CS = SYSENTER_CS + 16 | 3, SS = + 24 | 3, ESP = ECX,
 * EIP = EDX. */
static uint8_t sysenter_stack[1024] __attribute__((aligned(16)));
ASMFN(se_entry, "mov %esp, k_sp\n\tpushf\n\tpop k_flags\n\tmov %cs, k_cs\n\t"
      "mov %ss, k_ss\n\tmov %eax, k_rax\n\tsysexit");
ASMFN(u_sysenter, "push %ebp\n\tmov %esp, %ecx\n\tmov $1f, %edx\n\tmov $0x32, %eax\n\t"
      "sysenter\n1:\tmov %cs, u_cs\n\tmov %ss, u_ss\n\tmov %esp, u_rcx\n\tpop %ebp\n\tret");

ASMFN(u_sysenter_tf, "mov %esp, %ecx\n\tmov $1f, %edx\n\tpushf\n\torl $0x100, (%esp)\n\tpopf\n\t"
      "sysenter\n1:\tret");

static void test_syscall(void)
{
    int v;

    if (!((cpuid(1, 0).d >> 11) & 1)) {
        report_skip("SYSENTER: not in CPUID");
        return;
    }
    wrmsr(MSR_SYSENTER_CS, KCS);
    wrmsr(MSR_SYSENTER_ESP, (ulong)sysenter_stack + sizeof(sysenter_stack));
    wrmsr(MSR_SYSENTER_EIP, (ulong)se_entry);
    /* IF on at CPL 3 shows SYSENTER clearing it; the i8259 is masked (OCW1). */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    user_rflags = X86_EFLAGS_IF;
    v = run_user(u_sysenter, 0);
    user_rflags = 0;
    report(v == USER_RET_VEC, "sysenter/sysexit round trip from CPL 3: %d", v);
    report((k_cs & 0xffff) == KCS && (k_ss & 0xffff) == KDS &&
           k_sp == (ulong)sysenter_stack + sizeof(sysenter_stack) && k_rax == 0x32,
           "sysenter: cs %lx ss %lx esp %lx", (unsigned long)k_cs, (unsigned long)k_ss,
           (unsigned long)k_sp);
    report(!(k_flags & X86_EFLAGS_IF), "sysenter clears IF: %lx", (unsigned long)k_flags);
    report((u_cs & 0xffff) == UCS32 && (u_ss & 0xffff) == UDS &&
           u_rcx == (ulong)user_stack_top - 12,
           "sysexit: cs %lx ss %lx esp %lx", (unsigned long)u_cs, (unsigned long)u_ss,
           (unsigned long)u_rcx);
    /* SYSENTER leaves TF alone: the single-step trap comes at the entry point,
     * at CPL 0 (the case Linux's sysenter entry handles). */
    v = run_user(u_sysenter_tf, 0);
    report(v == 1 && exc.cs == KCS && exc.rip == (ulong)se_entry,
           "sysenter with TF set: #DB at the entry point %lx:%lx (%d)", (unsigned long)exc.cs,
           (unsigned long)exc.rip, v);
    /* SYSENTER_CS = 0: #GP(0) (SYSENTER). */
    wrmsr(MSR_SYSENTER_CS, 0);
    v = run_user(u_sysenter, 0);
    report(v == 13 && exc.error == 0, "sysenter with SYSENTER_CS = 0: #GP(0) (%d)", v);
    /* SYSEXIT at CPL 3: #GP(0). */
    wrmsr(MSR_SYSENTER_CS, KCS);
    v = run_user(se_entry, 0);
    report(v == 13 && exc.error == 0, "sysexit at CPL 3: #GP(0) (%d)", v);
}
#endif

int main(const struct mb_info *mbi)
{
    x86_parse_args(mbi);
    test_name = MODE_BITS == 64 ? "syscall64" : "syscall32";
    x86_setup();
    test_syscall();
    return report_summary();
}
