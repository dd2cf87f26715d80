/*
 * Segment and descriptor-table instructions (SDM vol. 2 LAR, LSL, VERR,
 * VERW, SGDT, SIDT, SLDT, STR, LLDT, ARPL, SMSW; vol. 3, ch. 3 and 5):
 * access rights and limits of the runtime's descriptors, their checks at
 * CPL 3, a data segment from an LDT, an expand-down segment, a conforming
 * code segment (the CPL does not change), and UMIP.  Built as segments32
 * and segments64.
 */
#include "x86.h"

#define SEL_LDT (GDT_FREE + 0x00)       /* 16 bytes in long mode */
#define SEL_EXPDOWN (GDT_FREE + 0x10)
#define SEL_CONF (GDT_FREE + 0x18)
#define SEL_CODE_XONLY (GDT_FREE + 0x20)
#define LDT_DATA 0x04                   /* LDT index 0, TI = 1 */
#define X86_CR4_UMIP (1ul << 11)

struct desc_ptr {
    uint16_t limit;
    ulong base;
} __attribute__((packed));

static uint64_t ldt[2] __attribute__((aligned(8)));
static volatile uint32_t ldt_target[4] = { 0, 0x600dd00d, 0, 0 };

/* ZF and the result of LAR/LSL, both -1 when ZF is clear. */
static long lar(ulong sel)
{
    ulong v = 0;
    uint8_t ok;

    __asm__ volatile("lar %2, %0\n\tsetz %1" : "+r"(v), "=q"(ok) : "r"(sel) : "cc");
    return ok ? (long)(v & 0x00f0ff00ul) : -1;
}

static long lsl(ulong sel)
{
    ulong v = 0;
    uint8_t ok;

    __asm__ volatile("lsl %2, %0\n\tsetz %1" : "+r"(v), "=q"(ok) : "r"(sel) : "cc");
    return ok ? (long)(uint32_t)v : -1;
}

static int verr(uint16_t sel)
{
    uint8_t ok;

    __asm__ volatile("verr %1\n\tsetz %0" : "=q"(ok) : "r"(sel) : "cc");
    return ok;
}

static int verw(uint16_t sel)
{
    uint8_t ok;

    __asm__ volatile("verw %1\n\tsetz %0" : "=q"(ok) : "r"(sel) : "cc");
    return ok;
}

static void test_lar_lsl(void)
{
    long cs_ar = lar(KCS), ds_ar = lar(KDS);

    /* The accessed bit (type bit 0) is set by a load; leave it out. */
    report((cs_ar & ~0x100l) == (MODE_BITS == 64 ? 0x00a09a00 : 0x00c09a00),
           "lar KCS: %lx", (unsigned long)cs_ar);
    report((ds_ar & ~0x100l) == 0x00c09200, "lar KDS: %lx", (unsigned long)ds_ar);
    report((lar(TSS_SEL) & 0xfd00) == 0x8900, "lar TSS: %lx (type 9 or busy 11)",
           (unsigned long)lar(TSS_SEL));
    report(lar(0) == -1 && lar(0x1f8) == -1, "lar of null and of a selector past the limit: ZF=0");
    report(lsl(KDS) == (long)0xffffffff && lsl(TSS_SEL) == (long)(sizeof(tss_area) - 1),
           "lsl KDS %lx, TSS %lx", (unsigned long)lsl(KDS), (unsigned long)lsl(TSS_SEL));
    report(verr(KCS) && verr(KDS) && verw(KDS) && !verw(KCS) && !verr(SEL_CODE_XONLY) &&
           !verr(0), "verr/verw: code readable not writable, data both, x-only neither");
}

static volatile long u_lar_kds, u_lar_uds, u_verw_kds, u_verw_uds;

static void user_lar(ulong a)
{
    u_lar_kds = lar(KDS);
    u_lar_uds = lar(UDS);
    u_verw_kds = verw(KDS);
    u_verw_uds = verw(UDS);
}

static void test_user_checks(void)
{
    int v = run_user(user_lar, 0);

    report(v == USER_RET_VEC && u_lar_kds == -1 && (u_lar_uds & ~0x100l) == 0x00c0f200 &&
           !u_verw_kds && u_verw_uds,
           "at CPL 3: lar/verw of a DPL-0 segment fail, of a DPL-3 one work (%lx)",
           (unsigned long)u_lar_uds);
}

