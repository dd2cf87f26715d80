/*
 * Privilege changes (SDM vol. 3, ch. 5 and 6.12.1): IRET(Q) from CPL 0 to
 * CPL 3, INT n back through a DPL-3 gate with the stack from the TSS
 * (ESP0/SS0, RSP0), IST stacks in 64-bit mode, #GP for INT n through a
 * DPL-0 gate and for privileged instructions at CPL 3, IRET that would
 * raise the privilege, IOPL and the I/O permission bitmap (vol. 1, 19.5),
 * POPF at CPL 3, trap and interrupt gates, call gates (32- and 64-bit),
 * the forms of IRET, and in privilege32 virtual-8086 mode and task
 * switches by CALL, JMP and IRET.  Built as privilege32 and privilege64.
 */
#include "x86.h"

#ifdef __x86_64__
#define USER_CS UCS64
#define AR(x) "%r" x
#define W 8
#else
#define USER_CS UCS32
#define AR(x) "%e" x
#define W 4
#endif

volatile ulong u_cs, u_ss, u_flags, u_ds;

static void user_read_state(ulong a)
{
    ulong cs, ss, ds;

    __asm__ volatile("mov %%cs, %0\n\tmov %%ss, %1\n\tmov %%ds, %2"
                     : "=r"(cs), "=r"(ss), "=r"(ds));
    u_cs = cs & 0xffff;
    u_ss = ss & 0xffff;
    u_ds = ds & 0xffff;
    u_flags = read_flags();
}

static void test_round_trip(void)
{
    int v = run_user(user_read_state, 0);

    report(v == USER_RET_VEC && u_cs == USER_CS && u_ss == UDS,
           "IRET to CPL 3: cs %lx ss %lx", (unsigned long)u_cs, (unsigned long)u_ss);
    /* Back through the DPL-3 gate: the CPU pushed the user SS:rSP on the TSS stack. */
    report(v == USER_RET_VEC && exc.cs == USER_CS && exc.ss == UDS &&
           exc.rsp == (ulong)user_stack_top - (MODE_BITS == 32 ? 4 : 0),
           "INT 81h from CPL 3: saved cs %lx ss:rsp %lx:%lx", (unsigned long)exc.cs,
           (unsigned long)exc.ss, (unsigned long)exc.rsp);
    report(exc.frame == (ulong)ring0_stack_top - 5 * W,
           "the frame is at the top of the TSS stack (rsp0): %lx", (unsigned long)exc.frame);
#ifdef __x86_64__
    /* A privilege change in 64-bit mode loads SS with a null selector (6.14.4). */
    report(exc.handler_ss == 0, "64-bit handler runs with SS null: %lx",
           (unsigned long)exc.handler_ss);
#else
    report(exc.handler_ss == KDS, "handler runs with SS0 from the TSS: %lx",
           (unsigned long)exc.handler_ss);
#endif
}

/* ---- #GP at CPL 3 ---- */
ASMFN(u_hlt, "u_hlt_at: hlt\n\tret");
ASMFN(u_cli, "u_cli_at: cli\n\tret");
ASMFN(u_mov_cr, "u_mov_cr_at: mov %cr0, " AR("ax") "\n\tret");
ASMFN(u_int82, "u_int82_at: int $0x82\n\tret");
ASMFN(u_load_kds, "mov $0x10, %eax\n\tu_load_kds_at: mov %eax, %ds\n\tret");
/* IRET to CPL 0 from CPL 3: #GP(return CS) (IRET, "return CS RPL < CPL"). */
#ifdef __x86_64__
ASMFN(u_iret_up, "mov %rsp, %rax\n\tpushq $0x23\n\tpush %rax\n\tpushf\n\tpushq $0x08\n\t"
      "pushq $1f\n\tu_iret_up_at: iretq\n1:\tret");
#else
ASMFN(u_iret_up, "pushf\n\tpushl $0x08\n\tpushl $1f\n\tu_iret_up_at: iret\n1:\tret");
#endif
extern char u_hlt_at[], u_cli_at[], u_mov_cr_at[], u_int82_at[], u_load_kds_at[];
ASMFN(u_stac, "u_stac_at: stac\n\tret");
extern char u_iret_up_at[], u_stac_at[];

