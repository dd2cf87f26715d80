/*
 * AML encoding (see acpi-aml.h).  Every node keeps the bytes of its own
 * term except the framing that depends on its final size: a framed node
 * (scope, device, method, If, Else, Field, package, buffer) writes its
 * opcode and PkgLength when it is appended to its parent.
 */
#include <string.h>

#include <glib.h>

#include "machine/acpi-aml.h"

/* Opcodes (ACPI 6.5, 20.2). */
#define AML_ZERO_OP         0x00
#define AML_ONE_OP          0x01
#define AML_NAME_OP         0x08
#define AML_BYTE_PREFIX     0x0a
#define AML_WORD_PREFIX     0x0b
#define AML_DWORD_PREFIX    0x0c
#define AML_STRING_PREFIX   0x0d
#define AML_QWORD_PREFIX    0x0e
#define AML_SCOPE_OP        0x10
#define AML_BUFFER_OP       0x11
#define AML_PACKAGE_OP      0x12
#define AML_METHOD_OP       0x14
#define AML_DUAL_NAME       0x2e
#define AML_MULTI_NAME      0x2f
#define AML_EXT_PREFIX      0x5b
#define AML_ROOT_CHAR       0x5c
#define AML_PARENT_CHAR     0x5e
#define AML_LOCAL0          0x60
#define AML_ARG0            0x68
#define AML_STORE_OP        0x70
#define AML_AND_OP          0x7b
#define AML_OR_OP           0x7d
#define AML_NOTIFY_OP       0x86
#define AML_CREATE_DWORD_FIELD_OP 0x8a
#define AML_LEQUAL_OP       0x93
#define AML_LLESS_OP        0x95
#define AML_IF_OP           0xa0
#define AML_ELSE_OP         0xa1
#define AML_RETURN_OP       0xa4
/* After AML_EXT_PREFIX. */
#define AML_OPREGION_OP     0x80
#define AML_FIELD_OP        0x81
#define AML_DEVICE_OP       0x82

/* Small and large resource item tags (6.4.2, 6.4.3). */
#define RES_IRQ_NO_FLAGS    0x22
#define RES_IO              0x47
#define RES_END_TAG         0x79
#define RES_MEMORY32_FIXED  0x86
#define RES_DWORD_ADDRESS   0x87
#define RES_WORD_ADDRESS    0x88
#define RES_EXT_INTERRUPT   0x89
#define RES_QWORD_ADDRESS   0x8a

/* Address space descriptor fields (6.4.3.5.5, table 6.47). */
#define RES_TYPE_MEMORY     0
#define RES_TYPE_IO         1
#define RES_TYPE_BUS        2
#define RES_FLAG_MIN_FIXED  0x04
#define RES_FLAG_MAX_FIXED  0x08
#define RES_IO_ENTIRE_RANGE 0x03
#define RES_MEM_RW          0x01
#define RES_MEM_CACHEABLE   0x02

enum aml_frame {
    AML_FRAME_NONE,     /* bytes as they are */
    AML_FRAME_PKGLEN,   /* op, PkgLength, bytes */
    AML_FRAME_PACKAGE,  /* PackageOp, PkgLength, NumElements, elements */
    AML_FRAME_BUFFER,   /* BufferOp, PkgLength, BufferSize, bytes */
    AML_FRAME_RESOURCE, /* a buffer whose bytes end with an End Tag */
};

struct aml {
    enum aml_frame frame;
    uint8_t op[2];
    unsigned oplen;
    unsigned count;     /* elements appended (packages) */
    GByteArray *buf;    /* the node's bytes; for framed nodes, what follows PkgLength */
    GByteArray *out;    /* aml_bytes()'s encoding */
};

static struct aml *aml_new(enum aml_frame frame, const uint8_t *op, unsigned oplen)
{
    struct aml *a = g_new0(struct aml, 1);

    a->frame = frame;
    if (oplen) {
        memcpy(a->op, op, oplen);
    }
    a->oplen = oplen;
    a->buf = g_byte_array_new();
    return a;
}

static struct aml *aml_raw(void)
{
    return aml_new(AML_FRAME_NONE, NULL, 0);
}