static void test_tables(void)
{
    struct desc_ptr g, i;
    uint16_t tr, ldtr;
    ulong val;

    __asm__ volatile("sgdt %0\n\tsidt %1\n\tstr %2" : "=m"(g), "=m"(i), "=r"(tr));
    report(g.limit == GDT_ENTRIES * 8 - 1 && i.limit == 256 * (MODE_BITS / 4) - 1 &&
           tr == TSS_SEL, "sgdt limit %x, sidt limit %x, str %x", g.limit, i.limit, tr);
    /* An LDT with one data segment whose base is ldt_target[1]'s address - 4. */
    ldt[0] = seg_desc((ulong)&ldt_target[0], 0xfff, 0x92, 0x4);
    set_gdt_entry(SEL_LDT, seg_desc((ulong)ldt, sizeof(ldt) - 1, 0x82, 0));
#ifdef __x86_64__
    set_gdt_entry(SEL_LDT + 8, (uint64_t)(ulong)ldt >> 32);
#endif
    __asm__ volatile("lldt %w0\n\tsldt %1" : : "r"(SEL_LDT), "m"(ldtr) : "memory");
    __asm__ volatile("sldt %0" : "=r"(ldtr));
    __asm__ volatile("push %%fs\n\tmov %w2, %%fs\n\tmov %%fs:4, %k0\n\tpop %%fs"
                     : "=r"(val), "=m"(ldtr) : "r"(LDT_DATA));
    report(ldtr == SEL_LDT && (uint32_t)val == 0x600dd00d,
           "lldt/sldt %x, a data segment from the LDT reads %x", ldtr, (uint32_t)val);
    report((lar(LDT_DATA) & ~0x100l) == 0x00409200, "lar of the LDT selector: %lx",
           (unsigned long)lar(LDT_DATA));
    __asm__ volatile("lldt %w0" : : "r"(0));
}

#ifndef __x86_64__
/* Expand-down, limit FFFFh, B = 1: valid offsets are 10000h-FFFFFFFFh (3.4.5.1). */
ASMFN(do_expdown_low, "mov $0x60, %eax\n\tmov %eax, %fs\n\t"
      "exp_low_at: mov %fs:0x8000, %eax\n\tret");
ASMFN(do_expdown_high, "mov $0x60, %eax\n\tmov %eax, %fs\n\tmov %fs:0x100000, %eax\n\tret");
extern char exp_low_at[];
/* A conforming code segment runs at the caller's CPL (5.8.1.2). */
volatile ulong conf_cs;
ASMFN(k_conf_target, "mov %cs, conf_cs\n\tlret");
ASMFN(u_call_conf, "lcall $0x6b, $k_conf_target\n\tret");
ASMFN(do_arpl, "mov $0x10, %eax\n\tmov $0x1b, %ebx\n\tarpl %bx, %ax\n\tsetz %cl\n\t"
      "movzbl %cl, %ecx\n\tshl $16, %ecx\n\tor %ecx, %eax\n\tmov %eax, arpl_res\n\tret");
volatile ulong arpl_res;
#endif

static void test_segs32(void)
{
#ifdef __x86_64__
    report_skip("expand-down, conforming code, ARPL: 32-bit guest only");
#else
    int v;

    set_gdt_entry(SEL_EXPDOWN, seg_desc(0, 0xffff, 0x96, 0x4));
    set_gdt_entry(SEL_CONF, seg_desc(0, 0xfffff, 0x9e, 0xc));   /* DPL 0, conforming */
    if (!qemu_differs("expand-down limit (QEMU does not check limits)")) {
        v = exc_catch(do_expdown_low, 0);
        report(v == 13 && exc.error == 0 && exc.rip == (ulong)exp_low_at,
               "expand-down segment: offset 8000h is outside (#GP(0)): %d", v);
    }
    report(exc_catch(do_expdown_high, 0) == -1, "expand-down segment: offset 100000h is inside");
    v = run_user(u_call_conf, 0);
    report(v == USER_RET_VEC && (conf_cs & 0xffff) == (SEL_CONF | 3),
           "far call from CPL 3 to a DPL-0 conforming segment runs at CPL 3: cs %lx (%d)",
           (unsigned long)conf_cs, v);
    exc_catch(do_arpl, 0);
    report(arpl_res == (0x13 | 0x10000), "arpl raises RPL 0 to 3 and sets ZF: %lx",
           (unsigned long)arpl_res);
#endif
}

ASMFN(u_sgdt, "sub $16, " 
#ifdef __x86_64__
      "%rsp\n\tu_sgdt_at: sgdt (%rsp)\n\tadd $16, %rsp"
#else
      "%esp\n\tu_sgdt_at: sgdt (%esp)\n\tadd $16, %esp"
#endif
      "\n\tret");
extern char u_sgdt_at[];

static void test_umip(void)
{
    ulong cr4 = read_cr4();
    int v;

    v = run_user(u_sgdt, 0);
    report(v == USER_RET_VEC, "sgdt at CPL 3 without UMIP works: %d", v);
    if (!((cpuid(7, 0).c >> 2) & 1)) {
        report_skip("UMIP: not in CPUID");
        return;
    }
    write_cr4(cr4 | X86_CR4_UMIP);
    v = run_user(u_sgdt, 0);
    write_cr4(cr4);
    report(v == 13 && exc.error == 0 && exc.rip == (ulong)u_sgdt_at,
           "sgdt at CPL 3 with CR4.UMIP: #GP(0) (%d)", v);
}

int main(const struct mb_info *mbi)
{
    x86_parse_args(mbi);
    test_name = MODE_BITS == 64 ? "segments64" : "segments32";
    x86_setup();
    set_gdt_entry(SEL_CODE_XONLY, 0x00cf98000000ffffull);
    test_lar_lsl();
    test_user_checks();
    test_tables();
    test_segs32();
    test_umip();
    return report_summary();
}
