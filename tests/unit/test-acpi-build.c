/*
 * The ACPI tables of machine/acpi-build.c as a guest finds them in RAM:
 * the RSDP where Linux's scan of 0xE0000-0xFFFFF looks, valid checksums
 * and lengths, the FADT's registers (hw/acpi-pm.c for pc, hw/acpi-ged.c
 * for microvm), the MADT's processors and overrides, and the DSDT's
 * devices and \_S5.  The expected values are QEMU 7.2's (tables dumped
 * from guests under it) except where acpi-build.h says otherwise.  The
 * AML was checked by hand with iasl -d; these tests do not need iasl.
 */
#include <string.h>

#include <glib.h>

#include "machine/acpi-build.h"
#include "machine/e820.h"
#include "system/memory.h"

#define AREA_END (X86_ACPI_TABLES_START + X86_ACPI_TABLES_SIZE)
#define FILL 0xa5

/* ---- guest RAM ---- */

static uint8_t *ram;

static void ram_setup(void)
{
    g_autoptr(GError) err = NULL;

    ram_free_all();
    g_assert_cmpint(ram_add_region(0, X86_BIOS_AREA_END, &err), ==, 0);
    g_assert_no_error(err);
    ram = ram_hva(0, X86_BIOS_AREA_END);
    g_assert_nonnull(ram);
    memset(ram, FILL, X86_BIOS_AREA_END);
}

static uint32_t rd16(uint64_t a)
{
    return ram[a] | ram[a + 1] << 8;
}

static uint32_t rd32(uint64_t a)
{
    return rd16(a) | rd16(a + 2) << 16;
}

static uint64_t rd64(uint64_t a)
{
    return rd32(a) | (uint64_t)rd32(a + 4) << 32;
}

static uint8_t sum(uint64_t a, size_t len)
{
    uint8_t s = 0;

    for (size_t i = 0; i < len; i++) {
        s += ram[a + i];
    }
    return s;
}

/* ---- tables ---- */

struct tables {
    uint64_t rsdp, rsdt, xsdt;
    unsigned n;
    uint64_t addr[16];
};

static uint64_t build(const struct acpi_build_config *c)
{
    g_autoptr(GError) err = NULL;
    uint64_t rsdp = 0;

    ram_setup();
    g_assert_cmpint(acpi_build_tables(c, &rsdp, &err), ==, 0);
    g_assert_no_error(err);
    return rsdp;
}

/* A table's header: signature, length inside the area, checksum 0. */
static void check_table(uint64_t a, const char *sig)
{
    uint32_t len;

    g_assert_cmpuint(a, >=, X86_ACPI_TABLES_START);
    g_assert_cmpuint(a + 36, <=, AREA_END);
    if (sig) {
        g_assert_cmpmem(ram + a, 4, sig, 4);
    }
    len = rd32(a + 4);
    g_assert_cmpuint(len, >=, 36);
    g_assert_cmpuint(a + len, <=, AREA_END);
    g_assert_cmpuint(sum(a, len), ==, 0);
    g_assert_cmpmem(ram + a + 10, 6, "BOCHS ", 6);
    g_assert_cmpmem(ram + a + 16, 8, "BXPC    ", 8);
}

/* What Linux does: the RSDP on a 16-byte boundary below 1 MiB, its two
 * checksums, then the RSDT and XSDT, which must list the same tables. */
static void find_tables(uint64_t rsdp, struct tables *t)
{
    uint64_t found = 0;

    for (uint64_t a = X86_BIOS_AREA_START; a < X86_BIOS_AREA_END; a += 16) {
        if (!memcmp(ram + a, "RSD PTR ", 8) && sum(a, 20) == 0) {
            found = a;
            break;
        }
    }
    g_assert_cmphex(found, ==, rsdp);
    g_assert_cmpuint(ram[rsdp + 15], ==, 2);
    g_assert_cmpuint(rd32(rsdp + 20), ==, 36);
    g_assert_cmpuint(sum(rsdp, 36), ==, 0);
    g_assert_cmpmem(ram + rsdp + 9, 6, "BOCHS ", 6);
    t->rsdp = rsdp;
    t->rsdt = rd32(rsdp + 16);
    t->xsdt = rd64(rsdp + 24);
    check_table(t->rsdt, "RSDT");
    check_table(t->xsdt, "XSDT");
    t->n = (rd32(t->rsdt + 4) - 36) / 4;
    g_assert_cmpuint(t->n, <=, G_N_ELEMENTS(t->addr));
    g_assert_cmpuint((rd32(t->xsdt + 4) - 36) / 8, ==, t->n);
    for (unsigned i = 0; i < t->n; i++) {
        t->addr[i] = rd32(t->rsdt + 36 + 4 * i);
        g_assert_cmphex(rd64(t->xsdt + 36 + 8 * i), ==, t->addr[i]);
        check_table(t->addr[i], NULL);
    }
    /* Nothing was written past the area (the MP table's place follows). */
    for (uint64_t a = AREA_END; a < X86_BIOS_AREA_END; a++) {
        g_assert_cmpuint(ram[a], ==, FILL);
    }
}