static struct aml *aml_op(uint8_t op)
{
    struct aml *a = aml_raw();

    g_byte_array_append(a->buf, &op, 1);
    return a;
}

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

/*
 * PkgLength (20.2.4): one byte for values up to 63, else a lead byte with
 * the count of following bytes in bits 7:6 and the low nibble of the
 * value, then the rest of the value, 8 bits a byte.
 */
static void put_pkglen_value(GByteArray *b, uint32_t v, unsigned nbytes)
{
    if (nbytes == 1) {
        g_assert(v <= 0x3f);
        put8(b, v);
        return;
    }
    put8(b, ((nbytes - 1) << 6) | (v & 0xf));
    for (unsigned i = 1; i < nbytes; i++) {
        put8(b, v >> (4 + 8 * (i - 1)));
    }
}

/* The PkgLength framing len bytes of body: it counts its own bytes too. */
static void put_pkglen(GByteArray *b, size_t len)
{
    unsigned n;

    if (len + 1 <= 0x3f) {
        n = 1;
    } else if (len + 2 <= 0xfff) {
        n = 2;
    } else if (len + 3 <= 0xfffff) {
        n = 3;
    } else {
        g_assert(len + 4 <= 0xfffffff);
        n = 4;
    }
    put_pkglen_value(b, len + n, n);
}

static void put_int(GByteArray *b, uint64_t v)
{
    if (v <= 1) {
        put8(b, v ? AML_ONE_OP : AML_ZERO_OP);
    } else if (v <= 0xff) {
        put8(b, AML_BYTE_PREFIX);
        put8(b, v);
    } else if (v <= 0xffff) {
        put8(b, AML_WORD_PREFIX);
        put_le(b, v, 2);
    } else if (v <= 0xffffffff) {
        put8(b, AML_DWORD_PREFIX);
        put_le(b, v, 4);
    } else {
        put8(b, AML_QWORD_PREFIX);
        put_le(b, v, 8);
    }
}

