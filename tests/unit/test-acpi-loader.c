/*
 * The ACPI table loader (machine/acpi-loader.c) run the way SeaBIOS runs
 * it (src/fw/romfile_loader.c): each file copied to an address of the
 * zone and alignment asked, ADD_POINTER adding the source file's address
 * to the value at the offset, ADD_CHECKSUM subtracting the range's sum
 * from the byte.  Then the result is read as an OS reads it, from the
 * RSDP down, checking every pointer and checksum.
 */
#include <string.h>

#include <glib.h>

#include "machine/acpi-build.h"
#include "machine/acpi-loader.h"

struct loaded {
    const char *name;
    GByteArray *data;
    uint64_t addr;
};

/* Where the fake firmware places files: high memory and the F segment. */
#define HIGH_BASE 0x07fe0000ull
#define FSEG_BASE 0x000f5a40ull

static struct loaded files[2];

static struct loaded *find(const char *name)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(files); i++) {
        if (!strncmp(files[i].name, name, ACPI_LOADER_FILESZ)) {
            return &files[i];
        }
    }
    g_assert_not_reached();
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = size; i--;) {
        v = v << 8 | p[i];
    }
    return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--) {
        s += *p++;
    }
    return s;
}

static void run_script(const GByteArray *script)
{
    g_assert_cmpuint(script->len % ACPI_LOADER_ENTRY_SIZE, ==, 0);
    for (size_t off = 0; off < script->len; off += ACPI_LOADER_ENTRY_SIZE) {
        const uint8_t *e = script->data + off;
        const char *f1 = (const char *)e + 4;
        const char *f2 = (const char *)e + 4 + ACPI_LOADER_FILESZ;
        uint32_t cmd = le32(e);

        if (cmd == ACPI_LOADER_ALLOCATE) {
            struct loaded *l = find(f1);
            uint32_t align = le32(e + 4 + ACPI_LOADER_FILESZ);
            uint8_t zone = e[8 + ACPI_LOADER_FILESZ];

            g_assert_true(zone == ACPI_LOADER_ZONE_HIGH || zone == ACPI_LOADER_ZONE_FSEG);
            l->addr = zone == ACPI_LOADER_ZONE_FSEG ? FSEG_BASE : HIGH_BASE;
            g_assert_cmpuint(l->addr % align, ==, 0);
        } else if (cmd == ACPI_LOADER_ADD_POINTER) {
            struct loaded *dst = find(f1), *src = find(f2);
            uint32_t at = le32(e + 4 + 2 * ACPI_LOADER_FILESZ);
            uint8_t size = e[8 + 2 * ACPI_LOADER_FILESZ];
            uint64_t v;

            g_assert_true(size == 1 || size == 2 || size == 4 || size == 8);
            g_assert_cmpuint(at + size, <=, dst->data->len);
            g_assert_cmpuint(src->addr, !=, 0);     /* allocated before use */
            v = le(dst->data->data + at, size);
            g_assert_cmpuint(v, <, src->data->len); /* an offset into the source */
            v += src->addr;
            for (unsigned i = 0; i < size; i++) {
                dst->data->data[at + i] = v >> (8 * i);
            }
        } else if (cmd == ACPI_LOADER_ADD_CHECKSUM) {
            struct loaded *l = find(f1);
            uint32_t at = le32(e + 4 + ACPI_LOADER_FILESZ);
            uint32_t start = le32(e + 8 + ACPI_LOADER_FILESZ);
            uint32_t len = le32(e + 12 + ACPI_LOADER_FILESZ);

            g_assert_cmpuint(start + len, <=, l->data->len);
            g_assert_cmpuint(at, >=, start);
            g_assert_cmpuint(at, <, start + len);
            l->data->data[at] -= sum(l->data->data + start, len);
        } else {
            g_assert_cmpuint(cmd, ==, 0);
        }
    }
}

/* The table at guest address a, which must lie in the tables file. */
static const uint8_t *table_at(uint64_t a, const char *sig)
{
    struct loaded *t = find(ACPI_LOADER_TABLES);
    const uint8_t *p;

    g_assert_cmpuint(a, >=, t->addr);
    g_assert_cmpuint(a - t->addr + 8, <=, t->data->len);
    p = t->data->data + (a - t->addr);
    g_assert_cmpmem(p, 4, sig, 4);
    if (strcmp(sig, "FACS")) {
        g_assert_cmpuint(a - t->addr + le32(p + 4), <=, t->data->len);
        g_assert_cmpuint(sum(p, le32(p + 4)), ==, 0);
    }
    return p;
}

