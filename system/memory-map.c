/*
 * Windows over guest RAM (system/memory.h): the BIOS ROM and the chipset's
 * legacy ranges, what a page is for the software CPU's TLB, and the flat
 * view KVM's memory slots are made from.
 *
 * Threads: windows are added on the main thread before any vCPU runs and
 * never move afterwards.  Their backing word changes with the big lock
 * held; the software CPU reads it without the lock on a TLB fill, so
 * address and read-only bit live in one word written and read atomically:
 * a fill sees the old backing or the new one, never the one's address
 * with the other's rights.
 */
#include <errno.h>
#include <string.h>

#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"

#define PAGE_MASK 0xfffull

struct mem_window {
    uint64_t gpa, size;
    /* The backing host address ORed with 1 when writes are dropped; 0 or
     * 1 alone: MMIO.  Host addresses are page-aligned, so bit 0 is free. */
    uintptr_t backing;
    bool dirty;         /* changed since the last commit */
};

/* Sorted by gpa, never overlapping. */
static struct mem_window windows[MEM_MAX_WINDOWS];
static unsigned nr_windows;
/* Ids are the order windows were added in; id_slot maps one to its place. */
static unsigned id_slot[MEM_MAX_WINDOWS];
/* The widest stretch between two windows (on a PC, 1 MiB up to the BIOS
 * ROM): a TLB fill there goes straight to RAM. */
static uint64_t gap_lo, gap_hi;
static void (*map_hook)(uint64_t gpa, uint64_t len);

static uintptr_t backing_word(void *hva, bool readonly)
{
    return hva ? (uintptr_t)hva | (readonly ? 1u : 0u) : 0;
}

int mem_window_add(uint64_t gpa, uint64_t size, void *hva, bool readonly, GError **errp)
{
    unsigned pos = 0;

    if (nr_windows == MEM_MAX_WINDOWS) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "too many memory windows");
        return -ENOSPC;
    }
    if (!size || ((gpa | size) & PAGE_MASK) || ((uintptr_t)hva & PAGE_MASK) ||
        gpa + size < gpa) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "bad memory window at 0x%" G_GINT64_MODIFIER "x", gpa);
        return -EINVAL;
    }
    for (unsigned i = 0; i < nr_windows; i++) {
        const struct mem_window *w = &windows[i];

        if (gpa < w->gpa + w->size && w->gpa < gpa + size) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "memory window at 0x%" G_GINT64_MODIFIER "x overlaps another", gpa);
            return -EBUSY;
        }
        if (w->gpa < gpa) {
            pos = i + 1;
        }
    }
    memmove(&windows[pos + 1], &windows[pos], (nr_windows - pos) * sizeof(windows[0]));
    /* Dirty: the accelerator learns of it at the next commit. */
    windows[pos] = (struct mem_window){ gpa, size, backing_word(hva, readonly), true };
    for (unsigned id = 0; id < nr_windows; id++) {
        if (id_slot[id] >= pos) {
            id_slot[id]++;
        }
    }
    id_slot[nr_windows] = pos;
    nr_windows++;
    gap_lo = gap_hi = 0;
    for (unsigned i = 0; i + 1 < nr_windows; i++) {
        uint64_t end = windows[i].gpa + windows[i].size;

        if (windows[i + 1].gpa - end > gap_hi - gap_lo) {
            gap_lo = end;
            gap_hi = windows[i + 1].gpa;
        }
    }
    return nr_windows - 1;
}

void mem_window_set(int id, void *hva, bool readonly)
{
    struct mem_window *w;
    uintptr_t word = backing_word(hva, readonly);

    if (id < 0 || (unsigned)id >= nr_windows || ((uintptr_t)hva & PAGE_MASK)) {
        return;
    }
    w = &windows[id_slot[id]];
    if (__atomic_load_n(&w->backing, __ATOMIC_RELAXED) == word) {
        return;
    }
    __atomic_store_n(&w->backing, word, __ATOMIC_RELEASE);
    w->dirty = true;
}

/* One call of the hook per run of adjacent changed windows: the PAM
 * segments and the SMRAM window below them are one range, the ROM at 4 GiB
 * another, and nothing between them is walked. */
void mem_window_commit(void)
{
    for (unsigned i = 0; i < nr_windows;) {
        uint64_t lo, hi;

        if (!windows[i].dirty) {
            i++;
            continue;
        }
        lo = windows[i].gpa;
        hi = lo + windows[i].size;
        windows[i++].dirty = false;
        while (i < nr_windows && windows[i].dirty && windows[i].gpa == hi) {
            hi += windows[i].size;
            windows[i++].dirty = false;
        }
        if (map_hook) {
            map_hook(lo, hi - lo);
        }
    }
}

