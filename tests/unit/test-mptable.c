/*
 * The MP table writer: the tables are built into a fresh guest RAM and read
 * back the way a kernel's MP parser reads them (Linux's mpparse.c checks
 * the signatures, the checksums, the spec revision and walks the entries by
 * their type-given lengths).
 */
#include <errno.h>
#include <string.h>

#include "machine/e820.h"
#include "machine/mptable.h"
#include "system/memory.h"

#define MiB (1ull << 20)
/* ISA IRQs SeaBIOS gives to PCI interrupt links: no ISA entry with PCI. */
#define PCI_LINKS (1u << 5 | 1u << 9 | 1u << 10 | 1u << 11)

/* Entry types (MP spec 1.4, table 4-3). */
enum { T_CPU, T_BUS, T_IOAPIC, T_IOINT, T_LINT };

struct entry {
    const uint8_t *p;
    unsigned type;
};

struct table {
    const uint8_t *mpf, *mpc;
    unsigned mpc_len, count;
    struct entry e[512];
};

static void ram_setup(void)
{
    g_autoptr(GError) err = NULL;

    ram_free_all();
    g_assert_cmpint(ram_add_region(0, 128 * MiB, &err), ==, 0);
}

static uint16_t ld16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static uint32_t ld32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--) {
        s += *p++;
    }
    return s;
}

/* Checks the structure and returns its entries. */
static void table_read(struct table *t)
{
    const uint8_t *area = ram_hva(X86_MPTABLE_START, X86_MPTABLE_SIZE);
    unsigned off, last_type = 0;

    g_assert_nonnull(area);
    memset(t, 0, sizeof(*t));

    /* 4.1: the floating pointer, 16-byte aligned, in the BIOS ROM area. */
    t->mpf = area;
    g_assert_cmpmem(t->mpf, 4, "_MP_", 4);
    g_assert_cmpuint(X86_MPTABLE_START % 16, ==, 0);
    g_assert_cmpuint(X86_MPTABLE_START, >=, 0xf0000);
    g_assert_cmpuint(t->mpf[8], ==, 1);             /* length in 16-byte units */
    g_assert_cmpuint(t->mpf[9], ==, 4);             /* spec 1.4 */
    g_assert_cmpuint(sum(t->mpf, 16), ==, 0);
    g_assert_cmpuint(t->mpf[11], ==, 0);            /* a configuration table follows */

    /* 4.2: the configuration table it points at, inside the area. */
    g_assert_cmphex(ld32(t->mpf + 4), ==, X86_MPTABLE_START + 16);
    t->mpc = area + 16;
    g_assert_cmpmem(t->mpc, 4, "PCMP", 4);
    t->mpc_len = ld16(t->mpc + 4);
    g_assert_cmpuint(16 + t->mpc_len, <=, X86_MPTABLE_SIZE);
    g_assert_cmpuint(t->mpc[6], ==, 4);
    g_assert_cmpuint(sum(t->mpc, t->mpc_len), ==, 0);
    g_assert_cmpmem(t->mpc + 8, 8, "BOCHSCPU", 8);
    g_assert_cmpmem(t->mpc + 16, 12, "0.1         ", 12);
    g_assert_cmpuint(ld32(t->mpc + 28), ==, 0);     /* no OEM table */
    g_assert_cmphex(ld32(t->mpc + 36), ==, 0xfee00000);
    g_assert_cmpuint(ld16(t->mpc + 40), ==, 0);     /* no extended entries */

    /* 4.3: entries by type, ascending, filling the table exactly. */
    off = 44;
    while (off < t->mpc_len) {
        unsigned type = t->mpc[off];

        g_assert_cmpuint(type, <=, T_LINT);
        g_assert_cmpuint(type, >=, last_type);
        last_type = type;
        g_assert_cmpuint(t->count, <, G_N_ELEMENTS(t->e));
        t->e[t->count++] = (struct entry){ t->mpc + off, type };
        off += type == T_CPU ? 20 : 8;
    }
    g_assert_cmpuint(off, ==, t->mpc_len);
    g_assert_cmpuint(ld16(t->mpc + 34), ==, t->count);
    /* Nothing else was written behind the table. */
    for (unsigned i = 16 + t->mpc_len; i < X86_MPTABLE_SIZE; i++) {
        g_assert_cmpuint(area[i], ==, 0);
    }
}

