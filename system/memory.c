/*
 * Guest RAM and the port/MMIO registry behind io_pio() and io_mmio().
 *
 * Threads: the main thread registers regions while building the machine;
 * afterwards PCI BAR writes add and remove regions, and io_pio()/io_mmio()
 * read the tables, all with the big lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"

static struct ram_region ram[RAM_MAX_REGIONS];
static unsigned nr_ram;

struct io_region {
    uint64_t base, len;
    const char *name;
    const struct io_ops *ops;
    void *opaque;
};

/* Sorted by base, never overlapping: lookups are a binary search. */
struct io_space {
    const char *kind;          /* "I/O port", "MMIO" */
    struct io_region *r;
    unsigned n, cap;
};

static struct io_space pio_space = { .kind = "I/O port" };
static struct io_space mmio_space = { .kind = "MMIO" };

/* ---- RAM ---- */

int ram_add_region(uint64_t gpa, uint64_t size, GError **errp)
{
    void *hva;

    if (nr_ram == RAM_MAX_REGIONS) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "too many RAM regions");
        return -ENOSPC;
    }
    if (!size || gpa + size < gpa) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "bad RAM region");
        return -EINVAL;
    }
    for (unsigned i = 0; i < nr_ram; i++) {
        if (gpa < ram[i].gpa + ram[i].size && ram[i].gpa < gpa + size) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "RAM region at 0x%" G_GINT64_MODIFIER "x overlaps another", gpa);
            return -EBUSY;
        }
    }
    /* Lazily backed: untouched guest RAM costs no host memory.  Private and
     * anonymous is also what lets ram_map_file() put a file's pages over
     * part of it; a shared backend (-mem-path, memory-backend-file or -memfd
     * with share=on, not built yet) must make ram_map_file() refuse its
     * regions, or the guest would no longer write into the shared memory. */
    hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (hva == MAP_FAILED) {
        int err = errno;
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "cannot set up guest memory: %s", g_strerror(err));
        return -err;
    }
    madvise(hva, size, MADV_MERGEABLE);
    ram[nr_ram++] = (struct ram_region){ .gpa = gpa, .size = size, .hva = hva };
    return 0;
}

unsigned ram_region_count(void)
{
    return nr_ram;
}

const struct ram_region *ram_region_get(unsigned i)
{
    return i < nr_ram ? &ram[i] : NULL;
}

void *ram_hva(uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < nr_ram; i++) {
        const struct ram_region *r = &ram[i];

        /* Written so that no sum can overflow with a hostile gpa/len. */
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa)) {
            return (uint8_t *)r->hva + (gpa - r->gpa);
        }
    }
    return NULL;
}

static void (*write_hook)(uint64_t gpa, uint64_t len);

void ram_set_write_hook(void (*hook)(uint64_t gpa, uint64_t len))
{
    write_hook = hook;
}

void ram_dma_written(const void *hva, size_t len)
{
    if (!write_hook || !len) {
        return;
    }
    for (unsigned i = 0; i < nr_ram; i++) {
        const struct ram_region *r = &ram[i];
        uintptr_t off = (uintptr_t)hva - (uintptr_t)r->hva;

        if ((uintptr_t)hva >= (uintptr_t)r->hva && off < r->size) {
            write_hook(r->gpa + off, MIN(len, r->size - off));
            return;
        }
    }
}

int ram_map_file(uint64_t gpa, uint64_t len, int fd, uint64_t offset)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    void *p = ram_hva(gpa, len);

    if (!p) {
        return -EFAULT;
    }
    if (!len || (gpa | len | offset) & (page - 1) || offset > (uint64_t)INT64_MAX - len) {
        return -EINVAL;
    }
    /*
     * MAP_FIXED replaces the anonymous pages in place, at the same host
     * address: KVM's memory slot and the software CPU's TLB keep pointing
     * at it, and both follow whatever the address maps when they next
     * fault.  MAP_PRIVATE makes it copy-on-write: reads share the host's
     * page cache (every VM booting the same file shares it), a guest write
     * copies the page and never reaches the file.  The old pages of a
     * reset are dropped the same way.
     */
    if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE,
             fd, (off_t)offset) == MAP_FAILED) {
        int err = errno;

        /* A failed MAP_FIXED may leave the range unmapped (mmap(2)): make
         * it anonymous RAM again so the caller can copy instead. */
        if (mmap(p, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED) {
            error_report("guest RAM at 0x%" G_GINT64_MODIFIER "x lost its mapping: %s",
                         gpa, g_strerror(errno));
            abort();
        }
        madvise(p, len, MADV_MERGEABLE);
        return -err;
    }
    /* Pages the guest copies on write may be merged again like the rest. */
    madvise(p, len, MADV_MERGEABLE);
    if (write_hook) {
        write_hook(gpa, len);
    }
    return 0;
}

int ram_write(uint64_t gpa, const void *buf, size_t len)
{
    void *p = ram_hva(gpa, len);

    if (!p) {
        return -EFAULT;
    }
    memcpy(p, buf, len);
    if (write_hook) {
        write_hook(gpa, len);
    }
    return 0;
}

int ram_read(uint64_t gpa, void *buf, size_t len)
{
    const void *p = ram_hva(gpa, len);

    if (!p) {
        return -EFAULT;
    }
    memcpy(buf, p, len);
    return 0;
}

