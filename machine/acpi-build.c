/*
 * ACPI tables for a firmware-less boot (see acpi-build.h).  The tables are
 * laid out in a host buffer standing for the guest's table area, each
 * table's address being X86_ACPI_TABLES_START plus its offset, then
 * written to guest RAM at once.  Layout: RSDP at the start, then (64-byte
 * aligned, as the FACS needs) the FACS, then the DSDT and the other tables
 * 16-byte aligned, the RSDT and XSDT last.
 */
#include <errno.h>
#include <string.h>

#include "hw/acpi-ged.h"
#include "machine/acpi-aml.h"
#include "machine/acpi-build.h"
#include "machine/e820.h"
#include "system/error.h"
#include "system/memory.h"

/* QEMU's IDs (its ACPI_BUILD_APPNAME6 / APPNAME8 and creator). */
#define ACPI_OEM_ID         "BOCHS "
#define ACPI_OEM_TABLE_ID   "BXPC    "
#define ACPI_CREATOR_ID     "BXPC"

#define ACPI_HEADER_LEN     36
#define ACPI_RSDP_LEN       36
#define ACPI_FACS_LEN       64
#define ACPI_MAX_TABLES     8

#define LAPIC_BASE          0xfee00000u
#define HPET_BASE           0xfed00000u
#define HPET_LEN            0x400u
#define PCI_HOLE_END        0xfec00000u

/* -M pc's ACPI PM registers (hw/acpi-pm.c) and the PIIX3 reset register. */
#define PC_SCI_IRQ          9
#define PC_SMI_CMD          0xb2
#define PC_ACPI_ENABLE      0xf1
#define PC_ACPI_DISABLE     0xf0
#define PC_PM_BASE          0x600
#define PC_RESET_PORT       0xcf9
#define PC_RESET_VALUE      0x06
#define PC_RTC_CENTURY      0x32

/* FADT flags (ACPI 6.5, table 5.10). */
#define FADT_F_WBINVD           (1u << 0)
#define FADT_F_PROC_C1          (1u << 2)
#define FADT_F_SLP_BUTTON       (1u << 5)
#define FADT_F_RTC_S4           (1u << 7)
#define FADT_F_RESET_REG_SUP    (1u << 10)
#define FADT_F_PLATFORM_CLOCK   (1u << 15)
#define FADT_F_HW_REDUCED       (1u << 20)
/* IA-PC boot architecture flags (table 5.11). */
#define FADT_BOOT_LEGACY_DEVICES (1u << 0)
#define FADT_BOOT_8042          (1u << 1)

/* GAS address space IDs (table 5.1). */
#define GAS_SYSTEM_MEMORY   0
#define GAS_SYSTEM_IO       1

/* MADT structure types (table 5.21). */
#define MADT_LAPIC          0
#define MADT_IOAPIC         1
#define MADT_ISO            2
#define MADT_LAPIC_NMI      4
#define MADT_X2APIC         9
#define MADT_X2APIC_NMI     10
#define MADT_PCAT_COMPAT    1u

/* ---- little-endian helpers over the table buffer ---- */

static void put8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void put_le(GByteArray *b, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        put8(b, v >> (8 * i));
    }
}

static void put_str(GByteArray *b, const char *s, size_t len)
{
    g_byte_array_append(b, (const guint8 *)s, len);
}

static void patch_le(GByteArray *b, size_t off, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        b->data[off + i] = v >> (8 * i);
    }
}

static void align_to(GByteArray *b, unsigned align)
{
    while (b->len % align) {
        put8(b, 0);
    }
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    while (len--) {
        sum += *p++;
    }
    return -sum;
}

/*
 * Where the tables being built will sit: at X86_ACPI_TABLES_START for a
 * -kernel boot; for the firmware's table loader at 0, every pointer then
 * an offset that the loader's ADD_POINTER relocates, and each pointer and
 * checksum recorded in blob.  One build at a time, on the main thread.
 */
static uint64_t build_base = X86_ACPI_TABLES_START;
static struct acpi_blob *build_blob;

static uint64_t table_addr(size_t off)
{
    return build_base + off;
}

static void put_le(GByteArray *b, uint64_t v, unsigned bytes);

/* A pointer to the table at target, width bytes: recorded for the loader. */
static void put_ptr(GByteArray *b, size_t target, unsigned width)
{
    if (build_blob) {
        struct acpi_blob_pointer p = { .offset = b->len, .size = width };

        g_array_append_val(build_blob->pointers, p);
    }
    put_le(b, table_addr(target), width);
}

/* Generic Address Structure (5.2.3.2). */
static void put_gas(GByteArray *b, uint8_t space, uint8_t bits, uint64_t addr)
{
    put8(b, space);
    put8(b, bits);
    put8(b, 0);     /* bit offset */
    put8(b, 0);     /* access size: legacy (bit width says) */
    put_le(b, addr, 8);
}

/* ---- table framing ---- */

