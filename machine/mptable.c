/*
 * MP floating pointer and configuration table (MultiProcessor
 * Specification 1.4, chapter 4), built in a host buffer and written into
 * guest RAM in one piece.  The values follow what SeaBIOS writes for a
 * QEMU guest, so a kernel sees the same tables as under QEMU: OEM ID
 * "BOCHSCPU", product ID "0.1", the PCI bus before the ISA bus, ISA IRQ 0
 * routed to IOAPIC input 2.
 *
 * Threads: main thread, while the machine is built.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "machine/e820.h"
#include "machine/mptable.h"
#include "system/error.h"
#include "system/le.h"
#include "system/memory.h"

/* 4.1, table 4-1: the floating pointer structure, 16 bytes. */
#define MPF_SIGNATURE "_MP_"
#define MPF_SIZE 16
enum {
    MPF_PHYSADDR = 4,
    MPF_LENGTH = 8,          /* in 16-byte units */
    MPF_SPEC_REV = 9,
    MPF_CHECKSUM = 10,
    MPF_FEATURE1 = 11,       /* 0: a configuration table is present */
    MPF_FEATURE2 = 12,       /* bit 7 IMCRP clear: virtual wire mode */
};

/* 4.2, table 4-2: the configuration table header, 44 bytes. */
#define MPC_SIGNATURE "PCMP"
#define MPC_HEADER_SIZE 44
enum {
    MPC_LENGTH = 4,
    MPC_SPEC_REV = 6,
    MPC_CHECKSUM = 7,
    MPC_OEM_ID = 8,          /* 8 bytes, space padded */
    MPC_PRODUCT_ID = 16,     /* 12 bytes, space padded */
    MPC_ENTRY_COUNT = 34,
    MPC_LAPIC_ADDR = 36,
};

#define MP_SPEC_REV_1_4 4
#define MP_OEM_ID "BOCHSCPU"
#define MP_PRODUCT_ID "0.1         "

/* 4.3, table 4-3: entry types and their lengths. */
enum {
    MPE_PROCESSOR = 0,       /* 20 bytes */
    MPE_BUS = 1,             /* 8 bytes, and all below */
    MPE_IOAPIC = 2,
    MPE_IO_INTR = 3,
    MPE_LOCAL_INTR = 4,
};
#define MPE_PROCESSOR_SIZE 20
#define MPE_SIZE 8

/* 4.3.1, table 4-5: processor flags. */
#define MPE_CPU_EN 0x01
#define MPE_CPU_BP 0x02
/* 4.3.3: IOAPIC flags. */
#define MPE_IOAPIC_EN 0x01
/* 4.3.4, table 4-10: interrupt types; table 4-11 polarity/trigger flags. */
#define MP_INT 0
#define MP_NMI 1
#define MP_EXTINT 3
#define MP_IRQ_CONFORMS 0x0
#define MP_IRQ_ACTIVE_HIGH 0x1
/* 4.3.5: destination 0xff means every local APIC. */
#define MP_ALL_LAPICS 0xff

#define ISA_IRQS 16
#define PCI_BUS_ID 0
/* The ISA IRQs SeaBIOS routes PCI interrupt links to (its BUILD_PCI_IRQS). */
#define PCI_LINK_IRQS (1u << 5 | 1u << 9 | 1u << 10 | 1u << 11)

/* SeaBIOS's stand-ins when CPUID leaf 1 says nothing: a P6, FPU and APIC. */
#define MP_DEFAULT_SIGNATURE 0x600
#define MP_DEFAULT_FEATURES 0x201

struct mp_writer {
    uint8_t buf[X86_MPTABLE_SIZE];
    size_t len;              /* bytes written so far */
    unsigned entries;        /* configuration table entries */
    bool overflow;
};

/* Room for one entry of size bytes, or NULL once the area is full. */
static uint8_t *mp_entry(struct mp_writer *w, size_t size)
{
    uint8_t *p;

    if (w->overflow || size > sizeof(w->buf) - w->len) {
        w->overflow = true;
        return NULL;
    }
    p = w->buf + w->len;
    w->len += size;
    w->entries++;
    return p;
}

/* 4.2: all bytes of a structure, its checksum included, add up to zero. */
static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++) {
        sum += p[i];
    }
    return -sum;
}

