/*
 * The files -kernel and -initrd name, as the boot loaders (linux-boot.c,
 * pvh.c, multiboot.c) read them: mapped read-only rather than read into a
 * heap buffer, and put into guest RAM by mapping their pages copy-on-write
 * where the file offset and the guest address share their offset in a page
 * (an initrd, a Multiboot module), copied from the mapping where they do not
 * (a bzImage's protected-mode part starts (setup_sects + 1) * 512 bytes in).
 * Parallel VMs booting the same files then share the host's page cache for
 * them, and nothing is read before the guest touches it.
 *
 * A mapped file must not be truncated or rewritten in place while a VM that
 * loaded it runs: the guest could see the new bytes in pages it has not
 * written, and pages past a shortened end fault (SIGBUS).  Replacing the file
 * (write a new one, rename it over the old, as make, dpkg and
 * cp --remove-destination do) is safe.  A file mmap cannot map (a pipe, a
 * character device, a file system without mmap) is read instead.
 *
 * Threads: main thread, while the machine is built or reset.
 */
#ifndef HYVM_BOOT_FILE_H
#define HYVM_BOOT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

struct boot_file {
    const uint8_t *data;    /* the whole file */
    size_t len;
    int fd;                 /* open while mapped, for boot_file_to_ram() */
    bool mapped;            /* data is an mmap of fd, else a heap copy */
};

/*
 * Opens path and maps it (or reads it).  On failure -errno and errp gives
 * the reason; the caller adds the file and what it was for.
 */
int boot_file_open(struct boot_file *f, const char *path, GError **errp);
void boot_file_close(struct boot_file *f);

/*
 * Puts bytes [off, off + len) of the file at guest-physical gpa, exactly
 * those bytes and no others.  The whole pages of the range are mapped when
 * gpa and off are congruent modulo the page size, the rest copied.  -EFAULT
 * when any byte is outside RAM, -EINVAL when the range is not in the file;
 * RAM is then unchanged.
 */
int boot_file_to_ram(const struct boot_file *f, size_t off, size_t len, uint64_t gpa);

#endif