void mem_window_remove_all(void)
{
    nr_windows = 0;
    gap_lo = gap_hi = 0;
}

void mem_set_map_hook(void (*hook)(uint64_t gpa, uint64_t len))
{
    map_hook = hook;
}

static const struct mem_window *window_find(uint64_t gpa)
{
    unsigned lo = 0, hi = nr_windows;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const struct mem_window *w = &windows[mid];

        if (gpa < w->gpa) {
            hi = mid;
        } else if (gpa - w->gpa >= w->size) {
            lo = mid + 1;
        } else {
            return w;
        }
    }
    return NULL;
}

uint8_t *mem_page_host(uint64_t gpa_page, bool *readonly)
{
    const struct mem_window *w = NULL;
    uintptr_t word;

    if (nr_windows && (gpa_page < gap_lo || gpa_page >= gap_hi)) {
        w = window_find(gpa_page);
    }
    *readonly = false;
    if (!w) {
        return ram_hva(gpa_page & ~PAGE_MASK, PAGE_MASK + 1);
    }
    word = __atomic_load_n(&w->backing, __ATOMIC_ACQUIRE);
    if (word & ~(uintptr_t)1) {
        *readonly = word & 1;
        return (uint8_t *)(word & ~(uintptr_t)1) + ((gpa_page & ~PAGE_MASK) - w->gpa);
    }
    return NULL;
}

static void flat_add(struct mem_range *out, unsigned max, unsigned *n, uint64_t gpa,
                     uint64_t size, void *hva, bool readonly)
{
    if (size && *n < max) {
        out[*n] = (struct mem_range){ gpa, size, hva, readonly };
    }
    if (size) {
        (*n)++;
    }
}

unsigned mem_flat_view(struct mem_range *out, unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < ram_region_count(); i++) {
        const struct ram_region *r = ram_region_get(i);
        uint64_t cur = r->gpa, end = r->gpa + r->size;

        for (unsigned k = 0; k < nr_windows && cur < end; k++) {
            const struct mem_window *w = &windows[k];

            if (w->gpa + w->size <= cur || w->gpa >= end) {
                continue;
            }
            if (w->gpa > cur) {
                flat_add(out, max, &n, cur, w->gpa - cur, (uint8_t *)r->hva + (cur - r->gpa),
                         false);
            }
            cur = w->gpa + w->size;
        }
        if (cur < end) {
            flat_add(out, max, &n, cur, end - cur, (uint8_t *)r->hva + (cur - r->gpa), false);
        }
    }
    for (unsigned k = 0; k < nr_windows; k++) {
        uintptr_t word = __atomic_load_n(&windows[k].backing, __ATOMIC_ACQUIRE);

        if (word & ~(uintptr_t)1) {
            flat_add(out, max, &n, windows[k].gpa, windows[k].size,
                     (void *)(word & ~(uintptr_t)1), word & 1);
        }
    }
    /* Address order: insertion sort of a few dozen entries. */
    for (unsigned i = 1; i < MIN(n, max); i++) {
        struct mem_range t = out[i];
        unsigned j = i;

        for (; j > 0 && out[j - 1].gpa > t.gpa; j--) {
            out[j] = out[j - 1];
        }
        out[j] = t;
    }
    return n;
}

void mem_phys_rw(uint64_t gpa, void *buf, size_t len, bool is_write)
{
    uint8_t *p = buf;

    while (len) {
        size_t chunk = MIN(len, (PAGE_MASK + 1) - (gpa & PAGE_MASK));
        bool ro;
        uint8_t *h = mem_page_host(gpa & ~PAGE_MASK, &ro);

        if (h) {
            h += gpa & PAGE_MASK;
            if (!is_write) {
                memcpy(p, h, chunk);
            } else if (!ro) {
                memcpy(h, p, chunk);
                ram_dma_written(h, chunk);
            } else {
                log_mask(LOG_GUEST_ERROR, "write to ROM at 0x%" G_GINT64_MODIFIER
                         "x dropped\n", gpa);
            }
        } else {
            for (size_t off = 0; off < chunk;) {
                unsigned n = chunk - off >= 8 ? 8 : chunk - off >= 4 ? 4 : chunk - off >= 2 ? 2 : 1;

                io_mmio(gpa + off, p + off, n, is_write);
                off += n;
            }
        }
        gpa += chunk;
        p += chunk;
        len -= chunk;
    }
}