static void mp_add_processor(struct mp_writer *w, const struct mptable_config *c,
                             uint8_t apic_id, bool bsp)
{
    uint8_t *e = mp_entry(w, MPE_PROCESSOR_SIZE);
    uint32_t sig = c->cpuid_signature, feat = c->cpuid_features;

    if (!e) {
        return;
    }
    if (!sig && !feat) {
        sig = MP_DEFAULT_SIGNATURE;
        feat = MP_DEFAULT_FEATURES;
    }
    e[0] = MPE_PROCESSOR;
    e[1] = apic_id;
    e[2] = MPTABLE_LAPIC_VERSION;
    e[3] = MPE_CPU_EN | (bsp ? MPE_CPU_BP : 0);
    st32(e + 4, sig);
    st32(e + 8, feat);
}

/* 4.3.2: the bus type is a 6-byte string, space padded. */
static void mp_add_bus(struct mp_writer *w, uint8_t id, const char type[7])
{
    uint8_t *e = mp_entry(w, MPE_SIZE);

    if (e) {
        e[0] = MPE_BUS;
        e[1] = id;
        memcpy(e + 2, type, 6);
    }
}

static void mp_add_ioapic(struct mp_writer *w, uint8_t id)
{
    uint8_t *e = mp_entry(w, MPE_SIZE);

    if (e) {
        e[0] = MPE_IOAPIC;
        e[1] = id;
        e[2] = MPTABLE_IOAPIC_VERSION;
        e[3] = MPE_IOAPIC_EN;
        st32(e + 4, MPTABLE_IOAPIC_ADDR);
    }
}

/* 4.3.4 and 4.3.5 share one layout: type, interrupt type, flags, source
 * bus and IRQ, destination APIC ID and input. */
static void mp_add_intr(struct mp_writer *w, uint8_t type, uint8_t irqtype, uint16_t flags,
                        uint8_t bus, uint8_t bus_irq, uint8_t dst_apic, uint8_t dst_pin)
{
    uint8_t *e = mp_entry(w, MPE_SIZE);

    if (e) {
        e[0] = type;
        e[1] = irqtype;
        st16(e + 2, flags);
        e[4] = bus;
        e[5] = bus_irq;
        e[6] = dst_apic;
        e[7] = dst_pin;
    }
}

static bool mp_pin_taken_by_pci(const struct mptable_config *c, unsigned irq, unsigned pin)
{
    if (c->has_pci && (PCI_LINK_IRQS & (1u << irq))) {
        return true;
    }
    for (unsigned i = 0; c->has_pci && i < c->n_pci_irqs; i++) {
        if (c->pci_irqs[i].ioapic_pin == pin) {
            return true;
        }
    }
    return false;
}

static int mp_check(const struct mptable_config *c, GError **errp)
{
    if (c->ncpus == 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "MP table: no vCPUs");
        return -EINVAL;
    }
    /* 4.3.1: APIC IDs are one byte, and 0xff is the broadcast ID. */
    for (unsigned i = 0; c->apic_ids && i < c->ncpus; i++) {
        if (c->apic_ids[i] >= MP_ALL_LAPICS) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "MP table: APIC ID %" PRIu32
                        " of vCPU %u does not fit the table's 8-bit field",
                        c->apic_ids[i], i);
            return -EINVAL;
        }
    }
    for (unsigned i = 0; c->has_pci && i < c->n_pci_irqs; i++) {
        const struct mptable_pci_irq *p = &c->pci_irqs[i];

        /* D.3: the source bus IRQ holds the device in bits 6:2, INTx in 1:0. */
        if (p->dev > 31 || p->pin > 3) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "MP table: PCI interrupt "
                        "entry %u names device %u pin %u", i, p->dev, p->pin);
            return -EINVAL;
        }
    }
    return 0;
}

