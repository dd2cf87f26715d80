/*
 * The core of the software CPU: registers and effective addresses,
 * segmentation checks, the paging walks with hand-built page tables in
 * guest RAM (32-bit, PAE, 4-level), accessed/dirty bits, #PF error codes,
 * the TLB and its flushes, accesses across pages, MMIO, instruction fetch
 * across a page, descriptor loads and far jumps, and the invalidation of
 * decoded blocks by stores into code, and the order of checks of
 * read-modify-write operands and far transfers.
 *
 * Guest RAM is 16 MiB at 0, shared by every test; each test builds the
 * structures it uses from scratch.
 */
#include <string.h>
#include <glib.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"
#include "system/memory.h"
#include "tests/unit/guest-ram.h"

#define RAM_SIZE (16u << 20)

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define XD (1ull << 63)

/* A flat 32-bit CPU at CPL 0 with paging off. */
static struct tcg_cpu *new_cpu(void)
{
    struct tcg_cpu *cpu = g_new0(struct tcg_cpu, 1);

    x86_cpu_state_flat32(&cpu->st, 0x100000);
    cpu->blocks = tcg_blocks_new();
    cpu->mode = MODE_PROT32;
    tcg_cpu_mode_changed(cpu);
    tcg_tlb_flush(cpu);
    return cpu;
}

static void free_cpu(struct tcg_cpu *cpu)
{
    tcg_blocks_free(cpu->blocks);
    g_free(cpu);
}

static void clear_ram(void)
{
    memset(ram_hva(0, RAM_SIZE), 0, RAM_SIZE);
}

/* Asserts an exception with its vector and error code. */
#define ASSERT_EXC(cpu, st, vec, err)                          \
    do {                                                       \
        g_assert_cmpint((st), ==, TCG_EXCEPTION);              \
        g_assert_cmpuint((cpu)->exc.vector, ==, (vec));        \
        g_assert_true((cpu)->exc.has_error_code);              \
        g_assert_cmphex((cpu)->exc.error_code, ==, (err));     \
    } while (0)

/* ---- registers, addresses, stack ---- */

static void test_regs(void)
{
    struct tcg_cpu *cpu = new_cpu();

    cpu->st.regs[R_EAX] = 0x1122334455667788ull;
    g_assert_cmphex(tcg_reg_read(cpu, R_EAX, 1, false), ==, 0x88);
    g_assert_cmphex(tcg_reg_read(cpu, 4, 1, true), ==, 0x77);          /* AH */
    g_assert_cmphex(tcg_reg_read(cpu, R_EAX, 2, false), ==, 0x7788);
    g_assert_cmphex(tcg_reg_read(cpu, R_EAX, 4, false), ==, 0x55667788);
    tcg_reg_write(cpu, 4, 1, true, 0x1aa);                              /* AH */
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x112233445566aa88ull);
    tcg_reg_write(cpu, R_EAX, 1, false, 0xff01);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x112233445566aa01ull);
    tcg_reg_write(cpu, R_EAX, 2, false, 0x12345);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x1122334455662345ull);
    tcg_reg_write(cpu, R_EAX, 4, false, 0xdeadbeefcafef00dull);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0xcafef00dull);           /* zero-extends */
    tcg_reg_write(cpu, R_R15, 8, false, ~0ull);
    g_assert_cmphex(cpu->st.regs[R_R15], ==, ~0ull);
    /* BH is bits 15:8 of RBX. */
    cpu->st.regs[R_EBX] = 0xabcd;
    g_assert_cmphex(tcg_reg_read(cpu, 7, 1, true), ==, 0xab);
    free_cpu(cpu);
}

static void test_ea(void)
{
    struct tcg_cpu *cpu = new_cpu();
    struct insn in = { 0 };

    /* [bx + si - 1] with 16-bit addressing wraps at 64 KiB. */
    in.addr_size = 2;
    in.mem = (struct insn_mem){ .seg = S_DS, .base = R_EBX, .index = R_ESI, .scale = 1,
                                .disp = -1 };
    cpu->st.regs[R_EBX] = 0x1ffff;
    cpu->st.regs[R_ESI] = 2;
    g_assert_cmphex(tcg_ea(cpu, &in), ==, 0);
    /* 32-bit: base + index * 8 + disp modulo 4 GiB. */
    in.addr_size = 4;
    in.mem.scale = 8;
    in.mem.disp = 0x10;
    cpu->st.regs[R_EBX] = 0xfffffff0;
    cpu->st.regs[R_ESI] = 1;
    g_assert_cmphex(tcg_ea(cpu, &in), ==, 0x8);
    /* No base, no index: the displacement alone. */
    in.mem.base = in.mem.index = INSN_REG_NONE;
    in.mem.disp = -4;
    g_assert_cmphex(tcg_ea(cpu, &in), ==, 0xfffffffc);
    /* RIP-relative uses the next instruction's address. */
    in.addr_size = 8;
    in.mem.base = INSN_REG_RIP;
    in.mem.disp = 0x100;
    cpu->next_rip = 0xffffffff80001000ull;
    g_assert_cmphex(tcg_ea(cpu, &in), ==, 0xffffffff80001100ull);
    in.addr_size = 4;
    g_assert_cmphex(tcg_ea(cpu, &in), ==, 0x80001100ull);
    free_cpu(cpu);
}

static void test_operands(void)
{
    struct tcg_cpu *cpu = new_cpu();
    struct insn in = { 0 };
    uint64_t v = 0;

    clear_ram();
    in.addr_size = 4;
    in.has_mem = 1;
    in.mem = (struct insn_mem){ .seg = S_DS, .base = R_EBX, .index = INSN_REG_NONE,
                                .scale = 1, .disp = 4 };
    in.nops = 3;
    in.ops[0] = (struct operand){ .kind = OPK_MEM, .size = 2 };
    in.ops[1] = (struct operand){ .kind = OPK_IMM, .size = 2, .imm = (uint64_t)-2 };
    in.ops[2] = (struct operand){ .kind = OPK_SREG, .size = 2, .reg = S_SS };
    cpu->st.regs[R_EBX] = 0x3000;
    g_assert_cmpint(tcg_op_read(cpu, &in, 1, &v), ==, TCG_OK);
    g_assert_cmphex(v, ==, 0xfffe);
    g_assert_cmpint(tcg_op_write(cpu, &in, 0, 0x12345678), ==, TCG_OK);
    g_assert_cmphex(get32(0x3004), ==, 0x5678);                 /* two bytes only */
    g_assert_cmpint(tcg_op_read(cpu, &in, 0, &v), ==, TCG_OK);
    g_assert_cmphex(v, ==, 0x5678);
    g_assert_cmpint(tcg_op_read(cpu, &in, 2, &v), ==, TCG_OK);
    g_assert_cmphex(v, ==, 0x10);
    free_cpu(cpu);
}

static void test_stack(void)
{
    struct tcg_cpu *cpu = new_cpu();
    uint64_t v = 0;

    clear_ram();
    /* A 16-bit stack (SS.B = 0) wraps SP within 64 KiB and keeps ESP's top. */
    cpu->st.seg[S_SS].db = false;
    cpu->st.seg[S_SS].base = 0x20000;
    cpu->st.seg[S_SS].limit = 0xffff;
    cpu->st.regs[R_ESP] = 0x12340000;
    g_assert_cmpint(tcg_push(cpu, 0xbeef, 2), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x1234fffe);
    g_assert_cmphex(get32(0x2fffe) & 0xffff, ==, 0xbeef);
    g_assert_cmpint(tcg_pop(cpu, &v, 2), ==, TCG_OK);
    g_assert_cmphex(v, ==, 0xbeef);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x12340000);
    /* 32-bit stack. */
    cpu->st.seg[S_SS].db = true;
    cpu->st.seg[S_SS].base = 0;
    cpu->st.seg[S_SS].limit = 0xffffffff;
    cpu->st.regs[R_ESP] = 0x8000;
    g_assert_cmpint(tcg_push(cpu, 0x11223344, 4), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x7ffc);
    g_assert_cmphex(get32(0x7ffc), ==, 0x11223344);
    /* A push that faults leaves ESP alone: SS limit 0x7fff, expand-up. */
    cpu->st.seg[S_SS].limit = 0x7ff0;
    cpu->st.regs[R_ESP] = 0x7ff8;
    ASSERT_EXC(cpu, tcg_push(cpu, 1, 4), EXC_SS, 0);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x7ff8);
    free_cpu(cpu);
}

/* ---- segmentation ---- */