static void check_user_gp(void (*fn)(ulong), const char *at, ulong err, const char *what)
{
    int v = run_user(fn, 0);

    report(v == 13 && exc.error == err && exc.rip == (ulong)at && exc.cs == USER_CS,
           "%s at CPL 3: vector %d error 0x%lx at %lx:%lx", what, v, (unsigned long)exc.error,
           (unsigned long)exc.cs, (unsigned long)exc.rip);
}

static void test_user_gp(void)
{
    check_user_gp(u_hlt, u_hlt_at, 0, "#GP(0) hlt");
    check_user_gp(u_cli, u_cli_at, 0, "#GP(0) cli with IOPL 0");
    check_user_gp(u_mov_cr, u_mov_cr_at, 0, "#GP(0) mov from cr0");
    /* INT n through a gate with DPL < CPL: the gate in the error code (6.12.1.1). */
    /* QEMU counts 16-byte gates in 64-bit mode; the index is the vector. */
    if (MODE_BITS == 32 || !qemu_differs("#GP int 82h through a DPL-0 gate")) {
        check_user_gp(u_int82, u_int82_at, 0x82 * 8 + 2, "#GP int 82h through a DPL-0 gate");
    }
    check_user_gp(u_load_kds, u_load_kds_at, KDS, "#GP mov ds, a DPL-0 data segment");
    check_user_gp(u_iret_up, u_iret_up_at, KCS, "#GP iret to CPL 0");
    /* STAC/CLAC exist only at CPL 0 (vol. 2B STAC): #UD above. */
    if ((cpuid(0, 0).a >= 7) && ((cpuid(7, 0).b >> 20) & 1)) {
        int v = run_user(u_stac, 0);

        report(v == 6 && exc.rip == (ulong)u_stac_at, "stac at CPL 3: #UD (%d)", v);
    } else {
        report_skip("stac at CPL 3: no SMAP in CPUID");
    }
}

/* ---- IOPL and the I/O bitmap ---- */
ASMFN(u_in80, "u_in80_at: inb $0x80, %al\n\tret");
ASMFN(u_inw7f, "mov $0x7f, %dx\n\tu_inw7f_at: inw %dx, %ax\n\tret");
ASMFN(u_cli_sti, "cli\n\tsti\n\tcli\n\tret");
/* POPF at CPL 3 leaves IOPL alone and, with CPL > IOPL, IF too (vol. 2B, POPF). */
ASMFN(u_popf, "pushf\n\torl $0x7200, (" AR("sp") ")\n\tpopf\n\tpushf\n\tpop u_flags\n\tret");
extern char u_in80_at[], u_inw7f_at[];

static void iomap_allow(unsigned port, int allow)
{
    if (allow) {
        tss_area.iomap[port / 8] &= ~(1u << (port % 8));
    } else {
        tss_area.iomap[port / 8] |= 1u << (port % 8);
    }
}

/* LTR needs an available TSS: the busy type 11 goes back to 9 first. */
static void retr(uint32_t limit)
{
    uint64_t d = get_gdt_entry(TSS_SEL) & ~((0xfull << 40) | 0xffffull | (0xfull << 48));

    d |= (0x9ull << 40) | (limit & 0xffff) | ((uint64_t)(limit >> 16) << 48);
    set_gdt_entry(TSS_SEL, d);
    __asm__ volatile("ltr %w0" : : "r"(TSS_SEL) : "memory");
}

