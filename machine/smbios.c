/*
 * SMBIOS structures for the firmware (smbios.h).  Layouts from DSP0134:
 * each structure is a formatted area (header: type, length, handle) and
 * its strings, each NUL-terminated, the set ended by one more NUL (two
 * when there are none, 6.1.3).  Handles are QEMU's: 0x100 for type 1,
 * 0x300 for type 3, 0x400 + n for socket n, 0x1000, 0x1100 + n,
 * 0x1300 + n, 0x2000 and 0x7f00.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "machine/smbios.h"
#include "system/error.h"
#include "system/keyval.h"

struct smbios_builder {
    GByteArray *b;
    size_t start;           /* the structure being built */
    unsigned nstrings;
    GPtrArray *strings;
    unsigned count, max_size;
};

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

static void begin(struct smbios_builder *s, uint8_t type, uint8_t len, uint16_t handle)
{
    s->start = s->b->len;
    s->nstrings = 0;
    g_ptr_array_set_size(s->strings, 0);
    put8(s->b, type);
    put8(s->b, len);
    put_le(s->b, handle, 2);
}

/* A string field: its number in the structure's set, 0 for none. */
static void put_string(struct smbios_builder *s, const char *str)
{
    if (!str || !*str) {
        put8(s->b, 0);
        return;
    }
    g_ptr_array_add(s->strings, (gpointer)str);
    put8(s->b, ++s->nstrings);
}

static void end(struct smbios_builder *s)
{
    size_t size;

    g_assert(s->b->len - s->start == s->b->data[s->start + 1]);
    for (unsigned i = 0; i < s->strings->len; i++) {
        const char *str = g_ptr_array_index(s->strings, i);

        g_byte_array_append(s->b, (const guint8 *)str, strlen(str) + 1);
    }
    put8(s->b, 0);
    if (!s->nstrings) {
        put8(s->b, 0);
    }
    size = s->b->len - s->start;
    s->max_size = MAX(s->max_size, size);
    s->count++;
}

/* A -smbios field, or dflt when not given. */
static const char *field(const struct smbios_config *c, enum smbios_field f, const char *dflt)
{
    return c->fields && c->fields->str[f] ? c->fields->str[f] : dflt;
}

/* Type 0, BIOS Information (7.1), only with -smbios type=0 (QEMU leaves it
 * to the firmware otherwise): SeaBIOS's segment 0xe800, "BIOS
 * characteristics not supported", targeted content distribution and
 * virtual machine (plus UEFI when asked). */
static void build_type0(struct smbios_builder *s, const struct smbios_config *c)
{
    const struct smbios_fields *f = c->fields;

    begin(s, 0, 24, 0x000);
    put_string(s, field(c, SMBIOS_T0_VENDOR, NULL));
    put_string(s, field(c, SMBIOS_T0_VERSION, NULL));
    put_le(s->b, 0xe800, 2);
    put_string(s, field(c, SMBIOS_T0_DATE, NULL));
    put8(s->b, 0);                      /* ROM size */
    put_le(s->b, 0x08, 8);              /* characteristics: not supported */
    put8(s->b, 0);
    put8(s->b, 0x14 | (f->uefi ? 0x08 : 0));
    put8(s->b, f->have_release ? f->major : 0);
    put8(s->b, f->have_release ? f->minor : 0);
    put8(s->b, 0xff);                   /* embedded controller release: none */
    put8(s->b, 0xff);
    end(s);
}

/* Type 2, Baseboard Information (7.3), only with -smbios type=2: a
 * motherboard in the type 3 enclosure. */
static void build_type2(struct smbios_builder *s, const struct smbios_config *c)
{
    begin(s, 2, 15, 0x200);
    put_string(s, field(c, SMBIOS_T2_MANUFACTURER, c->manufacturer));
    put_string(s, field(c, SMBIOS_T2_PRODUCT, c->product));
    put_string(s, field(c, SMBIOS_T2_VERSION, c->version));
    put_string(s, field(c, SMBIOS_T2_SERIAL, NULL));
    put_string(s, field(c, SMBIOS_T2_ASSET, NULL));
    put8(s->b, 0x01);                   /* feature flags: motherboard */
    put_string(s, field(c, SMBIOS_T2_LOCATION, NULL));
    put_le(s->b, 0x300, 2);             /* chassis handle: type 3 */
    put8(s->b, 0x0a);                   /* board type: motherboard */
    put8(s->b, 0);                      /* contained objects */
    end(s);
}