static void test_seg_limits(void)
{
    struct tcg_cpu *cpu = new_cpu();
    struct x86_segment *ds = &cpu->st.seg[S_DS];
    uint32_t v = 0;
    uint64_t lin;

    clear_ram();
    ds->base = 0x10000;
    ds->limit = 0xfff;
    g_assert_cmpint(tcg_mem_read(cpu, S_DS, 0xffc, &v, 4), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_mem_read(cpu, S_DS, 0xffd, &v, 4), EXC_GP, 0);
    cpu->st.seg[S_SS].limit = 0xfff;
    ASSERT_EXC(cpu, tcg_mem_write(cpu, S_SS, 0x1000, &v, 1), EXC_SS, 0);

    /* Expand-down (type 6 + accessed): valid offsets are limit+1 .. 4G-1. */
    ds->type = 0x7;
    ASSERT_EXC(cpu, tcg_linear(cpu, S_DS, 0xfff, 1, ACC_READ, &lin), EXC_GP, 0);
    g_assert_cmpint(tcg_linear(cpu, S_DS, 0x1000, 4, ACC_READ, &lin), ==, TCG_OK);
    g_assert_cmphex(lin, ==, 0x11000);
    g_assert_cmpint(tcg_linear(cpu, S_DS, 0xfffffffc, 4, ACC_WRITE, &lin), ==, TCG_OK);
    /* ... and up to 64 KiB - 1 with B = 0. */
    ds->db = false;
    ASSERT_EXC(cpu, tcg_linear(cpu, S_DS, 0xfffe, 4, ACC_READ, &lin), EXC_GP, 0);
    g_assert_cmpint(tcg_linear(cpu, S_DS, 0xfffc, 4, ACC_READ, &lin), ==, TCG_OK);

    /* Rights: read-only data, execute-only and readable code. */
    ds->db = true;
    ds->limit = 0xffffffff;
    ds->type = 0x1;
    g_assert_cmpint(tcg_linear(cpu, S_DS, 0, 4, ACC_READ, &lin), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_linear(cpu, S_DS, 0, 4, ACC_WRITE, &lin), EXC_GP, 0);
    ds->type = 0x8;
    ASSERT_EXC(cpu, tcg_linear(cpu, S_DS, 0, 4, ACC_READ, &lin), EXC_GP, 0);
    ds->type = 0xa;
    g_assert_cmpint(tcg_linear(cpu, S_DS, 0, 4, ACC_READ, &lin), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_linear(cpu, S_DS, 0, 4, ACC_WRITE, &lin), EXC_GP, 0);
    /* A null selector makes the register unusable. */
    g_assert_cmpint(tcg_load_seg(cpu, S_DS, 0), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_mem_read(cpu, S_DS, 0, &v, 4), EXC_GP, 0);

    /* Real mode: no rights, but the limit still counts (CS is writable). */
    cpu->st.cr0 &= ~CR0_PE;
    tcg_cpu_mode_changed(cpu);
    g_assert_cmpint(cpu->mode, ==, MODE_REAL16);
    g_assert_cmpint(tcg_load_seg(cpu, S_ES, 0x1234), ==, TCG_OK);
    g_assert_cmphex(cpu->st.seg[S_ES].base, ==, 0x12340);
    cpu->st.seg[S_CS].limit = 0xffff;
    g_assert_cmpint(tcg_mem_write(cpu, S_CS, 0x10, &v, 4), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_mem_write(cpu, S_CS, 0xfffe, &v, 4), EXC_GP, 0);
    free_cpu(cpu);
}

/* ---- 4-level paging and 64-bit segmentation ---- */

/* PML4 0x10000, PDPT 0x11000, PD 0x12000, PT 0x13000: lin 0x100000 -> 0x200000. */
static void build_4level(struct tcg_cpu *cpu)
{
    put64(0x10000, 0x11000 | P | RW | US);
    put64(0x11000, 0x12000 | P | RW | US);
    put64(0x12000, 0x13000 | P | RW | US);
    put64(0x13000 + 0x100 * 8, 0x200000 | P | RW | US);
    /* The last 512 GiB: PML4[511] -> PDPT 0x14000 whose entry 0 is a
     * 1 GiB page at 0. */
    put64(0x10000 + 511 * 8, 0x14000 | P | RW);
    put64(0x14000, 0 | P | RW | PS);
    cpu->st.cr3 = 0x10000;
    cpu->st.cr4 = CR4_PAE;
    cpu->st.efer = EFER_LME | EFER_LMA | EFER_NXE;
    cpu->st.cr0 |= CR0_PG;
    cpu->st.seg[S_CS].l = true;
    cpu->st.seg[S_CS].db = false;
    tcg_cpu_mode_changed(cpu);
    tcg_tlb_flush(cpu);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);
}

static void test_paging_4level(void)
{
    struct tcg_cpu *cpu = new_cpu();
    uint64_t v = 0x0102030405060708ull, r = 0, lin;

    clear_ram();
    build_4level(cpu);
    g_assert_cmpint(tcg_write_lin(cpu, 0x100010, &v, 8), ==, TCG_OK);
    g_assert_cmphex(get64(0x200010), ==, v);
    /* A on every level, D on the leaf only. */
    g_assert_cmphex(get64(0x10000) & (A | D), ==, A);
    g_assert_cmphex(get64(0x11000) & (A | D), ==, A);
    g_assert_cmphex(get64(0x12000) & (A | D), ==, A);
    g_assert_cmphex(get64(0x13000 + 0x100 * 8) & (A | D), ==, A | D);
    /* The 1 GiB page of the top half. */
    g_assert_cmpint(tcg_read_lin(cpu, 0xffffff8000200010ull, &r, 8, ACC_READ), ==, TCG_OK);
    g_assert_cmphex(r, ==, v);
    g_assert_cmphex(get64(0x14000) & (A | D), ==, A);
    /* Not present at the PDPT level (lin 1 GiB): error code 0, then W. */
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x40000000, &r, 8, ACC_READ), EXC_PF, 0);
    g_assert_cmphex(cpu->exc.cr2, ==, 0x40000000);
    ASSERT_EXC(cpu, tcg_write_lin(cpu, 0x40000004, &r, 4), EXC_PF, 2);
    g_assert_cmphex(cpu->exc.cr2, ==, 0x40000004);
    /* Supervisor-only at CPL 3: P | U; user fetch: P | U | I with NXE. */
    cpu->cpl = 3;
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0xffffff8000000000ull, &r, 1, ACC_READ), EXC_PF, 5);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0xffffff8000000000ull, &r, 1, ACC_EXEC), EXC_PF,
               0x15);
    cpu->cpl = 0;
    /* PS in a PML4 entry is reserved: P | RSVD. */
    put64(0x10000 + 8, 0x11000 | P | RW | PS);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 1ull << 39, &r, 1, ACC_READ), EXC_PF, 9);
    /* 64-bit segmentation: canonical checks, FS base only. */
    ASSERT_EXC(cpu, tcg_linear(cpu, S_DS, 0x0000800000000000ull, 1, ACC_READ, &lin), EXC_GP,
               0);
    ASSERT_EXC(cpu, tcg_linear(cpu, S_SS, 0x00007ffffffffffcull, 8, ACC_READ, &lin), EXC_SS,
               0);
    cpu->st.seg[S_DS].base = 0x5000;
    cpu->st.seg[S_FS].base = 0x100000;
    g_assert_cmpint(tcg_linear(cpu, S_DS, 0x10, 4, ACC_READ, &lin), ==, TCG_OK);
    g_assert_cmphex(lin, ==, 0x10);
    g_assert_cmpint(tcg_mem_read(cpu, S_FS, 0x10, &r, 8), ==, TCG_OK);
    g_assert_cmphex(r, ==, v);
    /* SMEP: no supervisor fetch from a user page (P | I); SMAP: no
     * supervisor data access to one unless EFLAGS.AC, never implicitly. */
    cpu->st.cr4 |= CR4_SMEP | CR4_SMAP;
    tcg_tlb_flush(cpu);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x100000, &r, 1, ACC_EXEC), EXC_PF, 0x11);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x100010, &r, 8, ACC_READ), EXC_PF, 1);
    cpu->st.rflags |= 1ull << 18;
    g_assert_cmpint(tcg_read_lin(cpu, 0x100010, &r, 8, ACC_READ), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_read_lin_sys(cpu, 0x100010, &r, 8), EXC_PF, 1);
    cpu->st.rflags &= ~(1ull << 18);
    cpu->st.cr4 &= ~(CR4_SMEP | CR4_SMAP);
    /* A 64-bit push. */
    cpu->st.regs[R_ESP] = 0x100100;
    g_assert_cmpint(tcg_push(cpu, 0xfeedfacecafebeefull, 8), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x1000f8);
    g_assert_cmphex(get64(0x2000f8), ==, 0xfeedfacecafebeefull);
    free_cpu(cpu);
}

/* ---- 32-bit paging ---- */

/* Directory 0x10000, table 0x11000 for lin 0-4M; lin 0x100000+ -> 0x200000+. */
static void build_32(struct tcg_cpu *cpu)
{
    put32(0x10000, 0x11000 | P | RW | US);
    put32(0x11000 + 0x100 * 4, 0x200000 | P | RW | US);
    put32(0x11000 + 0x102 * 4, 0x202000 | P | US);           /* read-only */
    put32(0x11000 + 0x103 * 4, 0x203000 | P | RW);           /* supervisor */
    put32(0x10000 + 4, 0x400000 | P | RW | PS);              /* 4 MiB page */
    cpu->st.cr3 = 0x10000;
    cpu->st.cr4 = CR4_PSE;
    cpu->st.cr0 |= CR0_PG;
    tcg_tlb_flush(cpu);
}