/* Starts a table with its header (5.2.6); returns its offset. */
static size_t table_begin(GByteArray *b, const char *sig, uint8_t rev)
{
    size_t off;

    align_to(b, 16);
    off = b->len;
    put_str(b, sig, 4);
    put_le(b, 0, 4);            /* length, patched in table_end() */
    put8(b, rev);
    put8(b, 0);                 /* checksum, patched in table_end() */
    put_str(b, ACPI_OEM_ID, 6);
    put_str(b, ACPI_OEM_TABLE_ID, 8);
    put_le(b, 1, 4);            /* OEM revision */
    put_str(b, ACPI_CREATOR_ID, 4);
    put_le(b, 1, 4);            /* creator revision */
    return off;
}

static void table_end(GByteArray *b, size_t off)
{
    patch_le(b, off + 4, b->len - off, 4);
    b->data[off + 9] = checksum(b->data + off, b->len - off);
    if (build_blob) {
        struct acpi_blob_checksum c = { .offset = off + 9, .start = off, .length = b->len - off };

        g_array_append_val(build_blob->checksums, c);
    }
}

/* ---- DSDT pieces ---- */

static struct aml *dev_with_hid(const char *name, const char *eisaid)
{
    struct aml *dev = aml_device(name);

    aml_append(dev, aml_name_decl("_HID", aml_eisaid(eisaid)));
    return dev;
}

static void add_crs(struct aml *dev, struct aml *crs)
{
    aml_append(dev, aml_name_decl("_CRS", crs));
}

/* The COM ports at QEMU's defaults (hw/char/serial-isa.c). */
static void add_serials(struct aml *scope, uint8_t mask)
{
    static const uint16_t port[4] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
    static const uint8_t irq[4] = { 4, 3, 4, 3 };

    for (unsigned i = 0; i < 4; i++) {
        char name[5];
        struct aml *dev, *crs;

        if (!(mask & (1u << i))) {
            continue;
        }
        g_snprintf(name, sizeof(name), "COM%u", i + 1);
        dev = dev_with_hid(name, "PNP0501");
        aml_append(dev, aml_name_decl("_UID", aml_int(i + 1)));
        aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
        crs = aml_resource_template();
        aml_append(crs, aml_io(port[i], 0, 8));
        aml_append(crs, aml_irq_no_flags(irq[i]));
        add_crs(dev, crs);
        aml_append(scope, dev);
    }
}

static void add_rtc(struct aml *scope)
{
    struct aml *dev = dev_with_hid("RTC", "PNP0B00");
    struct aml *crs = aml_resource_template();

    aml_append(crs, aml_io(0x70, 1, 8));
    aml_append(crs, aml_irq_no_flags(8));
    add_crs(dev, crs);
    aml_append(scope, dev);
}

static void add_i8042(struct aml *scope)
{
    struct aml *kbd = dev_with_hid("KBD", "PNP0303");
    struct aml *mou = dev_with_hid("MOU", "PNP0F13");
    struct aml *crs = aml_resource_template();

    aml_append(kbd, aml_name_decl("_STA", aml_int(0xf)));
    aml_append(crs, aml_io(0x60, 1, 1));
    aml_append(crs, aml_io(0x64, 1, 1));
    aml_append(crs, aml_irq_no_flags(1));
    add_crs(kbd, crs);
    aml_append(scope, kbd);
    aml_append(mou, aml_name_decl("_STA", aml_int(0xf)));
    crs = aml_resource_template();
    aml_append(crs, aml_irq_no_flags(12));
    add_crs(mou, crs);
    aml_append(scope, mou);
}

static void add_fw_cfg(struct aml *scope)
{
    struct aml *dev = aml_device("FWCF");
    struct aml *crs = aml_resource_template();

    aml_append(dev, aml_name_decl("_HID", aml_string("QEMU0002")));
    aml_append(dev, aml_name_decl("_STA", aml_int(0xb)));
    aml_append(crs, aml_io(0x510, 1, 0xc));
    add_crs(dev, crs);
    aml_append(scope, dev);
}

static void add_hpet(struct aml *scope)
{
    struct aml *dev = dev_with_hid("HPET", "PNP0103");
    struct aml *crs = aml_resource_template();

    aml_append(dev, aml_name_decl("_UID", aml_int(0)));
    aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
    aml_append(crs, aml_memory32_fixed(HPET_BASE, HPET_LEN, false));
    add_crs(dev, crs);
    aml_append(scope, dev);
}

/*
 * pvpanic's register as QEMU 7.2's pvpanic-isa describes it (its DSDT
 * dumped from a guest): _HID "QEMU0001", which Linux's pvpanic-mmio
 * driver matches, the port (or, for hyvm's pvpanic-mmio, the byte of
 * MMIO) in _CRS, and RDPT/WRPT, which read and write it from AML.
 */