static uint64_t table_find(const struct tables *t, const char *sig)
{
    for (unsigned i = 0; i < t->n; i++) {
        if (!memcmp(ram + t->addr[i], sig, 4)) {
            return t->addr[i];
        }
    }
    return 0;
}

/* ---- FADT (ACPI 6.5, table 5.9) ---- */

#define FADT_FACS        36
#define FADT_DSDT        40
#define FADT_SCI         46
#define FADT_SMI_CMD     48
#define FADT_ACPI_ENABLE 52
#define FADT_ACPI_DISABLE 53
#define FADT_PM1A_EVT    56
#define FADT_PM1A_CNT    64
#define FADT_PM_TMR      76
#define FADT_GPE0        80
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN  91
#define FADT_BOOT_ARCH   109
#define FADT_FLAGS       112
#define FADT_RESET_REG   116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT      140
#define FADT_X_PM1A_EVT  148
#define FADT_SLEEP_CTL   244
#define FADT_SLEEP_STS   256

#define F_PWR_BUTTON    (1u << 4)
#define F_SLP_BUTTON    (1u << 5)
#define F_RESET_REG_SUP (1u << 10)
#define F_HW_REDUCED    (1u << 20)

static void check_gas(uint64_t a, uint8_t space, uint8_t bits, uint64_t addr)
{
    g_assert_cmpuint(ram[a], ==, space);
    g_assert_cmpuint(ram[a + 1], ==, bits);
    g_assert_cmphex(rd64(a + 4), ==, addr);
}

/* ---- MADT (5.2.12) ---- */

struct madt {
    unsigned nlapic, nx2apic, nioapic, niso, nnmi;
    uint32_t apic_id[8], uid[8];
    uint32_t ioapic_addr[2], ioapic_gsi[2];
    uint8_t ioapic_id[2];
    uint8_t iso_src[16];
    uint32_t iso_gsi[16];
    uint16_t iso_flags[16];
};

static void parse_madt(uint64_t a, struct madt *m)
{
    uint64_t end = a + rd32(a + 4);

    memset(m, 0, sizeof(*m));
    g_assert_cmphex(rd32(a + 36), ==, 0xfee00000);
    g_assert_cmphex(rd32(a + 40), ==, 1);           /* PCAT_COMPAT */
    for (uint64_t p = a + 44; p < end; p += ram[p + 1]) {
        g_assert_cmpuint(ram[p + 1], >=, 2);
        g_assert_cmpuint(p + ram[p + 1], <=, end);
        switch (ram[p]) {
        case 0:
            g_assert_cmpuint(ram[p + 1], ==, 8);
            g_assert_cmphex(rd32(p + 4), ==, 1);    /* enabled */
            g_assert_cmpuint(m->nlapic + m->nx2apic, <, 8);
            m->uid[m->nlapic + m->nx2apic] = ram[p + 2];
            m->apic_id[m->nlapic++ + m->nx2apic] = ram[p + 3];
            break;
        case 9:
            g_assert_cmpuint(ram[p + 1], ==, 16);
            g_assert_cmphex(rd32(p + 8), ==, 1);
            g_assert_cmpuint(m->nlapic + m->nx2apic, <, 8);
            m->uid[m->nlapic + m->nx2apic] = rd32(p + 12);
            m->apic_id[m->nlapic + m->nx2apic++] = rd32(p + 4);
            break;
        case 1:
            g_assert_cmpuint(ram[p + 1], ==, 12);
            g_assert_cmpuint(m->nioapic, <, 2);
            m->ioapic_id[m->nioapic] = ram[p + 2];
            m->ioapic_addr[m->nioapic] = rd32(p + 4);
            m->ioapic_gsi[m->nioapic++] = rd32(p + 8);
            break;
        case 2:
            g_assert_cmpuint(ram[p + 1], ==, 10);
            g_assert_cmpuint(ram[p + 2], ==, 0);
            m->iso_src[m->niso] = ram[p + 3];
            m->iso_gsi[m->niso] = rd32(p + 4);
            m->iso_flags[m->niso++] = rd16(p + 8);
            break;
        case 4:
            g_assert_cmpuint(ram[p + 1], ==, 6);
            g_assert_cmpuint(ram[p + 2], ==, 0xff);
            g_assert_cmpuint(ram[p + 5], ==, 1);    /* LINT1 */
            m->nnmi++;
            break;
        case 10:
            g_assert_cmpuint(ram[p + 1], ==, 12);
            break;
        default:
            g_assert_not_reached();
        }
    }
}