static void test_paging_32(void)
{
    struct tcg_cpu *cpu = new_cpu();
    uint32_t v = 0xa5a5a5a5, r = 0;

    clear_ram();
    build_32(cpu);
    g_assert_cmpint(tcg_write_lin(cpu, 0x100010, &v, 4), ==, TCG_OK);
    g_assert_cmphex(get32(0x200010), ==, v);
    g_assert_cmphex(get32(0x10000) & (A | D), ==, A);
    g_assert_cmphex(get32(0x11400) & (A | D), ==, A | D);
    /* A read sets A only. */
    g_assert_cmpint(tcg_read_lin(cpu, 0x102000, &r, 4, ACC_READ), ==, TCG_OK);
    g_assert_cmphex(get32(0x11408) & (A | D), ==, A);
    /* Not present: 0 / W / U / W|U. */
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x101000, &r, 4, ACC_READ), EXC_PF, 0);
    g_assert_cmphex(cpu->exc.cr2, ==, 0x101000);
    ASSERT_EXC(cpu, tcg_write_lin(cpu, 0x101ffc, &r, 4), EXC_PF, 2);
    cpu->cpl = 3;
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x101000, &r, 4, ACC_READ), EXC_PF, 4);
    ASSERT_EXC(cpu, tcg_write_lin(cpu, 0x101000, &r, 4), EXC_PF, 6);
    /* User write to a read-only page: P|W|U; user read of a supervisor page: P|U. */
    ASSERT_EXC(cpu, tcg_write_lin(cpu, 0x102000, &v, 4), EXC_PF, 7);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x103000, &r, 4, ACC_READ), EXC_PF, 5);
    /* The 4 MiB page is supervisor-only too. */
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x400000, &r, 4, ACC_READ), EXC_PF, 5);
    cpu->cpl = 0;
    /* Supervisor write to a read-only page: allowed with WP = 0 (and D is
     * then set, the entry the read filled being upgraded), #PF P|W with WP. */
    g_assert_cmpint(tcg_write_lin(cpu, 0x102004, &v, 4), ==, TCG_OK);
    g_assert_cmphex(get32(0x202004), ==, v);
    g_assert_cmphex(get32(0x11408) & (A | D), ==, A | D);
    cpu->st.cr0 |= CR0_WP;
    tcg_tlb_flush(cpu);
    ASSERT_EXC(cpu, tcg_write_lin(cpu, 0x102004, &v, 4), EXC_PF, 3);
    /* 4 MiB page with CR4.PSE: lin 0x400000 + x -> 0x400000 + x, D in the PDE. */
    put32(0x456788, 0x1234);
    g_assert_cmpint(tcg_read_lin(cpu, 0x456788, &r, 4, ACC_READ), ==, TCG_OK);
    g_assert_cmphex(r, ==, 0x1234);
    g_assert_cmpint(tcg_write_lin(cpu, 0x456788, &v, 4), ==, TCG_OK);
    g_assert_cmphex(get32(0x10004) & (A | D), ==, A | D);
    free_cpu(cpu);
}

/* ---- PAE paging, NX ---- */

static void test_paging_pae(void)
{
    struct tcg_cpu *cpu = new_cpu();
    uint32_t r = 0;

    clear_ram();
    /* PDPT at 0x10020 (32-byte aligned), PD 0x11000, PT 0x12000. */
    put64(0x10020, 0x11000 | P);
    put64(0x11000, 0x12000 | P | RW | US);
    put64(0x12000 + 0x100 * 8, 0x200000 | P | RW | US | XD);
    put64(0x12000 + 0x101 * 8, 0x201000 | P | RW | US | (1ull << 45));
    put64(0x11000 + 8, 0x600000 | P | RW | US | PS);        /* 2 MiB page */
    put32(0x634564, 0x77665544);
    cpu->st.cr3 = 0x10020;
    cpu->st.cr4 = CR4_PAE;
    cpu->st.efer = EFER_NXE;
    cpu->st.cr0 |= CR0_PG;
    tcg_tlb_flush(cpu);
    g_assert_cmpint(tcg_read_lin(cpu, 0x100000, &r, 4, ACC_READ), ==, TCG_OK);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x100000, &r, 1, ACC_EXEC), EXC_PF, 0x11);
    /* A physical-address bit above the implemented width is reserved. */
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x101000, &r, 4, ACC_READ), EXC_PF, 9);
    g_assert_cmpint(tcg_read_lin(cpu, 0x234564, &r, 4, ACC_READ), ==, TCG_OK);
    g_assert_cmphex(r, ==, 0x77665544);
    /* Without EFER.NXE the XD bit itself is reserved. */
    cpu->st.efer = 0;
    tcg_tlb_flush(cpu);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x100000, &r, 4, ACC_READ), EXC_PF, 9);
    /* A PDPTE that is not present. */
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x40000000, &r, 4, ACC_READ), EXC_PF, 0);
    free_cpu(cpu);
}

/* ---- the TLB ---- */

static void test_tlb_flush(void)
{
    struct tcg_cpu *cpu = new_cpu();
    uint32_t r = 0;

    clear_ram();
    build_32(cpu);
    put32(0x200000, 0x11111111);
    put32(0x300000, 0x22222222);
    put32(0x301000, 0x33333333);
    g_assert_cmpint(tcg_read_lin(cpu, 0x100000, &r, 4, ACC_READ), ==, TCG_OK);
    g_assert_cmphex(r, ==, 0x11111111);
    /* The mapping changes; until a flush the TLB keeps the old one, as
     * the architecture allows (SDM vol. 3, 4.10.4). */
    put32(0x11400, 0x300000 | P | RW | US);
    g_assert_cmpint(tcg_read_lin(cpu, 0x100000, &r, 4, ACC_READ), ==, TCG_OK);
    g_assert_cmphex(r, ==, 0x11111111);
    tcg_tlb_flush_page(cpu, 0x100abc);
    g_assert_cmpint(tcg_read_lin(cpu, 0x100000, &r, 4, ACC_READ), ==, TCG_OK);
    g_assert_cmphex(r, ==, 0x22222222);
    put32(0x11400, 0x301000 | P | RW | US);
    /* A write to CR3 flushes everything. */
    g_assert_cmpint(tcg_write_cr(cpu, 3, 0x10000), ==, TCG_OK);
    g_assert_cmpint(tcg_read_lin(cpu, 0x100000, &r, 4, ACC_READ), ==, TCG_OK);
    g_assert_cmphex(r, ==, 0x33333333);
    /* Removing the page: after INVLPG's flush, #PF. */
    put32(0x11400, 0);
    tcg_tlb_flush_page(cpu, 0x100000);
    ASSERT_EXC(cpu, tcg_read_lin(cpu, 0x100000, &r, 4, ACC_READ), EXC_PF, 0);
    free_cpu(cpu);
}

/* ---- accesses across pages ---- */

static void test_cross_page(void)
{
    struct tcg_cpu *cpu = new_cpu();
    uint32_t v = 0xddccbbaa, r = 0;

    clear_ram();
    build_32(cpu);
    /* The second page is missing: no byte is written, CR2 names it. */
    put32(0x200ffc, 0x11111111);
    ASSERT_EXC(cpu, tcg_write_lin(cpu, 0x100ffe, &v, 4), EXC_PF, 2);
    g_assert_cmphex(cpu->exc.cr2, ==, 0x101000);
    g_assert_cmphex(get32(0x200ffc), ==, 0x11111111);
    /* Both present but not adjacent in physical memory. */
    put32(0x11000 + 0x101 * 4, 0x500000 | P | RW | US);
    g_assert_cmpint(tcg_write_lin(cpu, 0x100ffe, &v, 4), ==, TCG_OK);
    g_assert_cmphex(get32(0x200ffc), ==, 0xbbaa1111);
    g_assert_cmphex(get32(0x500000) & 0xffff, ==, 0xddcc);
    g_assert_cmpint(tcg_read_lin(cpu, 0x100ffe, &r, 4, ACC_READ), ==, TCG_OK);
    g_assert_cmphex(r, ==, v);
    free_cpu(cpu);
}

/* ---- MMIO ---- */

struct mmio_rec {
    uint64_t last_off, last_val;
    unsigned last_size, writes;
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
    return 0x1000 + off;
}

static void rec_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct mmio_rec *r = opaque;

    r->last_off = off;
    r->last_val = val;
    r->last_size = size;
    r->writes++;
}

static const struct io_ops rec_ops = { .read = rec_read, .write = rec_write };