static unsigned count_type(const struct table *t, unsigned type)
{
    unsigned n = 0;

    for (unsigned i = 0; i < t->count; i++) {
        n += t->e[i].type == type;
    }
    return n;
}

/* The I/O interrupt entry for source (bus, irq), or NULL. */
static const uint8_t *find_ioint(const struct table *t, unsigned bus, unsigned irq)
{
    for (unsigned i = 0; i < t->count; i++) {
        const uint8_t *p = t->e[i].p;

        if (t->e[i].type == T_IOINT && p[4] == bus && p[5] == irq) {
            return p;
        }
    }
    return NULL;
}

static const uint8_t *find_bus(const struct table *t, const char *name)
{
    for (unsigned i = 0; i < t->count; i++) {
        if (t->e[i].type == T_BUS && !memcmp(t->e[i].p + 2, name, 6)) {
            return t->e[i].p;
        }
    }
    return NULL;
}

/* ISA IRQs 0-15 except 2, IRQ 0 on IOAPIC input 2, the rest identity. */
static void check_isa_irqs(const struct table *t, unsigned isa, unsigned ioapic_id,
                           unsigned skip_mask)
{
    for (unsigned irq = 0; irq < 16; irq++) {
        const uint8_t *p = find_ioint(t, isa, irq);

        if (irq == 2 || (skip_mask & (1u << irq))) {
            g_assert_null(p);
            continue;
        }
        g_assert_nonnull(p);
        g_assert_cmpuint(p[1], ==, 0);               /* INT */
        g_assert_cmpuint(ld16(p + 2), ==, 0);        /* conforms to the bus */
        g_assert_cmpuint(p[6], ==, ioapic_id);
        g_assert_cmpuint(p[7], ==, irq == 0 ? 2 : irq);
    }
}

static void check_lints(const struct table *t, unsigned isa, unsigned bsp_apic)
{
    const uint8_t *extint = NULL, *nmi = NULL;

    g_assert_cmpuint(count_type(t, T_LINT), ==, 2);
    for (unsigned i = 0; i < t->count; i++) {
        if (t->e[i].type == T_LINT) {
            if (t->e[i].p[1] == 3) {
                extint = t->e[i].p;
            } else if (t->e[i].p[1] == 1) {
                nmi = t->e[i].p;
            }
        }
    }
    g_assert_nonnull(extint);
    g_assert_nonnull(nmi);
    g_assert_cmpuint(extint[4], ==, isa);
    g_assert_cmpuint(extint[6], ==, bsp_apic);
    g_assert_cmpuint(extint[7], ==, 0);              /* LINT0 */
    g_assert_cmpuint(nmi[6], ==, 0xff);              /* every local APIC */
    g_assert_cmpuint(nmi[7], ==, 1);                 /* LINT1 */
}

static void check_ioapic(const struct table *t, unsigned id)
{
    const uint8_t *p = NULL;

    g_assert_cmpuint(count_type(t, T_IOAPIC), ==, 1);
    for (unsigned i = 0; i < t->count; i++) {
        if (t->e[i].type == T_IOAPIC) {
            p = t->e[i].p;
        }
    }
    g_assert_cmpuint(p[1], ==, id);
    g_assert_cmphex(p[2], ==, 0x20);
    g_assert_cmpuint(p[3], ==, 1);                   /* enabled */
    g_assert_cmphex(ld32(p + 4), ==, 0xfec00000);
}