/* ---- DSDT ---- */

/* A DSDT's AML is whole terms: walking the top-level scopes' PkgLengths
 * (ACPI 6.5, 20.2.4) lands exactly on the table's end. */
static void check_dsdt_framing(uint64_t a)
{
    uint64_t end = a + rd32(a + 4), p = a + 36;

    while (p < end) {
        uint8_t lead;
        unsigned n;
        uint32_t len;

        g_assert_cmphex(ram[p], ==, 0x10);          /* ScopeOp */
        lead = ram[p + 1];
        n = lead >> 6;
        len = n ? lead & 0xf : lead & 0x3f;
        for (unsigned i = 0; i < n; i++) {
            len |= (uint32_t)ram[p + 2 + i] << (4 + 8 * i);
        }
        g_assert_cmpuint(len, >, n + 1);
        p += 1 + len;
        g_assert_cmpuint(p, <=, end);
    }
    g_assert_cmpuint(p, ==, end);
}

static size_t count_bytes(uint64_t a, const void *pat, size_t patlen)
{
    uint64_t end = a + rd32(a + 4);
    size_t n = 0;

    for (uint64_t p = a + 36; p + patlen <= end; p++) {
        n += !memcmp(ram + p, pat, patlen);
    }
    return n;
}

/* Name(_HID, EisaId(...)): NameOp, the NameSeg, a DWordConst holding
 * the compressed ID (6.1.5), given here as its four bytes. */
static size_t count_eisa_hid(uint64_t dsdt, uint32_t id_bytes)
{
    uint8_t pat[10] = { 0x08, '_', 'H', 'I', 'D', 0x0c,
                        id_bytes >> 24, id_bytes >> 16, id_bytes >> 8, id_bytes };

    return count_bytes(dsdt, pat, sizeof(pat));
}

/* Name(_HID, "STRING") */
static size_t count_str_hid(uint64_t dsdt, const char *hid)
{
    uint8_t pat[32] = { 0x08, '_', 'H', 'I', 'D', 0x0d };
    size_t len = strlen(hid) + 1;

    memcpy(pat + 6, hid, len);
    return count_bytes(dsdt, pat, 6 + len);
}

/* Name(_S5, Package(4) { typ, 0, 0, 0 }) with small integers. */
static bool has_s5(uint64_t dsdt, uint8_t slp_typ)
{
    uint8_t zero[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00 };
    uint8_t byte[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, slp_typ,
                       0x00, 0x00, 0x00 };

    return slp_typ == 0 ? count_bytes(dsdt, zero, sizeof(zero)) == 1
                        : count_bytes(dsdt, byte, sizeof(byte)) == 1;
}

#define EISA_PNP(hex) (0x41d00000u | (hex))

/* ---- pc ---- */