static void add_pvpanic(struct aml *scope, const char *name, bool mmio, uint32_t addr)
{
    struct aml *dev = aml_device(name);
    struct aml *crs = aml_resource_template();
    struct aml *field, *method;

    aml_append(dev, aml_name_decl("_HID", aml_string("QEMU0001")));
    aml_append(crs, mmio ? aml_memory32_fixed(addr, 1, true) : aml_io(addr, 1, 1));
    add_crs(dev, crs);
    aml_append(dev, aml_operation_region("PEOR", mmio ? AML_SYSTEM_MEMORY : AML_SYSTEM_IO,
                                         addr, 1));
    field = aml_field("PEOR", AML_ACCESS_BYTE, AML_PRESERVE);
    aml_field_unit(field, "PEPT", 8);
    aml_append(dev, field);
    aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
    method = aml_method("RDPT", 0, false);
    aml_append(method, aml_store(aml_name("PEPT"), aml_local(0)));
    aml_append(method, aml_return(aml_local(0)));
    aml_append(dev, method);
    method = aml_method("WRPT", 1, false);
    aml_append(method, aml_store(aml_arg(0), aml_name("PEPT")));
    aml_append(dev, method);
    aml_append(scope, dev);
}

/* Processor devices (8.4), matched to the MADT entries by _UID. */
static void add_cpus(struct aml *scope, const struct acpi_build_config *c)
{
    for (unsigned i = 0; i < c->ncpus; i++) {
        char name[5];
        struct aml *dev;

        g_snprintf(name, sizeof(name), "C%03X", i);
        dev = aml_device(name);
        aml_append(dev, aml_name_decl("_HID", aml_string("ACPI0007")));
        aml_append(dev, aml_name_decl("_UID", aml_int(i)));
        aml_append(scope, dev);
    }
}

/* The \_Sx package (7.4.2): SLP_TYPa, SLP_TYPb, two reserved. */
static void add_sleep_state(struct aml *dsdt, const char *name, unsigned slp_typ)
{
    struct aml *root = aml_scope("\\");
    struct aml *pkg = aml_package();

    aml_append(pkg, aml_int(slp_typ));
    for (unsigned i = 0; i < 3; i++) {
        aml_append(pkg, aml_int(0));
    }
    aml_append(root, aml_name_decl(name, pkg));
    aml_append(dsdt, root);
}

/* The PIIX3 PIRQ route registers, through PCI config space of 00:01.0. */
#define PIRQ_FIELD_PATH "\\_SB.PCI0.ISA.PRQ%u"
#define PIRQ_DISABLE    0x80

static struct aml *pirq_ref(unsigned n)
{
    char path[24];

    g_snprintf(path, sizeof(path), PIRQ_FIELD_PATH, n);
    return aml_name(path);
}

static struct aml *link_irq_template(const uint32_t *irqs, unsigned n)
{
    struct aml *crs = aml_resource_template();

    aml_append(crs, aml_interrupt(true, false, true, irqs, n));
    return crs;
}

/*
 * PCI interrupt link LNKx (6.2.13, PNP0C0F) for PIRQ n, as QEMU's: the
 * possible IRQs 5, 10, 11; _STA says disabled while the route register's
 * bit 7 is set; _CRS reads the route, _SRS writes it, _DIS disables it.
 */
static struct aml *build_link(unsigned n)
{
    static const uint32_t possible[] = { 5, 10, 11 };
    static const uint32_t none = 0;
    char name[5];
    struct aml *dev, *m, *cond;

    g_snprintf(name, sizeof(name), "LNK%c", 'A' + n);
    dev = dev_with_hid(name, "PNP0C0F");
    aml_append(dev, aml_name_decl("_UID", aml_int(n)));
    aml_append(dev, aml_name_decl("_PRS", link_irq_template(possible, 3)));

    m = aml_method("_STA", 0, false);
    cond = aml_if(aml_and(pirq_ref(n), aml_int(PIRQ_DISABLE), NULL));
    aml_append(cond, aml_return(aml_int(0x9)));
    aml_append(m, cond);
    aml_append(m, aml_return(aml_int(0xb)));
    aml_append(dev, m);

    m = aml_method("_DIS", 0, false);
    aml_append(m, aml_or(pirq_ref(n), aml_int(PIRQ_DISABLE), pirq_ref(n)));
    aml_append(dev, m);

    /* The Extended Interrupt descriptor's first GSI is at byte 5. */
    m = aml_method("_CRS", 0, true);
    aml_append(m, aml_name_decl("PRR0", link_irq_template(&none, 1)));
    aml_append(m, aml_create_dword_field(aml_name("PRR0"), aml_int(5), "PRRI"));
    cond = aml_if(aml_lless(pirq_ref(n), aml_int(PIRQ_DISABLE)));
    aml_append(cond, aml_store(pirq_ref(n), aml_name("PRRI")));
    aml_append(m, cond);
    aml_append(m, aml_return(aml_name("PRR0")));
    aml_append(dev, m);

    m = aml_method("_SRS", 1, false);
    aml_append(m, aml_create_dword_field(aml_arg(0), aml_int(5), "PRRI"));
    aml_append(m, aml_store(aml_name("PRRI"), pirq_ref(n)));
    aml_append(dev, m);
    return dev;
}

/*
 * _PRT (6.2.13): every slot's INTA-D to the link of the PIRQ the i440FX
 * board wires it to, PIRQ (slot + pin - 1) mod 4 (hw/pci.c's swizzle).
 */
static struct aml *build_prt(void)
{
    struct aml *prt = aml_package();

    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            struct aml *entry = aml_package();
            char link[5];

