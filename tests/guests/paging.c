/*
 * Paging (SDM vol. 3, ch. 4): paging32 runs its checks under 32-bit
 * 2-level paging and then under PAE paging, paging64 under 4-level
 * paging.  Each mode identity-maps the first 1 GiB with large pages (4 MiB
 * with CR4.PSE, or 2 MiB) and maps the test window at 1 GiB with 4 KiB
 * pages.  Checked: translation, large pages, A/D bits, INVLPG, #PF error
 * codes (4.7) for not-present, write to read-only with CR0.WP on and off,
 * user access to supervisor pages, NX, reserved bits; SMEP and SMAP when
 * CPUID has them; global pages across CR3 and CR4.PGE writes; PCID.
 *
 * Whether a TLB keeps a translation is never checked (the SDM lets it
 * drop one at any time); only that the flushes the SDM promises happen.
 */
#include "x86.h"

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_US 0x4ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_PS 0x80ull
#define PTE_G 0x100ull
#define PTE_NX (1ull << 63)

#define PF_P 0x1
#define PF_W 0x2
#define PF_U 0x4
#define PF_RSVD 0x8
#define PF_ID 0x10

#define TVA 0x40000000ul        /* the 4 KiB test window */
#define BIGVA 0x80000000ul      /* a large page aliasing physical 0 */

enum pmode { MODE_2LEVEL, MODE_PAE, MODE_4LEVEL };
static enum pmode pmode;
static const char *mode_name;

/* 2-level */
static uint32_t pd32[1024] __attribute__((aligned(4096)));
static uint32_t pt32[1024] __attribute__((aligned(4096)));
/* PAE and 4-level */
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pd_low[512] __attribute__((aligned(4096)));
static uint64_t pd_high[512] __attribute__((aligned(4096)));
static uint64_t pd_big[512] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));

/* The physical pages behind the window. */
static uint8_t frames[4][4096] __attribute__((aligned(4096)));

/* A reserved bit in a present entry: P and RSVD (4.7).  QEMU 7.2 leaves P clear. */
#define PF_RSVD_P (quirks ? PF_RSVD : PF_P | PF_RSVD)

static int has_nx, has_smep, has_smap, has_pge, has_pcid;

static void set_pte(unsigned i, uint64_t v)
{
    if (pmode == MODE_2LEVEL) {
        pt32[i & 1023] = (uint32_t)v;
    } else {
        pt[i & 511] = v;
    }
}

/* The CPU writes A and D behind the compiler's back: no load of a table
 * entry may move above the access that sets its bits. */
#define barrier() __asm__ volatile("" : : : "memory")

static uint64_t get_pte(unsigned i)
{
    barrier();
    return pmode == MODE_2LEVEL ? pt32[i & 1023] : pt[i & 511];
}

static volatile uint32_t *tva(unsigned page)
{
    return (volatile uint32_t *)(TVA + page * 4096ul);
}

