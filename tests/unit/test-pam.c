/*
 * The BIOS ROM and the i440FX's PAM/SMRAM decoding (hw/i440fx-pam.c over
 * system/memory-map.c): what SeaBIOS relies on when it shadows itself
 * into RAM, and what KVM's memory slots and the software CPU's TLB are
 * built from.
 */
#include <string.h>
#include <sys/mman.h>

#include "hw/devices.h"
#include "hw/i440fx-pam.h"
#include "hw/pci.h"
#include "machine/machine.h"
#include "system/error.h"
#include "system/memory.h"

#define BIOS_SIZE 0x40000ull
#define FOUR_GIB (1ull << 32)

static uint8_t *rom;
static uint64_t hook_lo, hook_len;
static unsigned hook_calls;

static void map_hook(uint64_t gpa, uint64_t len)
{
    hook_calls++;
    hook_lo = gpa;
    hook_len = len;
}

/* 8 MiB of RAM, a 256 KiB "BIOS" whose byte at offset o is (o >> 12) ^ 0x5a,
 * its windows at the top of 4 GiB and below 1 MiB. */
static void setup(void)
{
    g_autoptr(GError) err = NULL;

    rom = mmap(NULL, BIOS_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert_true(rom != MAP_FAILED);
    for (uint64_t o = 0; o < BIOS_SIZE; o++) {
        rom[o] = (uint8_t)((o >> 12) ^ 0x5a);
    }
    g_assert_cmpint(ram_add_region(0, 8 << 20, &err), ==, 0);
    memset(ram_hva(0xa0000, 0x60000), 0x11, 0x60000);
    g_assert_cmpint(mem_window_add(FOUR_GIB - BIOS_SIZE, BIOS_SIZE, rom, true, &err), >=, 0);
    g_assert_cmpint(i440fx_pam_create(rom + BIOS_SIZE - 0x20000, 0x20000, &err), ==, 0);
    g_assert_no_error(err);
    hook_calls = 0;
    mem_set_map_hook(map_hook);
}

static void teardown(void)
{
    mem_set_map_hook(NULL);
    i440fx_pam_destroy();
    mem_window_remove_all();
    ram_free_all();
    munmap(rom, BIOS_SIZE);
}

static uint8_t peek(uint64_t gpa)
{
    uint8_t b = 0xee;

    mem_phys_rw(gpa, &b, 1, false);
    return b;
}

static void poke(uint64_t gpa, uint8_t b)
{
    mem_phys_rw(gpa, &b, 1, true);
}

/* After reset (all PAM bytes 0, SMRAM 0x02) the low alias shows the ROM's
 * last 128 KiB, and the reset vector's bytes are the image's last ones. */
static void test_reset_state(void)
{
    uint8_t config[256] = { [I440FX_SMRAM] = 0x02 };
    bool ro;

    setup();
    i440fx_pam_update(config);
    g_assert_cmpuint(peek(0xffff0), ==, rom[BIOS_SIZE - 0x10]);
    g_assert_cmpuint(peek(0xfffffff0), ==, rom[BIOS_SIZE - 0x10]);
    g_assert_cmpuint(peek(0xe0000), ==, rom[BIOS_SIZE - 0x20000]);
    g_assert_cmpuint(peek(FOUR_GIB - BIOS_SIZE), ==, rom[0]);
    /* The option ROM area reads as the empty pc.rom, read-only. */
    g_assert_cmpuint(peek(0xc8000), ==, 0);
    g_assert_true(mem_page_host(0xc8000, &ro) != NULL && ro);
    /* The VGA window is MMIO while SMRAM is closed: unclaimed reads 0. */
    g_assert_null(mem_page_host(0xb8000, &ro));
    g_assert_cmpuint(peek(0xb8000), ==, 0);
    /* ROM ignores writes, through either mapping. */
    poke(0xffff0, 0x99);
    poke(0xfffffff0, 0x99);
    g_assert_cmpuint(peek(0xffff0), ==, rom[BIOS_SIZE - 0x10]);
    g_assert_cmpuint(peek(0xfffffff0), ==, rom[BIOS_SIZE - 0x10]);
    /* RAM elsewhere is untouched by all this. */
    g_assert_true(mem_page_host(0x100000, &ro) == ram_hva(0x100000, 1) && !ro);
    teardown();
}

/* SeaBIOS's shadowing: PAM to RW (0x33/0x30), copy from the high mapping,
 * then RE (0x11/0x10): the copy is read back and further writes drop. */
static void test_shadow(void)
{
    uint8_t config[256] = { [I440FX_SMRAM] = 0x02 };
    uint8_t buf[0x100];

    setup();
    i440fx_pam_update(config);
    memset(config + I440FX_PAM0 + 1, 0x33, 6);
    config[I440FX_PAM0] = 0x30;
    hook_calls = 0;
    i440fx_pam_update(config);
    /* One commit for the whole change, covering the segments. */
    g_assert_cmpuint(hook_calls, ==, 1);
    g_assert_cmpuint(hook_lo, <=, 0xc0000);
    g_assert_cmpuint(hook_lo + hook_len, >=, 0x100000);
    /* RAM now: what was in RAM before, not the ROM. */
    g_assert_cmpuint(peek(0xf0000), ==, 0x11);
    mem_phys_rw(FOUR_GIB - 0x10000, buf, sizeof(buf), false);
    mem_phys_rw(0xf0000, buf, sizeof(buf), true);
    g_assert_cmpint(memcmp(ram_hva(0xf0000, sizeof(buf)), buf, sizeof(buf)), ==, 0);

    memset(config + I440FX_PAM0 + 1, 0x11, 6);
    config[I440FX_PAM0] = 0x10;
    i440fx_pam_update(config);
    poke(0xf0000, (uint8_t)~buf[0]);
    g_assert_cmpuint(peek(0xf0000), ==, buf[0]);
    g_assert_cmpuint(*(uint8_t *)ram_hva(0xf0000, 1), ==, buf[0]);
    /* The same value again changes nothing: no commit reaches the hook. */
    hook_calls = 0;
    i440fx_pam_update(config);
    g_assert_cmpuint(hook_calls, ==, 0);
    teardown();
}

/* Each nibble drives its own segment: PAM1's low nibble 0xc0000-0xc3fff,
 * its high one 0xc4000-0xc7fff; WE (10b) maps RAM both ways as QEMU. */
static void test_segments(void)
{
    uint8_t config[256] = { [I440FX_SMRAM] = 0x02 };
    bool ro;

    setup();
    config[I440FX_PAM0 + 1] = 0x21;     /* c0000 RE, c4000 WE */
    config[I440FX_PAM0 + 6] = 0x30;     /* e8000 PCI, ec000 RW */
    i440fx_pam_update(config);
    g_assert_cmpint(i440fx_pam_mode(config, 1), ==, PAM_RE);
    g_assert_cmpint(i440fx_pam_mode(config, 2), ==, PAM_WE);
    g_assert_cmpint(i440fx_pam_mode(config, 11), ==, PAM_PCI);
    g_assert_cmpint(i440fx_pam_mode(config, 12), ==, PAM_RW);
    g_assert_true(mem_page_host(0xc0000, &ro) == ram_hva(0xc0000, 1) && ro);
    g_assert_true(mem_page_host(0xc4000, &ro) == ram_hva(0xc4000, 1) && !ro);
    g_assert_true(mem_page_host(0xc8000, &ro) != ram_hva(0xc8000, 1) && ro);
    g_assert_true(mem_page_host(0xe8000, &ro) == rom + BIOS_SIZE - 0x20000 + 0x8000 && ro);
    g_assert_true(mem_page_host(0xec000, &ro) == ram_hva(0xec000, 1) && !ro);
    /* RAM between the windows and above the ROM is plain RAM. */
    g_assert_cmpint(ram_add_region(FOUR_GIB, 1 << 20, NULL), ==, 0);
    g_assert_true(mem_page_host(0x7ff000, &ro) == ram_hva(0x7ff000, 1) && !ro);
    g_assert_true(mem_page_host(FOUR_GIB + 0x1000, &ro) == ram_hva(FOUR_GIB + 0x1000, 1) && !ro);
    g_assert_null(mem_page_host(FOUR_GIB - BIOS_SIZE - 0x1000, &ro));
    teardown();
}

/* SMRAM's D_OPEN shows the RAM behind the VGA window. */
static void test_smram_open(void)
{
    uint8_t config[256] = { [I440FX_SMRAM] = 0x02 | I440FX_SMRAM_D_OPEN };
    bool ro;

    setup();
    i440fx_pam_update(config);
    g_assert_true(mem_page_host(0xa0000, &ro) == ram_hva(0xa0000, 1) && !ro);
    poke(0xa0000, 0x42);
    g_assert_cmpuint(*(uint8_t *)ram_hva(0xa0000, 1), ==, 0x42);
    config[I440FX_SMRAM] = 0x02;
    i440fx_pam_update(config);
    g_assert_null(mem_page_host(0xa0000, &ro));
    teardown();
}

/* The flat view KVM's slots follow: RAM cut around the windows, the ROM
 * and read-only segments flagged, MMIO ranges absent, in order. */
static void test_flat_view(void)
{
    uint8_t config[256] = { [I440FX_SMRAM] = 0x02 };
    struct mem_range v[32];
    unsigned n;
    uint64_t prev_end = 0;

    setup();
    config[I440FX_PAM0] = 0x30;         /* f0000 RW */
    i440fx_pam_update(config);
    n = mem_flat_view(v, G_N_ELEMENTS(v));
    g_assert_cmpuint(n, <=, G_N_ELEMENTS(v));
    /* [0, a0000) RAM, 12 PAM segments of 16 KiB, f0000 RW, [1M, 8M) RAM, the ROM. */
    g_assert_cmpuint(n, ==, 1 + 12 + 1 + 1 + 1);
    g_assert_cmphex(v[0].gpa, ==, 0);
    g_assert_cmphex(v[0].size, ==, 0xa0000);
    g_assert_false(v[0].readonly);
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmphex(v[i].gpa, >=, prev_end);
        prev_end = v[i].gpa + v[i].size;
        if (v[i].gpa == 0xf0000) {
            g_assert_true(v[i].hva == ram_hva(0xf0000, 1) && !v[i].readonly);
        } else if (v[i].gpa >= 0xc0000 && v[i].gpa < 0xf0000) {
            g_assert_true(v[i].readonly);
        }
    }
    g_assert_cmphex(v[n - 1].gpa, ==, FOUR_GIB - BIOS_SIZE);
    g_assert_true(v[n - 1].hva == rom && v[n - 1].readonly);
    g_assert_cmphex(v[n - 2].gpa, ==, 0x100000);
    g_assert_cmphex(v[n - 2].size, ==, (8 << 20) - 0x100000);
    teardown();
}