            g_snprintf(link, sizeof(link), "LNK%c", 'A' + ((slot + pin - 1) & 3));
            aml_append(entry, aml_int((slot << 16) | 0xffff));
            aml_append(entry, aml_int(pin));
            aml_append(entry, aml_name(link));
            aml_append(entry, aml_int(0));
            aml_append(prt, entry);
        }
    }
    return prt;
}

/* The host bridge's decoded ranges, as QEMU's pc declares them. */
static struct aml *build_pci_crs(const struct acpi_build_config *c)
{
    struct aml *crs = aml_resource_template();

    aml_append(crs, aml_word_bus_number(0, 0xff));
    aml_append(crs, aml_io(0xcf8, 1, 8));
    aml_append(crs, aml_word_io(0, 0xcf7));
    aml_append(crs, aml_word_io(0xd00, 0xffff));
    aml_append(crs, aml_dword_memory(0xa0000, 0xbffff, true));
    aml_append(crs, aml_dword_memory(c->pci_mem32_start, PCI_HOLE_END - 1, false));
    return crs;
}

static struct aml *build_isa_bridge(const struct acpi_build_config *c)
{
    struct aml *isa = aml_device("ISA");
    struct aml *field;

    aml_append(isa, aml_name_decl("_ADR", aml_int(0x00010000)));
    aml_append(isa, aml_operation_region("P40C", AML_PCI_CONFIG, 0x60, 4));
    field = aml_field("P40C", AML_ACCESS_BYTE, AML_PRESERVE);
    for (unsigned i = 0; i < 4; i++) {
        char name[5];

        g_snprintf(name, sizeof(name), "PRQ%u", i);
        aml_field_unit(field, name, 8);
    }
    aml_append(isa, field);
    if (c->pvpanic_isa) {
        add_pvpanic(isa, "PEVT", false, c->pvpanic_ioport);
    }
    if (c->i8042) {
        add_i8042(isa);
    }
    add_serials(isa, c->serial_mask);
    if (c->rtc) {
        add_rtc(isa);
    }
    return isa;
}

static void build_dsdt_pc(struct aml *dsdt, const struct acpi_build_config *c)
{
    struct aml *sb = aml_scope("\\_SB");

    if (c->pci) {
        struct aml *pci = dev_with_hid("PCI0", "PNP0A03");

        aml_append(pci, aml_name_decl("_ADR", aml_int(0)));
        aml_append(pci, aml_name_decl("_UID", aml_int(0)));
        aml_append(pci, aml_name_decl("_BBN", aml_int(0)));
        add_crs(pci, build_pci_crs(c));
        aml_append(pci, aml_name_decl("_PRT", build_prt()));
        aml_append(pci, build_isa_bridge(c));
        if (c->fw_cfg) {
            add_fw_cfg(pci);
        }
        aml_append(sb, pci);
        for (unsigned i = 0; i < 4; i++) {
            aml_append(sb, build_link(i));
        }
    } else {
        if (c->pvpanic_isa) {
            add_pvpanic(sb, "PEVT", false, c->pvpanic_ioport);
        }
        if (c->i8042) {
            add_i8042(sb);
        }
        add_serials(sb, c->serial_mask);
        if (c->rtc) {
            add_rtc(sb);
        }
        if (c->fw_cfg) {
            add_fw_cfg(sb);
        }
    }
    if (c->hpet) {
        add_hpet(sb);
    }
    add_cpus(sb, c);
    aml_append(dsdt, sb);
    /* Soft-off is SLP_TYP 0 on the PIIX4 PM block (hw/acpi-pm.c). */
    add_sleep_state(dsdt, "_S5", 0);
}

/*
 * The generic event device (5.6.9): its interrupt and event selector, and
 * _EVT notifying the power button device when the selector has its bit.
 */
static void add_ged(struct aml *scope)
{
    static const uint32_t gsi = ACPI_GED_IRQ;
    struct aml *dev = aml_device("GED");
    struct aml *crs = aml_resource_template();
    struct aml *field, *evt, *cond;

    aml_append(dev, aml_name_decl("_HID", aml_string("ACPI0013")));
    aml_append(dev, aml_name_decl("_UID", aml_string("GED")));
    aml_append(crs, aml_interrupt(false, false, false, &gsi, 1));
    add_crs(dev, crs);
    aml_append(dev, aml_operation_region("EREG", AML_SYSTEM_MEMORY, ACPI_GED_EVT_BASE,
                                         ACPI_GED_EVT_LEN));
    field = aml_field("EREG", AML_ACCESS_DWORD, AML_WRITE_AS_ZEROS);
    aml_field_unit(field, "ESEL", 32);
    aml_append(dev, field);
    evt = aml_method("_EVT", 1, true);
    aml_append(evt, aml_store(aml_name("ESEL"), aml_local(0)));
    cond = aml_if(aml_lequal(aml_and(aml_local(0), aml_int(ACPI_GED_PWR_DOWN_EVT), NULL),
                             aml_int(ACPI_GED_PWR_DOWN_EVT)));
    aml_append(cond, aml_notify(aml_name("PWRB"), aml_int(0x80)));
    aml_append(evt, cond);
    aml_append(dev, evt);
    aml_append(scope, dev);

    dev = aml_device("PWRB");
    aml_append(dev, aml_name_decl("_HID", aml_string("PNP0C0C")));
    aml_append(dev, aml_name_decl("_UID", aml_int(0)));
    aml_append(scope, dev);
}