static void test_pc(void)
{
    struct acpi_build_config c;
    struct tables t;
    struct madt m;
    uint64_t fadt, dsdt, facs, madt, hpet;

    acpi_build_config_pc(&c, 2);
    c.pci_mem32_start = 0x10000000;
    find_tables(build(&c), &t);
    g_assert_cmphex(t.rsdp, ==, X86_ACPI_TABLES_START);

    fadt = table_find(&t, "FACP");
    g_assert_cmphex(fadt, !=, 0);
    g_assert_cmpuint(ram[fadt + 8], ==, 3);
    g_assert_cmpuint(rd32(fadt + 4), ==, 244);
    g_assert_cmpuint(rd16(fadt + FADT_SCI), ==, 9);
    g_assert_cmphex(rd32(fadt + FADT_SMI_CMD), ==, 0xb2);
    g_assert_cmphex(ram[fadt + FADT_ACPI_ENABLE], ==, 0xf1);
    g_assert_cmphex(ram[fadt + FADT_ACPI_DISABLE], ==, 0xf0);
    g_assert_cmphex(rd32(fadt + FADT_PM1A_EVT), ==, 0x600);
    g_assert_cmphex(rd32(fadt + FADT_PM1A_CNT), ==, 0x604);
    g_assert_cmphex(rd32(fadt + FADT_PM_TMR), ==, 0x608);
    g_assert_cmpuint(ram[fadt + FADT_PM1_EVT_LEN], ==, 4);
    g_assert_cmpuint(ram[fadt + FADT_PM1_CNT_LEN], ==, 2);
    g_assert_cmpuint(ram[fadt + FADT_PM_TMR_LEN], ==, 4);
    g_assert_cmphex(rd32(fadt + FADT_GPE0), ==, 0);
    /* Power button as fixed feature; 8042 present for Linux's i8042. */
    g_assert_cmphex(rd32(fadt + FADT_FLAGS) & F_PWR_BUTTON, ==, 0);
    g_assert_cmphex(rd32(fadt + FADT_FLAGS) & F_SLP_BUTTON, ==, F_SLP_BUTTON);
    g_assert_cmphex(rd32(fadt + FADT_FLAGS) & F_HW_REDUCED, ==, 0);
    g_assert_cmphex(rd32(fadt + FADT_FLAGS) & F_RESET_REG_SUP, ==, F_RESET_REG_SUP);
    g_assert_cmphex(rd16(fadt + FADT_BOOT_ARCH), ==, 3);
    check_gas(fadt + FADT_RESET_REG, 1, 8, 0xcf9);
    g_assert_cmphex(ram[fadt + FADT_RESET_VALUE], ==, 6);
    check_gas(fadt + FADT_X_PM1A_EVT, 1, 32, 0x600);

    facs = rd32(fadt + FADT_FACS);
    g_assert_cmphex(facs % 64, ==, 0);
    g_assert_cmpmem(ram + facs, 4, "FACS", 4);
    g_assert_cmpuint(rd32(facs + 4), ==, 64);
    dsdt = rd32(fadt + FADT_DSDT);
    g_assert_cmphex(rd64(fadt + FADT_X_DSDT), ==, dsdt);
    check_table(dsdt, "DSDT");
    check_dsdt_framing(dsdt);

    madt = table_find(&t, "APIC");
    g_assert_cmphex(madt, !=, 0);
    parse_madt(madt, &m);
    g_assert_cmpuint(m.nlapic, ==, 2);
    g_assert_cmpuint(m.apic_id[0], ==, 0);
    g_assert_cmpuint(m.apic_id[1], ==, 1);
    g_assert_cmpuint(m.uid[1], ==, 1);
    g_assert_cmpuint(m.nioapic, ==, 1);
    g_assert_cmphex(m.ioapic_addr[0], ==, 0xfec00000);
    g_assert_cmpuint(m.ioapic_gsi[0], ==, 0);
    g_assert_cmpuint(m.nnmi, ==, 1);
    g_assert_cmpuint(m.niso, ==, 5);
    g_assert_cmpuint(m.iso_src[0], ==, 0);
    g_assert_cmpuint(m.iso_gsi[0], ==, 2);
    g_assert_cmphex(m.iso_flags[0], ==, 0);
    for (unsigned i = 1; i < 5; i++) {
        static const uint8_t level[] = { 5, 9, 10, 11 };

        g_assert_cmpuint(m.iso_src[i], ==, level[i - 1]);
        g_assert_cmpuint(m.iso_gsi[i], ==, level[i - 1]);
        g_assert_cmphex(m.iso_flags[i], ==, 0xd);   /* level, active high */
    }

    hpet = table_find(&t, "HPET");
    g_assert_cmphex(hpet, !=, 0);
    g_assert_cmphex(rd64(hpet + 44), ==, 0xfed00000);

    g_assert_true(has_s5(dsdt, 0));
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0a03)), ==, 1);    /* PCI0 */
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0501)), ==, 1);    /* COM1 */
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0b00)), ==, 1);    /* RTC */
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0303)), ==, 1);    /* keyboard */
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0f13)), ==, 1);    /* mouse */
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0103)), ==, 1);    /* HPET */
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0c0f)), ==, 4);    /* LNKA-D */
    g_assert_cmpuint(count_str_hid(dsdt, "ACPI0007"), ==, 2);           /* vCPUs */
    g_assert_cmpuint(count_str_hid(dsdt, "QEMU0002"), ==, 1);           /* fw_cfg */
    g_assert_cmpuint(count_str_hid(dsdt, "ACPI0013"), ==, 0);
    /* The links read the PIIX3 route registers at 0x60 of 00:01.0. */
    g_assert_cmpuint(count_bytes(dsdt, "\x5b\x80P40C\x02\x0a\x60\x0a\x04", 10), ==, 1);
    g_assert_cmpuint(count_bytes(dsdt, "_PRT\x12", 5), ==, 1);
}