static bool name_char_ok(char c, bool first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

/* NameString (20.2.2): root or parent prefixes, then NameSegs. */
static void put_name(GByteArray *b, const char *path)
{
    g_auto(GStrv) segs = NULL;
    unsigned n;

    if (*path == '\\') {
        put8(b, AML_ROOT_CHAR);
        path++;
    }
    while (*path == '^') {
        put8(b, AML_PARENT_CHAR);
        path++;
    }
    if (!*path) {
        put8(b, AML_ZERO_OP);   /* NullName */
        return;
    }
    segs = g_strsplit(path, ".", -1);
    n = g_strv_length(segs);
    g_assert(n >= 1 && n <= 255);
    if (n == 2) {
        put8(b, AML_DUAL_NAME);
    } else if (n > 2) {
        put8(b, AML_MULTI_NAME);
        put8(b, n);
    }
    for (unsigned i = 0; i < n; i++) {
        size_t len = strlen(segs[i]);

        g_assert(len >= 1 && len <= 4);
        for (size_t j = 0; j < 4; j++) {
            char c = j < len ? segs[i][j] : '_';

            g_assert(name_char_ok(c, j == 0));
            put8(b, c);
        }
    }
}

/* Writes a's complete encoding to b. */
static void aml_encode(const struct aml *a, GByteArray *b)
{
    const GByteArray *body = a->buf;
    g_autoptr(GByteArray) tmp = NULL;

    switch (a->frame) {
    case AML_FRAME_NONE:
        g_byte_array_append(b, body->data, body->len);
        return;
    case AML_FRAME_PKGLEN:
        g_byte_array_append(b, a->op, a->oplen);
        put_pkglen(b, body->len);
        g_byte_array_append(b, body->data, body->len);
        return;
    case AML_FRAME_PACKAGE:
        g_assert(a->count <= 0xff);
        put8(b, AML_PACKAGE_OP);
        put_pkglen(b, body->len + 1);
        put8(b, a->count);
        g_byte_array_append(b, body->data, body->len);
        return;
    case AML_FRAME_RESOURCE:
    case AML_FRAME_BUFFER:
        tmp = g_byte_array_new();
        put_int(tmp, body->len + (a->frame == AML_FRAME_RESOURCE ? 2 : 0));
        g_byte_array_append(tmp, body->data, body->len);
        if (a->frame == AML_FRAME_RESOURCE) {
            /* End Tag; a checksum of 0 means "not checked" (6.4.2.9). */
            put8(tmp, RES_END_TAG);
            put8(tmp, 0);
        }
        put8(b, AML_BUFFER_OP);
        put_pkglen(b, tmp->len);
        g_byte_array_append(b, tmp->data, tmp->len);
        return;
    }
}

void aml_append(struct aml *parent, struct aml *child)
{
    aml_encode(child, parent->buf);
    parent->count++;
    aml_free(child);
}

const uint8_t *aml_bytes(const struct aml *a, size_t *len)
{
    struct aml *m = (struct aml *)a;

    if (m->out) {
        g_byte_array_set_size(m->out, 0);
    } else {
        m->out = g_byte_array_new();
    }
    aml_encode(a, m->out);
    *len = m->out->len;
    return m->out->data;
}

void aml_free(struct aml *a)
{
    if (!a) {
        return;
    }
    g_byte_array_unref(a->buf);
    if (a->out) {
        g_byte_array_unref(a->out);
    }
    g_free(a);
}

/* ---- containers ---- */

struct aml *aml_list(void)
{
    return aml_raw();
}

struct aml *aml_scope(const char *name)
{
    static const uint8_t op[] = { AML_SCOPE_OP };
    struct aml *a = aml_new(AML_FRAME_PKGLEN, op, 1);

    put_name(a->buf, name);
    return a;
}

struct aml *aml_device(const char *name)
{
    static const uint8_t op[] = { AML_EXT_PREFIX, AML_DEVICE_OP };
    struct aml *a = aml_new(AML_FRAME_PKGLEN, op, 2);

    put_name(a->buf, name);
    return a;
}

/* MethodFlags (20.2.5.2): ArgCount in bits 2:0, SerializeFlag in bit 3. */
struct aml *aml_method(const char *name, unsigned nargs, bool serialized)
{
    static const uint8_t op[] = { AML_METHOD_OP };
    struct aml *a = aml_new(AML_FRAME_PKGLEN, op, 1);

    g_assert(nargs <= 7);
    put_name(a->buf, name);
    put8(a->buf, nargs | (serialized ? 0x08 : 0));
    return a;
}

struct aml *aml_if(struct aml *predicate)
{
    static const uint8_t op[] = { AML_IF_OP };
    struct aml *a = aml_new(AML_FRAME_PKGLEN, op, 1);

    aml_append(a, predicate);
    return a;
}

struct aml *aml_else(void)
{
    static const uint8_t op[] = { AML_ELSE_OP };

    return aml_new(AML_FRAME_PKGLEN, op, 1);
}

struct aml *aml_package(void)
{
    return aml_new(AML_FRAME_PACKAGE, NULL, 0);
}

struct aml *aml_resource_template(void)
{
    return aml_new(AML_FRAME_RESOURCE, NULL, 0);
}

/* ---- data ---- */

struct aml *aml_int(uint64_t v)
{
    struct aml *a = aml_raw();

    put_int(a->buf, v);
    return a;
}

struct aml *aml_string(const char *s)
{
    struct aml *a = aml_op(AML_STRING_PREFIX);

    g_byte_array_append(a->buf, (const guint8 *)s, strlen(s) + 1);
    return a;
}

static unsigned eisa_letter(char c)
{
    g_assert(c >= 'A' && c <= 'Z');
    return c - 'A' + 1;
}

static unsigned hex_digit(char c)
{
    g_assert(g_ascii_isxdigit(c));
    return g_ascii_xdigit_value(c);
}

/*
 * Three letters of five bits each and four hex digits, stored so that
 * the bytes read in order give the letters first (6.1.5, _HID).
 */
struct aml *aml_eisaid(const char *id)
{
    struct aml *a = aml_op(AML_DWORD_PREFIX);
    unsigned l1, l2, l3;

    g_assert(strlen(id) == 7);
    l1 = eisa_letter(id[0]);
    l2 = eisa_letter(id[1]);
    l3 = eisa_letter(id[2]);
    put8(a->buf, (l1 << 2) | (l2 >> 3));
    put8(a->buf, ((l2 & 7) << 5) | l3);
    put8(a->buf, hex_digit(id[3]) << 4 | hex_digit(id[4]));
    put8(a->buf, hex_digit(id[5]) << 4 | hex_digit(id[6]));
    return a;
}

struct aml *aml_buffer(const uint8_t *data, size_t len)
{
    struct aml *a = aml_new(AML_FRAME_BUFFER, NULL, 0);

    g_byte_array_append(a->buf, data, len);
    return a;
}

struct aml *aml_name(const char *path)
{
    struct aml *a = aml_raw();

    put_name(a->buf, path);
    return a;
}

struct aml *aml_local(unsigned n)
{
    g_assert(n <= 7);
    return aml_op(AML_LOCAL0 + n);
}

struct aml *aml_arg(unsigned n)
{
    g_assert(n <= 6);
    return aml_op(AML_ARG0 + n);
}

/* ---- named objects ---- */

struct aml *aml_name_decl(const char *name, struct aml *value)
{
    struct aml *a = aml_op(AML_NAME_OP);

    put_name(a->buf, name);
    aml_append(a, value);
    return a;
}

struct aml *aml_operation_region(const char *name, enum aml_region_space space,
                                 uint64_t offset, uint64_t len)
{
    struct aml *a = aml_op(AML_EXT_PREFIX);

    put8(a->buf, AML_OPREGION_OP);
    put_name(a->buf, name);
    put8(a->buf, space);
    put_int(a->buf, offset);
    put_int(a->buf, len);
    return a;
}

/* FieldFlags (20.2.5.2): AccessType in bits 3:0, LockRule bit 4 (NoLock
 * here), UpdateRule in bits 6:5. */
struct aml *aml_field(const char *region, enum aml_field_access access,
                      enum aml_field_update update)
{
    static const uint8_t op[] = { AML_EXT_PREFIX, AML_FIELD_OP };
    struct aml *a = aml_new(AML_FRAME_PKGLEN, op, 2);

    put_name(a->buf, region);
    put8(a->buf, access | update << 5);
    return a;
}

/* NamedField := NameSeg PkgLength; ReservedField := 0x00 PkgLength; the
 * PkgLength holds the width in bits. */
void aml_field_unit(struct aml *field, const char *name, unsigned bits)
{
    unsigned n = bits <= 0x3f ? 1 : bits <= 0xfff ? 2 : bits <= 0xfffff ? 3 : 4;

    if (name) {
        g_assert(strlen(name) == 4);
        put_name(field->buf, name);
    } else {
        put8(field->buf, 0);
    }
    put_pkglen_value(field->buf, bits, n);
}

/* ---- operators ---- */

static struct aml *aml_op2(uint8_t op, struct aml *a, struct aml *b)
{
    struct aml *r = aml_op(op);

    aml_append(r, a);
    aml_append(r, b);
    return r;
}

static struct aml *aml_op2_target(uint8_t op, struct aml *a, struct aml *b,
                                  struct aml *target)
{
    struct aml *r = aml_op2(op, a, b);

    if (target) {
        aml_append(r, target);
    } else {
        put8(r->buf, AML_ZERO_OP);   /* NullName: no target */
    }
    return r;
}

struct aml *aml_store(struct aml *src, struct aml *dst)
{
    return aml_op2(AML_STORE_OP, src, dst);
}

struct aml *aml_return(struct aml *value)
{
    struct aml *r = aml_op(AML_RETURN_OP);

    aml_append(r, value);
    return r;
}

struct aml *aml_and(struct aml *a, struct aml *b, struct aml *target)
{
    return aml_op2_target(AML_AND_OP, a, b, target);
}

struct aml *aml_or(struct aml *a, struct aml *b, struct aml *target)
{
    return aml_op2_target(AML_OR_OP, a, b, target);
}

struct aml *aml_lequal(struct aml *a, struct aml *b)
{
    return aml_op2(AML_LEQUAL_OP, a, b);
}

struct aml *aml_lless(struct aml *a, struct aml *b)
{
    return aml_op2(AML_LLESS_OP, a, b);
}

struct aml *aml_notify(struct aml *object, struct aml *value)
{
    return aml_op2(AML_NOTIFY_OP, object, value);
}

struct aml *aml_create_dword_field(struct aml *buffer, struct aml *index, const char *name)
{
    struct aml *r = aml_op2(AML_CREATE_DWORD_FIELD_OP, buffer, index);

    put_name(r->buf, name);
    return r;
}

/* ---- resource descriptors ---- */

struct aml *aml_io(uint16_t base, uint8_t align, uint8_t len)
{
    struct aml *a = aml_op(RES_IO);

    put8(a->buf, 0x01);         /* decodes 16 address bits */
    put_le(a->buf, base, 2);
    put_le(a->buf, base, 2);
    put8(a->buf, align);
    put8(a->buf, len);
    return a;
}

struct aml *aml_irq_no_flags(unsigned irq)
{
    struct aml *a = aml_op(RES_IRQ_NO_FLAGS);

    g_assert(irq < 16);
    put_le(a->buf, 1u << irq, 2);
    return a;
}

struct aml *aml_memory32_fixed(uint32_t base, uint32_t len, bool read_write)
{
    struct aml *a = aml_op(RES_MEMORY32_FIXED);

    put_le(a->buf, 9, 2);
    put8(a->buf, read_write ? 1 : 0);
    put_le(a->buf, base, 4);
    put_le(a->buf, len, 4);
    return a;
}

/* Interrupt vector flags (6.4.3.6): bit 0 consumer, bit 1 edge, bit 2
 * active low, bit 3 shared. */
struct aml *aml_interrupt(bool level, bool active_low, bool shared,
                          const uint32_t *gsi, unsigned n)
{
    struct aml *a = aml_op(RES_EXT_INTERRUPT);

    g_assert(n >= 1 && n <= 255);
    put_le(a->buf, 2 + 4 * n, 2);
    put8(a->buf, 0x01 | (level ? 0 : 0x02) | (active_low ? 0x04 : 0) | (shared ? 0x08 : 0));
    put8(a->buf, n);
    for (unsigned i = 0; i < n; i++) {
        put_le(a->buf, gsi[i], 4);
    }
    return a;
}

/*
 * An address space descriptor of width bytes per field: granularity 0,
 * [min, max], no translation, length max - min + 1; the range is produced
 * (general flags bit 0 clear) with fixed ends.
 */
static struct aml *aml_address(uint8_t tag, unsigned width, uint8_t type, uint8_t type_flags,
                               uint64_t min, uint64_t max)
{
    struct aml *a = aml_op(tag);

    put_le(a->buf, 3 + 5 * width, 2);
    put8(a->buf, type);
    put8(a->buf, RES_FLAG_MIN_FIXED | RES_FLAG_MAX_FIXED);
    put8(a->buf, type_flags);
    put_le(a->buf, 0, width);
    put_le(a->buf, min, width);
    put_le(a->buf, max, width);
    put_le(a->buf, 0, width);
    put_le(a->buf, max - min + 1, width);
    return a;
}

struct aml *aml_word_bus_number(uint16_t min, uint16_t max)
{
    return aml_address(RES_WORD_ADDRESS, 2, RES_TYPE_BUS, 0, min, max);
}

struct aml *aml_word_io(uint16_t min, uint16_t max)
{
    return aml_address(RES_WORD_ADDRESS, 2, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, min, max);
}

struct aml *aml_dword_memory(uint32_t min, uint32_t max, bool cacheable)
{
    return aml_address(RES_DWORD_ADDRESS, 4, RES_TYPE_MEMORY,
                       RES_MEM_RW | (cacheable ? RES_MEM_CACHEABLE : 0), min, max);
}

struct aml *aml_qword_memory(uint64_t min, uint64_t max, bool cacheable)
{
    return aml_address(RES_QWORD_ADDRESS, 8, RES_TYPE_MEMORY,
                       RES_MEM_RW | (cacheable ? RES_MEM_CACHEABLE : 0), min, max);
}
