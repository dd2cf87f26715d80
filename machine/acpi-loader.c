/*
 * The table-loader script (acpi-loader.h).  Every field is little-endian;
 * file names are NUL-padded to 56 bytes; the rest of each 128-byte entry
 * is zero.
 */
#include <errno.h>
#include <string.h>

#include "hw/fw-cfg.h"
#include "machine/acpi-loader.h"

/* QEMU's sizes for pc (hw/i386/acpi-build.c: ACPI_BUILD_TABLE_SIZE and
 * the loader's 4 KiB alignment), so SeaBIOS reserves what it reserves
 * under QEMU. */
#define ACPI_LOADER_TABLES_ALIGN 0x20000
#define ACPI_LOADER_SCRIPT_ALIGN 0x1000

static uint8_t *entry(GByteArray *s, uint32_t command)
{
    uint8_t *e;

    g_byte_array_set_size(s, s->len + ACPI_LOADER_ENTRY_SIZE);
    e = s->data + s->len - ACPI_LOADER_ENTRY_SIZE;
    memset(e, 0, ACPI_LOADER_ENTRY_SIZE);
    e[0] = command;
    return e;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static void put_name(uint8_t *p, const char *name)
{
    memcpy(p, name, MIN(strlen(name), (size_t)ACPI_LOADER_FILESZ - 1));
}

static void allocate(GByteArray *s, const char *file, uint32_t align, uint8_t zone)
{
    uint8_t *e = entry(s, ACPI_LOADER_ALLOCATE);

    put_name(e + 4, file);
    put_le32(e + 4 + ACPI_LOADER_FILESZ, align);
    e[4 + ACPI_LOADER_FILESZ + 4] = zone;
}

static void add_pointer(GByteArray *s, const char *dest, const char *src, uint32_t offset,
                        uint8_t size)
{
    uint8_t *e = entry(s, ACPI_LOADER_ADD_POINTER);

    put_name(e + 4, dest);
    put_name(e + 4 + ACPI_LOADER_FILESZ, src);
    put_le32(e + 4 + 2 * ACPI_LOADER_FILESZ, offset);
    e[4 + 2 * ACPI_LOADER_FILESZ + 4] = size;
}

static void add_checksum(GByteArray *s, const char *file, uint32_t offset, uint32_t start,
                         uint32_t length)
{
    uint8_t *e = entry(s, ACPI_LOADER_ADD_CHECKSUM);

    put_name(e + 4, file);
    put_le32(e + 4 + ACPI_LOADER_FILESZ, offset);
    put_le32(e + 8 + ACPI_LOADER_FILESZ, start);
    put_le32(e + 12 + ACPI_LOADER_FILESZ, length);
}

/*
 * Pointers before checksums: a checksum command recomputes over the
 * relocated table (SeaBIOS subtracts the table's sum from the byte), so it
 * has to run after every pointer inside that table.  The RSDP goes last,
 * its 20-byte checksum before the extended one that covers it (5.2.5.3).
 */
GByteArray *acpi_loader_script(const struct acpi_blob *blob)
{
    GByteArray *s = g_byte_array_new();

    allocate(s, ACPI_LOADER_TABLES, 64, ACPI_LOADER_ZONE_HIGH);
    for (unsigned i = 0; i < blob->pointers->len; i++) {
        const struct acpi_blob_pointer *p =
            &g_array_index(blob->pointers, struct acpi_blob_pointer, i);

        add_pointer(s, ACPI_LOADER_TABLES, ACPI_LOADER_TABLES, p->offset, p->size);
    }
    for (unsigned i = 0; i < blob->checksums->len; i++) {
        const struct acpi_blob_checksum *c =
            &g_array_index(blob->checksums, struct acpi_blob_checksum, i);

        add_checksum(s, ACPI_LOADER_TABLES, c->offset, c->start, c->length);
    }
    allocate(s, ACPI_LOADER_RSDP, 16, ACPI_LOADER_ZONE_FSEG);
    add_pointer(s, ACPI_LOADER_RSDP, ACPI_LOADER_TABLES, blob->rsdp_rsdt_offset, 4);
    add_pointer(s, ACPI_LOADER_RSDP, ACPI_LOADER_TABLES, blob->rsdp_xsdt_offset, 8);
    add_checksum(s, ACPI_LOADER_RSDP, 8, 0, 20);
    add_checksum(s, ACPI_LOADER_RSDP, 32, 0, blob->rsdp->len);
    return s;
}

static void pad_to(GByteArray *b, uint32_t align)
{
    uint32_t len = b->len;
    uint32_t want = (len + align - 1) / align * align;

    g_byte_array_set_size(b, want);
    memset(b->data + len, 0, want - len);
}

int acpi_loader_add_files(struct fw_cfg *fw, const struct acpi_build_config *c,
                          GError **errp)
{
    struct acpi_blob blob;
    g_autoptr(GByteArray) script = NULL;
    int ret;

    ret = acpi_build_blob(c, &blob, errp);
    if (ret < 0) {
        return ret;
    }
    script = acpi_loader_script(&blob);
    pad_to(blob.tables, ACPI_LOADER_TABLES_ALIGN);
    pad_to(script, ACPI_LOADER_SCRIPT_ALIGN);
    ret = fw_cfg_add_file(fw, ACPI_LOADER_TABLES, blob.tables->data, blob.tables->len, errp);
    if (ret == 0) {
        ret = fw_cfg_add_file(fw, ACPI_LOADER_RSDP, blob.rsdp->data, blob.rsdp->len, errp);
    }
    if (ret == 0) {
        ret = fw_cfg_add_file(fw, ACPI_LOADER_SCRIPT, script->data, script->len, errp);
    }
    acpi_blob_free(&blob);
    return ret;
}