/* Through the host bridge: a firmware machine's i440FX resets its PAM bytes
 * to 0, a config write remaps, and a bus reset puts the ROM back. */
static void test_host_bridge(void)
{
    struct machine m = { .firmware = true };
    g_autoptr(GError) err = NULL;
    struct pci_device *host;

    setup();
    g_assert_cmpint(pci_host_create_pc(&m, &err), ==, 0);
    host = pci_find_device(0);
    g_assert_nonnull(host);
    pci_firmware_setup();
    g_assert_cmpuint(host->config[I440FX_PAM0], ==, 0);
    g_assert_cmpuint(host->config[I440FX_SMRAM], ==, 0x02);
    g_assert_cmpuint(peek(0xffff0), ==, rom[BIOS_SIZE - 0x10]);
    /* SeaBIOS writes the PAM bytes as two dwords at 0x58 and 0x5c. */
    pci_config_write(host, 0x58, 0x33333000, 4);
    pci_config_write(host, 0x5c, 0x33333333, 4);
    g_assert_cmpuint(peek(0xffff0), ==, 0x11);
    poke(0xffff0, 0x77);
    g_assert_cmpuint(peek(0xffff0), ==, 0x77);
    pci_bus_reset();
    g_assert_cmpuint(host->config[I440FX_PAM0], ==, 0);
    g_assert_cmpuint(peek(0xffff0), ==, rom[BIOS_SIZE - 0x10]);
    pci_bus_destroy();
    io_unregister_all();
    teardown();
}