/* Identity map of the first 1 GiB, user-accessible or not. */
static void map_identity(int user)
{
    uint64_t u = user ? PTE_US : 0;

    for (unsigned i = 0; i < 512; i++) {
        if (pmode == MODE_2LEVEL) {
            if (i < 256) {
                pd32[i] = (i << 22) | PTE_P | PTE_RW | PTE_PS | u;
            }
        } else {
            pd_low[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS | u;
        }
    }
}

static void build_tables(void)
{
    memset(pd32, 0, sizeof(pd32));
    memset(pt32, 0, sizeof(pt32));
    memset(pdpt, 0, sizeof(pdpt));
    memset(pml4, 0, sizeof(pml4));
    memset(pd_high, 0, sizeof(pd_high));
    memset(pd_big, 0, sizeof(pd_big));
    memset(pt, 0, sizeof(pt));
    map_identity(1);
    if (pmode == MODE_2LEVEL) {
        pd32[TVA >> 22] = (uint32_t)(ulong)pt32 | PTE_P | PTE_RW | PTE_US;
        pd32[BIGVA >> 22] = PTE_P | PTE_RW | PTE_PS;      /* 4 MiB at physical 0 */
        return;
    }
    pd_high[0] = (ulong)pt | PTE_P | PTE_RW | PTE_US;
    pd_big[0] = PTE_P | PTE_RW | PTE_PS;                  /* 2 MiB at physical 0 */
    if (pmode == MODE_PAE) {
        /* PAE PDPTEs have no R/W or U/S bits: those are reserved (4.4.1). */
        pdpt[0] = (ulong)pd_low | PTE_P;
        pdpt[1] = (ulong)pd_high | PTE_P;
        pdpt[2] = (ulong)pd_big | PTE_P;
    } else {
        pdpt[0] = (ulong)pd_low | PTE_P | PTE_RW | PTE_US;
        pdpt[1] = (ulong)pd_high | PTE_P | PTE_RW | PTE_US;
        pdpt[2] = (ulong)pd_big | PTE_P | PTE_RW | PTE_US;
        pml4[0] = (ulong)pdpt | PTE_P | PTE_RW | PTE_US;
    }
}

static ulong table_root(void)
{
    switch (pmode) {
    case MODE_2LEVEL:
        return (ulong)pd32;
    case MODE_PAE:
        return (ulong)pdpt;
    default:
        return (ulong)pml4;
    }
}

static void enter_mode(enum pmode m)
{
    pmode = m;
    mode_name = m == MODE_2LEVEL ? "2-level" : m == MODE_PAE ? "PAE" : "4-level";
#ifdef __x86_64__
    build_tables();
    write_cr3(table_root());
#else
    /* The tables are rebuilt from scratch: not while they are in use. */
    write_cr0(read_cr0() & ~X86_CR0_PG);
    build_tables();
    write_cr4((read_cr4() & ~X86_CR4_PAE) | X86_CR4_PSE | (m == MODE_PAE ? X86_CR4_PAE : 0));
    write_cr3(table_root());
    write_cr0(read_cr0() | X86_CR0_PG);
#endif
}

static void flush_all(void)
{
    write_cr3(read_cr3());
}

/* ---- accesses that may fault ---- */
static volatile uint32_t sink;
static void rd(ulong a) { sink = *(volatile uint32_t *)a; }
static void wr(ulong a) { *(volatile uint32_t *)a = 0x5a5a5a5a; }
static void ex(ulong a) { ((void (*)(void))a)(); }
#ifndef __x86_64__
static void load_cr3(ulong a) { write_cr3(a); }
#endif
static void rd_ac(ulong a)
{
    __asm__ volatile("stac");
    sink = *(volatile uint32_t *)a;
    __asm__ volatile("clac");
}

static void check_pf(int v, ulong err, ulong addr, const char *what)
{
    report(v == 14 && exc.error == err && exc.cr2 == addr,
           "%s %s: vector %d error 0x%lx (want 0x%lx) cr2 %lx", mode_name, what, v,
           (unsigned long)exc.error, err, (unsigned long)exc.cr2);
}

static void check_ok(int v, const char *what)
{
    report(v == -1 || v == USER_RET_VEC, "%s %s: no fault (%d)", mode_name, what, v);
}

static void test_translation(void)
{
    volatile uint32_t *f0 = (volatile uint32_t *)frames[0];
    volatile uint32_t *big;

    set_pte(0, (ulong)frames[0] | PTE_P | PTE_RW);
    set_pte(1, (ulong)frames[1] | PTE_P | PTE_RW);
    flush_all();
    f0[0] = 0x11223344;
    *tva(1) = 0x55667788;
    report(*tva(0) == 0x11223344 && *(volatile uint32_t *)frames[1] == 0x55667788,
           "%s 4 KiB pages translate both ways", mode_name);
    big = (volatile uint32_t *)(BIGVA + (ulong)frames[0] %
                                (pmode == MODE_2LEVEL ? 0x400000 : 0x200000));
    /* frames[] sit in the first 2 MiB above 1 MiB: the large page at physical 0 covers them. */
    if ((ulong)frames[0] < 0x200000) {
        report(*big == 0x11223344, "%s large page at %lx reads physical memory", mode_name,
               (unsigned long)BIGVA);
    } else {
        report_skip("%s large page: the frames are above 2 MiB", mode_name);
    }
}

static void test_ad(void)
{
    uint64_t e;

    set_pte(0, (ulong)frames[0] | PTE_P | PTE_RW);
    invlpg(tva(0));
    sink = *tva(0);
    e = get_pte(0);
    report((e & PTE_A) && !(e & PTE_D), "%s read sets A, not D: pte %llx", mode_name,
           (unsigned long long)e);
    *tva(0) = 1;
    e = get_pte(0);
    report((e & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "%s write sets D: pte %llx", mode_name,
           (unsigned long long)e);
}

/* The walk sets A in the directory entries too, and D only in the leaf;
 * a large page is a leaf (4.8). */
static void test_ad_upper(void)
{
    volatile uint32_t *big = (volatile uint32_t *)(BIGVA + 0x1000);
    uint64_t pde, big_pde;

    if (pmode == MODE_2LEVEL) {
        pd32[TVA >> 22] &= ~(uint32_t)PTE_A;
        pd32[BIGVA >> 22] &= ~(uint32_t)(PTE_A | PTE_D);
    } else {
        pd_high[0] &= ~PTE_A;
        pd_big[0] &= ~(PTE_A | PTE_D);
    }
    set_pte(0, (ulong)frames[0] | PTE_P | PTE_RW);
    flush_all();
    sink = *tva(0);
    sink = *big;
    barrier();
    pde = pmode == MODE_2LEVEL ? pd32[TVA >> 22] : pd_high[0];
    big_pde = pmode == MODE_2LEVEL ? pd32[BIGVA >> 22] : pd_big[0];
    report((pde & PTE_A) && !(pde & PTE_D) && (big_pde & PTE_A) && !(big_pde & PTE_D),
           "%s a read sets A in the directory entry and in a large page, not D", mode_name);
    *big = *big;
    barrier();
    big_pde = pmode == MODE_2LEVEL ? pd32[BIGVA >> 22] : pd_big[0];
    report(big_pde & PTE_D, "%s a write sets D in a large page's entry: %llx", mode_name,
           (unsigned long long)big_pde);
}

static void test_invlpg(void)
{
    ((volatile uint32_t *)frames[0])[1] = 0xaaaa;
    ((volatile uint32_t *)frames[1])[1] = 0xbbbb;
    set_pte(0, (ulong)frames[0] | PTE_P | PTE_RW);
    invlpg(tva(0));
    sink = tva(0)[1];
    set_pte(0, (ulong)frames[1] | PTE_P | PTE_RW);
    invlpg(tva(0));
    report(tva(0)[1] == 0xbbbb, "%s invlpg: the new translation is used", mode_name);
    set_pte(0, (ulong)frames[0] | PTE_P | PTE_RW);
    flush_all();
    report(tva(0)[1] == 0xaaaa, "%s CR3 write: the new translation is used", mode_name);
}

static void test_faults(void)
{
    ulong a = (ulong)tva(0);
    ulong cr0 = read_cr0();

    set_pte(0, 0);
    invlpg(tva(0));
    check_pf(exc_catch(rd, a), 0, a, "read, not present");
    check_pf(exc_catch(wr, a + 8), PF_W, a + 8, "write, not present");
    check_pf(run_user(rd, a), PF_U, a, "user read, not present");

    set_pte(0, (ulong)frames[0] | PTE_P);           /* read-only, supervisor */
    invlpg(tva(0));
    write_cr0(cr0 & ~X86_CR0_WP);
    check_ok(exc_catch(wr, a), "CPL 0 write to read-only with WP=0");
    write_cr0(cr0 | X86_CR0_WP);
    check_pf(exc_catch(wr, a), PF_P | PF_W, a, "CPL 0 write to read-only with WP=1");
    check_pf(run_user(rd, a), PF_P | PF_U, a, "user read of a supervisor page");
    set_pte(0, (ulong)frames[0] | PTE_P | PTE_US);  /* read-only, user */
    invlpg(tva(0));
    check_ok(run_user(rd, a), "user read of a user page");
    check_pf(run_user(wr, a), PF_P | PF_W | PF_U, a, "user write to read-only");
    /* The directory entry counts too: U/S clear there denies the whole 4 MiB/2 MiB. */
    if (pmode == MODE_2LEVEL) {
        pd32[TVA >> 22] &= ~PTE_US;
    } else {
        pd_high[0] &= ~PTE_US;
    }
    flush_all();
    check_pf(run_user(rd, a), PF_P | PF_U, a, "user read, U/S clear in the directory only");
    if (pmode == MODE_2LEVEL) {
        pd32[TVA >> 22] |= PTE_US;
    } else {
        pd_high[0] |= PTE_US;
    }
    write_cr0(cr0);
    flush_all();
}

static void test_nx_rsvd(void)
{
    ulong a = (ulong)tva(2);
    unsigned maxphys = 36;
    uint64_t efer;

    if (pmode == MODE_2LEVEL) {
        /* No NX here; bit 21 of a 4 MiB PDE is always reserved (table 4-4). */
        pd32[BIGVA >> 22] |= 1u << 21;
        flush_all();
        check_pf(exc_catch(rd, BIGVA), PF_RSVD_P, BIGVA, "4 MiB page with bit 21 set");
        pd32[BIGVA >> 22] &= ~(1u << 21);
        flush_all();
        return;
    }
    frames[2][0] = 0xc3;                            /* ret */
    set_pte(2, (ulong)frames[2] | PTE_P | PTE_RW);
    invlpg(tva(2));
    check_ok(exc_catch(ex, a), "fetch from an executable page");
    if (!has_nx) {
        report_skip("%s NX: CPUID has no NX", mode_name);
    } else {
        efer = rdmsr(MSR_EFER);
        wrmsr(MSR_EFER, efer | EFER_NXE);
        set_pte(2, (ulong)frames[2] | PTE_P | PTE_RW | PTE_NX);
        invlpg(tva(2));
        check_pf(exc_catch(ex, a), PF_P | PF_ID, a, "fetch from an NX page");
        check_ok(exc_catch(rd, a), "read from an NX page");
        /* Without NXE, bit 63 is reserved (4.4.2, 4.5.4). */
        wrmsr(MSR_EFER, efer & ~EFER_NXE);
        invlpg(tva(2));
        check_pf(exc_catch(rd, a), PF_RSVD_P, a, "bit 63 with NXE=0");
        wrmsr(MSR_EFER, efer);
    }
    if (cpuid(0x80000000, 0).a >= 0x80000008) {
        maxphys = cpuid(0x80000008, 0).a & 0xff;
    }
    if (maxphys >= 52) {
        report_skip("%s reserved bit: MAXPHYADDR is 52", mode_name);
    } else {
        /* Bit 51, the top address bit: reserved below MAXPHYADDR 52 whatever
         * the exact width (a hypervisor may report fewer bits than the host's
         * page walker checks). */
        set_pte(2, (ulong)frames[2] | PTE_P | PTE_RW | (1ull << 51));
        invlpg(tva(2));
        check_pf(exc_catch(rd, a), PF_RSVD_P, a, "address bit above MAXPHYADDR");
        check_pf(exc_catch(wr, a), PF_RSVD_P | PF_W, a, "write, reserved bit");
    }
    set_pte(2, 0);
    invlpg(tva(2));
}

static void test_smep_smap(void)
{
    ulong a = (ulong)tva(2);
    ulong cr4 = read_cr4();

    frames[2][0] = 0xc3;
    set_pte(2, (ulong)frames[2] | PTE_P | PTE_RW | PTE_US);
    /* Our own code and data must be supervisor pages now; run_user cannot be used. */
    map_identity(0);
    flush_all();
    if (!has_smep) {
        report_skip("%s SMEP: not in CPUID", mode_name);
    } else {
        check_ok(exc_catch(ex, a), "CPL 0 fetch from a user page, SMEP off");
        write_cr4(cr4 | X86_CR4_SMEP);
        check_pf(exc_catch(ex, a), PF_P | PF_ID, a, "CPL 0 fetch from a user page with SMEP");
        write_cr4(cr4);
    }
    if (!has_smap) {
        report_skip("%s SMAP: not in CPUID", mode_name);
    } else {
        write_cr4(cr4 | X86_CR4_SMAP);
        check_pf(exc_catch(rd, a), PF_P, a, "CPL 0 read of a user page with SMAP");
        check_pf(exc_catch(wr, a), PF_P | PF_W, a, "CPL 0 write to a user page with SMAP");
        check_ok(exc_catch(rd_ac, a), "the same read with EFLAGS.AC (stac)");
        write_cr4(cr4);
    }
    map_identity(1);
    set_pte(2, 0);
    flush_all();
}

/* Rights combine across the levels (4.6): R/W clear in the directory entry
 * makes a writable leaf read-only; NX in the directory entry forbids a
 * fetch.  A write that faults sets no D (4.8). */
static uint64_t *dir_entry(void)
{
    return pmode == MODE_2LEVEL ? NULL : &pd_high[0];
}

static void test_levels(void)
{
    ulong a = (ulong)tva(2), cr0 = read_cr0();
    uint64_t *pde = dir_entry();
    uint64_t e;

    frames[2][0] = 0xc3;
    set_pte(2, (ulong)frames[2] | PTE_P | PTE_RW);
    if (pde) {
        *pde &= ~PTE_RW;
    } else {
        pd32[TVA >> 22] &= ~(uint32_t)PTE_RW;
    }
    write_cr0(cr0 | X86_CR0_WP);
    flush_all();
    check_pf(exc_catch(wr, a), PF_P | PF_W, a, "write, R/W clear in the directory only");
    e = get_pte(2);
    report(!(e & PTE_D), "%s the faulting write left D clear: pte %llx", mode_name,
           (unsigned long long)e);
    if (pde) {
        *pde |= PTE_RW;
    } else {
        pd32[TVA >> 22] |= PTE_RW;
    }
    write_cr0(cr0);
    flush_all();
    if (pde && has_nx) {
        uint64_t efer = rdmsr(MSR_EFER);

        wrmsr(MSR_EFER, efer | EFER_NXE);
        *pde |= PTE_NX;
        flush_all();
        check_pf(exc_catch(ex, a), PF_P | PF_ID, a, "fetch, NX in the directory only");
        *pde &= ~PTE_NX;
        wrmsr(MSR_EFER, efer);
        flush_all();
    }
    /* A 2 MiB page with a bit of 20:13 set: reserved (table 4-17, 4-9). */
    if (pde) {
        pd_big[0] |= 1ull << 13;
        flush_all();
        check_pf(exc_catch(rd, BIGVA), PF_RSVD_P, BIGVA, "large page with bit 13 set");
        pd_big[0] &= ~(1ull << 13);
        flush_all();
    }
#ifdef __x86_64__
    /* The walk sets A in the PML4E and PDPTE as well. */
    pml4[0] &= ~PTE_A;
    pdpt[1] &= ~PTE_A;
    flush_all();
    sink = *tva(2);
    barrier();
    report((pml4[0] & PTE_A) && (pdpt[1] & PTE_A), "%s the walk sets A in the PML4E and PDPTE",
           mode_name);
#else
    /* Intel loads PAE PDPTEs with MOV CR3, and a reserved bit there is #GP(0)
     * (4.4.1); AMD reads them at each walk instead. */
    if (pmode == MODE_PAE && cpuid(0, 0).b != 0x756e6547) {
        report_skip("PAE PDPTE reserved bit at MOV CR3: not an Intel CPU");
    } else if (pmode == MODE_PAE && !qemu_differs("PAE PDPTE reserved bit")) {
        int v;

        pdpt[3] = (ulong)pd_big | PTE_P | PTE_RW;
        v = exc_catch(load_cr3, table_root());
        pdpt[3] = 0;
        flush_all();
        report(v == 13 && exc.error == 0, "PAE: mov cr3 with R/W set in a PDPTE: #GP(0) (%d)", v);
    }
#endif
    set_pte(2, 0);
    invlpg(tva(2));
}

/* Accesses that cross into a page that is not there: CR2 is the first byte
 * of that page, rIP the start of the instruction (4.7; 6.15 #PF). */
static void test_cross(void)
{
    ulong a4 = (ulong)tva(4);
    uint8_t *f = frames[3];
    int v;

    set_pte(3, (ulong)f | PTE_P | PTE_RW);
    set_pte(4, 0);
    invlpg(tva(3));
    invlpg(tva(4));
    check_pf(exc_catch(rd, a4 - 2), 0, a4, "a 4-byte read across into an absent page");
    check_pf(exc_catch(wr, a4 - 1), PF_W, a4, "a 4-byte write across into an absent page");
    /* mov $imm32, %eax (B8 id) with two bytes on each side, then ret. */
    f[4094] = 0xb8;
    f[4095] = 0x11;
    v = exc_catch(ex, a4 - 2);
    report(v == 14 && exc.cr2 == a4 && exc.rip == a4 - 2 && !(exc.error & (PF_P | PF_W)),
           "%s an instruction across into an absent page: cr2 %lx rip %lx error %lx",
           mode_name, (unsigned long)exc.cr2, (unsigned long)exc.rip,
           (unsigned long)exc.error);
    set_pte(3, 0);
    invlpg(tva(3));
}

static void test_global(void)
{
    ulong cr4 = read_cr4();
    int kept;

    if (!has_pge) {
        report_skip("%s global pages: no PGE", mode_name);
        return;
    }
    ((volatile uint32_t *)frames[0])[2] = 0x1111;
    ((volatile uint32_t *)frames[1])[2] = 0x2222;
    write_cr4(cr4 | X86_CR4_PGE);
    set_pte(0, (ulong)frames[0] | PTE_P | PTE_RW | PTE_G);
    invlpg(tva(0));
    sink = tva(0)[2];
    set_pte(0, (ulong)frames[1] | PTE_P | PTE_RW | PTE_G);
    flush_all();
    /* A CR3 write may keep a global translation (4.10.2.4); only report it. */
    kept = tva(0)[2] == 0x1111;
    printf("%s: INFO: %s global translation %s across a CR3 write\n", test_name, mode_name,
           kept ? "kept" : "dropped");
    /* Clearing CR4.PGE flushes every translation, global ones too (4.10.4.1). */
    write_cr4(cr4 & ~X86_CR4_PGE);
    report(tva(0)[2] == 0x2222, "%s CR4.PGE write flushes global translations", mode_name);
    write_cr4(cr4);
    set_pte(0, (ulong)frames[0] | PTE_P | PTE_RW);
    flush_all();
}

#ifdef __x86_64__
ASMFN(set_pcide, "mov %cr4, %rax\n\tbts $17, %rax\n\tmov %rax, %cr4\n\tret");
#endif

/* A 1 GiB page (PDPTE.PS) where CPUID has it (4.5.4). */
static void test_1g(void)
{
#ifdef __x86_64__
    volatile uint32_t *alias = (volatile uint32_t *)(0xc0000000ul + (ulong)frames[0]);

    if (!((cpuid(0x80000001, 0).d >> 26) & 1)) {
        report_skip("1 GiB pages: not in CPUID");
        return;
    }
    ((volatile uint32_t *)frames[0])[3] = 0x1be1be;
    pdpt[3] = PTE_P | PTE_RW | PTE_PS;
    flush_all();
    report(alias[3] == 0x1be1be, "a 1 GiB page at C0000000h reads physical memory");
    pdpt[3] = 0;
    flush_all();
#else
    report_skip("1 GiB pages: 4-level paging only");
#endif
}

static void test_pcid(void)
{
#ifdef __x86_64__
    ulong cr3 = read_cr3(), cr4 = read_cr4();
    int v;

    if (!has_pcid) {
        report_skip("PCID: not in CPUID");
        return;
    }
    /* CR4.PCIDE may be set only with CR3[11:0] = 0 (4.10.1). */
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3 | 1) : "memory");
    v = exc_catch(set_pcide, 0);
    report(v == 13 && exc.error == 0 && !(read_cr4() & X86_CR4_PCIDE),
           "#GP(0) setting CR4.PCIDE with CR3[11:0] = 1: vector %d", v);
    write_cr3(cr3);
    write_cr4(cr4 | X86_CR4_PCIDE);
    report(read_cr4() & X86_CR4_PCIDE, "CR4.PCIDE set with PCID 0");
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3 | 5) : "memory");
    report((read_cr3() & 0xfff) == 5, "CR3 holds PCID 5: %lx", (unsigned long)read_cr3());
    /* Bit 63 set: no flush, and it never reads back (4.10.4.1). */
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3 | 7 | (1ul << 63)) : "memory");
    report(read_cr3() == (cr3 | 7), "CR3 write with bit 63: reads %lx", (unsigned long)read_cr3());
    write_cr3(cr3);
    report(tva(0)[2] == ((volatile uint32_t *)frames[0])[2],
           "translation right after PCID switches");
    write_cr4(cr4);