/*
 * virtio-mmio transports as the Linux driver's ACPI match knows them.
 * QEMU names each by its place in the window (VRnn, _UID nn) and makes
 * its interrupt level-triggered, active high, exclusive.
 */
static void add_virtio_mmio(struct aml *scope, const struct acpi_build_config *c)
{
    for (unsigned i = 0; i < c->nvirtio_mmio; i++) {
        const struct acpi_virtio_mmio *v = &c->virtio_mmio[i];
        unsigned index = v->size && v->base >= ACPI_VIRTIO_MMIO_BASE ?
                         (v->base - ACPI_VIRTIO_MMIO_BASE) / v->size % 100 : i;
        char name[5];
        struct aml *dev, *crs;

        g_snprintf(name, sizeof(name), "VR%02u", index);
        dev = aml_device(name);
        aml_append(dev, aml_name_decl("_HID", aml_string("LNRO0005")));
        aml_append(dev, aml_name_decl("_UID", aml_int(index)));
        aml_append(dev, aml_name_decl("_CCA", aml_int(1)));
        crs = aml_resource_template();
        aml_append(crs, aml_memory32_fixed(v->base, v->size, true));
        aml_append(crs, aml_interrupt(true, false, false, &v->gsi, 1));
        add_crs(dev, crs);
        aml_append(scope, dev);
    }
}

static void build_dsdt_microvm(struct aml *dsdt, const struct acpi_build_config *c)
{
    struct aml *sb = aml_scope("\\_SB");

    if (c->fw_cfg) {
        add_fw_cfg(sb);
    }
    /* QEMU lists the ISA devices in \_SB, pvpanic before COM1. */
    if (c->pvpanic_isa) {
        add_pvpanic(sb, "PEVT", false, c->pvpanic_ioport);
    }
    if (c->pvpanic_mmio) {
        add_pvpanic(sb, "PEVM", true, c->pvpanic_mmio);
    }
    add_serials(sb, c->serial_mask);
    if (c->rtc) {
        add_rtc(sb);
    }
    if (c->hpet) {
        add_hpet(sb);
    }
    add_ged(sb);
    add_virtio_mmio(sb, c);
    add_cpus(sb, c);
    aml_append(dsdt, sb);
    add_sleep_state(dsdt, "_S5", ACPI_GED_SLP_TYP_S5);
}

static size_t build_dsdt(GByteArray *b, const struct acpi_build_config *c)
{
    bool pc = c->kind == ACPI_MACHINE_PC;
    /* Revision 1 (32-bit integers) on pc, 2 on microvm, as QEMU's. */
    size_t off = table_begin(b, "DSDT", pc ? 1 : 2);
    struct aml *dsdt = aml_list();
    const uint8_t *aml;
    size_t len;

    if (pc) {
        build_dsdt_pc(dsdt, c);
    } else {
        build_dsdt_microvm(dsdt, c);
    }
    aml = aml_bytes(dsdt, &len);
    g_byte_array_append(b, aml, len);
    aml_free(dsdt);
    table_end(b, off);
    return off;
}

/* ---- fixed tables ---- */

static size_t build_facs(GByteArray *b)
{
    size_t off;

    align_to(b, 64);
    off = b->len;
    put_str(b, "FACS", 4);
    put_le(b, ACPI_FACS_LEN, 4);
    while (b->len < off + ACPI_FACS_LEN) {
        put8(b, 0);
    }
    return off;
}

/*
 * FADT (5.2.9, table 5.9).  pc: revision 3 with the PIIX4 PM blocks of
 * hw/acpi-pm.c, SCI 9, ACPI mode through SMI_CMD 0xb2, the 0xcf9 reset
 * register; a power button as fixed feature (PWR_BUTTON clear), no
 * fixed sleep button, no GPE block.  microvm: revision 5, hardware
 * reduced, with the GED's sleep and reset registers.
 */
