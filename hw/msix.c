/*
 * MSI-X: the capability, the vector table and the pending bit array (see
 * hw/msix.h).  The layout and the masking rules follow PCI 3.0 section
 * 6.8.2 and what a guest sees of QEMU 7.2's hw/pci/msix.c.
 *
 * Threads: msix_init_exclusive_bar on the main thread while the machine is
 * built; every other call, and the BAR handlers, with the big lock held.
 */
#include <errno.h>
#include <string.h>

#include "hw/irq.h"
#include "hw/msix.h"
#include "hw/pci.h"
#include "system/error.h"
#include "system/le.h"
#include "system/memory.h"

#define MSIX_CAP_CTRL           2
#define MSIX_CAP_TABLE          4
#define MSIX_CAP_PBA            8
#define MSIX_BAR_MIN            4096

struct msix {
    unsigned nvectors;
    unsigned cap;                /* config offset of the capability */
    uint32_t pba_offset;         /* in the BAR */
    uint32_t pba_size;
    bool function_masked;        /* MSI-X off or the function mask set */
    uint8_t *pba;                /* right after the table in mem[] */
    uint8_t table[];             /* nvectors entries, then the PBA */
};

static uint16_t msix_ctrl(const struct pci_device *d)
{
    return ld16(d->config + d->msix->cap + MSIX_CAP_CTRL);
}

bool msix_present(const struct pci_device *d)
{
    return d->msix != NULL;
}

bool msix_enabled(const struct pci_device *d)
{
    return d->msix && (msix_ctrl(d) & MSIX_CTRL_ENABLE);
}

unsigned msix_nvectors(const struct pci_device *d)
{
    return d->msix ? d->msix->nvectors : 0;
}

static uint8_t *msix_entry(const struct pci_device *d, unsigned vector)
{
    return d->msix->table + vector * MSIX_ENTRY_SIZE;
}

static bool msix_vector_masked(const struct pci_device *d, unsigned vector, bool fmask)
{
    return fmask || (ld32(msix_entry(d, vector) + MSIX_ENTRY_CTRL) & MSIX_ENTRY_CTRL_MASKBIT);
}

bool msix_is_masked(const struct pci_device *d, unsigned vector)
{
    return !d->msix || vector >= d->msix->nvectors ||
           msix_vector_masked(d, vector, d->msix->function_masked);
}

bool msix_is_pending(const struct pci_device *d, unsigned vector)
{
    return d->msix && vector < d->msix->nvectors &&
           (d->msix->pba[vector / 8] >> (vector % 8)) & 1;
}

static void msix_set_pending(struct pci_device *d, unsigned vector, bool on)
{
    uint8_t bit = 1u << (vector % 8);

    if (on) {
        d->msix->pba[vector / 8] |= bit;
    } else {
        d->msix->pba[vector / 8] &= ~bit;
    }
}

void msix_get_message(const struct pci_device *d, unsigned vector, uint64_t *addr,
                      uint32_t *data)
{
    const uint8_t *e = msix_entry(d, vector);

    *addr = ld32(e + MSIX_ENTRY_ADDR_LO) | (uint64_t)ld32(e + MSIX_ENTRY_ADDR_HI) << 32;
    *data = ld32(e + MSIX_ENTRY_DATA);
}

/* The message goes out as the function's memory write: not while the
 * guest has taken bus mastering away (PCI 3.0, section 6.2.2). */
static void msix_send(struct pci_device *d, unsigned vector)
{
    uint64_t addr;
    uint32_t data;

    if (!(ld16(d->config + PCI_COMMAND) & PCI_COMMAND_MASTER)) {
        return;
    }
    msix_get_message(d, vector, &addr, &data);
    msi_send(addr, data);
}

void msix_notify(struct pci_device *d, unsigned vector)
{
    if (!msix_enabled(d) || vector >= d->msix->nvectors) {
        return;
    }
    if (msix_is_masked(d, vector)) {
        msix_set_pending(d, vector, true);
        return;
    }
    msix_send(d, vector);
}

/* A vector that was masked and no longer is sends what is pending. */
static void msix_mask_update(struct pci_device *d, unsigned vector, bool was_masked)
{
    if (was_masked && !msix_is_masked(d, vector) && msix_is_pending(d, vector)) {
        msix_set_pending(d, vector, false);
        msix_send(d, vector);
    }
}

/* ---- the BAR ---- */

static uint64_t msix_bar_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_device *d = opaque;
    struct msix *x = d->msix;
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        uint64_t off = offset + i;
        uint8_t b = 0;

        if (off < (uint64_t)x->nvectors * MSIX_ENTRY_SIZE) {
            b = x->table[off];
        } else if (off >= x->pba_offset && off < (uint64_t)x->pba_offset + x->pba_size) {
            b = x->pba[off - x->pba_offset];
        }
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

