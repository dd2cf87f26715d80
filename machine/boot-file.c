/*
 * -kernel and -initrd files: mapped, and mapped again into guest RAM where
 * the page offsets allow (boot-file.h says why and what it costs).
 *
 * Threads: main thread, while the machine is built or reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machine/boot-file.h"
#include "system/error.h"
#include "system/memory.h"

int boot_file_open(struct boot_file *f, const char *path, GError **errp)
{
    g_autoptr(GError) err = NULL;
    struct stat st;
    gsize len;
    char *buf;
    void *p;

    *f = (struct boot_file){ .fd = -1 };
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        int e = errno;

        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "%s", g_strerror(e));
        return -e;
    }
    /* An empty file has nothing to map (mmap refuses a length of 0). */
    if (fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= SIZE_MAX) {
        p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, f->fd, 0);
        if (p != MAP_FAILED) {
            f->data = p;
            f->len = st.st_size;
            f->mapped = true;
            return 0;
        }
    }
    close(f->fd);
    f->fd = -1;
    if (!g_file_get_contents(path, &buf, &len, &err)) {
        g_propagate_error(errp, g_steal_pointer(&err));
        return -EIO;
    }
    f->data = (const uint8_t *)buf;
    f->len = len;
    return 0;
}

void boot_file_close(struct boot_file *f)
{
    if (f->mapped) {
        munmap((void *)f->data, f->len);
    } else {
        g_free((void *)f->data);
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    *f = (struct boot_file){ .fd = -1 };
}

int boot_file_to_ram(const struct boot_file *f, size_t off, size_t len, uint64_t gpa)
{
    const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t head, body;
    int ret;

    if (off > f->len || len > f->len - off) {
        return -EINVAL;
    }
    if (!len) {
        return 0;
    }
    if (!ram_hva(gpa, len)) {
        return -EFAULT;
    }
    /* Only whole pages of the file inside the range are mapped: the bytes
     * before and after it in their pages keep what RAM held. */
    head = (page - (gpa & (page - 1))) & (page - 1);
    body = len > head ? (len - head) & ~(page - 1) : 0;
    if (f->mapped && ((gpa - off) & (page - 1)) == 0 && body) {
        ret = ram_map_file(gpa + head, body, f->fd, off + head);
        if (ret == 0) {
            uint64_t tail = len - head - body;

            /* Checked above: both are inside RAM (a zero-length one may sit
             * at RAM's end, where ram_write() would refuse it). */
            if (head) {
                ram_write(gpa, f->data + off, head);
            }
            if (tail) {
                ram_write(gpa + head + body, f->data + off + head + body, tail);
            }
            return 0;
        }
        /* Not mappable after all (ram_map_file left RAM anonymous): copy. */
    }
    return ram_write(gpa, f->data + off, len);
}