static void test_one_cpu(void)
{
    struct mptable_config c = { .ncpus = 1, .cpuid_signature = 0x663,
                                .cpuid_features = 0x0781abfd };
    g_autoptr(GError) err = NULL;
    g_autofree struct table *t = g_new(struct table, 1);
    const uint8_t *cpu;

    ram_setup();
    g_assert_cmpint(mptable_build(&c, &err), ==, 0);
    g_assert_no_error(err);
    table_read(t);

    /* 1 CPU, the ISA bus, the IOAPIC, 15 ISA IRQs, 2 local interrupts. */
    g_assert_cmpuint(t->count, ==, 20);
    g_assert_cmpuint(count_type(t, T_CPU), ==, 1);
    cpu = t->e[0].p;
    g_assert_cmpuint(cpu[1], ==, 0);
    g_assert_cmphex(cpu[2], ==, 0x14);
    g_assert_cmphex(cpu[3], ==, 0x3);                /* enabled, BSP */
    g_assert_cmphex(ld32(cpu + 4), ==, 0x663);
    g_assert_cmphex(ld32(cpu + 8), ==, 0x0781abfd);

    g_assert_cmpuint(count_type(t, T_BUS), ==, 1);
    g_assert_nonnull(find_bus(t, "ISA   "));
    g_assert_cmpuint(find_bus(t, "ISA   ")[1], ==, 0);
    g_assert_null(find_bus(t, "PCI   "));
    check_ioapic(t, 0);
    g_assert_cmpuint(count_type(t, T_IOINT), ==, 15);
    check_isa_irqs(t, 0, 0, 0);
    check_lints(t, 0, 0);
}

static void test_four_cpus_pci(void)
{
    static const uint32_t ids[] = { 0, 1, 2, 3 };
    struct mptable_config c = { .ncpus = 4, .apic_ids = ids, .ioapic_id = 4,
                                .has_pci = true };
    g_autoptr(GError) err = NULL;
    g_autofree struct table *t = g_new(struct table, 1);

    ram_setup();
    g_assert_cmpint(mptable_build(&c, &err), ==, 0);
    table_read(t);

    /* 4 CPUs, PCI and ISA buses, the IOAPIC, 11 ISA IRQs, 2 local. */
    g_assert_cmpuint(t->count, ==, 20);
    g_assert_cmpuint(count_type(t, T_CPU), ==, 4);
    for (unsigned i = 0; i < 4; i++) {
        const uint8_t *cpu = t->e[i].p;

        g_assert_cmpuint(cpu[0], ==, T_CPU);
        g_assert_cmpuint(cpu[1], ==, i);
        g_assert_cmphex(cpu[3], ==, i == 0 ? 0x3 : 0x1);
        /* No CPUID given: SeaBIOS's stand-ins. */
        g_assert_cmphex(ld32(cpu + 4), ==, 0x600);
        g_assert_cmphex(ld32(cpu + 8), ==, 0x201);
    }
    /* SeaBIOS's numbering: PCI bus 0, ISA bus 1. */
    g_assert_cmpuint(count_type(t, T_BUS), ==, 2);
    g_assert_cmpuint(find_bus(t, "PCI   ")[1], ==, 0);
    g_assert_cmpuint(find_bus(t, "ISA   ")[1], ==, 1);
    check_ioapic(t, 4);
    /* SeaBIOS's PCI link IRQs have no ISA entry. */
    check_isa_irqs(t, 1, 4, PCI_LINKS);
    g_assert_null(find_ioint(t, 0, 0));    /* nothing claims the PCI bus */
    check_lints(t, 1, 0);
}