/* Type 1, System Information (7.2): the UUID in SMBIOS 2.6's wire order,
 * its first three fields little-endian; wake-up by power switch. */
static void build_type1(struct smbios_builder *s, const struct smbios_config *c)
{
    uint8_t uuid[16];

    memcpy(uuid, c->fields && c->fields->have_uuid ? c->fields->uuid : c->uuid, 16);
    for (unsigned i = 0; i < 2; i++) {
        uint8_t t = uuid[i];

        uuid[i] = uuid[3 - i];
        uuid[3 - i] = t;
    }
    for (unsigned i = 4; i < 8; i += 2) {
        uint8_t t = uuid[i];

        uuid[i] = uuid[i + 1];
        uuid[i + 1] = t;
    }
    begin(s, 1, 27, 0x100);
    put_string(s, field(c, SMBIOS_T1_MANUFACTURER, c->manufacturer));
    put_string(s, field(c, SMBIOS_T1_PRODUCT, c->product));
    put_string(s, field(c, SMBIOS_T1_VERSION, c->version));
    put_string(s, field(c, SMBIOS_T1_SERIAL, NULL));
    g_byte_array_append(s->b, uuid, 16);
    put8(s->b, 0x06);                   /* wake-up type: power switch */
    put_string(s, field(c, SMBIOS_T1_SKU, NULL));
    put_string(s, field(c, SMBIOS_T1_FAMILY, NULL));
    end(s);
}

/* Type 3, System Enclosure (7.4): "other", every state "safe". */
static void build_type3(struct smbios_builder *s, const struct smbios_config *c)
{
    begin(s, 3, 22, 0x300);
    put_string(s, field(c, SMBIOS_T3_MANUFACTURER, c->manufacturer));
    put8(s->b, 0x01);                   /* type: other */
    put_string(s, field(c, SMBIOS_T3_VERSION, c->version));
    put_string(s, field(c, SMBIOS_T3_SERIAL, NULL));
    put_string(s, field(c, SMBIOS_T3_ASSET, NULL));
    put8(s->b, 0x03);                   /* boot-up state: safe */
    put8(s->b, 0x03);                   /* power supply state */
    put8(s->b, 0x03);                   /* thermal state */
    put8(s->b, 0x02);                   /* security status: unknown */
    put_le(s->b, 0, 4);                 /* OEM-defined */
    put8(s->b, 0);                      /* height */
    put8(s->b, 0);                      /* power cords */
    put8(s->b, 0);                      /* contained elements */
    put8(s->b, 0);                      /* their record length */
    put_string(s, field(c, SMBIOS_T3_SKU, NULL));
    end(s);
}

/* Type 4, Processor Information (7.5), one per socket, 2000 MHz as QEMU
 * says it (SVVP wants a known speed). */
static void build_type4(struct smbios_builder *s, const struct smbios_config *c, unsigned n)
{
    char sock[16];

    snprintf(sock, sizeof(sock), "CPU%2x", n);
    begin(s, 4, 42, 0x400 + n);
    put_string(s, sock);
    put8(s->b, 0x03);                   /* type: central processor */
    put8(s->b, 0x01);                   /* family: other */
    put_string(s, c->manufacturer);
    put_le(s->b, c->cpuid_version, 4);
    put_le(s->b, c->cpuid_features, 4);
    put_string(s, c->version);
    put8(s->b, 0);                      /* voltage */
    put_le(s->b, 0, 2);                 /* external clock: unknown */
    put_le(s->b, 2000, 2);              /* max speed */
    put_le(s->b, 2000, 2);              /* current speed */
    put8(s->b, 0x41);                   /* socket populated, CPU enabled */
    put8(s->b, 0x01);                   /* upgrade: other */
    put_le(s->b, 0xffff, 2);            /* L1, L2, L3 cache handles: none */
    put_le(s->b, 0xffff, 2);
    put_le(s->b, 0xffff, 2);
    put_string(s, NULL);                /* serial */
    put_string(s, NULL);                /* asset tag */
    put_string(s, NULL);                /* part number */
    put8(s->b, MIN(c->cores, 255u));    /* core count */
    put8(s->b, MIN(c->cores, 255u));    /* cores enabled */
    put8(s->b, MIN(c->cores * c->threads, 255u));  /* threads per socket, as QEMU 7.2 */
    put_le(s->b, 0x02, 2);              /* characteristics: unknown */
    put_le(s->b, 0x01, 2);              /* family 2: other */
    end(s);
}