/*
 * Table writes land as written (a driver writes whole dwords); the PBA is
 * read-only.  Each entry touched is checked for an unmask afterwards.
 */
static void msix_bar_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct pci_device *d = opaque;
    struct msix *x = d->msix;
    uint64_t table_size = (uint64_t)x->nvectors * MSIX_ENTRY_SIZE;
    unsigned first, last;
    bool was_masked[2];

    if (offset >= table_size || size > 8) {
        return;
    }
    size = MIN((uint64_t)size, table_size - offset);
    first = offset / MSIX_ENTRY_SIZE;
    last = (offset + size - 1) / MSIX_ENTRY_SIZE;
    for (unsigned v = first; v <= last; v++) {
        was_masked[v - first] = msix_is_masked(d, v);
    }
    for (unsigned i = 0; i < size; i++) {
        x->table[offset + i] = value >> (8 * i);
    }
    for (unsigned v = first; v <= last; v++) {
        msix_mask_update(d, v, was_masked[v - first]);
    }
}

static const struct io_ops msix_bar_ops = {
    .read = msix_bar_read,
    .write = msix_bar_write,
};

/* ---- config space ---- */

void msix_config_written(struct pci_device *d, unsigned addr, unsigned len)
{
    struct msix *x = d->msix;
    unsigned ctrl_hi = x ? x->cap + MSIX_CAP_CTRL + 1 : 0;
    bool was;

    if (!x || addr > ctrl_hi || addr + len <= ctrl_hi) {
        return;
    }
    was = x->function_masked;
    x->function_masked = !(msix_ctrl(d) & MSIX_CTRL_ENABLE) ||
                         (msix_ctrl(d) & MSIX_CTRL_MASKALL);
    if (!msix_enabled(d)) {
        return;
    }
    /* With MSI-X on the function never uses its INTx pin (6.8.2). */
    pci_set_irq(d, 0);
    if (was == x->function_masked) {
        return;
    }
    for (unsigned v = 0; v < x->nvectors; v++) {
        msix_mask_update(d, v, msix_vector_masked(d, v, was));
    }
}

void msix_reset(struct pci_device *d)
{
    struct msix *x = d->msix;
    uint8_t *ctrl_hi;

    if (!x) {
        return;
    }
    ctrl_hi = d->config + x->cap + MSIX_CAP_CTRL + 1;
    *ctrl_hi &= ~((MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8);
    x->function_masked = true;
    memset(x->table, 0, (size_t)x->nvectors * MSIX_ENTRY_SIZE);
    memset(x->pba, 0, x->pba_size);
    for (unsigned v = 0; v < x->nvectors; v++) {
        st32(msix_entry(d, v) + MSIX_ENTRY_CTRL, MSIX_ENTRY_CTRL_MASKBIT);
    }
}

int msix_init_exclusive_bar(struct pci_device *d, unsigned nvectors, unsigned bar,
                            GError **errp)
{
    uint32_t table_size = nvectors * MSIX_ENTRY_SIZE;
    uint32_t pba_size = (nvectors + 63) / 64 * 8;
    uint32_t pba_offset = MSIX_BAR_MIN / 2;
    uint64_t bar_size = MSIX_BAR_MIN;
    struct msix *x;
    int cap, ret;

    if (!nvectors || nvectors > MSIX_MAX_VECTORS || d->msix) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "%s: cannot have %u MSI-X vectors", d->type_name, nvectors);
        return -EINVAL;
    }
    /* QEMU's layout: PBA at half a 4 KiB BAR unless the table reaches it. */
    if (table_size > pba_offset) {
        pba_offset = table_size;
    }
    if (pba_offset + pba_size > MSIX_BAR_MIN) {
        bar_size = pow2_ceil(pba_offset + pba_size);
    }
    ret = pci_register_bar(d, bar, 0, bar_size, "msix", &msix_bar_ops, d, errp);
    if (ret < 0) {
        return ret;
    }
    cap = pci_add_capability(d, PCI_CAP_ID_MSIX, MSIX_CAP_SIZE, errp);
    if (cap < 0) {
        return cap;
    }
    x = g_malloc0(sizeof(*x) + table_size + pba_size);
    x->nvectors = nvectors;
    x->cap = cap;
    x->pba_offset = pba_offset;
    x->pba_size = pba_size;
    x->pba = x->table + table_size;
    d->msix = x;
    st16(d->config + cap + MSIX_CAP_CTRL, nvectors - 1);
    st32(d->config + cap + MSIX_CAP_TABLE, bar);
    st32(d->config + cap + MSIX_CAP_PBA, pba_offset | bar);
    /* Only the enable and function-mask bits are the guest's to write. */
    d->wmask[cap + MSIX_CAP_CTRL + 1] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
    msix_reset(d);
    return 0;
}