static void test_pci_irqs(void)
{
    static const struct mptable_pci_irq irqs[] = {
        { .dev = 3, .pin = 0, .ioapic_pin = 10 },
        { .dev = 4, .pin = 1, .ioapic_pin = 7 },
        { .dev = 5, .pin = 0, .ioapic_pin = 20 },
    };
    static const uint32_t ids[] = { 2, 5 };
    struct mptable_config c = { .ncpus = 2, .apic_ids = ids, .has_pci = true,
                                .pci_irqs = irqs, .n_pci_irqs = G_N_ELEMENTS(irqs) };
    g_autoptr(GError) err = NULL;
    g_autofree struct table *t = g_new(struct table, 1);
    const uint8_t *p;

    ram_setup();
    g_assert_cmpint(mptable_build(&c, &err), ==, 0);
    table_read(t);

    /* 3 PCI entries; ISA IRQ 7 gives its input to PCI too. */
    g_assert_cmpuint(count_type(t, T_IOINT), ==, 3 + 10);
    check_isa_irqs(t, 1, 0, PCI_LINKS | 1u << 7);
    p = find_ioint(t, 0, 3 << 2 | 0);
    g_assert_nonnull(p);
    g_assert_cmpuint(p[7], ==, 10);
    g_assert_cmpuint(ld16(p + 2), ==, 1);            /* active high */
    p = find_ioint(t, 0, 4 << 2 | 1);
    g_assert_nonnull(p);
    g_assert_cmpuint(p[7], ==, 7);
    g_assert_cmpuint(find_ioint(t, 0, 5 << 2)[7], ==, 20);
    /* The BSP is the first APIC ID given; ExtINT goes to it. */
    g_assert_cmpuint(t->e[0].p[1], ==, 2);
    g_assert_cmphex(t->e[0].p[3], ==, 0x3);
    g_assert_cmpuint(t->e[1].p[1], ==, 5);
    g_assert_cmphex(t->e[1].p[3], ==, 0x1);
    check_lints(t, 1, 2);
}

/* The area holds 194 vCPUs (16 + 44 + 194 * 20 + 8 + 8 + 15 * 8 + 2 * 8 = 4092). */
static void test_fits_area(void)
{
    struct mptable_config c = { .ncpus = 194 };
    g_autoptr(GError) err = NULL;
    g_autofree struct table *t = g_new(struct table, 1);
    const uint8_t *area;

    ram_setup();
    g_assert_cmpint(mptable_build(&c, &err), ==, 0);
    table_read(t);
    g_assert_cmpuint(count_type(t, T_CPU), ==, 194);
    g_assert_cmpuint(t->e[193].p[1], ==, 193);

    ram_setup();
    c.ncpus = 195;
    g_assert_cmpint(mptable_build(&c, &err), ==, -E2BIG);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "195 vCPUs do not fit"));
    /* Nothing was written. */
    area = ram_hva(X86_MPTABLE_START, X86_MPTABLE_SIZE);
    for (unsigned i = 0; i < X86_MPTABLE_SIZE; i++) {
        g_assert_cmpuint(area[i], ==, 0);
    }
}

static void test_refused(void)
{
    static const uint32_t bad_ids[] = { 0, 255 };
    static const struct mptable_pci_irq bad_pci[] = { { .dev = 32, .pin = 0 } };
    struct mptable_config c = { .ncpus = 2, .apic_ids = bad_ids };
    GError *err = NULL;

    ram_setup();
    g_assert_cmpint(mptable_build(&c, &err), ==, -EINVAL);
    g_assert_nonnull(strstr(err->message, "APIC ID 255"));
    g_clear_error(&err);

    c = (struct mptable_config){ .ncpus = 0 };
    g_assert_cmpint(mptable_build(&c, &err), ==, -EINVAL);
    g_clear_error(&err);

    c = (struct mptable_config){ .ncpus = 1, .has_pci = true, .pci_irqs = bad_pci,
                                 .n_pci_irqs = 1 };
    g_assert_cmpint(mptable_build(&c, &err), ==, -EINVAL);
    g_clear_error(&err);

    /* No RAM at the area: an error, not a crash. */
    ram_free_all();
    c = (struct mptable_config){ .ncpus = 1 };
    g_assert_cmpint(mptable_build(&c, &err), ==, -EFAULT);
    g_assert_nonnull(err);
    g_clear_error(&err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mptable/one-cpu", test_one_cpu);
    g_test_add_func("/mptable/four-cpus-pci", test_four_cpus_pci);
    g_test_add_func("/mptable/pci-irqs", test_pci_irqs);
    g_test_add_func("/mptable/fits-area", test_fits_area);
    g_test_add_func("/mptable/refused", test_refused);
    return g_test_run();
}