/* Options the board can turn off leave their tables and devices out. */
static void test_pc_without_options(void)
{
    struct acpi_build_config c;
    struct tables t;
    uint64_t fadt, dsdt;

    acpi_build_config_pc(&c, 1);
    c.hpet = false;
    c.i8042 = false;
    c.serial_mask = 0x3;    /* COM1 and COM2 */
    find_tables(build(&c), &t);
    g_assert_cmphex(table_find(&t, "HPET"), ==, 0);
    fadt = table_find(&t, "FACP");
    g_assert_cmphex(rd16(fadt + FADT_BOOT_ARCH), ==, 1);
    dsdt = rd32(fadt + FADT_DSDT);
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0103)), ==, 0);
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0303)), ==, 0);
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0501)), ==, 2);
    g_assert_cmpuint(count_str_hid(dsdt, "ACPI0007"), ==, 1);
}

/* ---- microvm ---- */

static void test_microvm(void)
{
    struct acpi_build_config c;
    struct tables t;
    struct madt m;
    uint64_t fadt, dsdt, madt;

    acpi_build_config_microvm(&c, 2);
    c.nvirtio_mmio = 2;
    c.virtio_mmio[0] = (struct acpi_virtio_mmio){ 0xfeb00000, 0x200, 24 };
    c.virtio_mmio[1] = (struct acpi_virtio_mmio){ 0xfeb00200, 0x200, 25 };
    find_tables(build(&c), &t);
    g_assert_cmpuint(t.n, ==, 2);       /* FADT and MADT, as QEMU's microvm */

    fadt = table_find(&t, "FACP");
    g_assert_cmphex(fadt, !=, 0);
    g_assert_cmpuint(ram[fadt + 8], ==, 5);
    g_assert_cmpuint(rd32(fadt + 4), ==, 268);
    g_assert_cmphex(rd32(fadt + FADT_FLAGS) & F_HW_REDUCED, ==, F_HW_REDUCED);
    g_assert_cmphex(rd32(fadt + FADT_FLAGS) & F_RESET_REG_SUP, ==, F_RESET_REG_SUP);
    g_assert_cmphex(rd32(fadt + FADT_FACS), ==, 0);
    g_assert_cmphex(rd32(fadt + FADT_PM1A_EVT), ==, 0);
    g_assert_cmpuint(rd16(fadt + FADT_SCI), ==, 0);
    check_gas(fadt + FADT_RESET_REG, 0, 8, 0xfea00202);
    g_assert_cmphex(ram[fadt + FADT_RESET_VALUE], ==, 0x42);
    check_gas(fadt + FADT_SLEEP_CTL, 0, 8, 0xfea00200);
    check_gas(fadt + FADT_SLEEP_STS, 0, 8, 0xfea00201);
    dsdt = rd32(fadt + FADT_DSDT);
    check_table(dsdt, "DSDT");
    check_dsdt_framing(dsdt);

    madt = table_find(&t, "APIC");
    parse_madt(madt, &m);
    g_assert_cmpuint(m.nlapic, ==, 2);
    g_assert_cmpuint(m.niso, ==, 0);
    g_assert_cmpuint(m.nioapic, ==, 2);
    g_assert_cmphex(m.ioapic_addr[1], ==, 0xfec10000);
    g_assert_cmpuint(m.ioapic_gsi[1], ==, 24);
    g_assert_cmpuint(m.ioapic_id[1], ==, 1);

    g_assert_true(has_s5(dsdt, 5));
    g_assert_cmpuint(count_str_hid(dsdt, "ACPI0013"), ==, 1);   /* GED */
    g_assert_cmpuint(count_str_hid(dsdt, "PNP0C0C"), ==, 1);    /* power button */
    g_assert_cmpuint(count_str_hid(dsdt, "LNRO0005"), ==, 2);   /* virtio-mmio */
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0501)), ==, 1);
    g_assert_cmpuint(count_eisa_hid(dsdt, EISA_PNP(0x0a03)), ==, 0);
    /* The GED's event selector region and its interrupt: Extended
     * Interrupt, consumer, edge, active high, exclusive, GSI 9. */
    g_assert_cmpuint(count_bytes(dsdt, "\x5b\x80" "EREG\x00\x0c\x00\x00\xa0\xfe\x0a\x04", 12),
                     ==, 1);
    g_assert_cmpuint(count_bytes(dsdt, "\x89\x06\x00\x03\x01\x09\x00\x00\x00", 9), ==, 1);
    /* The second transport: its MMIO range and level-triggered GSI 25. */
    g_assert_cmpuint(count_bytes(dsdt, "\x86\x09\x00\x01\x00\x02\xb0\xfe\x00\x02\x00\x00", 12),
                     ==, 1);
    g_assert_cmpuint(count_bytes(dsdt, "\x89\x06\x00\x01\x01\x19\x00\x00\x00", 9), ==, 1);
}

