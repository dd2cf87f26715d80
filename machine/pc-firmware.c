/*
 * The firmware of -M pc when no -kernel is given, as QEMU boots it: the
 * BIOS image (bios-256k.bin, SeaBIOS, unless -bios names another) is a
 * read-only ROM at the top of 4 GiB, and its last 128 KiB also appear
 * below 1 MiB at 0xe0000-0xfffff ("isa-bios") wherever the i440FX's PAM
 * registers decode to the PCI side (hw/i440fx-pam.c).  The BSP starts at
 * the reset vector, F000:FFF0 with CS base FFFF0000h (SDM vol. 3, 9.1.4),
 * which reads the ROM's last 16 bytes; the APs wait for INIT and SIPI.
 *
 * The file is found as QEMU's qemu_find_file finds a BIOS: the name as a
 * path first, then in each -L directory in order, then in QEMU's default
 * data directories as Debian installs them (`-L help` lists them).
 *
 * Threads: main thread, while the machine is built.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/i440fx-pam.h"
#include "machine/machine-internal.h"
#include "system/config.h"
#include "system/datadir.h"
#include "system/error.h"
#include "system/memory.h"

#define PC_BIOS_DEFAULT "bios-256k.bin"
#define FOUR_GIB (1ull << 32)
/* QEMU's rule: a whole number of 64 KiB blocks (x86_bios_rom_init). */
#define BIOS_BLOCK 0x10000ull
/* Larger images would reach down into the IOAPIC, HPET and LAPIC range. */
#define BIOS_MAX (16ull << 20)
#define ISA_BIOS_MAX 0x20000ull

/* Reads the image into a read-only host mapping of its size. */
static uint8_t *bios_read(const char *path, uint64_t *size, GError **errp)
{
    struct stat st;
    uint8_t *rom;
    size_t done = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s", g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size % BIOS_BLOCK ||
        (uint64_t)st.st_size > BIOS_MAX) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "its size must be a multiple of 64 KiB up to 16 MiB");
        close(fd);
        return NULL;
    }
    *size = st.st_size;
    rom = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rom == MAP_FAILED) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s", g_strerror(errno));
        close(fd);
        return NULL;
    }
    while (done < *size) {
        ssize_t n = read(fd, rom + done, *size - done);

        if (n <= 0) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s",
                        n < 0 ? g_strerror(errno) : "the file shrank while it was read");
            munmap(rom, *size);
            close(fd);
            return NULL;
        }
        done += n;
    }
    close(fd);
    /* Nothing writes a ROM: a stray host write faults instead of changing it. */
    mprotect(rom, *size, PROT_READ);
    return rom;
}

/* -kernel with -bios: hyvm enters the kernel itself and runs no firmware,
 * but a -bios QEMU could not load is still the error it is there. */
int pc_firmware_check(const struct machine *m, GError **errp)
{
    g_autofree char *path = m->cfg->bios ? datadir_find(m->cfg->datadirs, m->cfg->bios) : NULL;

    if (m->cfg->bios && !path) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "could not load PC BIOS '%s'",
                    m->cfg->bios);
        return -ENOENT;
    }
    return 0;
}

int pc_firmware_load(struct machine *m, GError **errp)
{
    const char *name = m->cfg->bios ? m->cfg->bios : PC_BIOS_DEFAULT;
    g_autofree char *path = datadir_find(m->cfg->datadirs, name);
    g_autoptr(GError) err = NULL;
    uint64_t size = 0, isa_size;
    uint8_t *rom;

    if (!path) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "could not load PC BIOS '%s': not found%s%s", name,
                    strchr(name, '/') ? "" : " in the -L directories or QEMU's data "
                                             "directories (-L help lists them)",
                    m->cfg->bios ? "" : "; Debian's package seabios provides it "
                                        "(apt-get install seabios)");
        return -ENOENT;
    }
    rom = bios_read(path, &size, &err);
    if (!rom) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "could not load PC BIOS '%s': %s",
                    name, err->message);
        return -EINVAL;
    }
    if (mem_window_add(FOUR_GIB - size, size, rom, true, errp) < 0) {
        munmap(rom, size);
        return -EBUSY;
    }
    isa_size = MIN(size, ISA_BIOS_MAX);
    return i440fx_pam_create(rom + size - isa_size, isa_size, errp);
}