static void test_mmio(void)
{
    struct tcg_cpu *cpu = new_cpu();
    static struct mmio_rec rec;
    g_autoptr(GError) err = NULL;
    uint32_t v = 0xcafe, r = 0;

    g_assert_cmpint(io_register_mmio(0xd0000000, 0x1000, "rec", &rec_ops, &rec, &err), ==, 0);
    g_assert_cmpint(tcg_mem_write(cpu, S_DS, 0xd0000010, &v, 4), ==, TCG_OK);
    g_assert_cmpuint(rec.writes, ==, 1);
    g_assert_cmphex(rec.last_off, ==, 0x10);
    g_assert_cmphex(rec.last_val, ==, 0xcafe);
    g_assert_cmpuint(rec.last_size, ==, 4);
    g_assert_cmpint(tcg_mem_read(cpu, S_DS, 0xd0000020, &r, 2), ==, TCG_OK);
    g_assert_cmphex(r, ==, 0x1020);
    io_unregister_all();
    free_cpu(cpu);
}

/* ---- port I/O ---- */

static uint64_t port_read(void *opaque, uint64_t off, unsigned size)
{
    return 0xa0 + off + size;
}

static void port_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct mmio_rec *r = opaque;

    r->last_off = off;
    r->last_val = val;
    r->last_size = size;
    r->writes++;
}

static const struct io_ops port_ops = { .read = port_read, .write = port_write };

static void test_port_io(void)
{
    struct tcg_cpu *cpu = new_cpu();
    static struct mmio_rec rec;
    g_autoptr(GError) err = NULL;
    static const uint8_t code[] = {
        0xe4, 0x71,                 /* in $0x71, %al */
        0x66, 0xed,                 /* in (%dx), %ax */
        0xef,                       /* out %eax, (%dx) */
    };

    clear_ram();
    g_assert_cmpint(io_register_pio(0x70, 4, "rec", &port_ops, &rec, &err), ==, 0);
    g_assert_cmpint(ram_write(0x300000, code, sizeof(code)), ==, 0);
    cpu->st.rip = 0x300000;
    cpu->st.regs[R_EAX] = 0x11223344;
    g_assert_cmpint(tcg_step(cpu), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x112233a2);        /* offset 1, size 1 */
    cpu->st.regs[R_EDX] = 0x72;
    g_assert_cmpint(tcg_step(cpu), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x112200a4);        /* offset 2, size 2 */
    cpu->st.regs[R_EDX] = 0x70;
    g_assert_cmpint(tcg_step(cpu), ==, TCG_OK);
    g_assert_cmpuint(rec.writes, ==, 1);
    g_assert_cmphex(rec.last_val, ==, 0x112200a4);
    g_assert_cmpuint(rec.last_size, ==, 4);
    g_assert_cmphex(cpu->st.rip, ==, 0x300005);
    /* CPL 3 with IOPL 0 and no TSS bitmap: #GP(0). */
    cpu->cpl = 3;
    cpu->st.rip = 0x300000;
    ASSERT_EXC(cpu, tcg_step(cpu), EXC_GP, 0);
    io_unregister_all();
    free_cpu(cpu);
}

/* ---- instruction fetch ---- */

static void test_fetch_cross_page(void)
{
    struct tcg_cpu *cpu = new_cpu();
    static const uint8_t mov[5] = { 0xb8, 0x78, 0x56, 0x34, 0x12 };   /* mov $0x12345678, %eax */

    clear_ram();
    build_32(cpu);
    g_assert_cmpint(ram_write(0x200ffe, mov, 2), ==, 0);
    g_assert_cmpint(ram_write(0x500000, mov + 2, 3), ==, 0);
    cpu->st.rip = 0x100ffe;
    /* The next page is missing: #PF on its first byte, RIP unchanged. */
    ASSERT_EXC(cpu, tcg_step(cpu), EXC_PF, 0);
    g_assert_cmphex(cpu->exc.cr2, ==, 0x101000);
    g_assert_cmphex(cpu->st.rip, ==, 0x100ffe);
    put32(0x11000 + 0x101 * 4, 0x500000 | P | RW | US);
    g_assert_cmpint(tcg_step(cpu), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x12345678);
    g_assert_cmphex(cpu->st.rip, ==, 0x101003);
    /* Past the CS limit: #GP(0). */
    cpu->st.seg[S_CS].limit = 0x101003;
    ASSERT_EXC(cpu, tcg_step(cpu), EXC_GP, 0);
    free_cpu(cpu);
}

/* ---- descriptors and far jumps ---- */

#define GDT 0x5000

static void build_gdt(struct tcg_cpu *cpu)
{
    static const uint64_t gdt[] = {
        0,
        0x00cf9a000000ffffull,      /* 0x08 code32 */
        0x00cf92000000ffffull,      /* 0x10 data */
        0x00cff2000000ffffull,      /* 0x18 data DPL 3 */
        0x00cf12000000ffffull,      /* 0x20 data, not present */
        0x00af9a000000ffffull,      /* 0x28 code64 */
        0x00cf90000000ffffull,      /* 0x30 read-only data */
        0x00cf98000000ffffull,      /* 0x38 execute-only code */
        0x1240923456780fffull,      /* 0x40 data, base 0x12345678, limit 0xfff */
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(gdt); i++) {
        put64(GDT + i * 8, gdt[i]);
    }
    cpu->st.gdt.base = GDT;
    cpu->st.gdt.limit = sizeof(gdt) - 1;
}

static void test_seg_loads(void)
{
    struct tcg_cpu *cpu = new_cpu();

    clear_ram();
    build_gdt(cpu);
    g_assert_cmpint(tcg_load_seg(cpu, S_DS, 0x10), ==, TCG_OK);
    g_assert_cmphex(get64(GDT + 0x10) >> 40 & 0xff, ==, 0x93);    /* accessed */
    g_assert_cmphex(cpu->st.seg[S_DS].limit, ==, 0xffffffff);
    g_assert_true(cpu->st.seg[S_DS].db);
    g_assert_cmpint(tcg_load_seg(cpu, S_ES, 0x40), ==, TCG_OK);
    g_assert_cmphex(cpu->st.seg[S_ES].base, ==, 0x12345678);
    g_assert_cmphex(cpu->st.seg[S_ES].limit, ==, 0xfff);
    g_assert_cmphex(cpu->st.seg[S_ES].type, ==, 0x3);
    ASSERT_EXC(cpu, tcg_load_seg(cpu, S_DS, 0x48), EXC_GP, 0x48);        /* beyond the GDT */
    ASSERT_EXC(cpu, tcg_load_seg(cpu, S_DS, 0x20), EXC_NP, 0x20);
    ASSERT_EXC(cpu, tcg_load_seg(cpu, S_DS, 0x38), EXC_GP, 0x38);        /* execute-only */
    ASSERT_EXC(cpu, tcg_load_seg(cpu, S_DS, 0x13), EXC_GP, 0x10);        /* RPL 3 > DPL 0 */
    ASSERT_EXC(cpu, tcg_load_seg(cpu, S_DS, 0x0c), EXC_GP, 0x0c);        /* LDT: none */
    ASSERT_EXC(cpu, tcg_load_seg(cpu, S_SS, 0x30), EXC_GP, 0x30);        /* read-only */
    ASSERT_EXC(cpu, tcg_load_seg(cpu, S_SS, 0x18), EXC_GP, 0x18);        /* DPL 3 != CPL 0 */
    ASSERT_EXC(cpu, tcg_load_seg(cpu, S_SS, 0), EXC_GP, 0);
    g_assert_cmphex(cpu->st.seg[S_DS].selector, ==, 0x10);              /* unchanged */
    /* A far jump to a data segment, then to code. */
    cpu->next_rip = 0x100005;
    ASSERT_EXC(cpu, tcg_far_jump(cpu, 0x10, 0x2000, false, 4), EXC_GP, 0x10);
    g_assert_cmpint(tcg_far_jump(cpu, 0x08, 0x2000, false, 4), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x2000);
    /* A far call pushes CS and the return address. */
    cpu->st.regs[R_ESP] = 0x9000;
    cpu->next_rip = 0x2007;
    g_assert_cmpint(tcg_far_jump(cpu, 0x08, 0x3000, true, 4), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x8ff8);
    g_assert_cmphex(get32(0x8ff8), ==, 0x2007);
    g_assert_cmphex(get32(0x8ffc), ==, 0x08);
    g_assert_cmpint(tcg_far_return(cpu, 4, 0), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x2007);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x9000);
    free_cpu(cpu);
}

/* System instructions from their bytes, through the decoder and tcg_step(). */
static enum tcg_status step_bytes(struct tcg_cpu *cpu, const uint8_t *code, size_t len)
{
    g_assert_cmpint(ram_write(0x300000, code, len), ==, 0);
    cpu->st.rip = 0x300000;
    return tcg_step(cpu);
}