/* ---- pvpanic ---- */

/*
 * QEMU 7.2's device for -device pvpanic, byte for byte as its DSDT holds
 * it on pc and microvm (dumped from guests under it): Device (PEVT) with
 * _HID "QEMU0001", IO (Decode16, 0x505, 0x505, 1, 1) in _CRS, the PEOR
 * region and PEPT field over the port, _STA 0xF, RDPT and WRPT.
 */
static const char qemu_pevt[] =
    "\x5b\x82\x43\x06PEVT\x08_HID\x0dQEMU0001\x00"
    "\x08_CRS\x11\x0d\x0a\x0a\x47\x01\x05\x05\x05\x05\x01\x01\x79\x00"
    "\x5b\x80PEOR\x01\x0b\x05\x05\x01\x5b\x81\x0bPEOR\x01PEPT\x08"
    "\x08_STA\x0a\x0f\x14\x0eRDPT\x00\x70PEPT\x60\xa4\x60"
    "\x14\x0cWRPT\x01\x70\x68PEPT";

static uint64_t dsdt_of(const struct acpi_build_config *c)
{
    struct tables t;
    uint64_t dsdt;

    find_tables(build(c), &t);
    dsdt = rd32(table_find(&t, "FACP") + FADT_DSDT);
    check_table(dsdt, "DSDT");
    check_dsdt_framing(dsdt);
    return dsdt;
}