static void test_io(void)
{
    int v;

    check_user_gp(u_in80, u_in80_at, 0, "#GP in from port 80h, denied in the bitmap");
    iomap_allow(0x80, 1);
    v = run_user(u_in80, 0);
    report(v == USER_RET_VEC, "in from port 80h, allowed in the bitmap: %d", v);
    /* A word at 7Fh needs the bits of 7Fh and 80h. */
    check_user_gp(u_inw7f, u_inw7f_at, 0, "#GP inw from 7Fh, 80h allowed but 7Fh not");
    iomap_allow(0x7f, 1);
    v = run_user(u_inw7f, 0);
    report(v == USER_RET_VEC, "inw from 7Fh, both allowed: %d", v);
    /* The CPU reads the bitmap two bytes at a time, and a byte past the TSS
     * limit is a #GP (vol. 1, 19.5.2).  With the limit at the byte of ports
     * 80h-87h: port 80h needs the next byte too, ports 7Fh-80h do not. */
    retr(offsetof(struct tss_area, iomap) + 0x10);
    check_user_gp(u_in80, u_in80_at, 0, "#GP in from port 80h, bitmap read past the TSS limit");
    v = run_user(u_inw7f, 0);
    report(v == USER_RET_VEC, "inw from 7Fh, both bitmap bytes inside the limit (%d)", v);
    retr(sizeof(tss_area) - 1);
    iomap_allow(0x7f, 0);
    iomap_allow(0x80, 0);
    /* IOPL 3: no bitmap check, and CLI/STI are allowed. */
    user_rflags = X86_EFLAGS_IOPL3;
    v = run_user(u_in80, 0);
    report(v == USER_RET_VEC, "in from port 80h with IOPL 3: %d", v);
    v = run_user(u_cli_sti, 0);
    report(v == USER_RET_VEC, "cli/sti at CPL 3 with IOPL 3: %d", v);
    user_rflags = 0;
    v = run_user(u_popf, 0);
    report(v == USER_RET_VEC && !(u_flags & (X86_EFLAGS_IOPL3 | X86_EFLAGS_IF)) &&
           (u_flags & X86_EFLAGS_NT), "popf at CPL 3 keeps IOPL and IF: flags %lx",
           (unsigned long)u_flags);
}

/* ---- IST (64-bit) and a gate at DPL 3 with a trap gate ---- */
ulong ring0_sp;
ASMFN(k_int84, "mov " AR("sp") ", ring0_sp\n\tint $0x84\n\tret");
ASMFN(u_int83, "int $0x83\n\tret");
ASMFN(k_ud2, "mov " AR("sp") ", ring0_sp\n\tud2\n\tret");

static void test_ist(void)
{
#ifdef __x86_64__
    int v;

    set_idt_gate(0x83, isr_stub(0x83), KCS, 0xe, 3, 1, 1);
    set_idt_gate(0x84, isr_stub(0x84), KCS, 0xe, 0, 2, 1);
    v = run_user(u_int83, 0);
    report(v == 0x83 && exc.frame == (ulong)ist1_stack_top - 5 * 8 && exc.cs == UCS64,
           "int 83h from CPL 3 through IST1: frame %lx", (unsigned long)exc.frame);
    /* IST switches stacks even without a privilege change (6.14.5). */
    v = exc_catch(k_int84, 0);
    report(v == 0x84 && exc.frame == (ulong)ist2_stack_top - 5 * 8 && exc.cs == KCS &&
           exc.rsp == ring0_sp && exc.ss == KDS,
           "int 84h at CPL 0 through IST2: frame %lx, saved rsp %lx (want %lx)",
           (unsigned long)exc.frame, (unsigned long)exc.rsp, (unsigned long)ring0_sp);
    /* An exception through IST too: #UD with IST1. */
    set_idt_gate(6, isr_stub(6), KCS, 0xe, 0, 1, 1);
    v = exc_catch(k_ud2, 0);
    reset_idt_gate(6);
    report(v == 6 && exc.frame == (ulong)ist1_stack_top - 5 * 8 && exc.rsp == ring0_sp,
           "#UD at CPL 0 through IST1: frame %lx", (unsigned long)exc.frame);
    reset_idt_gate(0x83);
    reset_idt_gate(0x84);
#else
    int v;

    /* Without a privilege change the frame goes on the current stack. */
    set_idt_gate(0x84, isr_stub(0x84), KCS, 0xe, 0, 0, 1);
    v = exc_catch(k_int84, 0);
    report(v == 0x84 && exc.frame == ring0_sp - 3 * 4 && exc.cs == KCS,
           "int 84h at CPL 0 stays on its stack: frame %lx, esp before %lx",
           (unsigned long)exc.frame, (unsigned long)ring0_sp);
    reset_idt_gate(0x84);
    report_skip("IST: 64-bit mode only");
    (void)u_int83;
    (void)k_ud2;
#endif
}

/* ---- trap gate vs interrupt gate: IF in the handler ---- */
static volatile ulong handler_flags;

static void note_flags(struct exc_frame *f)
{
    handler_flags = read_flags();
}

ASMFN(k_sti_int85, "sti\n\tint $0x85\n\tcli\n\tret");