static void test_system_insns(void)
{
    struct tcg_cpu *cpu = new_cpu();
    static const uint8_t lgdt[] = { 0x0f, 0x01, 0x15, 0x00, 0x60, 0x00, 0x00 };  /* [0x6000] */
    static const uint8_t sgdt[] = { 0x0f, 0x01, 0x05, 0x10, 0x60, 0x00, 0x00 };  /* [0x6010] */
    static const uint8_t mov_ds[] = { 0x8e, 0xd8 };                /* mov %eax, %ds */
    static const uint8_t rdmsr[] = { 0x0f, 0x32 };
    static const uint8_t wrmsr[] = { 0x0f, 0x30 };
    static const uint8_t mov_from_cr0[] = { 0x0f, 0x20, 0xc3 };    /* mov %cr0, %ebx */
    static const uint8_t mov_to_cr4[] = { 0x0f, 0x22, 0xe0 };      /* mov %eax, %cr4 */
    static const uint8_t lldt[] = { 0x0f, 0x00, 0xd0 };            /* lldt %ax */
    static const uint8_t hlt[] = { 0xf4 };

    clear_ram();
    build_gdt(cpu);
    /* An LDT at 0x7000 with one data descriptor, described at GDT 0x48. */
    put64(0x7000 + 8, 0x00cf92000000ffffull);
    put64(GDT + 0x48, 0x000082007000000full);
    put32(0x6000, 0x4f | (GDT << 16));
    put32(0x6004, 0);
    cpu->st.gdt.base = 0;
    cpu->st.gdt.limit = 0;
    g_assert_cmpint(step_bytes(cpu, lgdt, sizeof(lgdt)), ==, TCG_OK);
    g_assert_cmphex(cpu->st.gdt.base, ==, GDT);
    g_assert_cmphex(cpu->st.gdt.limit, ==, 0x4f);
    g_assert_cmphex(cpu->st.rip, ==, 0x300007);
    g_assert_cmpint(step_bytes(cpu, sgdt, sizeof(sgdt)), ==, TCG_OK);
    g_assert_cmphex(get32(0x6010), ==, 0x4f | (GDT << 16));

    cpu->st.regs[R_EAX] = 0x20;
    ASSERT_EXC(cpu, step_bytes(cpu, mov_ds, sizeof(mov_ds)), EXC_NP, 0x20);
    g_assert_cmphex(cpu->st.rip, ==, 0x300000);
    cpu->st.regs[R_EAX] = 0x40;
    g_assert_cmpint(step_bytes(cpu, mov_ds, sizeof(mov_ds)), ==, TCG_OK);
    g_assert_cmphex(cpu->st.seg[S_DS].base, ==, 0x12345678);

    cpu->st.regs[R_EAX] = 0x48;
    g_assert_cmpint(step_bytes(cpu, lldt, sizeof(lldt)), ==, TCG_OK);
    g_assert_cmphex(cpu->st.seg[S_LDTR].base, ==, 0x7000);
    g_assert_cmpint(tcg_load_seg(cpu, S_ES, 0x0c), ==, TCG_OK);    /* LDT entry 1 */
    g_assert_cmphex(cpu->st.seg[S_ES].limit, ==, 0xffffffff);
    ASSERT_EXC(cpu, tcg_load_seg(cpu, S_ES, 0x14), EXC_GP, 0x14);  /* past the LDT */

    /* MSRs: EFER reads and writes, an unknown one is #GP(0). */
    cpu->st.regs[R_ECX] = MSR_EFER;
    cpu->st.regs[R_EAX] = EFER_NXE | EFER_LME;
    cpu->st.regs[R_EDX] = 0;
    g_assert_cmpint(step_bytes(cpu, wrmsr, sizeof(wrmsr)), ==, TCG_OK);
    cpu->st.regs[R_EAX] = 0;
    g_assert_cmpint(step_bytes(cpu, rdmsr, sizeof(rdmsr)), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, EFER_NXE | EFER_LME);
    cpu->st.regs[R_ECX] = 0x1234;
    ASSERT_EXC(cpu, step_bytes(cpu, rdmsr, sizeof(rdmsr)), EXC_GP, 0);
    cpu->st.regs[R_ECX] = MSR_KERNEL_GS_BASE;
    cpu->st.regs[R_EDX] = 0x8000;           /* not canonical */
    ASSERT_EXC(cpu, step_bytes(cpu, wrmsr, sizeof(wrmsr)), EXC_GP, 0);

    g_assert_cmpint(step_bytes(cpu, mov_from_cr0, sizeof(mov_from_cr0)), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EBX], ==, cpu->st.cr0);
    cpu->st.regs[R_EAX] = 1ull << 30;       /* a reserved CR4 bit */
    ASSERT_EXC(cpu, step_bytes(cpu, mov_to_cr4, sizeof(mov_to_cr4)), EXC_GP, 0);

    /* MOV r32, DS zero-extends; MOV m16, DS stores a word. */
    cpu->st.regs[R_EAX] = ~0ull;
    g_assert_cmpint(step_bytes(cpu, (const uint8_t[]){ 0x8c, 0xd8 }, 2), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x40);
    g_assert_cmpint(tcg_load_seg(cpu, S_DS, 0x10), ==, TCG_OK);
    put32(0x6100, 0xffffffff);
    g_assert_cmpint(step_bytes(cpu, (const uint8_t[]){ 0x8c, 0x1d, 0x00, 0x61, 0x00, 0x00 },
                               6), ==, TCG_OK);
    g_assert_cmphex(get32(0x6100), ==, 0xffff0010);

    /* DR7 keeps what is written, with its fixed bit 10. */
    cpu->st.regs[R_EAX] = 0x1;
    g_assert_cmpint(step_bytes(cpu, (const uint8_t[]){ 0x0f, 0x23, 0xf8 }, 3), ==, TCG_OK);
    g_assert_cmpint(step_bytes(cpu, (const uint8_t[]){ 0x0f, 0x21, 0xfb }, 3), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EBX], ==, 0x401);

    g_assert_cmpint(step_bytes(cpu, hlt, sizeof(hlt)), ==, TCG_HALT);
    g_assert_cmphex(cpu->st.rip, ==, 0x300001);
    /* Privileged at CPL 3. */
    cpu->cpl = 3;
    ASSERT_EXC(cpu, step_bytes(cpu, hlt, sizeof(hlt)), EXC_GP, 0);
    ASSERT_EXC(cpu, step_bytes(cpu, rdmsr, sizeof(rdmsr)), EXC_GP, 0);
    ASSERT_EXC(cpu, step_bytes(cpu, lgdt, sizeof(lgdt)), EXC_GP, 0);
    free_cpu(cpu);
}

/* CR0.PG with EFER.LME activates IA-32e mode; a far jump enters 64-bit code. */
static void test_long_mode_switch(void)
{
    struct tcg_cpu *cpu = new_cpu();

    clear_ram();
    build_gdt(cpu);
    put64(0x10000, 0x11000 | P | RW);
    put64(0x11000, 0 | P | RW | PS);
    g_assert_cmpint(tcg_write_cr(cpu, 3, 0x10000), ==, TCG_OK);
    /* Paging with LME but without PAE: #GP(0). */
    cpu->st.efer = EFER_LME;
    ASSERT_EXC(cpu, tcg_write_cr(cpu, 0, cpu->st.cr0 | CR0_PG), EXC_GP, 0);
    g_assert_cmpint(tcg_write_cr(cpu, 4, CR4_PAE), ==, TCG_OK);
    g_assert_cmpint(tcg_write_cr(cpu, 0, cpu->st.cr0 | CR0_PG), ==, TCG_OK);
    g_assert_true(cpu->st.efer & EFER_LMA);
    g_assert_cmpint(cpu->mode, ==, MODE_PROT32);            /* compatibility mode */
    g_assert_cmpint(tcg_far_jump(cpu, 0x28, 0x100000, false, 4), ==, TCG_JUMPED);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x28);
    /* In 64-bit code: WRMSR may not clear EFER.LME while paging is on. */
    cpu->st.regs[R_ECX] = MSR_EFER;
    cpu->st.regs[R_EAX] = EFER_LMA;
    cpu->st.regs[R_EDX] = 0;
    ASSERT_EXC(cpu, step_bytes(cpu, (const uint8_t[]){ 0x0f, 0x30 }, 2), EXC_GP, 0);
    g_assert_true(cpu->st.efer & EFER_LME);
    /* Clearing PAE or paging from 64-bit mode: #GP(0). */
    ASSERT_EXC(cpu, tcg_write_cr(cpu, 4, 0), EXC_GP, 0);
    ASSERT_EXC(cpu, tcg_write_cr(cpu, 0, cpu->st.cr0 & ~CR0_PG), EXC_GP, 0);
    free_cpu(cpu);
}

/* ---- exception delivery and IRET ---- */

#define IDT 0x6000
#define TSS 0x7800

/* A 32-bit gate: type 0xe interrupt, 0xf trap; dpl; present. */
static void put_gate32(unsigned vec, uint16_t sel, uint32_t off, unsigned type, unsigned dpl)
{
    put64(IDT + vec * 8, (off & 0xffffull) | ((uint64_t)sel << 16) |
                         ((uint64_t)(0x80 | (dpl << 5) | type) << 40) |
                         ((uint64_t)(off >> 16) << 48));
}