static size_t build_fadt(GByteArray *b, const struct acpi_build_config *c, size_t facs,
                         size_t dsdt)
{
    bool pc = c->kind == ACPI_MACHINE_PC;
    size_t off = table_begin(b, "FACP", pc ? 3 : 5);
    if (pc) {
        put_ptr(b, facs, 4);    /* FIRMWARE_CTRL */
    } else {
        put_le(b, 0, 4);
    }
    put_ptr(b, dsdt, 4);
    put8(b, pc ? 1 : 0);        /* ACPI 1.0's INT_MODEL, as QEMU's pc */
    put8(b, 0);                 /* Preferred_PM_Profile: unspecified */
    put_le(b, pc ? PC_SCI_IRQ : 0, 2);
    put_le(b, pc ? PC_SMI_CMD : 0, 4);
    put8(b, pc ? PC_ACPI_ENABLE : 0);
    put8(b, pc ? PC_ACPI_DISABLE : 0);
    put8(b, 0);                 /* S4BIOS_REQ */
    put8(b, 0);                 /* PSTATE_CNT */
    put_le(b, pc ? PC_PM_BASE : 0, 4);          /* PM1a_EVT_BLK */
    put_le(b, 0, 4);                            /* PM1b_EVT_BLK */
    put_le(b, pc ? PC_PM_BASE + 4 : 0, 4);      /* PM1a_CNT_BLK */
    put_le(b, 0, 4);                            /* PM1b_CNT_BLK */
    put_le(b, 0, 4);                            /* PM2_CNT_BLK */
    put_le(b, pc ? PC_PM_BASE + 8 : 0, 4);      /* PM_TMR_BLK */
    put_le(b, 0, 4);                            /* GPE0_BLK */
    put_le(b, 0, 4);                            /* GPE1_BLK */
    put8(b, pc ? 4 : 0);        /* PM1_EVT_LEN */
    put8(b, pc ? 2 : 0);        /* PM1_CNT_LEN */
    put8(b, 0);                 /* PM2_CNT_LEN */
    put8(b, pc ? 4 : 0);        /* PM_TMR_LEN */
    put8(b, 0);                 /* GPE0_BLK_LEN */
    put8(b, 0);                 /* GPE1_BLK_LEN */
    put8(b, 0);                 /* GPE1_BASE */
    put8(b, 0);                 /* CST_CNT */
    put_le(b, pc ? 0xfff : 0, 2);   /* P_LVL2_LAT: C2 not supported */
    put_le(b, pc ? 0xfff : 0, 2);   /* P_LVL3_LAT: C3 not supported */
    put_le(b, 0, 2);            /* FLUSH_SIZE */
    put_le(b, 0, 2);            /* FLUSH_STRIDE */
    put8(b, 0);                 /* DUTY_OFFSET */
    put8(b, 0);                 /* DUTY_WIDTH */
    put8(b, 0);                 /* DAY_ALRM */
    put8(b, 0);                 /* MON_ALRM */
    put8(b, pc ? PC_RTC_CENTURY : 0);
    /* Linux takes a revision >= 2 FADT without the 8042 flag to mean
     * there is no keyboard controller. */
    put_le(b, pc ? FADT_BOOT_LEGACY_DEVICES | (c->i8042 ? FADT_BOOT_8042 : 0) : 0, 2);
    put8(b, 0);
    put_le(b, pc ? FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RTC_S4 |
                   FADT_F_RESET_REG_SUP | FADT_F_PLATFORM_CLOCK
                 : FADT_F_HW_REDUCED | FADT_F_RESET_REG_SUP, 4);
    if (pc) {
        put_gas(b, GAS_SYSTEM_IO, 8, PC_RESET_PORT);
    } else {
        put_gas(b, GAS_SYSTEM_MEMORY, 8, ACPI_GED_REGS_BASE + ACPI_GED_REG_RESET);
    }
    put8(b, pc ? PC_RESET_VALUE : ACPI_GED_RESET_VALUE);
    put_le(b, 0, 2);            /* ARM_BOOT_ARCH */
    put8(b, 0);                 /* FADT minor version */
    put_le(b, 0, 8);            /* X_FIRMWARE_CTRL: FIRMWARE_CTRL says it */
    put_ptr(b, dsdt, 8);        /* X_DSDT */
    /* X_PM1a_EVT_BLK, X_PM1b_EVT_BLK, X_PM1a_CNT_BLK, X_PM1b_CNT_BLK,
     * X_PM2_CNT_BLK, X_PM_TMR_BLK, X_GPE0_BLK, X_GPE1_BLK: the same
     * blocks as above; an all-zero GAS is "not present". */
    put_gas(b, pc ? GAS_SYSTEM_IO : 0, pc ? 32 : 0, pc ? PC_PM_BASE : 0);
    put_gas(b, 0, 0, 0);
    put_gas(b, pc ? GAS_SYSTEM_IO : 0, pc ? 16 : 0, pc ? PC_PM_BASE + 4 : 0);
    put_gas(b, 0, 0, 0);
    put_gas(b, 0, 0, 0);
    put_gas(b, pc ? GAS_SYSTEM_IO : 0, pc ? 32 : 0, pc ? PC_PM_BASE + 8 : 0);
    put_gas(b, 0, 0, 0);
    put_gas(b, 0, 0, 0);
    if (!pc) {
        /* Sleep control and status registers (4.8.3.7). */
        put_gas(b, GAS_SYSTEM_MEMORY, 8, ACPI_GED_REGS_BASE + ACPI_GED_REG_SLEEP_CTL);
        put_gas(b, GAS_SYSTEM_MEMORY, 8, ACPI_GED_REGS_BASE + ACPI_GED_REG_SLEEP_STS);
    }
    table_end(b, off);
    return off;
}

/* MADT (5.2.12): local APICs (x2APIC entries for IDs 255 and up), I/O
 * APICs, interrupt source overrides, LINT1 as NMI on every processor. */