static uint32_t pio_read32(uint16_t port)
{
    uint8_t b[4];

    io_pio(port, b, 4, false);
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

/*
 * The PIIX4 PM function at 00:01.3 as SeaBIOS finds it: 8086:7113 with
 * APMC_EN preset (smm=off), its block off until PMBA and PMREGMISC place
 * it (SeaBIOS's 0xb000 without a table loader), the PM timer then counting
 * there, and off again after a reset.  Without firmware it starts where
 * SeaBIOS leaves it, at 0x600 with the SCI on IRQ 9.
 */
static void test_piix4_pm(void)
{
    struct machine m = { .firmware = true };
    g_autoptr(GError) err = NULL;
    struct pci_device *pm;

    setup();
    g_assert_cmpint(pci_host_create_pc(&m, &err), ==, 0);
    g_assert_cmpint(acpi_pm_create(true, &err), ==, 0);
    pci_firmware_setup();
    pm = pci_find_device(PCI_DEVFN(1, 3));
    g_assert_nonnull(pm);
    g_assert_cmphex(pci_config_read(pm, PCI_VENDOR_ID, 4), ==, 0x71138086);
    g_assert_cmphex(pci_config_read(pm, 0x58, 4) & (1u << 25), !=, 0);
    g_assert_cmphex(pio_read32(0xb008), ==, 0xffffffff);
    pci_config_write(pm, 0x40, 0xb001, 4);
    pci_config_write(pm, 0x80, 0x01, 1);
    /* The 24-bit timer: its top byte reads 0 where the block is. */
    g_assert_cmphex(pio_read32(0xb008) >> 24, ==, 0);
    g_assert_cmphex(pio_read32(0x608), ==, 0xffffffff);
    pci_bus_reset();
    g_assert_cmphex(pio_read32(0xb008), ==, 0xffffffff);
    pci_bus_destroy();
    io_unregister_all();
    teardown();

    m.firmware = false;
    setup();
    g_assert_cmpint(pci_host_create_pc(&m, &err), ==, 0);
    g_assert_cmpint(acpi_pm_create(false, &err), ==, 0);
    pci_firmware_setup();
    pm = pci_find_device(PCI_DEVFN(1, 3));
    g_assert_cmpuint(pm->config[PCI_INTERRUPT_LINE], ==, 9);
    g_assert_cmphex(pio_read32(0x608) >> 24, ==, 0);
    pci_bus_destroy();
    io_unregister_all();
    teardown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pam/reset-state", test_reset_state);
    g_test_add_func("/pam/shadow", test_shadow);
    g_test_add_func("/pam/segments", test_segments);
    g_test_add_func("/pam/smram-open", test_smram_open);
    g_test_add_func("/pam/flat-view", test_flat_view);
    g_test_add_func("/pam/host-bridge", test_host_bridge);
    g_test_add_func("/pam/piix4-pm", test_piix4_pm);
    return g_test_run();
}
