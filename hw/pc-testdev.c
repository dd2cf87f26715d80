/*
 * pc-testdev: the test device of kvm-unit-tests (QEMU's hw/misc/pc-testdev.c
 * behaviour, QEMU 7.2):
 *
 *   port 0xe0-0xe3     a 32-bit scratch register; an access of any width at
 *                      any offset reads or writes those bytes of it
 *   port 0xe4-0xe7     "flush page": a 32-bit write names a guest page
 *   port 0xe8-0xeb     the same register again, seen one byte at a time
 *                      (string I/O tests)
 *   port 0x2000-0x2017 one byte per interrupt line: writing v sets GSI n to
 *                      !!v, reads return 0.  QEMU raises ISA IRQ n, which is
 *                      GSI n on -M pc, and aborts on lines 16-23 (its ISA
 *                      bus has 16); hyvm drives the IOAPIC's GSI 16-23
 *   MMIO 0xff000000    64 KiB of plain memory behind MMIO exits (emulator
 *                      tests of instructions that touch MMIO)
 *
 * Unaligned and straddling port accesses reach these handlers split as
 * QEMU splits them under KVM (system/memory.c); QEMU's TCG drops them.
 *
 * Threads: all handlers run on vCPU threads with the big lock held.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hw/devices.h"
#include "hw/irq.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"

#define PC_TESTDEV_IOPORT       0xe0
#define PC_TESTDEV_FLUSH        0xe4
#define PC_TESTDEV_IOPORT_BYTE  0xe8
#define PC_TESTDEV_IRQ          0x2000
#define PC_TESTDEV_NR_IRQ       24      /* the IOAPIC's pins */
#define PC_TESTDEV_IOMEM        0xff000000ull
#define PC_TESTDEV_IOMEM_LEN    0x10000

struct pc_testdev {
    uint32_t ioport_data;
    uint8_t iomem[PC_TESTDEV_IOMEM_LEN];
};

/* The dispatch only hands over accesses that fit in the 4-byte range. */
static uint64_t pc_testdev_ioport_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pc_testdev *t = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size && offset + i < 4; i++) {
        v |= (uint64_t)((t->ioport_data >> (8 * (offset + i))) & 0xff) << (8 * i);
    }
    return v;
}

static void pc_testdev_ioport_write(void *opaque, uint64_t offset, uint64_t value,
                                    unsigned size)
{
    struct pc_testdev *t = opaque;

    for (unsigned i = 0; i < size && offset + i < 4; i++) {
        unsigned shift = 8 * (offset + i);

        t->ioport_data &= ~(0xffu << shift);
        t->ioport_data |= (uint32_t)((value >> (8 * i)) & 0xff) << shift;
    }
}

static uint64_t pc_testdev_flush_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void pc_testdev_flush_write(void *opaque, uint64_t offset, uint64_t value,
                                   unsigned size)
{
    if (size != 4 || offset) {
        log_mask(LOG_GUEST_ERROR, "pc-testdev: flush-page takes a 32-bit write\n");
        return;
    }
    /*
     * QEMU makes the host page behind this guest page inaccessible and
     * accessible again, so KVM drops its mapping and the guest's next access
     * faults into KVM afresh.  That changes nothing a guest can observe: the
     * page keeps its contents and permissions.  Doing it here would also let
     * another vCPU or device thread touch the page while it is PROT_NONE and
     * kill the process, so hyvm leaves the mapping alone.
     */
    log_mask(LOG_UNIMP, "pc-testdev: flush of page 0x%" G_GINT64_MODIFIER "x ignored\n",
             value & ~(uint64_t)0xfff);
}

static uint64_t pc_testdev_irq_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void pc_testdev_irq_write(void *opaque, uint64_t offset, uint64_t value,
                                 unsigned size)
{
    if (size != 1) {
        /* QEMU's irq-line ports take byte accesses only and drop the rest. */
        log_mask(LOG_GUEST_ERROR, "pc-testdev: %u-byte write to irq line %u ignored\n",
                 size, (unsigned)offset);
        return;
    }
    irq_set_level(offset, value != 0);
}

static uint64_t pc_testdev_iomem_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pc_testdev *t = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size && offset + i < PC_TESTDEV_IOMEM_LEN; i++) {
        v |= (uint64_t)t->iomem[offset + i] << (8 * i);
    }
    return v;
}

static void pc_testdev_iomem_write(void *opaque, uint64_t offset, uint64_t value,
                                   unsigned size)
{
    struct pc_testdev *t = opaque;

    for (unsigned i = 0; i < size && offset + i < PC_TESTDEV_IOMEM_LEN; i++) {
        t->iomem[offset + i] = value >> (8 * i);
    }
}

static const struct io_ops pc_testdev_ioport_ops = {
    .read = pc_testdev_ioport_read,
    .write = pc_testdev_ioport_write,
};

static const struct io_ops pc_testdev_flush_ops = {
    .read = pc_testdev_flush_read,
    .write = pc_testdev_flush_write,
};

static const struct io_ops pc_testdev_irq_ops = {
    .read = pc_testdev_irq_read,
    .write = pc_testdev_irq_write,
};

static const struct io_ops pc_testdev_iomem_ops = {
    .read = pc_testdev_iomem_read,
    .write = pc_testdev_iomem_write,
};

int pc_testdev_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    struct pc_testdev *t = g_new0(struct pc_testdev, 1);
    int ret;

    /*
     * The byte port shares the handlers: the dispatch gives a byte-wise view
     * the same answers as one wide access, which is all QEMU's byte-sized
     * implementation changes.
     */
    ret = io_register_pio(PC_TESTDEV_IOPORT, 4, "pc-testdev-ioport",
                          &pc_testdev_ioport_ops, t, errp);
    if (ret < 0) {
        goto out;
    }
    ret = io_register_pio(PC_TESTDEV_FLUSH, 4, "pc-testdev-flush-page",
                          &pc_testdev_flush_ops, t, errp);
    if (ret < 0) {
        goto out;
    }
    ret = io_register_pio(PC_TESTDEV_IOPORT_BYTE, 4, "pc-testdev-ioport-byte",
                          &pc_testdev_ioport_ops, t, errp);
    if (ret < 0) {
        goto out;
    }
    ret = io_register_pio(PC_TESTDEV_IRQ, PC_TESTDEV_NR_IRQ, "pc-testdev-irq-line",
                          &pc_testdev_irq_ops, t, errp);
    if (ret < 0) {
        goto out;
    }
    ret = io_register_mmio(PC_TESTDEV_IOMEM, PC_TESTDEV_IOMEM_LEN, "pc-testdev-iomem",
                           &pc_testdev_iomem_ops, t, errp);
out:
    /* On failure the regions already registered keep t: it is never freed. */
    return ret;
}