#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define DIMM_MAX (16 * GIB)

/* Type 16, Physical Memory Array (7.17): system memory, multi-bit ECC
 * (what Windows wants, per SeaBIOS); past 2 TiB the extended field. */
static void build_type16(struct smbios_builder *s, const struct smbios_config *c,
                         unsigned ndimms)
{
    uint64_t kib = (c->ram_size + KIB - 1) / KIB;

    begin(s, 16, 23, 0x1000);
    put8(s->b, 0x01);                   /* location: other */
    put8(s->b, 0x03);                   /* use: system memory */
    put8(s->b, 0x06);                   /* error correction: multi-bit ECC */
    put_le(s->b, kib < 0x80000000ull ? kib : 0x80000000ull, 4);
    put_le(s->b, 0xfffe, 2);            /* error information: not provided */
    put_le(s->b, ndimms, 2);
    put_le(s->b, kib < 0x80000000ull ? 0 : c->ram_size, 8);
    end(s);
}

/* Type 17, Memory Device (7.18): a DIMM of size bytes, in MiB; from
 * 32 GiB - 1 MiB up the extended size field holds it. */
static void build_type17(struct smbios_builder *s, const struct smbios_config *c, unsigned n,
                         uint64_t size)
{
    uint64_t mib = (size + MIB - 1) / MIB;
    char loc[24];

    snprintf(loc, sizeof(loc), "DIMM %u", n);
    begin(s, 17, 40, 0x1100 + n);
    put_le(s->b, 0x1000, 2);            /* the array above */
    put_le(s->b, 0xfffe, 2);            /* error information: not provided */
    put_le(s->b, 0xffff, 2);            /* total width: unknown */
    put_le(s->b, 0xffff, 2);            /* data width: unknown */
    put_le(s->b, mib < 0x7fff ? mib : 0x7fff, 2);
    put8(s->b, 0x09);                   /* form factor: DIMM */
    put8(s->b, 0);                      /* device set: none */
    put_string(s, loc);
    put_string(s, NULL);                /* bank locator */
    put8(s->b, 0x07);                   /* memory type: RAM */
    put_le(s->b, 0x02, 2);              /* type detail: other */
    put_le(s->b, 0, 2);                 /* speed: unknown */
    put_string(s, c->manufacturer);
    put_string(s, NULL);                /* serial */
    put_string(s, NULL);                /* asset tag */
    put_string(s, NULL);                /* part number */
    put8(s->b, 0);                      /* attributes */
    put_le(s->b, mib < 0x7fff ? 0 : mib, 4);
    put_le(s->b, 0, 2);                 /* configured speed */
    put_le(s->b, 0, 2);                 /* minimum, maximum, configured voltage */
    put_le(s->b, 0, 2);
    put_le(s->b, 0, 2);
    end(s);
}

/* Type 19, Memory Array Mapped Address (7.20): KiB addresses, the 64-bit
 * extended fields past 4 TiB. */
static void build_type19(struct smbios_builder *s, unsigned n, uint64_t start, uint64_t size)
{
    uint64_t end_addr = start + size - 1;
    bool ext = start / KIB >= UINT32_MAX || end_addr / KIB >= UINT32_MAX;

    begin(s, 19, 31, 0x1300 + n);
    put_le(s->b, ext ? UINT32_MAX : start / KIB, 4);
    put_le(s->b, ext ? UINT32_MAX : end_addr / KIB, 4);
    put_le(s->b, 0x1000, 2);            /* the array */
    put8(s->b, 1);                      /* partition width */
    put_le(s->b, ext ? start : 0, 8);
    put_le(s->b, ext ? end_addr : 0, 8);
    end(s);
}

/* Type 32, System Boot Information (7.33): no errors. */
static void build_type32(struct smbios_builder *s)
{
    begin(s, 32, 11, 0x2000);
    put_le(s->b, 0, 6);                 /* reserved */
    put8(s->b, 0);                      /* boot status: no errors */
    end(s);
}

static void build_type127(struct smbios_builder *s)
{
    begin(s, 127, 4, 0x7f00);
    end(s);
}

/* The 2.1 (32-bit) entry point (5.2.1), for SMBIOS 2.8: the firmware
 * fills the table address and both checksums. */