static size_t build_madt(GByteArray *b, const struct acpi_build_config *c)
{
    size_t off = table_begin(b, "APIC", 1);
    bool x2apic = false;

    put_le(b, LAPIC_BASE, 4);
    put_le(b, MADT_PCAT_COMPAT, 4);
    for (unsigned i = 0; i < c->ncpus; i++) {
        if (c->apic_id[i] < 0xff) {
            put8(b, MADT_LAPIC);
            put8(b, 8);
            put8(b, i);                 /* ACPI processor UID */
            put8(b, c->apic_id[i]);
            put_le(b, 1, 4);            /* enabled */
        } else {
            put8(b, MADT_X2APIC);
            put8(b, 16);
            put_le(b, 0, 2);
            put_le(b, c->apic_id[i], 4);
            put_le(b, 1, 4);            /* enabled */
            put_le(b, i, 4);            /* ACPI processor UID */
            x2apic = true;
        }
    }
    for (unsigned i = 0; i < c->nioapics; i++) {
        put8(b, MADT_IOAPIC);
        put8(b, 12);
        put8(b, c->ioapic[i].id);
        put8(b, 0);
        put_le(b, c->ioapic[i].addr, 4);
        put_le(b, c->ioapic[i].gsi_base, 4);
    }
    for (unsigned i = 0; i < c->nisos; i++) {
        put8(b, MADT_ISO);
        put8(b, 10);
        put8(b, 0);                     /* bus: ISA */
        put8(b, c->iso[i].source);
        put_le(b, c->iso[i].gsi, 4);
        put_le(b, c->iso[i].flags, 2);
    }
    put8(b, MADT_LAPIC_NMI);
    put8(b, 6);
    put8(b, 0xff);                      /* all processors */
    put_le(b, 0, 2);                    /* conforming flags */
    put8(b, 1);                         /* LINT1 */
    if (x2apic) {
        put8(b, MADT_X2APIC_NMI);
        put8(b, 12);
        put_le(b, 0, 2);
        put_le(b, 0xffffffffu, 4);
        put8(b, 1);
        put_le(b, 0, 3);
    }
    table_end(b, off);
    return off;
}

/* HPET description table (IA-PC HPET specification 1.0a, 3.2.4), with
 * the event timer block ID QEMU's HPET reports. */
static size_t build_hpet(GByteArray *b)
{
    size_t off = table_begin(b, "HPET", 1);

    put_le(b, 0x8086a201, 4);
    put_gas(b, GAS_SYSTEM_MEMORY, 0, HPET_BASE);
    put8(b, 0);                 /* HPET number */
    put_le(b, 0, 2);            /* minimum clock tick in periodic mode */
    put8(b, 0);                 /* page protection */
    table_end(b, off);
    return off;
}

/* WAET (Microsoft's emulated devices table): the PM timer needs one read. */
static size_t build_waet(GByteArray *b)
{
    size_t off = table_begin(b, "WAET", 1);

    put_le(b, 1u << 1, 4);
    table_end(b, off);
    return off;
}

static size_t build_rsdt(GByteArray *b, const char *sig, unsigned width,
                         const size_t *tables, unsigned n)
{
    size_t off = table_begin(b, sig, 1);

    for (unsigned i = 0; i < n; i++) {
        put_ptr(b, tables[i], width);
    }
    table_end(b, off);
    return off;
}

/* RSDP (5.2.5.3), revision 2: both checksums.  b holds it at its start. */
static void build_rsdp(GByteArray *b, size_t rsdt, size_t xsdt)
{
    uint8_t *p = b->data;

    memcpy(p, "RSD PTR ", 8);
    memcpy(p + 9, ACPI_OEM_ID, 6);
    p[15] = 2;
    patch_le(b, 16, table_addr(rsdt), 4);
    patch_le(b, 20, ACPI_RSDP_LEN, 4);
    patch_le(b, 24, table_addr(xsdt), 8);
    p[8] = checksum(p, 20);
    p[32] = checksum(p, ACPI_RSDP_LEN);
}

static int acpi_check_config(const struct acpi_build_config *c, GError **errp)
{
    const char *why = NULL;

    if (c->ncpus < 1 || c->ncpus > ACPI_MAX_CPUS) {
        why = "vCPU count out of range";
    } else if (c->nioapics > ACPI_MAX_IOAPICS) {
        why = "too many IOAPICs";
    } else if (c->nisos > ACPI_MAX_ISOS) {
        why = "too many interrupt source overrides";
    } else if (c->nvirtio_mmio > ACPI_MAX_VIRTIO_MMIO) {
        why = "too many virtio-mmio transports";
    } else if (c->kind == ACPI_MACHINE_PC && c->pci &&
               (c->pci_mem32_start == 0 || c->pci_mem32_start >= PCI_HOLE_END)) {
        why = "PCI memory window start out of range";
    }
    if (why) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "ACPI tables: %s", why);
        return -EINVAL;
    }
    return 0;
}

/* The tables after the RSDP's room of rsdp_room bytes; *rsdt, *xsdt get
 * their offsets. */
