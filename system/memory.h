/*
 * Guest RAM and the one I/O dispatch.
 *
 * RAM is a few host mappings at guest-physical addresses (below and above the
 * 4 GiB hole).  Every port and MMIO access that leaves the guest, from KVM's
 * exits or from the software CPU, goes through io_pio() / io_mmio() over one
 * registry of handlers (DESIGN.md, "One I/O path").
 *
 * Threads: regions are registered at machine creation on the main thread,
 * before any vCPU runs; afterwards only PCI BAR programming adds or removes
 * them, with the big lock held, as every dispatch also holds it.  Handlers
 * run with the big lock held (system/main-loop.h).
 */
#ifndef HYVM_MEMORY_H
#define HYVM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* ---- guest RAM ---- */

struct ram_region {
    uint64_t gpa;
    uint64_t size;
    void *hva;
};

#define RAM_MAX_REGIONS 4

/* Maps anonymous, lazily backed host memory at [gpa, gpa+size). */
int ram_add_region(uint64_t gpa, uint64_t size, GError **errp);
unsigned ram_region_count(void);
const struct ram_region *ram_region_get(unsigned i);
/* Host address of [gpa, gpa+len) when it lies inside one RAM region, else NULL. */
void *ram_hva(uint64_t gpa, uint64_t len);
/*
 * Device writes into guest RAM (DMA): the accelerator may have decoded code
 * there (the software CPU), so writers other than the vCPUs say what they
 * wrote.  ram_write() does it itself; a device that wrote through ram_hva()
 * calls ram_dma_written() with the host range.  Any thread.
 */
void ram_set_write_hook(void (*hook)(uint64_t gpa, uint64_t len));
void ram_dma_written(const void *hva, size_t len);
/*
 * Maps len bytes of the file fd from offset at gpa, copy-on-write, in place
 * of the RAM there (the boot loaders' -kernel/-initrd: shared with the host
 * page cache, not copied).  gpa, len and offset must be page-aligned
 * (-EINVAL) and the range inside one RAM region (-EFAULT).  The pages past
 * the file's end must not be touched: the caller maps whole pages of the
 * file only.  On an mmap failure (-errno) the range is anonymous RAM again,
 * zeroed, and the caller copies instead.  Main thread, no vCPU running.
 */
int ram_map_file(uint64_t gpa, uint64_t len, int fd, uint64_t offset);
/* Copies to/from guest RAM; -EFAULT when any byte is outside RAM. */
int ram_write(uint64_t gpa, const void *buf, size_t len);
int ram_read(uint64_t gpa, void *buf, size_t len);
/* Unmaps everything (tests, exit). */
void ram_free_all(void);

/* ---- windows: ROM and what the chipset maps over RAM ---- */

/*
 * A window is a page-aligned range of guest-physical space that takes
 * precedence over RAM: the BIOS ROM at the top of 4 GiB, and the PC
 * chipset's legacy ranges below 1 MiB whose decoding the i440FX's PAM and
 * SMRAM registers choose (hw/i440fx-pam.c).  A window is backed by host
 * bytes (a ROM image, or RAM itself) that reads see and, unless it is
 * read-only, writes change; or by nothing, when its accesses go to the
 * MMIO dispatch.  A write to a read-only window is dropped, as a ROM
 * ignores it.
 *
 * Windows are made while the machine is built and never move; only their
 * backing changes (mem_window_set), atomically for the software CPU's TLB
 * fills that read it without the big lock.  Changes are gathered until
 * mem_window_commit(), which tells the accelerator (the hook below) once
 * per run of adjacent changed windows.
 *
 * Threads: add on the main thread before the vCPUs run; set and commit
 * with the big lock held (a vCPU's config write, or a reset with the vCPUs
 * parked); mem_page_host from any thread.
 */
#define MEM_MAX_WINDOWS 24

/* Adds a window over [gpa, gpa + size), both page-aligned, backed by hva
 * (page-aligned; NULL: MMIO).  Returns its id, or -errno. */
int mem_window_add(uint64_t gpa, uint64_t size, void *hva, bool readonly, GError **errp);
/* Backs window id by hva (NULL: MMIO), read-only or not. */
void mem_window_set(int id, void *hva, bool readonly);
/* Hands the changes since the last commit to the accelerator's hook. */
void mem_window_commit(void);
/* Removes every window (tests, exit). */
void mem_window_remove_all(void);
/* The accelerator's hook: [gpa, gpa + len) now maps differently. */
void mem_set_map_hook(void (*hook)(uint64_t gpa, uint64_t len));

/*
 * What a guest-physical page is, for a software TLB: the host address its
 * reads come from, or NULL when it is MMIO; *readonly says whether writes
 * are dropped rather than stored there.
 */
uint8_t *mem_page_host(uint64_t gpa_page, bool *readonly);

/*
 * The map as a hypervisor's memory slots want it: every range backed by
 * host bytes, RAM with the windows cut out and the windows themselves,
 * in address order, none overlapping.  Returns how many there are (at
 * most max are written).
 */
struct mem_range {
    uint64_t gpa, size;
    void *hva;
    bool readonly;
};
unsigned mem_flat_view(struct mem_range *out, unsigned max);

/*
 * Reads or writes guest-physical memory as a vCPU sees it: RAM, windows
 * (ROM writes dropped) and MMIO.  For debuggers and tests.
 */
void mem_phys_rw(uint64_t gpa, void *buf, size_t len, bool is_write);

/* ---- port I/O and MMIO dispatch ---- */

/*
 * A handler sees the offset from its base and an access of 1, 2, 4 or 8
 * bytes.  Values are in host order and zero-extended.
 */
struct io_ops {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
};

/* Ranges may not overlap; -EBUSY (with a message naming both) if they do. */
int io_register_pio(uint16_t base, uint16_t len, const char *name,
                    const struct io_ops *ops, void *opaque, GError **errp);
int io_register_mmio(uint64_t base, uint64_t len, const char *name,
                     const struct io_ops *ops, void *opaque, GError **errp);
void io_unregister_all(void);
/*
 * Removes the one region registered at exactly [base, base+len): PCI BARs
 * move when the guest reprograms them.  -ENOENT when there is none.  Called
 * with the big lock held (a BAR write comes from a vCPU), so no dispatch
 * runs concurrently; a handler may call it for its own or another region.
 */
int io_unregister_pio(uint16_t base, uint16_t len);
int io_unregister_mmio(uint64_t base, uint64_t len);

/*
 * The dispatch both accelerators call.  data points at size bytes in guest
 * (little-endian) order.  Reads of unclaimed ports return all ones and of
 * unclaimed MMIO zero, as on a PC; both are logged under -d unimp.
 * An MMIO access that straddles the end of a region is split per byte.
 */
void io_pio(uint16_t port, void *data, unsigned size, bool is_write);
void io_mmio(uint64_t addr, void *data, unsigned len, bool is_write);

#endif