void ram_free_all(void)
{
    for (unsigned i = 0; i < nr_ram; i++) {
        munmap(ram[i].hva, ram[i].size);
    }
    nr_ram = 0;
}

/* ---- I/O registry ---- */

static int io_space_add(struct io_space *s, uint64_t base, uint64_t len,
                        const char *name, const struct io_ops *ops, void *opaque,
                        GError **errp)
{
    unsigned pos = 0;

    if (!len || base + len - 1 < base) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "%s: bad %s range at 0x%" G_GINT64_MODIFIER "x", name, s->kind, base);
        return -EINVAL;
    }
    while (pos < s->n && s->r[pos].base < base) {
        pos++;
    }
    for (unsigned i = pos ? pos - 1 : 0; i < s->n && i <= pos; i++) {
        const struct io_region *o = &s->r[i];

        if (base <= o->base + o->len - 1 && o->base <= base + len - 1) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "%s: %s range 0x%" G_GINT64_MODIFIER "x-0x%" G_GINT64_MODIFIER
                        "x overlaps %s", name, s->kind, base, base + len - 1, o->name);
            return -EBUSY;
        }
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->r = g_renew(struct io_region, s->r, s->cap);
    }
    memmove(&s->r[pos + 1], &s->r[pos], (s->n - pos) * sizeof(*s->r));
    s->r[pos] = (struct io_region){ base, len, name, ops, opaque };
    s->n++;
    return 0;
}

static const struct io_region *io_space_find(const struct io_space *s, uint64_t addr)
{
    unsigned lo = 0, hi = s->n;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const struct io_region *r = &s->r[mid];

        if (addr < r->base) {
            hi = mid;
        } else if (addr - r->base >= r->len) {
            lo = mid + 1;
        } else {
            return r;
        }
    }
    return NULL;
}

int io_register_pio(uint16_t base, uint16_t len, const char *name,
                    const struct io_ops *ops, void *opaque, GError **errp)
{
    if ((uint32_t)base + len > 0x10000) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "%s: I/O ports 0x%x+%u run past 0xffff", name, base, len);
        return -EINVAL;
    }
    return io_space_add(&pio_space, base, len, name, ops, opaque, errp);
}

int io_register_mmio(uint64_t base, uint64_t len, const char *name,
                     const struct io_ops *ops, void *opaque, GError **errp)
{
    return io_space_add(&mmio_space, base, len, name, ops, opaque, errp);
}

static int io_space_remove(struct io_space *s, uint64_t base, uint64_t len)
{
    for (unsigned i = 0; i < s->n; i++) {
        if (s->r[i].base == base && s->r[i].len == len) {
            memmove(&s->r[i], &s->r[i + 1], (s->n - i - 1) * sizeof(*s->r));
            s->n--;
            return 0;
        }
    }
    return -ENOENT;
}

int io_unregister_pio(uint16_t base, uint16_t len)
{
    return io_space_remove(&pio_space, base, len);
}

int io_unregister_mmio(uint64_t base, uint64_t len)
{
    return io_space_remove(&mmio_space, base, len);
}

void io_unregister_all(void)
{
    g_free(pio_space.r);
    g_free(mmio_space.r);
    pio_space.r = mmio_space.r = NULL;
    pio_space.n = pio_space.cap = mmio_space.n = mmio_space.cap = 0;
}

static uint64_t load_le(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void store_le(uint8_t *p, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        p[i] = v >> (8 * i);
    }
}

static bool io_size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

static bool io_any_claimed(const struct io_space *s, uint64_t addr, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (io_space_find(s, addr + i)) {
            return true;
        }
    }
    return false;
}

/* One access that lies inside region r, or byte-wise when it does not. */
static void io_access(const struct io_space *s, uint64_t addr, uint8_t *data,
                      unsigned size, bool is_write, uint64_t unclaimed)
{
    const struct io_region *r = io_space_find(s, addr);

    if (r && io_size_ok(size) && size <= r->len && addr - r->base <= r->len - size) {
        if (is_write) {
            if (r->ops->write) {
                r->ops->write(r->opaque, addr - r->base, load_le(data, size), size);
            }
        } else {
            store_le(data, r->ops->read ? r->ops->read(r->opaque, addr - r->base, size) : 0,
                     size);
        }
        return;
    }
    if (r || io_any_claimed(s, addr + 1, size - 1)) {
        /* Straddles a region's edge or has an odd size: split it per byte. */
        for (unsigned i = 0; i < size; i++) {
            io_access(s, addr + i, data + i, 1, is_write, unclaimed);
        }
        return;
    }
    log_mask(LOG_UNIMP, "unassigned %s %s at 0x%" G_GINT64_MODIFIER "x, size %u\n",
             s->kind, is_write ? "write" : "read", addr, size);
    if (!is_write) {
        memset(data, (int)(unclaimed & 0xff), size);
    }
}

void io_pio(uint16_t port, void *data, unsigned size, bool is_write)
{
    io_access(&pio_space, port, data, size, is_write, 0xff);
}

void io_mmio(uint64_t addr, void *data, unsigned len, bool is_write)
{
    io_access(&mmio_space, addr, data, len, is_write, 0);
}
