/*
 * -M pc's stand-in for what SeaBIOS leaves behind for a -kernel boot
 * (machine/bios-state.c): the real-mode vector table with its stubs, and
 * the 32-bit stub the vCPU starts in, which programs the i8259 pair and
 * the i8254 through their ports and then enters the kernel.  The stub is
 * checked by walking its code the way the CPU would.
 */
#include <string.h>

#include <glib.h>

#include "arch/x86/cpu.h"
#include "machine/machine-internal.h"
#include "system/memory.h"

#define STUB_GPA 0xfe100u

static void setup_ram(void)
{
    g_autoptr(GError) err = NULL;

    ram_free_all();
    g_assert_cmpint(ram_add_region(0, 2 << 20, &err), ==, 0);
}

static uint8_t rd8(uint64_t gpa)
{
    uint8_t v = 0;

    g_assert_cmpint(ram_read(gpa, &v, 1), ==, 0);
    return v;
}

static uint32_t rd32(uint64_t gpa)
{
    uint8_t b[4];

    g_assert_cmpint(ram_read(gpa, b, 4), ==, 0);
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

/* seg:off of vector v, as a linear address. */
static uint32_t vector_target(unsigned v)
{
    uint32_t p = rd32(v * 4);

    return (p >> 16) * 16 + (p & 0xffff);
}

/* Every vector ends in an IRET; the IRQ ones send the EOIs first. */
static void test_vector_table(void)
{
    static const uint8_t eoi_master[] = { 0xb0, 0x20, 0xe6, 0x20 };
    static const uint8_t eoi_slave[] = { 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20 };
    uint8_t code[8];

    setup_ram();
    pc_bios_state_setup();
    g_assert_cmphex(rd32(0x10 * 4), ==, 0xf000ff53);   /* INT 10h: the default */
    g_assert_cmphex(rd32(8 * 4), ==, 0xf000fea5);      /* IRQ 0: SeaBIOS's INT 08h */
    g_assert_cmphex(rd8(vector_target(0x10)), ==, 0xcf);
    for (unsigned irq = 0; irq < 8; irq++) {
        g_assert_cmpint(ram_read(vector_target(8 + irq) + 1, code, 4), ==, 0);
        g_assert_cmpmem(code, 4, eoi_master, 4);
        g_assert_cmpint(ram_read(vector_target(0x70 + irq) + 1, code, 6), ==, 0);
        g_assert_cmpmem(code, 6, eoi_slave, 6);
    }
    ram_free_all();
}

struct port_write {
    uint16_t port;
    uint8_t val;
};

/* Runs the stub's "mov al, imm8; out imm8, al" pairs, "mov eax, imm32" and
 * "jmp rel32"; returns the writes, sets *eax and *target. */
static unsigned walk_stub(uint32_t rip, struct port_write *w, unsigned max, uint32_t *eax,
                          uint32_t *target)
{
    unsigned n = 0;
    uint8_t al = 0;

    for (unsigned steps = 0; steps < 100; steps++) {
        uint8_t op = rd8(rip);

        if (op == 0xb0) {
            al = rd8(rip + 1);
            rip += 2;
        } else if (op == 0xe6) {
            g_assert_cmpuint(n, <, max);
            w[n++] = (struct port_write){ rd8(rip + 1), al };
            rip += 2;
        } else if (op == 0xb8) {
            *eax = rd32(rip + 1);
            rip += 5;
        } else if (op == 0xe9) {
            *target = rip + 5 + rd32(rip + 1);
            return n;
        } else {
            g_assert_not_reached();
        }
    }
    g_assert_not_reached();
}

static void test_boot_stub(void)
{
    struct machine m = { 0 };
    struct port_write w[32];
    uint32_t eax = 0, target = 0;
    unsigned n;

    setup_ram();
    x86_cpu_state_flat32(&m.boot_state, 0x100010);
    m.boot_state.regs[R_EAX] = 0x2badb002;
    m.boot_state.regs[R_EBX] = 0x9000;
    m.has_boot_state = true;
    pc_bios_kernel_loaded(&m);
    g_assert_cmphex(m.boot_state.rip, ==, STUB_GPA);
    g_assert_cmphex(m.boot_state.regs[R_EBX], ==, 0x9000);
    n = walk_stub(STUB_GPA, w, G_N_ELEMENTS(w), &eax, &target);
    g_assert_cmphex(eax, ==, 0x2badb002);
    g_assert_cmphex(target, ==, 0x100010);
    g_assert_cmpuint(n, ==, 13);
    /* Master: ICW1 edge/cascade/ICW4, ICW2 base 08h, ICW3 slave on 2, ICW4. */
    g_assert_cmphex(w[0].port, ==, 0x20);
    g_assert_cmphex(w[0].val, ==, 0x11);
    g_assert_cmphex(w[1].val, ==, 0x08);
    g_assert_cmphex(w[2].val, ==, 0x04);
    /* Slave: base 70h, ID 2. */
    g_assert_cmphex(w[4].port, ==, 0xa0);
    g_assert_cmphex(w[5].val, ==, 0x70);
    g_assert_cmphex(w[6].val, ==, 0x02);
    /* Masks: only the timer and the cascade open. */
    g_assert_cmphex(w[8].port, ==, 0x21);
    g_assert_cmphex(w[8].val, ==, 0xfa);
    g_assert_cmphex(w[9].port, ==, 0xa1);
    g_assert_cmphex(w[9].val, ==, 0xff);
    /* PIT channel 0: mode 3, count 65536. */
    g_assert_cmphex(w[10].port, ==, 0x43);
    g_assert_cmphex(w[10].val, ==, 0x36);
    g_assert_cmphex(w[11].port, ==, 0x40);
    g_assert_cmphex(w[12].port, ==, 0x40);
    g_assert_cmphex(w[11].val | w[12].val, ==, 0);
    ram_free_all();
}

/* An entry the 32-bit stub cannot reach stays as the loader set it. */
static void test_boot_stub_skipped(void)
{
    struct machine m = { 0 };

    setup_ram();
    x86_cpu_state_flat32(&m.boot_state, 0x100010);
    m.boot_state.cr0 |= CR0_PG;
    m.has_boot_state = true;
    pc_bios_kernel_loaded(&m);
    g_assert_cmphex(m.boot_state.rip, ==, 0x100010);
    x86_cpu_state_reset(&m.boot_state, true);       /* real mode at fff0h */
    pc_bios_kernel_loaded(&m);
    g_assert_cmphex(m.boot_state.rip, ==, 0xfff0);
    m.has_boot_state = false;
    x86_cpu_state_flat32(&m.boot_state, 0x100010);
    pc_bios_kernel_loaded(&m);
    g_assert_cmphex(m.boot_state.rip, ==, 0x100010);
    ram_free_all();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bios-state/vector-table", test_vector_table);
    g_test_add_func("/bios-state/boot-stub", test_boot_stub);
    g_test_add_func("/bios-state/boot-stub-skipped", test_boot_stub_skipped);
    return g_test_run();
}