static GByteArray *build_anchor(const struct smbios_builder *s)
{
    GByteArray *a = g_byte_array_new();

    g_byte_array_append(a, (const guint8 *)"_SM_", 4);
    put8(a, 0);                         /* checksum */
    put8(a, 0x1f);                      /* length */
    put8(a, 2);                         /* major, minor version */
    put8(a, 8);
    put_le(a, s->max_size, 2);
    put8(a, 0);                         /* entry point revision */
    put_le(a, 0, 5);                    /* formatted area */
    g_byte_array_append(a, (const guint8 *)"_DMI_", 5);
    put8(a, 0);                         /* intermediate checksum */
    put_le(a, s->b->len, 2);
    put_le(a, 0, 4);                    /* table address */
    put_le(a, s->count, 2);
    put8(a, 0x28);                      /* BCD revision */
    return a;
}

void smbios_config_pc(struct smbios_config *c)
{
    memset(c, 0, sizeof(*c));
    c->manufacturer = "QEMU";
    c->product = "Standard PC (i440FX + PIIX, 1996)";
    c->version = "pc-i440fx-7.2";
    c->ncpus = c->cores = c->threads = 1;
}

void smbios_build(const struct smbios_config *c, GByteArray **tables, GByteArray **anchor)
{
    struct smbios_builder s = { .b = g_byte_array_new(), .strings = g_ptr_array_new() };
    unsigned per_socket = MAX(c->cores * c->threads, 1u);
    unsigned sockets = MAX((c->ncpus + per_socket - 1) / per_socket, 1u);
    unsigned ndimms = (c->ram_size + DIMM_MAX - 1) / DIMM_MAX;

    if (c->fields && c->fields->type0) {
        build_type0(&s, c);
    }
    build_type1(&s, c);
    if (c->fields && c->fields->type2) {
        build_type2(&s, c);
    }
    build_type3(&s, c);
    for (unsigned i = 0; i < sockets; i++) {
        build_type4(&s, c, i);
    }
    build_type16(&s, c, ndimms);
    for (unsigned i = 0; i < ndimms; i++) {
        build_type17(&s, c, i, i < ndimms - 1 ? DIMM_MAX : (c->ram_size - 1) % DIMM_MAX + 1);
    }
    for (unsigned i = 0; i < c->nmem && i < SMBIOS_MAX_MEM_AREAS; i++) {
        if (c->mem[i].size) {
            build_type19(&s, i, c->mem[i].start, c->mem[i].size);
        }
    }
    build_type32(&s);
    build_type127(&s);
    *anchor = build_anchor(&s);
    *tables = s.b;
    g_ptr_array_free(s.strings, true);
}

/* ---- -smbios ---- */

static const struct {
    unsigned type;
    const char *key;
    enum smbios_field field;
} smbios_keys[] = {
    { 0, "vendor", SMBIOS_T0_VENDOR }, { 0, "version", SMBIOS_T0_VERSION },
    { 0, "date", SMBIOS_T0_DATE },
    { 1, "manufacturer", SMBIOS_T1_MANUFACTURER }, { 1, "product", SMBIOS_T1_PRODUCT },
    { 1, "version", SMBIOS_T1_VERSION }, { 1, "serial", SMBIOS_T1_SERIAL },
    { 1, "sku", SMBIOS_T1_SKU }, { 1, "family", SMBIOS_T1_FAMILY },
    { 2, "manufacturer", SMBIOS_T2_MANUFACTURER }, { 2, "product", SMBIOS_T2_PRODUCT },
    { 2, "version", SMBIOS_T2_VERSION }, { 2, "serial", SMBIOS_T2_SERIAL },
    { 2, "asset", SMBIOS_T2_ASSET }, { 2, "location", SMBIOS_T2_LOCATION },
    { 3, "manufacturer", SMBIOS_T3_MANUFACTURER }, { 3, "version", SMBIOS_T3_VERSION },
    { 3, "serial", SMBIOS_T3_SERIAL }, { 3, "asset", SMBIOS_T3_ASSET },
    { 3, "sku", SMBIOS_T3_SKU },
};

/* The keys of type t besides the string fields. */
static bool smbios_other_key(unsigned t, const char *key)
{
    return !strcmp(key, "type") || (t == 0 && (!strcmp(key, "release") || !strcmp(key, "uefi"))) ||
           (t == 1 && !strcmp(key, "uuid"));
}