int mptable_build(const struct mptable_config *c, GError **errp)
{
    g_autofree struct mp_writer *w = g_new0(struct mp_writer, 1);
    uint8_t isa_bus = c->has_pci ? 1 : 0;
    uint8_t bsp_apic = c->apic_ids ? c->apic_ids[0] : 0;
    uint32_t mpc_addr = X86_MPTABLE_START + MPF_SIZE;
    uint8_t *mpf = w->buf, *mpc = w->buf + MPF_SIZE;
    size_t mpc_len;
    int ret;

    ret = mp_check(c, errp);
    if (ret < 0) {
        return ret;
    }
    /* SeaBIOS's order: the floating pointer, then the table behind it. */
    w->len = MPF_SIZE + MPC_HEADER_SIZE;

    /* 4.3: entries sorted by type, processors first. */
    for (unsigned i = 0; i < c->ncpus; i++) {
        mp_add_processor(w, c, c->apic_ids ? c->apic_ids[i] : i, i == 0);
    }
    if (c->has_pci) {
        mp_add_bus(w, PCI_BUS_ID, "PCI   ");
    }
    mp_add_bus(w, isa_bus, "ISA   ");
    mp_add_ioapic(w, c->ioapic_id);

    for (unsigned i = 0; c->has_pci && i < c->n_pci_irqs; i++) {
        const struct mptable_pci_irq *p = &c->pci_irqs[i];

        /* PCI interrupts are level triggered; QEMU's lines are active high. */
        mp_add_intr(w, MPE_IO_INTR, MP_INT, MP_IRQ_ACTIVE_HIGH, PCI_BUS_ID,
                    p->dev << 2 | p->pin, c->ioapic_id, p->ioapic_pin);
    }
    /*
     * ISA IRQs on the IOAPIC input of the same number, except the timer:
     * the i8254 drives input 2 (the same override ACPI's MADT reports), so
     * IRQ 0 goes there and IRQ 2, the i8259 cascade, has no entry.  With
     * PCI, the IRQs of the PCI links are level triggered and shared, and
     * an ISA entry would call them edge triggered: SeaBIOS leaves them out.
     */
    for (unsigned irq = 0; irq < ISA_IRQS; irq++) {
        unsigned pin = irq == 0 ? 2 : irq;

        if (irq == 2 || mp_pin_taken_by_pci(c, irq, pin)) {
            continue;
        }
        mp_add_intr(w, MPE_IO_INTR, MP_INT, MP_IRQ_CONFORMS, isa_bus, irq, c->ioapic_id, pin);
    }
    /* 4.3.5: the i8259 reaches the BSP through LINT0, NMIs every CPU's LINT1. */
    mp_add_intr(w, MPE_LOCAL_INTR, MP_EXTINT, MP_IRQ_CONFORMS, isa_bus, 0, bsp_apic, 0);
    mp_add_intr(w, MPE_LOCAL_INTR, MP_NMI, MP_IRQ_CONFORMS, isa_bus, 0, MP_ALL_LAPICS, 1);

    if (w->overflow) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "MP table: %u vCPUs do not fit "
                    "the 0x%llx bytes at 0x%llx", c->ncpus, X86_MPTABLE_SIZE,
                    X86_MPTABLE_START);
        return -E2BIG;
    }

    mpc_len = w->len - MPF_SIZE;
    memcpy(mpc, MPC_SIGNATURE, 4);
    st16(mpc + MPC_LENGTH, mpc_len);
    mpc[MPC_SPEC_REV] = MP_SPEC_REV_1_4;
    memcpy(mpc + MPC_OEM_ID, MP_OEM_ID, 8);
    memcpy(mpc + MPC_PRODUCT_ID, MP_PRODUCT_ID, 12);
    st16(mpc + MPC_ENTRY_COUNT, w->entries);
    st32(mpc + MPC_LAPIC_ADDR, MPTABLE_LAPIC_ADDR);
    /* No OEM table and no extended entries: those fields stay 0. */
    mpc[MPC_CHECKSUM] = mp_checksum(mpc, mpc_len);

    memcpy(mpf, MPF_SIGNATURE, 4);
    st32(mpf + MPF_PHYSADDR, mpc_addr);
    mpf[MPF_LENGTH] = MPF_SIZE / 16;
    mpf[MPF_SPEC_REV] = MP_SPEC_REV_1_4;
    mpf[MPF_CHECKSUM] = mp_checksum(mpf, MPF_SIZE);

    if (ram_write(X86_MPTABLE_START, w->buf, w->len) < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "MP table: no guest RAM at "
                    "0x%llx", X86_MPTABLE_START);
        return -EFAULT;
    }
    return 0;
}