static void put_gate64(unsigned vec, uint16_t sel, uint64_t off, unsigned type, unsigned ist)
{
    put64(IDT + vec * 16, (off & 0xffffull) | ((uint64_t)sel << 16) | ((uint64_t)ist << 32) |
                          ((uint64_t)(0x80 | type) << 40) | (((off >> 16) & 0xffff) << 48));
    put64(IDT + vec * 16 + 8, off >> 32);
}

/* CPL 3 on the user code (0x4b) and data (0x53) descriptors at 0x48/0x50. */
static void enter_ring3(struct tcg_cpu *cpu)
{
    cpu->st.seg[S_CS] = (struct x86_segment){ .selector = 0x4b, .limit = 0xffffffff,
                                              .type = 0xb, .s = true, .present = true,
                                              .dpl = 3, .db = true, .g = true };
    cpu->st.seg[S_SS] = (struct x86_segment){ .selector = 0x53, .limit = 0xffffffff,
                                              .type = 0x3, .s = true, .present = true,
                                              .dpl = 3, .db = true, .g = true };
    tcg_cpu_mode_changed(cpu);
    g_assert_cmpuint(cpu->cpl, ==, 3);
}

static void raise_for_test(struct tcg_cpu *cpu, unsigned vec, bool has_err, uint32_t err,
                           unsigned soft)
{
    cpu->exc = (struct tcg_exception){ .vector = vec, .has_error_code = has_err,
                                       .error_code = err, .soft = soft };
}

static void test_deliver_prot32(void)
{
    struct tcg_cpu *cpu = new_cpu();

    clear_ram();
    build_gdt(cpu);
    put64(GDT + 0x48, 0x00cffa000000ffffull);     /* user code */
    put64(GDT + 0x50, 0x00cff2000000ffffull);     /* user data */
    cpu->st.gdt.limit = 0x57;
    cpu->st.idt.base = IDT;
    cpu->st.idt.limit = 0x7ff;
    put_gate32(EXC_PF, 0x08, 0x401234, 0xe, 0);
    put_gate32(0x80, 0x08, 0x408000, 0xf, 3);
    cpu->st.rflags |= RFLAGS_IF;
    cpu->st.rip = 0x300000;
    cpu->next_rip = 0x300002;
    cpu->st.regs[R_ESP] = 0x9000;

    /* #PF through an interrupt gate at CPL 0: EFLAGS, CS, EIP, error code. */
    raise_for_test(cpu, EXC_PF, true, 2, 0);
    cpu->exc.cr2 = 0xdead000;
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x401234);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x9000 - 16);
    g_assert_cmphex(get32(0x9000 - 16), ==, 2);
    g_assert_cmphex(get32(0x9000 - 12), ==, 0x300000);        /* the faulting insn */
    g_assert_cmphex(get32(0x9000 - 8), ==, 0x08);
    g_assert_true(get32(0x9000 - 4) & RFLAGS_IF);
    g_assert_false(cpu->st.rflags & RFLAGS_IF);
    g_assert_cmphex(cpu->st.cr2, ==, 0xdead000);

    /* INT 0x80 through a trap gate: returns after the INT, IF stays. */
    cpu->st.rflags |= RFLAGS_IF;
    cpu->st.regs[R_ESP] = 0x9000;
    raise_for_test(cpu, 0x80, false, 0, 1);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x408000);
    g_assert_cmphex(get32(0x9000 - 12), ==, 0x300002);
    g_assert_true(cpu->st.rflags & RFLAGS_IF);

    /* From CPL 3: the stack switches to SS0:ESP0 of the TSS. */
    put32(TSS + 4, 0xa000);
    put32(TSS + 8, 0x10);
    cpu->st.seg[S_TR] = (struct x86_segment){ .base = TSS, .limit = 0x67, .type = 0xb,
                                              .present = true };
    put_gate32(EXC_GP, 0x08, 0x40d000, 0xe, 0);
    put_gate32(0x81, 0x08, 0x40e000, 0xe, 0);
    g_assert_cmpint(tcg_load_seg(cpu, S_DS, 0x10), ==, TCG_OK);
    enter_ring3(cpu);
    cpu->st.regs[R_ESP] = 0x5000;
    cpu->st.rip = 0x300000;
    raise_for_test(cpu, EXC_GP, true, 0, 0);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmpuint(cpu->cpl, ==, 0);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x10);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0xa000 - 24);
    g_assert_cmphex(get32(0xa000 - 4), ==, 0x53);              /* old SS */
    g_assert_cmphex(get32(0xa000 - 8), ==, 0x5000);            /* old ESP */
    g_assert_cmphex(get32(0xa000 - 16), ==, 0x4b);             /* old CS */
    g_assert_cmphex(get32(0xa000 - 20), ==, 0x300000);
    g_assert_cmphex(get32(0xa000 - 24), ==, 0);                /* error code */

    /* IRET (after the handler drops the error code) returns to ring 3 and
     * nulls DS, whose DPL 0 the new CPL may not use. */
    cpu->st.regs[R_ESP] += 4;
    g_assert_cmpint(tcg_iret(cpu, 4), ==, TCG_JUMPED);
    g_assert_cmpuint(cpu->cpl, ==, 3);
    g_assert_cmphex(cpu->st.rip, ==, 0x300000);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x5000);
    g_assert_cmphex(cpu->st.seg[S_SS].selector, ==, 0x53);
    g_assert_true(cpu->st.seg[S_DS].unusable);
    g_assert_true(cpu->st.rflags & RFLAGS_IF);

    /* INT 0x81 at CPL 3 through a DPL-0 gate: #GP(0x81 * 8 + 2), EXT clear. */
    cpu->next_rip = 0x300002;
    raise_for_test(cpu, 0x81, false, 0, 1);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x40d000);
    g_assert_cmphex(get32(0xa000 - 24), ==, 0x81 * 8 + 2);
    g_assert_cmphex(get32(0xa000 - 20), ==, 0x300000);         /* a fault: the INT itself */

    /* No gate for #UD: #NP(6 * 8 + 2 + EXT) is contributory, not #DF... */
    cpu->st.regs[R_ESP] = 0x9000;
    put64(IDT + EXC_UD * 8, 0x00008e0000080000ull & ~(1ull << 47));
    put_gate32(EXC_NP, 0x08, 0x40f000, 0xe, 0);
    raise_for_test(cpu, EXC_UD, false, 0, 0);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x40f000);
    g_assert_cmphex(get32(0x9000 - 16), ==, EXC_UD * 8 + 2 + 1);
    /* ... but #GP while delivering #GP is, and without a #DF gate the CPU
     * shuts down. */
    put64(IDT + EXC_GP * 8, 0);
    raise_for_test(cpu, EXC_GP, true, 0, 0);
    g_assert_false(tcg_deliver_exception(cpu));
    g_assert_cmpuint(cpu->exc.vector, ==, EXC_DF);
    /* With a #DF gate: delivered with error code 0. */
    put_gate32(EXC_DF, 0x08, 0x40c000, 0xe, 0);
    cpu->st.regs[R_ESP] = 0x9000;
    raise_for_test(cpu, EXC_GP, true, 0, 0);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x40c000);
    g_assert_cmphex(get32(0x9000 - 16), ==, 0);
    free_cpu(cpu);
}

/* IA-32e mode: 16-byte gates, RSP aligned to 16, SS:RSP always pushed, IST. */
static void test_deliver_long(void)
{
    struct tcg_cpu *cpu = new_cpu();

    clear_ram();
    build_gdt(cpu);
    put64(0x10000, 0x11000 | P | RW | US);
    put64(0x11000, 0 | P | RW | US | PS);          /* the first GiB, identity */
    cpu->st.cr3 = 0x10000;
    cpu->st.cr4 = CR4_PAE;
    cpu->st.efer = EFER_LME | EFER_LMA;
    cpu->st.cr0 |= CR0_PG;
    tcg_tlb_flush(cpu);
    tcg_cpu_mode_changed(cpu);
    cpu->next_rip = 0x300005;
    g_assert_cmpint(tcg_far_jump(cpu, 0x28, 0x300000, false, 4), ==, TCG_JUMPED);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);
    cpu->st.idt.base = IDT;
    cpu->st.idt.limit = 0xfff;
    cpu->st.seg[S_TR] = (struct x86_segment){ .base = TSS, .limit = 0x67, .type = 0xb,
                                              .present = true };
    put64(TSS + 0x24, 0xb000);                       /* IST1 */
    put_gate64(EXC_PF, 0x28, 0xffffffff80001234ull, 0xe, 0);
    put_gate64(EXC_DF, 0x28, 0x402000, 0xe, 1);

    cpu->st.regs[R_ESP] = 0x9008;
    raise_for_test(cpu, EXC_PF, true, 0x10, 0);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0xffffffff80001234ull);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x9000 - 48);
    g_assert_cmphex(get64(0x9000 - 8), ==, 0x10);             /* SS */
    g_assert_cmphex(get64(0x9000 - 16), ==, 0x9008);          /* RSP before */
    g_assert_cmphex(get64(0x9000 - 32), ==, 0x28);            /* CS */
    g_assert_cmphex(get64(0x9000 - 40), ==, 0x300000);        /* RIP */
    g_assert_cmphex(get64(0x9000 - 48), ==, 0x10);            /* error code */
    cpu->st.regs[R_ESP] += 8;
    g_assert_cmpint(tcg_iret(cpu, 8), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0x300000);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x9008);
    g_assert_cmpint(cpu->mode, ==, MODE_LONG64);

    /* #GP with no gate: #NP with no gate: #DF on its IST stack. */
    raise_for_test(cpu, EXC_GP, true, 0, 0);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.rip, ==, 0x402000);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0xb000 - 48);
    g_assert_cmphex(get64(0xb000 - 48), ==, 0);
    free_cpu(cpu);
}