static int smbios_field_index(unsigned t, const char *key)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(smbios_keys); i++) {
        if (smbios_keys[i].type == t && !strcmp(smbios_keys[i].key, key)) {
            return smbios_keys[i].field;
        }
    }
    return -1;
}

static bool smbios_parse_uuid(const char *v, uint8_t *out)
{
    static const unsigned groups[] = { 8, 4, 4, 4, 12 };
    unsigned at = 0;

    for (unsigned g = 0; g < G_N_ELEMENTS(groups); g++) {
        for (unsigned i = 0; i < groups[g]; i += 2, v += 2) {
            if (!g_ascii_isxdigit(v[0]) || !g_ascii_isxdigit(v[1])) {
                return false;
            }
            out[at++] = g_ascii_xdigit_value(v[0]) << 4 | g_ascii_xdigit_value(v[1]);
        }
        if (g < G_N_ELEMENTS(groups) - 1 && *v++ != '-') {
            return false;
        }
    }
    return !*v;
}

static int smbios_fail(GError **errp, int code, const char *msg)
{
    g_set_error_literal(errp, HYVM_ERROR, code, msg);
    return -1;
}

int smbios_fields_parse(struct smbios_fields *f, const char *arg, GError **errp)
{
    struct kv_list *kv = kv_parse(arg, NULL, errp);
    struct smbios_fields scratch = { 0 };
    const char *v;
    uint64_t t;
    unsigned major, minor;
    int ret = -1;

    if (!kv) {
        return -1;
    }
    if (!f) {
        f = &scratch;
    }
    v = kv_get(kv, "type");
    if (!v) {
        if (kv_has(kv, "file")) {
            ret = smbios_fail(errp, HYVM_ERROR_UNSUPPORTED,
                              "SMBIOS tables from a file are not supported yet");
        } else {
            ret = smbios_fail(errp, HYVM_ERROR_FAILED, "Must specify type= or file=");
        }
        goto out;
    }
    if (parse_uint(v, &t) < 0 || t > 127) {
        ret = smbios_fail(errp, HYVM_ERROR_FAILED, "out of range!");
        goto out;
    }
    if (t == 4 || t == 11 || t == 17) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "SMBIOS type %u fields are not supported yet", (unsigned)t);
        goto out;
    }
    if (t > 3) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Don't know how to build fields for SMBIOS type %u", (unsigned)t);
        goto out;
    }
    for (unsigned i = 0; i < kv->n; i++) {
        const char *key = kv->items[i].key;

        if (smbios_field_index(t, key) < 0 && !smbios_other_key(t, key)) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Invalid parameter '%s'", key);
            goto out;
        }
    }
    if (t == 0 && (v = kv_get(kv, "uefi")) && !parse_bool(v, &f->uefi)) {
        ret = smbios_fail(errp, HYVM_ERROR_FAILED, "Parameter 'uefi' expects 'on' or 'off'");
        goto out;
    }
    if (t == 0 && (v = kv_get(kv, "release"))) {
        if (sscanf(v, "%u.%u", &major, &minor) != 2 || major > 255 || minor > 255) {
            ret = smbios_fail(errp, HYVM_ERROR_FAILED, "Invalid release");
            goto out;
        }
        f->have_release = true;
        f->major = major;
        f->minor = minor;
    }
    if (t == 1 && (v = kv_get(kv, "uuid"))) {
        if (!smbios_parse_uuid(v, f->uuid)) {
            ret = smbios_fail(errp, HYVM_ERROR_FAILED, "Invalid UUID");
            goto out;
        }
        f->have_uuid = true;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(smbios_keys); i++) {
        if (smbios_keys[i].type == t && (v = kv_get(kv, smbios_keys[i].key))) {
            g_free(f->str[smbios_keys[i].field]);
            f->str[smbios_keys[i].field] = g_strdup(v);
        }
    }
    f->type0 |= t == 0;
    f->type2 |= t == 2;
    ret = 0;
out:
    kv_free(kv);
    if (f == &scratch) {
        smbios_fields_clear(&scratch);
    }
    return ret;
}

void smbios_fields_clear(struct smbios_fields *f)
{
    for (unsigned i = 0; i < SMBIOS_NFIELDS; i++) {
        g_free(f->str[i]);
    }
    memset(f, 0, sizeof(*f));
}
