/*
 * PAM and SMRAM decoding of the i440FX (Intel 440FX PMC datasheet, 3.2.17
 * "PAM - Programmable Attribute Map Registers" and 3.2.23 "SMRAM").
 *
 * Each of the 13 segments of 0xc0000-0xfffff is one window of
 * system/memory-map.c, backed as QEMU's hw/pci-host/pam.c backs it:
 *   PCI (00b)  the PCI side: the BIOS ROM's low alias ("isa-bios") at
 *              0xe0000-0xfffff, the empty option ROM area ("pc.rom") at
 *              0xc0000-0xdffff, both read-only;
 *   RE  (01b)  RAM, read-only: writes are dropped;
 *   WE  (10b)  RAM both ways (QEMU does not split reads from writes);
 *   RW  (11b)  RAM.
 * After reset every segment is PCI, so the CPU's first fetches below 1 MiB
 * see the ROM; SeaBIOS turns the segments to RW, copies itself from the
 * ROM's high mapping into the RAM beneath, and makes them RE at the end.
 *
 * 0xa0000-0xbffff is the VGA window (the MMIO dispatch) unless the SMRAM
 * register's D_OPEN bit opens the RAM behind it.  G_SMRAME only changes
 * what a CPU in SMM sees; hyvm has no SMM (-machine smm=off).
 *
 * Threads: see hw/i440fx-pam.h.
 */
#include <errno.h>
#include <sys/mman.h>

#include "hw/i440fx-pam.h"
#include "system/error.h"
#include "system/memory.h"

#define PAM_BIOS_BASE 0xf0000ull
#define PAM_BIOS_SIZE 0x10000ull
#define PAM_EXPAN_BASE 0xc0000ull
#define PAM_EXPAN_SIZE 0x4000ull
#define PC_ROM_BASE 0xc0000ull
#define PC_ROM_SIZE 0x20000ull
#define SMRAM_BASE 0xa0000ull
#define SMRAM_SIZE 0x20000ull
#define ONE_MIB 0x100000ull

static struct {
    bool created;
    int seg_win[PAM_SEGMENTS];
    int smram_win;
    const uint8_t *isa_bios;
    uint64_t isa_bios_size;
    uint8_t *pc_rom;            /* 128 KiB of zeros, read-only */
} pam;

static uint64_t seg_base(unsigned i)
{
    return i == 0 ? PAM_BIOS_BASE : PAM_EXPAN_BASE + (i - 1) * PAM_EXPAN_SIZE;
}

static uint64_t seg_size(unsigned i)
{
    return i == 0 ? PAM_BIOS_SIZE : PAM_EXPAN_SIZE;
}

/* Segment 0 is PAM0's high nibble; then PAM1 low, PAM1 high, PAM2 low, ... */
enum pam_mode i440fx_pam_mode(const uint8_t *config, unsigned i)
{
    uint8_t reg = config[I440FX_PAM0 + (i + 1) / 2];

    return (enum pam_mode)((i & 1 ? reg : reg >> 4) & 3);
}

/* What the PCI side shows at [gpa, gpa + size): ROM bytes or nothing. */
static void *pci_side(uint64_t gpa)
{
    if (pam.isa_bios && gpa >= ONE_MIB - pam.isa_bios_size) {
        return (uint8_t *)pam.isa_bios + (gpa - (ONE_MIB - pam.isa_bios_size));
    }
    if (gpa >= PC_ROM_BASE && gpa < PC_ROM_BASE + PC_ROM_SIZE) {
        return pam.pc_rom + (gpa - PC_ROM_BASE);
    }
    return NULL;
}

void i440fx_pam_update(const uint8_t *config)
{
    if (!pam.created) {
        return;
    }
    for (unsigned i = 0; i < PAM_SEGMENTS; i++) {
        uint64_t gpa = seg_base(i), size = seg_size(i);
        void *ram = ram_hva(gpa, size);

        switch (i440fx_pam_mode(config, i)) {
        case PAM_PCI:
            mem_window_set(pam.seg_win[i], pci_side(gpa), true);
            break;
        case PAM_RE:
            mem_window_set(pam.seg_win[i], ram, true);
            break;
        case PAM_WE:
        case PAM_RW:
            mem_window_set(pam.seg_win[i], ram, false);
            break;
        }
    }
    mem_window_set(pam.smram_win,
                   (config[I440FX_SMRAM] & I440FX_SMRAM_D_OPEN) ? ram_hva(SMRAM_BASE, SMRAM_SIZE)
                                                                : NULL,
                   false);
    mem_window_commit();
}

int i440fx_pam_create(const uint8_t *isa_bios, uint64_t isa_bios_size, GError **errp)
{
    int id;

    if (isa_bios && (!isa_bios_size || isa_bios_size > ONE_MIB - PAM_EXPAN_BASE ||
                     isa_bios_size % PAM_BIOS_SIZE)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "bad ISA BIOS size 0x%"
                    G_GINT64_MODIFIER "x", isa_bios_size);
        return -EINVAL;
    }
    pam.pc_rom = mmap(NULL, PC_ROM_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pam.pc_rom == MAP_FAILED) {
        pam.pc_rom = NULL;
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "cannot map pc.rom: %s",
                    g_strerror(errno));
        return -ENOMEM;
    }
    pam.isa_bios = isa_bios;
    pam.isa_bios_size = isa_bios ? isa_bios_size : 0;
    id = mem_window_add(SMRAM_BASE, SMRAM_SIZE, NULL, false, errp);
    if (id < 0) {
        return -EBUSY;
    }
    pam.smram_win = id;
    for (unsigned i = 0; i < PAM_SEGMENTS; i++) {
        id = mem_window_add(seg_base(i), seg_size(i), pci_side(seg_base(i)), true, errp);
        if (id < 0) {
            return -EBUSY;
        }
        pam.seg_win[i] = id;
    }
    pam.created = true;
    return 0;
}

void i440fx_pam_destroy(void)
{
    if (pam.pc_rom) {
        munmap(pam.pc_rom, PC_ROM_SIZE);
    }
    pam = (__typeof__(pam)){ 0 };
}