/* Real mode: the IVT, FLAGS/CS/IP on the stack, IF and TF cleared. */
static void test_deliver_real(void)
{
    struct tcg_cpu *cpu = new_cpu();

    clear_ram();
    x86_cpu_state_reset(&cpu->st, true);
    tcg_cpu_mode_changed(cpu);
    g_assert_cmpint(cpu->mode, ==, MODE_REAL16);
    put32(0x21 * 4, 0x12340010);                    /* int 0x21 -> 1234:0010 */
    cpu->st.seg[S_CS].selector = 0x100;
    cpu->st.seg[S_CS].base = 0x1000;
    cpu->st.rip = 0x20;
    cpu->next_rip = 0x22;
    cpu->st.regs[R_ESP] = 0x800;
    cpu->st.rflags |= RFLAGS_IF | RFLAGS_TF;
    raise_for_test(cpu, 0x21, false, 0, 1);
    g_assert_true(tcg_deliver_exception(cpu));
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x1234);
    g_assert_cmphex(cpu->st.seg[S_CS].base, ==, 0x12340);
    g_assert_cmphex(cpu->st.rip, ==, 0x10);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x7fa);
    g_assert_cmphex(get32(0x7fa), ==, 0x01000022);  /* IP, then CS */
    g_assert_true(get32(0x7fc) >> 16 & RFLAGS_IF);
    g_assert_false(cpu->st.rflags & (RFLAGS_IF | RFLAGS_TF));
    /* An IVT too short for the vector: #GP, then #DF, then shutdown. */
    cpu->st.idt.limit = 0x3ff;
    raise_for_test(cpu, 0x100 - 1, false, 0, 1);
    g_assert_true(tcg_deliver_exception(cpu));
    cpu->st.idt.limit = 0x10;
    raise_for_test(cpu, EXC_UD, false, 0, 0);
    g_assert_false(tcg_deliver_exception(cpu));
    free_cpu(cpu);
}

/* A stop flag set by another thread ends a loop that never leaves a block. */
static gpointer set_stop_later(gpointer opaque)
{
    g_usleep(50 * 1000);
    *(volatile bool *)opaque = true;
    return NULL;
}

static void test_stop(void)
{
    struct tcg_cpu *cpu = new_cpu();
    static const uint8_t spin[] = { 0xeb, 0xfe };      /* jmp . */
    volatile bool stop = false;
    GThread *t;

    clear_ram();
    g_assert_cmpint(ram_write(0x300000, spin, sizeof(spin)), ==, 0);
    cpu->st.rip = 0x300000;
    t = g_thread_new("stop", set_stop_later, (gpointer)&stop);
    g_assert_cmpint(tcg_run(cpu, &stop), ==, TCG_STOP);
    g_thread_join(t);
    g_assert_cmphex(cpu->st.rip, ==, 0x300000);
    g_assert_cmpuint(cpu->icount, >, 1000);
    free_cpu(cpu);
}

/* ---- decoded blocks and self-modifying code ---- */

static void test_smc(void)
{
    struct tcg_cpu *cpu = new_cpu();
    static const uint8_t prog[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4 };  /* mov $1,%eax; hlt */
    /* movl $0x55, 0x30000b; mov $0, %eax; hlt: the store hits the next
     * instruction's immediate, within the running block. */
    static const uint8_t self[] = {
        0xc7, 0x05, 0x0b, 0x00, 0x30, 0x00, 0x55, 0x00, 0x00, 0x00,
        0xb8, 0x00, 0x00, 0x00, 0x00, 0xf4,
    };
    volatile bool stop = false;
    uint32_t v = 2;

    clear_ram();
    g_assert_cmpint(ram_write(0x300000, prog, sizeof(prog)), ==, 0);
    cpu->st.rip = 0x300000;
    g_assert_cmpint(tcg_run(cpu, &stop), ==, TCG_HALT);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 1);
    g_assert_cmphex(cpu->st.rip, ==, 0x300006);
    g_assert_true(tcg_blocks_page_has_code(cpu->blocks, 0x300000));
    /* A store by the CPU drops the block. */
    g_assert_cmpint(tcg_mem_write(cpu, S_DS, 0x300001, &v, 4), ==, TCG_OK);
    g_assert_false(tcg_blocks_page_has_code(cpu->blocks, 0x300000));
    cpu->st.rip = 0x300000;
    g_assert_cmpint(tcg_run(cpu, &stop), ==, TCG_HALT);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 2);
    /* The block is really cached: a write behind the CPU's back (no
     * accelerator hook on RAM writes) is not seen. */
    v = 3;
    g_assert_cmpint(ram_write(0x300001, &v, 4), ==, 0);
    cpu->st.rip = 0x300000;
    g_assert_cmpint(tcg_run(cpu, &stop), ==, TCG_HALT);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 2);
    g_assert_cmpuint(cpu->icount, ==, 6);
    /* The page's code word names this CPU (index 0); a device's write, through the hook
     * the accelerator sets, clears it (and posts the page to every vCPU it named). */
    g_assert_cmphex(*tcg_code_word(0x300000), ==, 1);
    ram_set_write_hook(tcg_ram_written);
    g_assert_cmpint(ram_write(0x300800, &v, 4), ==, 0);
    ram_set_write_hook(NULL);
    g_assert_cmphex(*tcg_code_word(0x300000), ==, 0);

    /* A store into the running block ends it after the store. */
    g_assert_cmpint(ram_write(0x300000, self, sizeof(self)), ==, 0);
    tcg_code_written(cpu, 0x300000);
    cpu->st.rip = 0x300000;
    g_assert_cmpint(tcg_run(cpu, &stop), ==, TCG_HALT);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0x55);
    g_assert_cmphex(cpu->st.rip, ==, 0x300010);

    /* A set stop flag runs nothing. */
    stop = true;
    cpu->st.rip = 0x300000;
    g_assert_cmpint(tcg_run(cpu, &stop), ==, TCG_STOP);
    g_assert_cmphex(cpu->st.rip, ==, 0x300000);
    free_cpu(cpu);
}

/* The same code seen through two linear mappings: a store through one drops
 * the blocks the other decoded (blocks are kept by physical page). */
static void test_smc_alias(void)
{
    struct tcg_cpu *cpu = new_cpu();
    static const uint8_t prog[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4 };
    volatile bool stop = false;
    uint32_t v = 7;

    clear_ram();
    build_32(cpu);
    /* Lin 0x100000 and 0x104000 both map physical 0x200000. */
    put32(0x11000 + 0x104 * 4, 0x200000 | P | RW | US);
    g_assert_cmpint(ram_write(0x200000, prog, sizeof(prog)), ==, 0);
    cpu->st.rip = 0x100000;
    g_assert_cmpint(tcg_run(cpu, &stop), ==, TCG_HALT);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 1);
    g_assert_cmpint(tcg_mem_write(cpu, S_DS, 0x104001, &v, 4), ==, TCG_OK);
    cpu->st.rip = 0x100000;
    g_assert_cmpint(tcg_run(cpu, &stop), ==, TCG_HALT);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 7);
    free_cpu(cpu);
}

/* ---- the order of checks the differential tester measured on the host ---- */

/*
 * Read-modify-write destinations are checked for writing before the read
 * (a read-only segment is #GP(0), a read-only page #PF with W, no D bit);
 * ARPL is no read-modify-write; LDS..LSS ignore REX.W on AMD; AMD's far
 * CALL stores the return address before it checks the new offset, and its
 * far RET reads the outer SS:rSP slots before any descriptor check.
 */