static void test_pvpanic(void)
{
    struct acpi_build_config c;
    uint64_t dsdt;

    /* Absent unless a pvpanic device was made. */
    acpi_build_config_pc(&c, 1);
    g_assert_cmpuint(count_str_hid(dsdt_of(&c), "QEMU0001"), ==, 0);
    acpi_build_config_microvm(&c, 1);
    g_assert_cmpuint(count_str_hid(dsdt_of(&c), "QEMU0001"), ==, 0);

    acpi_build_config_pc(&c, 1);
    c.pvpanic_isa = true;
    c.pvpanic_ioport = 0x505;
    dsdt = dsdt_of(&c);
    g_assert_cmpuint(count_str_hid(dsdt, "QEMU0001"), ==, 1);
    g_assert_cmpuint(count_bytes(dsdt, qemu_pevt, sizeof(qemu_pevt) - 1), ==, 1);

    acpi_build_config_microvm(&c, 1);
    c.pvpanic_isa = true;
    c.pvpanic_ioport = 0x505;
    dsdt = dsdt_of(&c);
    g_assert_cmpuint(count_bytes(dsdt, qemu_pevt, sizeof(qemu_pevt) - 1), ==, 1);

    /* Another port moves the resource and the region with it. */
    c.pvpanic_ioport = 0x1234;
    dsdt = dsdt_of(&c);
    g_assert_cmpuint(count_bytes(dsdt, "\x47\x01\x34\x12\x34\x12\x01\x01", 8), ==, 1);
    g_assert_cmpuint(count_bytes(dsdt, "PEOR\x01\x0b\x34\x12\x01", 9), ==, 1);

    /* microvm's pvpanic-mmio: the same methods over a byte of MMIO,
     * Memory32Fixed (ReadWrite, 0xfea01000, 1) and a SystemMemory region. */
    c.pvpanic_isa = false;
    c.pvpanic_mmio = 0xfea01000;
    dsdt = dsdt_of(&c);
    g_assert_cmpuint(count_str_hid(dsdt, "QEMU0001"), ==, 1);
    g_assert_cmpuint(count_bytes(dsdt, "\x5b\x82\x49\x06PEVM", 8), ==, 1);
    g_assert_cmpuint(count_bytes(dsdt, "\x86\x09\x00\x01\x00\x10\xa0\xfe\x01\x00\x00\x00",
                                 12), ==, 1);
    g_assert_cmpuint(count_bytes(dsdt, "PEOR\x00\x0c\x00\x10\xa0\xfe\x01", 11), ==, 1);
}

/* ---- limits ---- */

/* The largest configuration fits; APIC IDs from 255 get x2APIC entries. */
static void test_largest(void)
{
    struct acpi_build_config c;
    struct tables t;
    struct madt m;

    acpi_build_config_microvm(&c, ACPI_MAX_CPUS);
    c.apic_id[1] = 300;
    c.nvirtio_mmio = ACPI_MAX_VIRTIO_MMIO;
    for (unsigned i = 0; i < c.nvirtio_mmio; i++) {
        c.virtio_mmio[i] = (struct acpi_virtio_mmio){ 0xfeb00000 + 0x200 * i, 0x200, 24 + i };
    }
    find_tables(build(&c), &t);
    acpi_build_config_pc(&c, ACPI_MAX_CPUS);
    c.serial_mask = 0xf;
    find_tables(build(&c), &t);

    acpi_build_config_pc(&c, 3);
    c.apic_id[1] = 300;
    find_tables(build(&c), &t);
    parse_madt(table_find(&t, "APIC"), &m);
    g_assert_cmpuint(m.nlapic, ==, 2);
    g_assert_cmpuint(m.nx2apic, ==, 1);
    g_assert_cmpuint(m.apic_id[1], ==, 300);
    g_assert_cmpuint(m.uid[1], ==, 1);
}

static void test_errors(void)
{
    g_autoptr(GError) err = NULL;
    struct acpi_build_config c;
    uint64_t rsdp = 0;

    ram_setup();
    acpi_build_config_pc(&c, 1);
    c.ncpus = 0;
    g_assert_cmpint(acpi_build_tables(&c, &rsdp, &err), <, 0);
    g_assert_nonnull(err);
    g_clear_error(&err);
    acpi_build_config_pc(&c, 1);
    c.nioapics = 3;
    g_assert_cmpint(acpi_build_tables(&c, &rsdp, &err), <, 0);
    g_clear_error(&err);
    /* Without RAM at the table area. */
    ram_free_all();
    acpi_build_config_pc(&c, 1);
    g_assert_cmpint(acpi_build_tables(&c, &rsdp, &err), <, 0);
    g_assert_nonnull(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/acpi-build/pc", test_pc);
    g_test_add_func("/acpi-build/pc-without-options", test_pc_without_options);
    g_test_add_func("/acpi-build/microvm", test_microvm);
    g_test_add_func("/acpi-build/pvpanic", test_pvpanic);
    g_test_add_func("/acpi-build/largest", test_largest);
    g_test_add_func("/acpi-build/errors", test_errors);
    return g_test_run();
}