static void build_all(const struct acpi_build_config *c, GByteArray *b, size_t rsdp_room,
                      size_t *rsdt, size_t *xsdt)
{
    size_t tables[ACPI_MAX_TABLES];
    unsigned n = 0;
    size_t facs = 0, dsdt;
    bool pc = c->kind == ACPI_MACHINE_PC;

    g_byte_array_set_size(b, rsdp_room);
    memset(b->data, 0, rsdp_room);
    if (pc) {
        facs = build_facs(b);
    }
    dsdt = build_dsdt(b, c);
    tables[n++] = build_fadt(b, c, facs, dsdt);
    tables[n++] = build_madt(b, c);
    if (c->hpet) {
        tables[n++] = build_hpet(b);
    }
    if (pc) {
        tables[n++] = build_waet(b);
    }
    *rsdt = build_rsdt(b, "RSDT", 4, tables, n);
    *xsdt = build_rsdt(b, "XSDT", 8, tables, n);
}

int acpi_build_tables(const struct acpi_build_config *c, uint64_t *rsdp_addr, GError **errp)
{
    g_autoptr(GByteArray) b = NULL;
    size_t rsdt, xsdt;

    if (acpi_check_config(c, errp) < 0) {
        return -EINVAL;
    }
    b = g_byte_array_sized_new(4096);
    build_all(c, b, ACPI_RSDP_LEN, &rsdt, &xsdt);
    build_rsdp(b, rsdt, xsdt);
    if (b->len > X86_ACPI_TABLES_SIZE) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "ACPI tables need %u bytes, more than the %llu reserved for them",
                    b->len, X86_ACPI_TABLES_SIZE);
        return -ENOSPC;
    }
    if (ram_write(X86_ACPI_TABLES_START, b->data, b->len) < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "ACPI tables: no RAM at 0x%llx", X86_ACPI_TABLES_START);
        return -EFAULT;
    }
    *rsdp_addr = X86_ACPI_TABLES_START;
    return 0;
}

int acpi_build_blob(const struct acpi_build_config *c, struct acpi_blob *out, GError **errp)
{
    size_t rsdt, xsdt;

    memset(out, 0, sizeof(*out));
    if (acpi_check_config(c, errp) < 0) {
        return -EINVAL;
    }
    out->tables = g_byte_array_sized_new(4096);
    out->rsdp = g_byte_array_new();
    out->pointers = g_array_new(false, false, sizeof(struct acpi_blob_pointer));
    out->checksums = g_array_new(false, false, sizeof(struct acpi_blob_checksum));
    build_base = 0;
    build_blob = out;
    build_all(c, out->tables, 0, &rsdt, &xsdt);
    build_blob = NULL;
    g_byte_array_set_size(out->rsdp, ACPI_RSDP_LEN);
    memset(out->rsdp->data, 0, ACPI_RSDP_LEN);
    build_rsdp(out->rsdp, rsdt, xsdt);
    build_base = X86_ACPI_TABLES_START;
    out->rsdp_rsdt_offset = 16;
    out->rsdp_xsdt_offset = 24;
    return 0;
}

void acpi_blob_free(struct acpi_blob *b)
{
    if (b->tables) {
        g_byte_array_unref(b->tables);
    }
    if (b->rsdp) {
        g_byte_array_unref(b->rsdp);
    }
    if (b->pointers) {
        g_array_unref(b->pointers);
    }
    if (b->checksums) {
        g_array_unref(b->checksums);
    }
    memset(b, 0, sizeof(*b));
}

/* ---- the boards' defaults ---- */

static void config_common(struct acpi_build_config *c, enum acpi_machine_kind kind,
                          unsigned ncpus)
{
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->ncpus = ncpus;
    for (unsigned i = 0; i < ncpus && i < ACPI_MAX_CPUS; i++) {
        c->apic_id[i] = i;
    }
    c->nioapics = 1;
    c->ioapic[0] = (struct acpi_ioapic){ .id = 0, .addr = 0xfec00000, .gsi_base = 0 };
    c->serial_mask = 1;
    c->rtc = true;
}

void acpi_build_config_pc(struct acpi_build_config *c, unsigned ncpus)
{
    static const uint8_t level_irqs[] = { 5, 9, 10, 11 };

    config_common(c, ACPI_MACHINE_PC, ncpus);
    /* The PIT's IRQ 0 is the IOAPIC's pin 2; the PCI and SCI lines are
     * level-triggered, active high (QEMU's pc MADT). */
    c->iso[c->nisos++] = (struct acpi_iso){ .source = 0, .gsi = 2, .flags = 0 };
    for (unsigned i = 0; i < G_N_ELEMENTS(level_irqs); i++) {
        c->iso[c->nisos++] = (struct acpi_iso){
            .source = level_irqs[i], .gsi = level_irqs[i],
            .flags = ACPI_ISO_POLARITY_HIGH | ACPI_ISO_TRIGGER_LEVEL,
        };
    }
    c->hpet = true;
    c->pci = true;
    c->pci_mem32_start = 0xe0000000u;
    c->i8042 = true;
    c->fw_cfg = true;
}

void acpi_build_config_microvm(struct acpi_build_config *c, unsigned ncpus)
{
    config_common(c, ACPI_MACHINE_MICROVM, ncpus);
    /* ioapic2: 24 more GSIs for the virtio-mmio transports.  QEMU's
     * microvm MADT has no source overrides. */
    c->nioapics = 2;
    c->ioapic[1] = (struct acpi_ioapic){ .id = 1, .addr = 0xfec10000, .gsi_base = 24 };
}