static void test_gate_types(void)
{
    /* IF is set for a few instructions: mask the i8259 (OCW1) so that no timer
     * tick comes in, whatever state the machine left it in. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    set_handler(0x85, note_flags);
    set_idt_gate(0x85, isr_stub(0x85), KCS, 0xf, 0, 0, 1);
    exc_catch(k_sti_int85, 0);
    report(handler_flags & X86_EFLAGS_IF, "trap gate keeps IF set: %lx",
           (unsigned long)handler_flags);
    set_idt_gate(0x85, isr_stub(0x85), KCS, 0xe, 0, 0, 1);
    exc_catch(k_sti_int85, 0);
    report(!(handler_flags & X86_EFLAGS_IF) && (exc.rflags & X86_EFLAGS_IF),
           "interrupt gate clears IF, the saved image has it: %lx",
           (unsigned long)handler_flags);
    set_handler(0x85, NULL);
    reset_idt_gate(0x85);
}

/* ---- call gates to CPL 0, and a far jump that may not go there ---- */
#define SEL_CALL_GATE (GDT_FREE + 0x00)     /* 16 bytes in long mode */
volatile ulong gate_cs, gate_ss, gate_old_ss, gate_old_esp, gate_arg;
/* Far pointers (m16:32): the offset does not matter through a gate. */
struct far32 {
    uint32_t off;
    uint16_t sel;
} __attribute__((packed));
struct far32 gate_ptr = { 0, SEL_CALL_GATE | 3 };
struct far32 kcs_ptr = { 0, KCS };

#ifdef __x86_64__
/* Through a 64-bit gate the CPU pushes SS, RSP, CS, RIP of the caller, 8
 * bytes each, on RSP0 with SS null, and copies no parameters (5.8.6). */
ASMFN(k_gate_target, "mov %cs, gate_cs\n\tmov %ss, gate_ss\n\tmov 16(%rsp), %rax\n\t"
      "mov %rax, gate_old_esp\n\tmov 24(%rsp), %rax\n\tmov %rax, gate_old_ss\n\tlretq");
ASMFN(u_call_gate, "lcall *gate_ptr\n\tret");
#else
/* Far-called from CPL 3: the CPU pushed SS:ESP of the caller, a copied
 * parameter, and CS:EIP (5.8.5); record them and return with lret $4. */
ASMFN(k_gate_target, "mov %cs, gate_cs\n\tmov %ss, gate_ss\n\tmov 8(%esp), %eax\n\t"
      "mov %eax, gate_arg\n\tmov 12(%esp), %eax\n\tmov %eax, gate_old_esp\n\t"
      "mov 16(%esp), %eax\n\tmov %eax, gate_old_ss\n\tlret $4");
ASMFN(u_call_gate, "pushl $0x1234\n\tlcall *gate_ptr\n\tret");
#endif
/* A far JMP to a more privileged non-conforming code segment: #GP(selector). */
ASMFN(u_ljmp_kcs, "u_ljmp_kcs_at: ljmp *kcs_ptr\n\tret");
extern char u_ljmp_kcs_at[];

static void test_call_gate(void)
{
    ulong a = (ulong)k_gate_target;
    /* Type 0xc, DPL 3; one parameter dword in 32-bit mode. */
    uint64_t d = (a & 0xffff) | ((uint64_t)KCS << 16) | (0xecull << 40) |
                 ((uint64_t)((a >> 16) & 0xffff) << 48);
    int v;

#ifdef __x86_64__
    set_gdt_entry(SEL_CALL_GATE, d);
    set_gdt_entry(SEL_CALL_GATE + 8, (uint64_t)a >> 32);
    v = run_user(u_call_gate, 0);
    report(v == USER_RET_VEC && (gate_cs & 0xffff) == KCS && (gate_ss & 0xffff) == 0 &&
           (gate_old_ss & 0xffff) == UDS && gate_old_esp == (ulong)user_stack_top - 8,
           "64-bit call gate from CPL 3 to CPL 0: %d, cs %lx ss %lx old ss:rsp %lx:%lx",
           v, (unsigned long)gate_cs, (unsigned long)gate_ss, (unsigned long)gate_old_ss,
           (unsigned long)gate_old_esp);
#else
    set_gdt_entry(SEL_CALL_GATE, d | (1ull << 32));
    v = run_user(u_call_gate, 0);
    report(v == USER_RET_VEC && (gate_cs & 0xffff) == KCS && (gate_ss & 0xffff) == KDS &&
           gate_arg == 0x1234 && (gate_old_ss & 0xffff) == UDS &&
           gate_old_esp == (ulong)user_stack_top - 12,
           "call gate from CPL 3 to CPL 0: %d, cs %lx ss %lx param %lx old ss:esp %lx:%lx",
           v, (unsigned long)gate_cs, (unsigned long)gate_ss, (unsigned long)gate_arg,
           (unsigned long)gate_old_ss, (unsigned long)gate_old_esp);
#endif
    v = run_user(u_ljmp_kcs, 0);
    report(v == 13 && exc.error == KCS && exc.rip == (ulong)u_ljmp_kcs_at,
           "ljmp from CPL 3 to the DPL-0 code segment: #GP(%lx) (%d)",
           (unsigned long)exc.error, v);
}

/* ---- IRET forms (IRET pseudocode, SDM vol. 2A) ---- */
volatile ulong iret_sp, iret_flags, iret_cs;
static uint8_t alt_stack[256] __attribute__((aligned(16), used));
#ifdef __x86_64__
/* IRETQ at CPL 0 pops SS:RSP too: onto another stack, with CF and DF set. */
ASMFN(k_iretq_same, "mov %rsp, %rax\n\tpushq $0x10\n\tpushq $alt_stack + 128\n\tpushf\n\t"
      "orq $0x401, (%rsp)\n\tpushq $0x08\n\tpushq $1f\n\tiretq\n1:\tmov %rsp, iret_sp\n\t"
      "pushf\n\tpop iret_flags\n\tcld\n\tmov %rax, %rsp\n\tret");
/* IRETQ to CPL 3 compatibility mode, then back with INT 81h. */
ASMFN(k_iretq_compat, "pushq $0x23\n\tpushq $user_stack_top\n\tpushq $2\n\tpushq $0x1b\n\t"
      "pushq $iret_compat\n\tiretq\n\t.code32\niret_compat: mov $0x23, %eax\n\t"
      "mov %eax, %ds\n\tmov %cs, iret_cs\n\tint $0x81\n\tiret_compat_after: ud2\n\t.code64");
/* NT set: IRET in IA-32e mode is #GP(0) (no task return). */
ASMFN(k_iret_nt, "pushf\n\torl $0x4000, (%rsp)\n\tpopf\n\tmov %rsp, %rax\n\tpushq $0x10\n\t"
      "push %rax\n\tpushf\n\tpushq $0x08\n\tpushq $1f\n\tiret_nt_at: iretq\n1:\tret");
/* A non-canonical return RIP: #GP(0). */
ASMFN(k_iret_nc, "mov %rsp, %rax\n\tpushq $0x10\n\tpush %rax\n\tpushf\n\tpushq $0x08\n\t"
      "movabs $0x800000000000, %rcx\n\tpush %rcx\n\tiret_nc_at: iretq");
extern char iret_compat_after[], iret_nt_at[], iret_nc_at[];
#else
/* IRET at the same privilege pops EIP, CS, EFLAGS only. */
ASMFN(k_iretq_same, "pushf\n\torl $0x401, (%esp)\n\tpushl $0x08\n\tpushl $1f\n\tmov %esp, %eax\n\t"
      "iret\n1:\tpushf\n\tpop iret_flags\n\tmov %esp, iret_sp\n\tadd $12, %eax\n\tcld\n\t"
      "sub %eax, iret_sp\n\tret");
#endif
/* At CPL 3 with IOPL 0, IRET leaves IF and IOPL alone. */
#ifdef __x86_64__
ASMFN(u_iret_flags, "mov %rsp, %rax\n\tpushq $0x23\n\tpush %rax\n\tpushf\n\t"
      "orl $0x3200, (%rsp)\n\tpushq $0x2b\n\tpushq $1f\n\tiretq\n1:\tpushf\n\t"
      "pop iret_flags\n\tret");
#else
ASMFN(u_iret_flags, "pushf\n\torl $0x3200, (%esp)\n\tpushl $0x1b\n\tpushl $1f\n\tiret\n1:\t"
      "pushf\n\tpop iret_flags\n\tret");
#endif

static void test_iret(void)
{
    int v;

    iret_sp = 0;
    v = exc_catch(k_iretq_same, 0);
#ifdef __x86_64__
    report(v == -1 && iret_sp == (ulong)alt_stack + 128 &&
           (iret_flags & (X86_EFLAGS_CF | X86_EFLAGS_DF)) == (X86_EFLAGS_CF | X86_EFLAGS_DF),
           "iretq at CPL 0 loads RSP from the frame and RFLAGS: rsp %lx flags %lx",
           (unsigned long)iret_sp, (unsigned long)iret_flags);
    v = exc_catch(k_iretq_compat, 0);
    report(v == USER_RET_VEC && exc.cs == UCS32 && exc.rip == (ulong)iret_compat_after &&
           (iret_cs & 0xffff) == UCS32, "iretq to CPL 3 compatibility mode: cs %lx rip %lx",
           (unsigned long)exc.cs, (unsigned long)exc.rip);
    v = exc_catch(k_iret_nt, 0);
    report(v == 13 && exc.error == 0 && exc.rip == (ulong)iret_nt_at,
           "iretq with NT set: #GP(0) (%d)", v);
    /* QEMU finishes the IRETQ and faults on the fetch, past the IRETQ. */
    if (!qemu_differs("iretq to a non-canonical RIP")) {
        v = exc_catch(k_iret_nc, 0);
        report(v == 13 && exc.error == 0 && exc.rip == (ulong)iret_nc_at,
               "iretq to a non-canonical RIP: #GP(0) (%d, error %lx, at %lx)", v,
               (unsigned long)exc.error, (unsigned long)exc.rip);
    }
#else
    /* iret_sp is the ESP after IRET minus the ESP before it: 12, three dwords. */
    report(v == -1 && iret_sp == 0 &&
           (iret_flags & (X86_EFLAGS_CF | X86_EFLAGS_DF)) == (X86_EFLAGS_CF | X86_EFLAGS_DF),
           "iret at CPL 0 pops three dwords and EFLAGS: flags %lx", (unsigned long)iret_flags);
#endif
    v = run_user(u_iret_flags, 0);
    report(v == USER_RET_VEC && !(iret_flags & (X86_EFLAGS_IF | X86_EFLAGS_IOPL3)),
           "iret at CPL 3 leaves IF and IOPL: flags %lx", (unsigned long)iret_flags);
}

/* ---- task switches by CALL and JMP (vol. 3, 8.3, 8.4) ---- */
#ifndef __x86_64__
#define SEL_TASK2 (GDT_FREE + 0x08)
static struct hw_tss task2 __attribute__((aligned(128)));
static uint8_t task2_stack[1024] __attribute__((aligned(16)));
volatile ulong t2_tr, t2_flags, t2_link, t2_cr0, t2_esi, back_esi, back_flags;

/* The new task: note what the switch did, then go back; a CALLed task
 * returns with IRET (NT set), a JMPed one jumps back to the old TSS. */
ASMFN(task2_called, "str %ax\n\tmovzwl %ax, %eax\n\tmov %eax, t2_tr\n\tpushf\n\tpop t2_flags\n\t"
      "mov %esi, t2_esi\n\tmovzwl task2, %eax\n\tmov %eax, t2_link\n\tmov %cr0, %eax\n\t"
      "mov %eax, t2_cr0\n\tiret\n\t"
      "jmp task2_called");
ASMFN(task2_jumped, "str %ax\n\tmovzwl %ax, %eax\n\tmov %eax, t2_tr\n\tpushf\n\tpop t2_flags\n\t"
      "ljmp $0x40, $0\n\tjmp task2_jumped");
/* ESI shows that the old task's registers come back; the TSS offset is ignored. */
ASMFN(k_call_task, "push %esi\n\tmov $0x5151, %esi\n\tlcall $0x58, $0\n\tcall_task_back: "
      "mov %esi, back_esi\n\tpushf\n\tpop back_flags\n\tpop %esi\n\tret");
ASMFN(k_jmp_task, "push %esi\n\tmov $0x6262, %esi\n\tljmp $0x58, $0\n\t"
      "mov %esi, back_esi\n\tpop %esi\n\tret");
ASMFN(k_call_busy, "lcall $0x40, $0\n\tret");
extern char call_task_back[];

static void task2_setup(void (*entry)(ulong))
{
    memset(&task2, 0, sizeof(task2));
    task2.eip = (ulong)entry;
    task2.eflags = 2;
    task2.esp = (ulong)task2_stack + sizeof(task2_stack);
    task2.cs = KCS;
    task2.ss = task2.ds = task2.es = task2.fs = task2.gs = KDS;
    task2.cr3 = read_cr3();
    task2.esi = 0x7777;
    task2.iomap = sizeof(task2);
    set_gdt_entry(SEL_TASK2, seg_desc((ulong)&task2, sizeof(task2) - 1, 0x89, 0));
}

static ulong desc_type(unsigned sel)
{
    return (get_gdt_entry(sel) >> 40) & 0xf;
}

static void test_tasks(void)
{
    int v;

    task2_setup(task2_called);
    v = exc_catch(k_call_task, 0);
    report(v == -1 && t2_tr == SEL_TASK2 && (t2_flags & X86_EFLAGS_NT) && t2_link == TSS_SEL &&
           t2_esi == 0x7777,
           "lcall to a TSS: TR %lx, NT set, back link %lx, the new task's ESI %lx (%d)",
           (unsigned long)t2_tr, (unsigned long)t2_link, (unsigned long)t2_esi, v);
    /* The switch saved the caller's state in its TSS; IRET brought it back. */
    report(back_esi == 0x5151 && !(back_flags & X86_EFLAGS_NT) &&
           tss_area.tss.eip == (ulong)call_task_back && tss_area.tss.esi == 0x5151,
           "iret from the called task: the old ESI %lx and EIP %lx back, NT clear",
           (unsigned long)back_esi, (unsigned long)tss_area.tss.eip);
    report(desc_type(SEL_TASK2) == 0x9 && desc_type(TSS_SEL) == 0xb,
           "after the return: the called TSS is free again, ours busy");
    /* Every task switch sets CR0.TS, for lazy x87/SSE state (2.5, 8.3). */
    report((t2_cr0 & X86_CR0_TS) && (read_cr0() & X86_CR0_TS), "a task switch sets CR0.TS");
    __asm__ volatile("clts");
    task2_setup(task2_jumped);
    v = exc_catch(k_jmp_task, 0);
    report(v == -1 && t2_tr == SEL_TASK2 && !(t2_flags & X86_EFLAGS_NT) && back_esi == 0x6262 &&
           desc_type(SEL_TASK2) == 0x9 && desc_type(TSS_SEL) == 0xb,
           "ljmp to a TSS and back: no NT, no nesting, the busy bits follow (%d)", v);
    /* A busy TSS cannot be called: #GP(selector) (CALL, vol. 2A). */
    v = exc_catch(k_call_busy, 0);
    report(v == 13 && exc.error == TSS_SEL, "lcall to the busy TSS: #GP(%lx) (%d)",
           (unsigned long)exc.error, v);
}
#endif

/* ---- virtual-8086 mode (vol. 3, ch. 21 "8086 emulation") ---- */
#ifndef __x86_64__
#define V86_SEG 0x800           /* the blob runs at 8000h */
#define V86_BASE (V86_SEG * 16)
#define X86_EFLAGS_VM (1ul << 17)

/* Real-mode code: a store through DS (segment * 16), INT 81h to leave; the
 * CLI at +cli_off needs IOPL 3. */
__asm__(".pushsection .rodata\n\t.globl v86_blob, v86_blob_end, v86_cli, v86_int3, v86_in\n"
        "v86_blob:\n\t.code16\n\tmovw $0x1234, %ax\n\tmovw %ax, 0x100\n\tmov %ss, %bx\n\t"
        "movw %bx, 0x102\n\tint $0x81\n\tud2\n"
        "v86_cli:\n\tcli\n\tint $0x81\n\tud2\n"
        "v86_int3:\n\tint3\n\tud2\n"
        "v86_in:\n\tinb $0x80, %al\n\tint3\n\tud2\n"
        "v86_blob_end:\n\t.code32\n\t.popsection");
extern const uint8_t v86_blob[], v86_blob_end[], v86_cli[], v86_int3[], v86_in[];
volatile ulong v86_eflags, v86_eip;

/* IRET with VM set pops EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS (IRET, vol. 2A). */
ASMFN(v86_enter, "pushl $0x800\n\tpushl $0x800\n\tpushl $0x800\n\tpushl $0x800\n\t"
      "pushl $0x800\n\tpushl $0x1000\n\tpushl v86_eflags\n\tpushl $0x800\n\t"
      "pushl v86_eip\n\tiret");

static void test_v86(void)
{
    volatile uint16_t *data = (volatile uint16_t *)(V86_BASE + 0x100);
    int v;

    memcpy((void *)V86_BASE, v86_blob, v86_blob_end - v86_blob);
    data[0] = data[1] = 0;
    v86_eip = 0;
    v86_eflags = X86_EFLAGS_VM | X86_EFLAGS_IOPL3 | 2;
    v = exc_catch(v86_enter, 0);
    report(v == USER_RET_VEC && data[0] == 0x1234 && data[1] == V86_SEG,
           "virtual-8086 mode: segment * 16 addressing (%x %x), INT 81h out (%d)", data[0],
           data[1], v);
    /* The CPU pushed the vm86 SS:SP and the saved EFLAGS has VM (6.12.1, figure 21-5). */
    report(v == USER_RET_VEC && exc.cs == V86_SEG && exc.rip == 0xe &&
           (exc.rflags & X86_EFLAGS_VM) && exc.ss == V86_SEG && exc.rsp == 0x1000,
           "INT from virtual-8086 mode: saved cs:ip %lx:%lx ss:sp %lx:%lx",
           (unsigned long)exc.cs, (unsigned long)exc.rip, (unsigned long)exc.ss,
           (unsigned long)exc.rsp);
    /* IOPL < 3: CLI and INT n are #GP(0) for the monitor (21.2.7, 21.3.1). */
    v86_eip = v86_cli - v86_blob;
    v86_eflags = X86_EFLAGS_VM | 2;
    v = exc_catch(v86_enter, 0);
    report(v == 13 && exc.error == 0 && exc.rip == v86_eip && (exc.rflags & X86_EFLAGS_VM),
           "cli in virtual-8086 mode with IOPL 0: #GP(0) at %lx (%d)", (unsigned long)exc.rip,
           v);
    v86_eip = v86_cli - v86_blob + 1;
    v = exc_catch(v86_enter, 0);
    report(v == 13 && exc.error == 0 && exc.rip == v86_eip,
           "int 81h in virtual-8086 mode with IOPL 0: #GP(0) (%d)", v);
    /* INT3 does not look at IOPL (21.3.1.1): through the IDT (its gate has DPL 3 here). */
    set_idt_gate(3, isr_stub(3), KCS, 0xe, 3, 0, 1);
    v86_eip = v86_int3 - v86_blob;
    v = exc_catch(v86_enter, 0);
    report(v == 3 && exc.rip == v86_eip + 1 && (exc.rflags & X86_EFLAGS_VM),
           "int3 in virtual-8086 mode with IOPL 0 goes through the IDT (%d)", v);
    /* IN/OUT with IOPL < 3 consult the I/O bitmap (21.2.8.1). */
    v86_eip = v86_in - v86_blob;
    v = exc_catch(v86_enter, 0);
    report(v == 13 && exc.error == 0 && exc.rip == v86_eip,
           "in from port 80h in virtual-8086 mode, denied in the bitmap: #GP(0) (%d)", v);
    iomap_allow(0x80, 1);
    v = exc_catch(v86_enter, 0);
    iomap_allow(0x80, 0);
    report(v == 3 && exc.rip == v86_eip + 3, "allowed in the bitmap, it runs (%d)", v);
    reset_idt_gate(3);
}
#endif

int main(const struct mb_info *mbi)
{
    test_name = MODE_BITS == 64 ? "privilege64" : "privilege32";
    x86_parse_args(mbi);
    x86_setup();
    test_round_trip();
    test_user_gp();
    test_io();
    test_ist();
    test_gate_types();
    test_call_gate();
    test_iret();
#ifdef __x86_64__
    report_skip("virtual-8086 mode, task switches: not in long mode");
#else
    test_v86();
    test_tasks();
#endif
    return report_summary();
}