#else
    report_skip("PCID: 64-bit mode only");
#endif
}

static void run_mode(enum pmode m)
{
    enter_mode(m);
    test_translation();
    test_ad();
    test_ad_upper();
    test_invlpg();
    test_faults();
    test_nx_rsvd();
    test_smep_smap();
    test_levels();
    test_cross();
    test_global();
}

int main(const struct mb_info *mbi)
{
    struct cpuid c1 = cpuid(1, 0), c7 = cpuid(0, 0).a >= 7 ? cpuid(7, 0) : (struct cpuid){ 0 };

    x86_parse_args(mbi);
    test_name = MODE_BITS == 64 ? "paging64" : "paging32";
    x86_setup();
    has_pge = (c1.d >> 13) & 1;
    has_pcid = (c1.c >> 17) & 1;
    has_smep = (c7.b >> 7) & 1;
    has_smap = (c7.b >> 20) & 1;
    has_nx = cpuid(0x80000000, 0).a >= 0x80000001 && ((cpuid(0x80000001, 0).d >> 20) & 1);
#ifdef __x86_64__
    run_mode(MODE_4LEVEL);
    test_1g();
    test_pcid();
#else
    run_mode(MODE_2LEVEL);
    run_mode(MODE_PAE);
    test_1g();
    test_pcid();
#endif
    return report_summary();
}