static void check_loaded(bool hpet)
{
    const uint8_t *rsdp = find(ACPI_LOADER_RSDP)->data->data;
    const uint8_t *rsdt, *xsdt, *fadt = NULL;
    unsigned n, hpets = 0;

    g_assert_cmpmem(rsdp, 8, "RSD PTR ", 8);
    g_assert_cmpuint(sum(rsdp, 20), ==, 0);
    g_assert_cmpuint(rsdp[15], ==, 2);
    g_assert_cmpuint(sum(rsdp, le32(rsdp + 20)), ==, 0);
    rsdt = table_at(le32(rsdp + 16), "RSDT");
    xsdt = table_at(le(rsdp + 24, 8), "XSDT");
    n = (le32(rsdt + 4) - 36) / 4;
    g_assert_cmpuint((le32(xsdt + 4) - 36) / 8, ==, n);
    for (unsigned i = 0; i < n; i++) {
        uint32_t a = le32(rsdt + 36 + 4 * i);
        const uint8_t *t = find(ACPI_LOADER_TABLES)->data->data + (a - HIGH_BASE);

        g_assert_cmpuint(le(xsdt + 36 + 8 * i, 8), ==, a);
        table_at(a, (const char *)t);
        if (!memcmp(t, "FACP", 4)) {
            fadt = t;
        }
        hpets += !memcmp(t, "HPET", 4);
    }
    g_assert_cmpuint(hpets, ==, hpet);
    g_assert_nonnull(fadt);
    table_at(le32(fadt + 36), "FACS");
    g_assert_cmpuint(le32(fadt + 36) % 64, ==, 0);
    table_at(le32(fadt + 40), "DSDT");
    g_assert_cmpuint(le(fadt + 140, 8), ==, le32(fadt + 40));      /* X_DSDT */
}

static void load(bool hpet, unsigned ncpus)
{
    g_autofree struct acpi_build_config *c = g_new0(struct acpi_build_config, 1);
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) script = NULL;
    struct acpi_blob blob;

    acpi_build_config_pc(c, ncpus);
    c->hpet = hpet;
    c->pci_mem32_start = 0x08000000;
    g_assert_cmpint(acpi_build_blob(c, &blob, &err), ==, 0);
    g_assert_no_error(err);
    script = acpi_loader_script(&blob);
    files[0] = (struct loaded){ ACPI_LOADER_TABLES, g_byte_array_ref(blob.tables), 0 };
    files[1] = (struct loaded){ ACPI_LOADER_RSDP, g_byte_array_ref(blob.rsdp), 0 };
    /* The checksums are already right for the tables at address 0. */
    for (unsigned i = 0; i < blob.checksums->len; i++) {
        const struct acpi_blob_checksum *k =
            &g_array_index(blob.checksums, struct acpi_blob_checksum, i);

        g_assert_cmpuint(sum(blob.tables->data + k->start, k->length), ==, 0);
    }
    run_script(script);
    check_loaded(hpet);
    for (unsigned i = 0; i < G_N_ELEMENTS(files); i++) {
        g_byte_array_unref(files[i].data);
    }
    acpi_blob_free(&blob);
}

static void test_load_default(void)
{
    load(true, 1);
}

static void test_load_no_hpet_smp(void)
{
    load(false, 8);
}

/* The script's first command allocates the tables in high memory,
 * 64-byte aligned (the FACS); the RSDP goes to the F segment. */
static void test_script_shape(void)
{
    g_autofree struct acpi_build_config *c = g_new0(struct acpi_build_config, 1);
    g_autoptr(GByteArray) script = NULL;
    struct acpi_blob blob;
    bool rsdp_alloc = false;

    acpi_build_config_pc(c, 2);
    c->pci_mem32_start = 0x08000000;
    g_assert_cmpint(acpi_build_blob(c, &blob, NULL), ==, 0);
    script = acpi_loader_script(&blob);
    g_assert_cmpuint(le32(script->data), ==, ACPI_LOADER_ALLOCATE);
    g_assert_cmpstr((const char *)script->data + 4, ==, "etc/acpi/tables");
    g_assert_cmpuint(le32(script->data + 60), ==, 64);
    g_assert_cmpuint(script->data[64], ==, ACPI_LOADER_ZONE_HIGH);
    for (size_t off = 0; off < script->len; off += ACPI_LOADER_ENTRY_SIZE) {
        const uint8_t *e = script->data + off;

        if (le32(e) == ACPI_LOADER_ALLOCATE && !strcmp((const char *)e + 4, "etc/acpi/rsdp")) {
            g_assert_cmpuint(le32(e + 60), ==, 16);
            g_assert_cmpuint(e[64], ==, ACPI_LOADER_ZONE_FSEG);
            rsdp_alloc = true;
        }
    }
    g_assert_true(rsdp_alloc);
    acpi_blob_free(&blob);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/acpi-loader/load-default", test_load_default);
    g_test_add_func("/acpi-loader/load-no-hpet-smp", test_load_no_hpet_smp);
    g_test_add_func("/acpi-loader/script-shape", test_script_shape);
    return g_test_run();
}