static void test_check_order(void)
{
    struct tcg_cpu *cpu = new_cpu();
    const bool intel = tcg_host_is_intel();
    /* cs: overrides on a readable code segment (type 0xb) at [0x101000],
     * a page that is not present: the RMWs are #GP(0) before any read,
     * the reads are #PF. */
    static const uint8_t add_cs[] = { 0x2e, 0x01, 0x05, 0x00, 0x10, 0x10, 0x00 };
    static const uint8_t cmp_cs[] = { 0x2e, 0x3b, 0x05, 0x00, 0x10, 0x10, 0x00 };
    static const uint8_t inc_cs[] = { 0x2e, 0xff, 0x05, 0x00, 0x10, 0x10, 0x00 };
    static const uint8_t shl_cs[] = { 0x2e, 0xd1, 0x25, 0x00, 0x10, 0x10, 0x00 };
    static const uint8_t bts_cs[] = { 0x2e, 0x0f, 0xab, 0x05, 0x00, 0x10, 0x10, 0x00 };
    static const uint8_t bt_cs[] = { 0x2e, 0x0f, 0xa3, 0x05, 0x00, 0x10, 0x10, 0x00 };
    static const uint8_t arpl_cs[] = { 0x2e, 0x63, 0x1d, 0x20, 0x00, 0x10, 0x00 };
    /* lfs rbx, [0x100010] with REX.W */
    static const uint8_t lfs_w[] = { 0x48, 0x0f, 0xb4, 0x1c, 0x25, 0x10, 0x00, 0x10, 0x00 };
    uint32_t v = 0;

    clear_ram();
    build_32(cpu);
    put32(0x11000 + 0x300 * 4, 0x300000 | P | RW | US);    /* the code */
    cpu->st.regs[R_EAX] = 1;
    ASSERT_EXC(cpu, step_bytes(cpu, add_cs, sizeof(add_cs)), EXC_GP, 0);
    ASSERT_EXC(cpu, step_bytes(cpu, inc_cs, sizeof(inc_cs)), EXC_GP, 0);
    ASSERT_EXC(cpu, step_bytes(cpu, shl_cs, sizeof(shl_cs)), EXC_GP, 0);
    ASSERT_EXC(cpu, step_bytes(cpu, bts_cs, sizeof(bts_cs)), EXC_GP, 0);
    g_assert_cmphex(cpu->st.rip, ==, 0x300000);
    ASSERT_EXC(cpu, step_bytes(cpu, cmp_cs, sizeof(cmp_cs)), EXC_PF, 0);
    ASSERT_EXC(cpu, step_bytes(cpu, bt_cs, sizeof(bt_cs)), EXC_PF, 0);
    g_assert_cmphex(cpu->exc.cr2, ==, 0x101000);

    /* ARPL reads its destination plainly and writes it only to raise the
     * RPL: through cs: a selector that keeps its RPL is fine. */
    put32(0x200020, 0x0013);
    cpu->st.regs[R_EBX] = 0x2;
    cpu->st.rflags |= RFLAGS_ZF;
    g_assert_cmpint(step_bytes(cpu, arpl_cs, sizeof(arpl_cs)), ==, TCG_OK);
    g_assert_false(cpu->st.rflags & RFLAGS_ZF);
    put32(0x200020, 0x0010);
    ASSERT_EXC(cpu, step_bytes(cpu, arpl_cs, sizeof(arpl_cs)), EXC_GP, 0);
    cpu->st.regs[R_EAX] = 0xffff0010;
    cpu->st.regs[R_EBX] = 0x3;
    g_assert_cmpint(step_bytes(cpu, (const uint8_t[]){ 0x63, 0xd8 }, 2), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EAX], ==, 0xffff0013);
    g_assert_true(cpu->st.rflags & RFLAGS_ZF);

    /* The read half of an RMW of a read-only page: without CR0.WP a
     * supervisor may write it; a user gets #PF P|W|U before any read, and
     * the accessed/dirty bits of the leaf stay clear. */
    g_assert_cmpint(tcg_mem_read_rmw(cpu, S_DS, 0x102000, &v, 4), ==, TCG_OK);
    tcg_tlb_flush(cpu);
    put32(0x11000 + 0x102 * 4, 0x202000 | P | US);
    cpu->cpl = 3;
    ASSERT_EXC(cpu, tcg_mem_read_rmw(cpu, S_DS, 0x102000, &v, 4), EXC_PF, 7);
    g_assert_cmphex(cpu->exc.cr2, ==, 0x102000);
    g_assert_cmphex(get32(0x11408) & (A | D), ==, 0);
    ASSERT_EXC(cpu, tcg_mem_read_rmw(cpu, S_DS, 0x101000, &v, 4), EXC_PF, 6);
    /* On a writable page it reads, and sets D as the write will. */
    put32(0x200020, 0xcafe);
    g_assert_cmpint(tcg_mem_read_rmw(cpu, S_DS, 0x100020, &v, 4), ==, TCG_OK);
    g_assert_cmphex(v, ==, 0xcafe);
    g_assert_cmphex(get32(0x11400) & (A | D), ==, A | D);
    free_cpu(cpu);

    /* LFS with REX.W in 64-bit mode: m16:32 on AMD, m16:64 on Intel. */
    cpu = new_cpu();
    clear_ram();
    build_4level(cpu);
    put64(0x12000 + 8, 0x200000 | P | RW | US | PS);    /* the code at 0x300000 */
    put64(0x200010, 0xabcd000011223344ull);     /* the AMD selector (0) at +4 */
    put64(0x200018, 0);                         /* the Intel selector (0) at +8 */
    cpu->st.regs[R_EBX] = ~0ull;
    g_assert_cmpint(step_bytes(cpu, lfs_w, sizeof(lfs_w)), ==, TCG_OK);
    g_assert_cmphex(cpu->st.regs[R_EBX], ==, intel ? 0xabcd000011223344ull : 0x11223344);
    g_assert_true(cpu->st.seg[S_FS].unusable);
    free_cpu(cpu);

    /* Far CALL to 0x48 (32-bit code, limit 0xffff) past the limit. */
    cpu = new_cpu();
    clear_ram();
    build_gdt(cpu);
    put64(GDT + 0x48, 0x00409a000000ffffull);
    cpu->st.gdt.limit = 0x4f;
    cpu->st.regs[R_ESP] = 0x9000;
    cpu->next_rip = 0x2007;
    put64(0x8ff8, 0);
    ASSERT_EXC(cpu, tcg_far_jump(cpu, 0x48, 0x20000, true, 4), EXC_GP, 0);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x9000);
    g_assert_cmphex(cpu->st.seg[S_CS].selector, ==, 0x08);
    g_assert_cmphex(get64(0x8ff8), ==, intel ? 0 : 0x0000000800002007ull);
    /* Inside the limit it goes. */
    g_assert_cmpint(tcg_far_jump(cpu, 0x48, 0xfff0, true, 4), ==, TCG_JUMPED);
    g_assert_cmphex(cpu->st.rip, ==, 0xfff0);
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x8ff8);

    /* Far RET to RPL 3 at CPL 0 with the outer slots past SS.limit: AMD
     * reads them first (#SS(0)); Intel checks the selector first. */
    cpu->st.seg[S_SS].limit = 0x8fff;
    cpu->st.regs[R_ESP] = 0x8ff0;
    put32(0x8ff0, 0x1000);
    put32(0x8ff4, 0x0b);
    if (intel) {
        ASSERT_EXC(cpu, tcg_far_return(cpu, 4, 0x100), EXC_GP, 0x08);
    } else {
        ASSERT_EXC(cpu, tcg_far_return(cpu, 4, 0x100), EXC_SS, 0);
    }
    g_assert_cmphex(cpu->st.regs[R_ESP], ==, 0x8ff0);
    free_cpu(cpu);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    if (ram_add_region(0, RAM_SIZE, &err) < 0) {
        g_printerr("guest RAM: %s\n", err->message);
        return 1;
    }
    g_test_add_func("/tcg-core/regs", test_regs);
    g_test_add_func("/tcg-core/ea", test_ea);
    g_test_add_func("/tcg-core/operands", test_operands);
    g_test_add_func("/tcg-core/stack", test_stack);
    g_test_add_func("/tcg-core/seg-limits", test_seg_limits);
    g_test_add_func("/tcg-core/paging-32", test_paging_32);
    g_test_add_func("/tcg-core/paging-pae", test_paging_pae);
    g_test_add_func("/tcg-core/paging-4level", test_paging_4level);
    g_test_add_func("/tcg-core/tlb-flush", test_tlb_flush);
    g_test_add_func("/tcg-core/cross-page", test_cross_page);
    g_test_add_func("/tcg-core/mmio", test_mmio);
    g_test_add_func("/tcg-core/port-io", test_port_io);
    g_test_add_func("/tcg-core/fetch-cross-page", test_fetch_cross_page);
    g_test_add_func("/tcg-core/seg-loads", test_seg_loads);
    g_test_add_func("/tcg-core/system-insns", test_system_insns);
    g_test_add_func("/tcg-core/long-mode-switch", test_long_mode_switch);
    g_test_add_func("/tcg-core/deliver-prot32", test_deliver_prot32);
    g_test_add_func("/tcg-core/deliver-long", test_deliver_long);
    g_test_add_func("/tcg-core/deliver-real", test_deliver_real);
    g_test_add_func("/tcg-core/stop", test_stop);
    g_test_add_func("/tcg-core/smc", test_smc);
    g_test_add_func("/tcg-core/smc-alias", test_smc_alias);
    g_test_add_func("/tcg-core/check-order", test_check_order);
    ret = g_test_run();
    ram_free_all();
    return ret;
}
