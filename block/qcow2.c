/*
 * The qcow2 format driver (QEMU's docs/interop/qcow2.txt): probe, open (v2 and
 * v3 headers and extensions), header updates, and the I/O callbacks: reads
 * through L1/L2 to data, zero, compressed or backing clusters; writes with
 * copy-on-write of partial clusters; zero writes, discard, compressed writes.
 *
 * Threads: I/O callbacks may run on several threads at once.  s->lock guards
 * all metadata; it is dropped for data I/O on clusters that are already ours
 * (NORMAL with COPIED) and for reads.  Allocating writes hold it throughout, so
 * a cluster is mapped only after its data is in the file.  open/close and the
 * other non-I/O callbacks run alone (block.h).
 *
 * Errors: messages as QEMU's where users see them (qemu-img info/check).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"

/* Largest run one allocating write handles at once. */
#define QCOW2_MAX_ALLOC_RUN (8u << 20)

/* ---- iovec helpers ---- */

/* The part [off, off+len) of a vector, as a new array (g_free it). */
static struct iovec *iov_slice(const struct iovec *iov, int niov, uint64_t off, uint64_t len,
                               int *nout)
{
    struct iovec *out = g_new(struct iovec, niov > 0 ? niov : 1);
    int n = 0;

    for (int i = 0; i < niov && len; i++) {
        uint64_t l = iov[i].iov_len;

        if (off >= l) {
            off -= l;
            continue;
        }
        out[n].iov_base = (uint8_t *)iov[i].iov_base + off;
        out[n].iov_len = MIN(l - off, len);
        len -= out[n].iov_len;
        off = 0;
        n++;
    }
    *nout = n;
    return out;
}

static void iov_fill(const struct iovec *iov, int niov, uint64_t off, uint64_t len,
                     const uint8_t *src)
{
    for (int i = 0; i < niov && len; i++) {
        uint64_t l = iov[i].iov_len, n;

        if (off >= l) {
            off -= l;
            continue;
        }
        n = MIN(l - off, len);
        if (src) {
            memcpy((uint8_t *)iov[i].iov_base + off, src, n);
            src += n;
        } else {
            memset((uint8_t *)iov[i].iov_base + off, 0, n);
        }
        len -= n;
        off = 0;
    }
}

/* ---- Corruption, dirty and corrupt bits ---- */

void qcow2_signal_corruption(struct bdrv *bs, bool fatal, const char *fmt, ...)
{
    struct qcow2_state *s = bs->opaque;
    g_autofree char *msg = NULL;
    va_list ap;

    if (s->signaled_corruption &&
        (!fatal || (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT))) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (fatal) {
        fprintf(stderr, "qcow2: Marking image as corrupt: %s; further corruption events will "
                "be suppressed\n", msg);
        if (!s->read_only) {
            qcow2_mark_corrupt(bs);
        }
    } else {
        fprintf(stderr, "qcow2: Image is corrupt: %s; further non-fatal corruption events "
                "will be suppressed\n", msg);
    }
    s->signaled_corruption = true;
}

static int write_incompat(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    uint8_t buf[8];

    qcow2_st64(buf, s->incompatible_features);
    return bdrv_pwrite(bs->file, QCOW2_HDR_INCOMPATIBLE, buf, 8);
}

int qcow2_mark_dirty(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    int ret;

    if (s->version < 3 || (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        s->dirty_marked = s->version >= 3;
        return 0;
    }
    ret = bdrv_flush(bs->file);
    if (ret < 0) {
        return ret;
    }
    s->incompatible_features |= QCOW2_INCOMPAT_DIRTY;
    ret = write_incompat(bs);
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret < 0) {
        return ret;
    }
    s->dirty_marked = true;
    return 0;
}

int qcow2_mark_clean(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    int ret;

    if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    ret = qcow2_writeback(bs);
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret < 0) {
        return ret;
    }
    s->incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
    ret = write_incompat(bs);
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    s->dirty_marked = false;
    return ret;
}

int qcow2_mark_corrupt(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    s->incompatible_features |= QCOW2_INCOMPAT_CORRUPT;
    if (s->version < 3) {
        return 0;
    }
    return write_incompat(bs);
}

int qcow2_mark_consistent(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    if (!(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
        return 0;
    }
    s->incompatible_features &= ~QCOW2_INCOMPAT_CORRUPT;
    return write_incompat(bs);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

/* The metadata [offset, offset+size) of the file would overwrite, named as
 * QEMU names it, or NULL.  Every structure the open image knows is looked
 * at: the tables in memory say where the L2 tables and refcount blocks are,
 * so no I/O is needed (QEMU's "cached" overlap-check mode). */
static const char *qcow2_overlap(struct bdrv *bs, unsigned ignore, uint64_t offset,
                                 uint64_t size)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t cs = s->cluster_size;

    if (!(ignore & QCOW2_OL_HEADER) && ranges_overlap(offset, size, 0, cs)) {
        return "qcow2_header";
    }
    if (!(ignore & QCOW2_OL_ACTIVE_L1) &&
        ranges_overlap(offset, size, s->l1_table_offset, (uint64_t)s->l1_size * 8)) {
        return "active L1 table";
    }
    if (!(ignore & QCOW2_OL_REFCOUNT_TABLE) &&
        ranges_overlap(offset, size, s->refcount_table_offset,
                       (uint64_t)s->refcount_table_clusters << s->cluster_bits)) {
        return "refcount table";
    }
    if (!(ignore & QCOW2_OL_SNAPSHOT_TABLE) &&
        ranges_overlap(offset, size, s->snapshots_offset, s->snapshots_size)) {
        return "snapshot table";
    }
    for (uint32_t i = 0; !(ignore & QCOW2_OL_INACTIVE_L1) && s->snapshots &&
                         i < s->nb_snapshots; i++) {
        if (ranges_overlap(offset, size, s->snapshots[i].l1_table_offset,
                           (uint64_t)s->snapshots[i].l1_size * 8)) {
            return "inactive L1 table";
        }
    }
    for (uint32_t i = 0; !(ignore & QCOW2_OL_ACTIVE_L2) && i < s->l1_size; i++) {
        uint64_t l2 = s->l1_table[i] & L1E_OFFSET_MASK;

        if (l2 && ranges_overlap(offset, size, l2, cs)) {
            return "active L2 table";
        }
    }
    for (uint64_t i = 0; !(ignore & QCOW2_OL_REFCOUNT_BLOCK) && i < s->refcount_table_size;
         i++) {
        uint64_t rb = s->refcount_table[i] & REFT_OFFSET_MASK;

        if (rb && ranges_overlap(offset, size, rb, cs)) {
            return "refcount block";
        }
    }
    return NULL;
}

int qcow2_pre_write_check(struct bdrv *bs, unsigned ignore, uint64_t offset, uint64_t size)
{
    const char *what = qcow2_overlap(bs, ignore, offset, size);

    if (!what) {
        return 0;
    }
    qcow2_signal_corruption(bs, true, "Preventing invalid write on metadata (overlaps with %s)",
                            what);
    return -EIO;
}

int qcow2_free_deferred(struct bdrv *bs, uint64_t l2_entry)
{
    struct qcow2_state *s = bs->opaque;

    if (!(l2_entry & (L2E_OFFSET_MASK | QCOW_OFLAG_COMPRESSED))) {
        return 0;
    }
    if (!s->pending_frees) {
        s->pending_frees = g_array_new(false, false, sizeof(uint64_t));
    }
    g_array_append_val(s->pending_frees, l2_entry);
    /* Bound the clusters held back (the file grows meanwhile). */
    return s->pending_frees->len >= 4096 ? qcow2_writeback(bs) : 0;
}

int qcow2_writeback(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    unsigned n = s->pending_frees ? s->pending_frees->len : 0;
    int ret;

    if (s->read_only) {
        return 0;
    }
    /* The L2 cache flushes the file before writing a dirty table. */
    ret = qcow2_cache_flush(bs, s->l2_cache);
    if (ret == 0 && n) {
        /* The cleared entries are stable before the refcounts drop. */
        ret = bdrv_flush(bs->file);
        for (unsigned i = 0; i < n && ret == 0; i++) {
            ret = qcow2_free_any_cluster(bs, g_array_index(s->pending_frees, uint64_t, i));
        }
        if (ret == 0) {
            g_array_set_size(s->pending_frees, 0);
        }
    }
    return ret < 0 ? ret : qcow2_cache_flush(bs, s->refcount_cache);
}

/* ---- Header ---- */

static const struct qcow2_feature qcow2_known_features[] = {
    { QCOW2_FEAT_INCOMPATIBLE, 0, "dirty bit" },
    { QCOW2_FEAT_INCOMPATIBLE, 1, "corrupt bit" },
    { QCOW2_FEAT_INCOMPATIBLE, 2, "external data file" },
    { QCOW2_FEAT_INCOMPATIBLE, 3, "compression type" },
    { QCOW2_FEAT_INCOMPATIBLE, 4, "extended L2 entries" },
    { QCOW2_FEAT_COMPATIBLE, 0, "lazy refcounts" },
    { QCOW2_FEAT_AUTOCLEAR, 0, "bitmaps" },
    { QCOW2_FEAT_AUTOCLEAR, 1, "raw external data" },
};

/* Appends one extension (type, length, data padded to 8) at *pos; false if full. */
static bool put_ext(uint8_t *buf, size_t cap, size_t *pos, uint32_t type, const void *data,
                    uint32_t len)
{
    size_t padded = ((size_t)len + 7) & ~(size_t)7;

    if (*pos + 8 + padded > cap) {
        return false;
    }
    qcow2_st32(buf + *pos, type);
    qcow2_st32(buf + *pos + 4, len);
    memset(buf + *pos + 8, 0, padded);
    if (len) {
        memcpy(buf + *pos + 8, data, len);
    }
    *pos += 8 + padded;
    return true;
}

int qcow2_update_header(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    size_t cap = s->cluster_size, pos, blen = strlen(bs->backing_file);
    g_autofree uint8_t *buf = g_malloc0(cap);
    uint32_t hlen = s->version >= 3 ? QCOW2_HDR_V3_LENGTH + s->unknown_header_fields_size
                                    : QCOW2_HDR_V2_LENGTH;
    int ret;

    if (hlen > cap) {
        return -ENOSPC;
    }
    qcow2_st32(buf + QCOW2_HDR_MAGIC, QCOW2_MAGIC);
    qcow2_st32(buf + QCOW2_HDR_VERSION, s->version);
    qcow2_st32(buf + QCOW2_HDR_CLUSTER_BITS, s->cluster_bits);
    qcow2_st64(buf + QCOW2_HDR_SIZE, s->size);
    qcow2_st32(buf + QCOW2_HDR_CRYPT_METHOD, s->crypt_method);
    qcow2_st32(buf + QCOW2_HDR_L1_SIZE, s->l1_size);
    qcow2_st64(buf + QCOW2_HDR_L1_TABLE_OFFSET, s->l1_table_offset);
    qcow2_st64(buf + QCOW2_HDR_REFCOUNT_TABLE_OFFSET, s->refcount_table_offset);
    qcow2_st32(buf + QCOW2_HDR_REFCOUNT_TABLE_CLUSTERS, s->refcount_table_clusters);
    qcow2_st32(buf + QCOW2_HDR_NB_SNAPSHOTS, s->nb_snapshots);
    qcow2_st64(buf + QCOW2_HDR_SNAPSHOTS_OFFSET, s->nb_snapshots ? s->snapshots_offset : 0);
    if (s->version >= 3) {
        qcow2_st64(buf + QCOW2_HDR_INCOMPATIBLE, s->incompatible_features);
        qcow2_st64(buf + QCOW2_HDR_COMPATIBLE, s->compatible_features);
        qcow2_st64(buf + QCOW2_HDR_AUTOCLEAR, s->autoclear_features);
        qcow2_st32(buf + QCOW2_HDR_REFCOUNT_ORDER, s->refcount_order);
        qcow2_st32(buf + QCOW2_HDR_HEADER_LENGTH, hlen);
        buf[QCOW2_HDR_COMPRESSION_TYPE] = s->compression_type;
        if (s->unknown_header_fields_size) {
            memcpy(buf + QCOW2_HDR_V3_LENGTH, s->unknown_header_fields,
                   s->unknown_header_fields_size);
        }
    }
    pos = hlen;
    if (blen && bs->backing_format[0] &&
        !put_ext(buf, cap, &pos, QCOW2_EXT_BACKING_FORMAT, bs->backing_format,
                 (uint32_t)strlen(bs->backing_format))) {
        return -ENOSPC;
    }
    /* As QEMU: no feature table with clusters of 4k and less, where its 392
     * bytes would leave too little room for a backing file name. */
    if (s->version >= 3 && s->cluster_size > 4096) {
        uint8_t ft[G_N_ELEMENTS(qcow2_known_features) * QCOW2_FEATURE_ENTRY_SIZE] = { 0 };

        for (unsigned i = 0; i < G_N_ELEMENTS(qcow2_known_features); i++) {
            uint8_t *e = ft + i * QCOW2_FEATURE_ENTRY_SIZE;

            e[0] = qcow2_known_features[i].type;
            e[1] = qcow2_known_features[i].bit;
            strncpy((char *)e + 2, qcow2_known_features[i].name, QCOW2_FEATURE_NAME_SIZE);
        }
        if (!put_ext(buf, cap, &pos, QCOW2_EXT_FEATURE_TABLE, ft, sizeof(ft))) {
            return -ENOSPC;
        }
    }
    for (unsigned i = 0; i < s->nb_unknown_exts; i++) {
        struct qcow2_unknown_ext *u = &s->unknown_exts[i];

        if (!put_ext(buf, cap, &pos, u->type, u->data, u->len)) {
            return -ENOSPC;
        }
    }
    if (!put_ext(buf, cap, &pos, QCOW2_EXT_END, NULL, 0)) {
        return -ENOSPC;
    }
    if (blen) {
        if (blen > QCOW2_MAX_BACKING_FILE_NAME || pos + blen > cap) {
            return -ENOSPC;
        }
        memcpy(buf + pos, bs->backing_file, blen);
        qcow2_st64(buf + QCOW2_HDR_BACKING_FILE_OFFSET, pos);
        qcow2_st32(buf + QCOW2_HDR_BACKING_FILE_SIZE, (uint32_t)blen);
        s->backing_file_offset = pos;
        s->backing_file_size = (uint32_t)blen;
        pos += blen;
    } else {
        s->backing_file_offset = 0;
        s->backing_file_size = 0;
    }
    ret = bdrv_pwrite(bs->file, 0, buf, cap);
    if (ret == 0) {
        s->header_length = hlen;
    }
    return ret;
}

/* After a fatal corruption nothing is written but by check's repairs (QEMU
 * likewise turns the node read-only). */
static bool writes_refused(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    return (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) &&
           !(s->open_flags & BDRV_O_CHECK);
}

/* ---- Probe and open ---- */

static int qcow2_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename;
    /* Version 1 too: QEMU's qcow driver would take it; here open names it
     * rather than the probe guessing raw. */
    if (len >= 8 && qcow2_ld32(buf) == QCOW2_MAGIC && qcow2_ld32(buf + 4) >= 1) {
        return 100;
    }
    return 0;
}

/* QEMU's qcow2_validate_table: entries of entry_len at offset. */
static int validate_table(struct qcow2_state *s, uint64_t offset, uint64_t entries,
                          uint64_t entry_len, uint64_t max_bytes, const char *name,
                          GError **errp)
{
    if (entries > max_bytes / entry_len) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s too large", name);
        return -EFBIG;
    }
    if (INT64_MAX - entries * entry_len < offset || qcow2_offset_into_cluster(s, offset)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s offset invalid", name);
        return -EINVAL;
    }
    return 0;
}

static void unsupported_features(struct qcow2_state *s, uint64_t mask, GError **errp)
{
    GString *str = g_string_new(NULL);

    for (unsigned i = 0; i < s->nb_features; i++) {
        struct qcow2_feature *f = &s->features[i];

        if (f->type == QCOW2_FEAT_INCOMPATIBLE && f->bit < 64 && (mask & (1ull << f->bit))) {
            g_string_append_printf(str, "%s%s", str->len ? ", " : "", f->name);
            mask &= ~(1ull << f->bit);
        }
    }
    if (mask) {
        g_string_append_printf(str, "%sUnknown incompatible feature: %" PRIx64,
                               str->len ? ", " : "", mask);
    }
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Unsupported qcow2 feature(s): %s",
                str->str);
    g_string_free(str, true);
}

static int read_extensions(struct bdrv *bs, const uint8_t *hdr, uint64_t start, uint64_t end,
                           GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t pos = start;

    while (pos < end) {
        uint32_t type, len;
        const uint8_t *data;

        if (end - pos < 8) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "qcow2_read_extension: ERROR: pread fail from offset %" PRIu64, pos);
            return -EINVAL;
        }
        type = qcow2_ld32(hdr + pos);
        len = qcow2_ld32(hdr + pos + 4);
        pos += 8;
        if (len > end - pos) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Header extension too large");
            return -EINVAL;
        }
        data = hdr + pos;
        switch (type) {
        case QCOW2_EXT_END:
            return 0;
        case QCOW2_EXT_BACKING_FORMAT:
            if (len >= sizeof(bs->backing_format)) {
                g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                            "ERROR: ext_backing_format: len=%" PRIu32 " too large (>=%zu)",
                            len, sizeof(bs->backing_format));
                return -EINVAL;
            }
            memcpy(bs->backing_format, data, len);
            bs->backing_format[len] = 0;
            break;
        case QCOW2_EXT_FEATURE_TABLE:
            g_free(s->features);
            s->nb_features = len / QCOW2_FEATURE_ENTRY_SIZE;
            s->features = g_new0(struct qcow2_feature, MAX(s->nb_features, 1u));
            for (unsigned i = 0; i < s->nb_features; i++) {
                const uint8_t *e = data + i * QCOW2_FEATURE_ENTRY_SIZE;

                s->features[i].type = e[0];
                s->features[i].bit = e[1];
                memcpy(s->features[i].name, e + 2, QCOW2_FEATURE_NAME_SIZE);
            }
            break;
        case QCOW2_EXT_CRYPTO_HEADER:
            break; /* encryption is refused before this matters */
        default:
            /* Unknown, bitmaps, data file name: kept verbatim for header rewrites. */
            if (type == QCOW2_EXT_BITMAPS) {
                s->has_bitmaps_ext = true;
            }
            s->unknown_exts = g_renew(struct qcow2_unknown_ext, s->unknown_exts,
                                      s->nb_unknown_exts + 1);
            s->unknown_exts[s->nb_unknown_exts++] = (struct qcow2_unknown_ext){
                .type = type, .len = len, .data = g_memdup2(data, len) };
            break;
        }
        pos += ((uint64_t)len + 7) & ~7ull;
    }
    return 0;
}

static void qcow2_free_state(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    qcow2_free_snapshots(s);
    qcow2_cache_destroy(s->l2_cache);
    qcow2_cache_destroy(s->refcount_cache);
    s->l2_cache = s->refcount_cache = NULL;
    qcow2_refcount_close(bs);
    g_free(s->l1_table);
    s->l1_table = NULL;
    g_free(s->features);
    s->features = NULL;
    for (unsigned i = 0; i < s->nb_unknown_exts; i++) {
        g_free(s->unknown_exts[i].data);
    }
    g_free(s->unknown_exts);
    s->unknown_exts = NULL;
    s->nb_unknown_exts = 0;
    if (s->pending_frees) {
        g_array_free(s->pending_frees, true);
        s->pending_frees = NULL;
    }
    g_free(s->unknown_header_fields);
    s->unknown_header_fields = NULL;
}

#define OPEN_FAIL(code, ...)                                                      \
    do {                                                                          \
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, __VA_ARGS__);         \
        return (code);                                                            \
    } while (0)

/* Header fields into s, validated (QEMU's qcow2_do_open order and wording). */
static int parse_header(struct bdrv *bs, const uint8_t *h, size_t hsize, int flags,
                        uint64_t *ext_end, GError **errp)
{
    struct qcow2_state *s = bs->opaque;

    if (qcow2_ld32(h) != QCOW2_MAGIC) {
        OPEN_FAIL(-EINVAL, "Image is not in qcow2 format");
    }
    s->version = qcow2_ld32(h + QCOW2_HDR_VERSION);
    if (s->version == 1) {
        /* QEMU's older "qcow" format: recognised, so never taken for raw. */
        OPEN_FAIL(-ENOTSUP, "The old qcow (version 1) format is not supported; convert it "
                  "with qemu-img convert -O qcow2");
    }
    if (s->version < 2 || s->version > 3) {
        OPEN_FAIL(-ENOTSUP, "Unsupported qcow2 version %" PRIu32, s->version);
    }
    s->cluster_bits = qcow2_ld32(h + QCOW2_HDR_CLUSTER_BITS);
    if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        OPEN_FAIL(-EINVAL, "Unsupported cluster size: 2^%" PRIu32, s->cluster_bits);
    }
    s->cluster_size = 1u << s->cluster_bits;
    if (hsize < s->cluster_size && hsize < QCOW2_HDR_V3_LENGTH) {
        OPEN_FAIL(-EINVAL, "Image is not in qcow2 format");
    }
    if (s->version == 2) {
        s->incompatible_features = s->compatible_features = s->autoclear_features = 0;
        s->refcount_order = 4;
        s->header_length = QCOW2_HDR_V2_LENGTH;
    } else {
        s->incompatible_features = qcow2_ld64(h + QCOW2_HDR_INCOMPATIBLE);
        s->compatible_features = qcow2_ld64(h + QCOW2_HDR_COMPATIBLE);
        s->autoclear_features = qcow2_ld64(h + QCOW2_HDR_AUTOCLEAR);
        s->refcount_order = qcow2_ld32(h + QCOW2_HDR_REFCOUNT_ORDER);
        s->header_length = qcow2_ld32(h + QCOW2_HDR_HEADER_LENGTH);
        if (s->header_length < QCOW2_HDR_V3_MIN_LENGTH) {
            OPEN_FAIL(-EINVAL, "qcow2 header too short");
        }
    }
    if (s->header_length > s->cluster_size) {
        OPEN_FAIL(-EINVAL, "qcow2 header exceeds cluster size");
    }
    if (s->header_length > QCOW2_HDR_V3_LENGTH) {
        /* Fields of later versions: kept as they are on header rewrites. */
        s->unknown_header_fields_size = s->header_length - QCOW2_HDR_V3_LENGTH;
        s->unknown_header_fields = g_memdup2(h + QCOW2_HDR_V3_LENGTH,
                                             s->unknown_header_fields_size);
    }
    s->backing_file_offset = qcow2_ld64(h + QCOW2_HDR_BACKING_FILE_OFFSET);
    s->backing_file_size = qcow2_ld32(h + QCOW2_HDR_BACKING_FILE_SIZE);
    if (s->backing_file_offset > s->cluster_size) {
        OPEN_FAIL(-EINVAL, "Invalid backing file offset");
    }
    *ext_end = s->backing_file_offset ? s->backing_file_offset : s->cluster_size;
    s->compression_type = s->header_length > QCOW2_HDR_COMPRESSION_TYPE
                              ? h[QCOW2_HDR_COMPRESSION_TYPE] : QCOW2_COMPRESSION_ZLIB;
    if (s->compression_type > QCOW2_COMPRESSION_ZSTD) {
        OPEN_FAIL(-ENOTSUP, "qcow2: unknown compression type: %u", s->compression_type);
    }
    if (s->compression_type == QCOW2_COMPRESSION_ZLIB &&
        (s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION)) {
        OPEN_FAIL(-EINVAL, "qcow2: Compression type incompatible feature bit must not be set");
    }
    if (s->compression_type != QCOW2_COMPRESSION_ZLIB &&
        !(s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION)) {
        OPEN_FAIL(-EINVAL, "qcow2: Compression type incompatible feature bit must be set");
    }
    if (s->incompatible_features & ~QCOW2_INCOMPAT_KNOWN) {
        /* External data files land here too: we do not support them. */
        read_extensions(bs, h, s->header_length, *ext_end, NULL);
        unsupported_features(s, s->incompatible_features & ~QCOW2_INCOMPAT_KNOWN, errp);
        return -ENOTSUP;
    }
    if ((s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) && (flags & BDRV_O_RDWR) &&
        !(flags & BDRV_O_CHECK)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_ACCES,
                    "qcow2: Image is corrupt; cannot be opened read/write");
        return -EACCES;
    }
    s->extended_l2 = (s->incompatible_features & QCOW2_INCOMPAT_EXTL2) != 0;
    s->subcluster_size = s->cluster_size / (s->extended_l2 ? QCOW2_SUBCLUSTERS : 1);
    s->subcluster_bits = (uint32_t)__builtin_ctz(s->subcluster_size);
    if (s->subcluster_size < 512) {
        OPEN_FAIL(-EINVAL, "Unsupported subcluster size: %" PRIu32, s->subcluster_size);
    }
    if (s->refcount_order > QCOW2_MAX_REFCOUNT_ORDER) {
        OPEN_FAIL(-EINVAL, "Reference count entry width too large; may not exceed 64 bits");
    }
    s->refcount_bits = 1u << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX : (1ull << s->refcount_bits) - 1;
    s->crypt_method = qcow2_ld32(h + QCOW2_HDR_CRYPT_METHOD);
    if (s->crypt_method == QCOW2_CRYPT_AES) {
        OPEN_FAIL(-ENOSYS, "Use of AES-CBC encrypted qcow2 images is no longer supported in "
                  "system emulators");
    }
    if (s->crypt_method) {
        OPEN_FAIL(-ENOTSUP, "Encrypted qcow2 images (crypt method %" PRIu32
                  ") are not supported", s->crypt_method);
    }
    s->l2_entry_size = s->extended_l2 ? 16 : 8;
    s->l2_bits = s->cluster_bits - (uint32_t)__builtin_ctz(s->l2_entry_size);
    s->l2_size = 1u << s->l2_bits;
    s->refcount_block_bits = s->cluster_bits + 3 - s->refcount_order;
    s->refcount_block_size = 1u << s->refcount_block_bits;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (1ull << s->csize_shift) - 1;
    s->size = qcow2_ld64(h + QCOW2_HDR_SIZE);
    s->l1_size = qcow2_ld32(h + QCOW2_HDR_L1_SIZE);
    s->l1_table_offset = qcow2_ld64(h + QCOW2_HDR_L1_TABLE_OFFSET);
    s->refcount_table_offset = qcow2_ld64(h + QCOW2_HDR_REFCOUNT_TABLE_OFFSET);
    s->refcount_table_clusters = qcow2_ld32(h + QCOW2_HDR_REFCOUNT_TABLE_CLUSTERS);
    s->nb_snapshots = qcow2_ld32(h + QCOW2_HDR_NB_SNAPSHOTS);
    s->snapshots_offset = qcow2_ld64(h + QCOW2_HDR_SNAPSHOTS_OFFSET);
    return 0;
}

/*
 * A writer must be able to trust the refcounts: a refcount table or block
 * past the file's end (reads as zeroes: every cluster free) or on the header
 * would hand out clusters that are in use, or grow the file to wherever the
 * bad offset points.  Such an image is marked corrupt, so it opens for
 * reading and for check -r all, and writes are refused (QEMU refuses them at
 * the first write that would land on metadata).
 */
static void check_refcount_structure(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    int64_t flen = bdrv_length(bs->file);
    uint64_t tbytes = (uint64_t)s->refcount_table_clusters << s->cluster_bits;

    if (flen < 0) {
        return;
    }
    if (s->refcount_table_offset < s->cluster_size ||
        s->refcount_table_offset > (uint64_t)flen ||
        tbytes > (uint64_t)flen - s->refcount_table_offset) {
        qcow2_signal_corruption(bs, true, "Refcount table offset %#" PRIx64
                                " outside the image file", s->refcount_table_offset);
        return;
    }
    for (uint64_t i = 0; i < s->refcount_table_size; i++) {
        uint64_t rb = s->refcount_table[i] & REFT_OFFSET_MASK;

        if (rb && (rb < s->cluster_size || rb >= (uint64_t)flen ||
                   qcow2_offset_into_cluster(s, rb))) {
            qcow2_signal_corruption(bs, true, "Refblock offset %#" PRIx64 " unaligned or "
                                    "outside the image file (reftable index: %#" PRIx64 ")",
                                    rb, i);
            return;
        }
    }
}

static int check_tables(struct bdrv *bs, int flags, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t l1_needed;
    int ret;

    if (s->refcount_table_clusters == 0 && !(flags & BDRV_O_CHECK)) {
        OPEN_FAIL(-EINVAL, "Image does not contain a reference count table");
    }
    ret = validate_table(s, s->refcount_table_offset, s->refcount_table_clusters,
                         s->cluster_size, QCOW2_MAX_REFTABLE_BYTES, "Reference count table",
                         errp);
    if (ret < 0) {
        return ret;
    }
    if (!(flags & BDRV_O_CHECK)) {
        ret = validate_table(s, s->snapshots_offset, s->nb_snapshots, QCOW2_SN_HEADER_SIZE,
                             (uint64_t)QCOW2_SN_HEADER_SIZE * QCOW2_MAX_SNAPSHOTS,
                             "Snapshot table", errp);
        if (ret < 0) {
            return ret;
        }
    }
    ret = validate_table(s, s->l1_table_offset, s->l1_size, 8, QCOW2_MAX_L1_BYTES,
                         "Active L1 table", errp);
    if (ret < 0) {
        return ret;
    }
    if (s->size > INT64_MAX) {
        OPEN_FAIL(-EFBIG, "Image is too big");
    }
    l1_needed = qcow2_l1_entries_for(s, s->size);
    if (l1_needed > INT32_MAX) {
        OPEN_FAIL(-EFBIG, "Image is too big");
    }
    if (s->l1_size < l1_needed) {
        OPEN_FAIL(-EINVAL, "L1 table is too small");
    }
    return 0;
}

static int load_l1(struct bdrv *bs, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t bytes = (uint64_t)s->l1_size * 8;
    uint64_t alloc = MAX((bytes + s->cluster_size - 1) & ~((uint64_t)s->cluster_size - 1),
                         (uint64_t)s->cluster_size);
    int ret;

    s->l1_alloc = (uint32_t)(alloc / 8);
    s->l1_table = g_try_malloc0(alloc);
    if (!s->l1_table) {
        OPEN_FAIL(-ENOMEM, "Could not allocate L1 table");
    }
    if (bytes) {
        ret = bdrv_pread(bs->file, s->l1_table_offset, s->l1_table, bytes);
        if (ret < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Could not read L1 table: %s",
                        g_strerror(-ret));
            return ret;
        }
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        s->l1_table[i] = GUINT64_FROM_BE(s->l1_table[i]);
    }
    return 0;
}

static int read_backing_name(struct bdrv *bs, const uint8_t *h, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    uint32_t len = s->backing_file_size;

    bs->backing_file[0] = 0;
    if (!s->backing_file_offset) {
        return 0;
    }
    if (len > MIN(QCOW2_MAX_BACKING_FILE_NAME, s->cluster_size - s->backing_file_offset) ||
        len >= sizeof(bs->backing_file)) {
        OPEN_FAIL(-EINVAL, "Backing file name too long");
    }
    memcpy(bs->backing_file, h + s->backing_file_offset, len);
    bs->backing_file[len] = 0;
    return 0;
}

static int qcow2_do_open(struct bdrv *bs, int flags, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    g_autofree uint8_t *h = NULL;
    uint64_t ext_end, l2_tables;
    int64_t flen = bdrv_length(bs->file);
    size_t hsize;
    int ret;

    if (flen < 0) {
        OPEN_FAIL((int)flen, "Could not read qcow2 header: %s", g_strerror((int)-flen));
    }
    /* The header and extensions live in the first cluster (at most 2 MiB). */
    hsize = (size_t)MIN((uint64_t)flen, 1ull << QCOW2_MAX_CLUSTER_BITS);
    /* A short file reads as zero-padded, as QEMU reads it ("qcow2 header too
     * short" rather than a read error). */
    h = g_malloc0(MAX(hsize, (size_t)QCOW2_HDR_V3_LENGTH));
    ret = hsize ? bdrv_pread(bs->file, 0, h, hsize) : 0;
    hsize = MAX(hsize, (size_t)QCOW2_HDR_V3_LENGTH);
    if (ret < 0) {
        OPEN_FAIL(ret, "Could not read qcow2 header: %s", g_strerror(-ret));
    }
    if (hsize < (1ull << QCOW2_MAX_CLUSTER_BITS) && qcow2_ld32(h) == QCOW2_MAGIC) {
        uint32_t cb = qcow2_ld32(h + QCOW2_HDR_CLUSTER_BITS);

        /* A file shorter than its first cluster: read as if zero-padded. */
        if (cb >= QCOW2_MIN_CLUSTER_BITS && cb <= QCOW2_MAX_CLUSTER_BITS &&
            (1ull << cb) > hsize) {
            h = g_realloc(h, 1ull << cb);
            memset(h + hsize, 0, (1ull << cb) - hsize);
            hsize = 1ull << cb;
        }
    }
    s->read_only = !(flags & BDRV_O_RDWR);
    s->open_flags = flags;
    ret = parse_header(bs, h, hsize, flags, &ext_end, errp);
    if (ret < 0) {
        return ret;
    }
    ret = check_tables(bs, flags, errp);
    if (ret < 0) {
        return ret;
    }
    ret = load_l1(bs, errp);
    if (ret < 0) {
        return ret;
    }
    /* Enough L2 tables to map the whole disk, within 32 MiB (QEMU's bound). */
    l2_tables = MAX(s->l1_size, 16u);
    l2_tables = MIN(l2_tables, MAX((32ull << 20) >> s->cluster_bits, 16ull));
    l2_tables = MIN(l2_tables, 4096ull);
    s->l2_cache = qcow2_cache_create(bs, (unsigned)l2_tables);
    qcow2_cache_set_flush_first(s->l2_cache, true);
    s->refcount_cache = qcow2_cache_create(bs, 32);
    ret = qcow2_refcount_init(bs, errp);
    if (ret < 0) {
        return ret;
    }
    if ((flags & BDRV_O_RDWR) && !(flags & BDRV_O_CHECK)) {
        check_refcount_structure(bs);
    }
    ret = read_extensions(bs, h, s->header_length, ext_end, errp);
    if (ret < 0) {
        return ret;
    }
    ret = read_backing_name(bs, h, errp);
    if (ret < 0) {
        return ret;
    }
    {
        GError *err = NULL;

        ret = qcow2_read_snapshots(bs, (flags & BDRV_O_CHECK) ? &err : errp);
        if (ret < 0) {
            if (!(flags & BDRV_O_CHECK)) {
                return ret;
            }
            /* check repairs what it can; it reads the table itself. */
            g_clear_error(&err);
            qcow2_free_snapshots(s);
            s->nb_snapshots = 0;
        }
    }
    s->use_lazy_refcounts = (s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) &&
                            !s->read_only;
    s->free_cluster_index = 0;
    if (!s->read_only && s->autoclear_features) {
        /* We keep no bitmaps: a writer that does not must clear these bits. */
        s->autoclear_features = 0;
        ret = qcow2_update_header(bs);
        if (ret < 0) {
            OPEN_FAIL(ret, "Could not update qcow2 header: %s", g_strerror(-ret));
        }
    }
    return 0;
}

static int qcow2_open(struct bdrv *bs, const struct kv_list *opts, int flags, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    int ret;

    (void)opts;
    g_mutex_init(&s->lock);
    ret = qcow2_do_open(bs, flags, errp);
    if (ret < 0) {
        qcow2_free_state(bs);
        g_mutex_clear(&s->lock);
        return ret;
    }
    if (!s->read_only && !(flags & BDRV_O_CHECK) &&
        (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        struct bdrv_check_result res = { 0 };

        ret = qcow2_check(bs, &res, BDRV_FIX_ERRORS | BDRV_FIX_LEAKS);
        if (ret >= 0 && res.check_errors) {
            ret = -EIO;
        }
        if (ret >= 0) {
            ret = qcow2_mark_clean(bs);
        }
        if (ret < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Could not repair dirty image: %s",
                        g_strerror(-ret));
            qcow2_free_state(bs);
            g_mutex_clear(&s->lock);
            return ret;
        }
    }
    if (s->version >= 3 && !s->dirty_marked) {
        s->dirty_marked = (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) != 0;
    }
    ret = bdrv_open_backing(bs, errp);
    if (ret < 0) {
        qcow2_free_state(bs);
        g_mutex_clear(&s->lock);
        return ret;
    }
    return 0;
}

static void qcow2_close(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    if (!s->read_only) {
        qcow2_writeback(bs);
        if (s->use_lazy_refcounts) {
            qcow2_mark_clean(bs);
        }
        bdrv_flush(bs->file);
    }
    qcow2_free_state(bs);
    g_mutex_clear(&s->lock);
}

/* ---- Reads ---- */

static int read_compressed(struct bdrv *bs, uint64_t l2_entry, uint8_t *out)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t host, bytes;
    g_autofree uint8_t *in = NULL;
    int ret;

    qcow2_compressed_range(s, l2_entry, &host, &bytes);
    if (host < s->cluster_size) {
        qcow2_signal_corruption(bs, false, "Compressed cluster at %#" PRIx64
                                " overlaps the header", host);
        return -EIO;
    }
    in = g_malloc(bytes);
    ret = bdrv_pread(bs->file, host, in, bytes);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_decompress(s->compression_type, out, s->cluster_size, in, bytes);
    return ret < 0 ? -EIO : 0;
}

/* Reads from the backing node, zeroes past its end (or with none). */
static int read_backing(struct bdrv *bs, uint64_t off, uint64_t n, struct iovec *iov, int niov,
                        uint64_t ioff)
{
    int64_t blen = bs->backing ? bdrv_length(bs->backing) : 0;
    uint64_t have = 0;
    int ret = 0;

    if (blen < 0) {
        return (int)blen;
    }
    if (off < (uint64_t)blen) {
        struct iovec *sub;
        int nsub;

        have = MIN(n, (uint64_t)blen - off);
        sub = iov_slice(iov, niov, ioff, have, &nsub);
        ret = bdrv_preadv(bs->backing, off, have, sub, nsub);
        g_free(sub);
    }
    if (ret == 0 && have < n) {
        iov_fill(iov, niov, ioff + have, n - have, NULL);
    }
    return ret;
}

/* Reads [off, off+bytes) into iov from ioff; locked: the caller holds s->lock. */
static int do_read(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov,
                   uint64_t ioff, bool locked)
{
    struct qcow2_state *s = bs->opaque;
    uint8_t *cbuf = NULL;
    int ret = 0;

    while (bytes && ret == 0) {
        uint64_t n = bytes, host, entry;
        enum qcow2_subcluster_type type;

        if (off >= s->size) {
            iov_fill(iov, niov, ioff, bytes, NULL);
            break;
        }
        n = MIN(n, s->size - off);
        if (!locked) {
            g_mutex_lock(&s->lock);
        }
        ret = qcow2_get_host_offset_ex(bs, off, &n, &host, &type, &entry);
        if (!locked) {
            g_mutex_unlock(&s->lock);
        }
        if (ret < 0) {
            break;
        }
        switch (type) {
        case QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN:
        case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC:
            ret = read_backing(bs, off, n, iov, niov, ioff);
            break;
        case QCOW2_SUBCLUSTER_ZERO_PLAIN:
        case QCOW2_SUBCLUSTER_ZERO_ALLOC:
            iov_fill(iov, niov, ioff, n, NULL);
            break;
        case QCOW2_SUBCLUSTER_NORMAL: {
            int nsub;
            struct iovec *sub = iov_slice(iov, niov, ioff, n, &nsub);

            ret = bdrv_preadv(bs->file, host, n, sub, nsub);
            g_free(sub);
            break;
        }
        case QCOW2_SUBCLUSTER_COMPRESSED:
            if (!cbuf) {
                cbuf = g_malloc(s->cluster_size);
            }
            ret = read_compressed(bs, entry, cbuf);
            if (ret == 0) {
                iov_fill(iov, niov, ioff, n, cbuf + qcow2_offset_into_cluster(s, off));
            }
            break;
        default:
            ret = -EIO;
            break;
        }
        off += n;
        ioff += n;
        bytes -= n;
    }
    g_free(cbuf);
    return ret;
}

static int qcow2_preadv(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov,
                        int niov)
{
    return do_read(bs, off, bytes, iov, niov, 0, false);
}

/* ---- Writes ---- */

static bool buf_is_zero(const uint8_t *p, uint64_t len)
{
    return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/*
 * Writes [off, off+n) (one homogeneous run inside one L2 table) to newly
 * allocated clusters: the rest of the first and last cluster is copied from
 * what reads there now (old cluster, backing, zeroes).  Order: refcounts
 * (alloc), data, L2 entries, then the old clusters' refcounts drop.
 */
static int alloc_write(struct bdrv *bs, uint64_t off, uint64_t n, struct iovec *iov, int niov,
                       uint64_t ioff)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t cstart = qcow2_start_of_cluster(s, off);
    uint64_t cend = qcow2_start_of_cluster(s, off + n - 1) + s->cluster_size;
    unsigned nc = (unsigned)((cend - cstart) >> s->cluster_bits);
    unsigned first = qcow2_l2_index(s, cstart);
    uint64_t head = off - cstart, tail = cend - (off + n);
    g_autofree uint8_t *hbuf = NULL, *tbuf = NULL;
    g_autofree uint64_t *old = g_new(uint64_t, nc);
    g_autofree struct iovec *wv = NULL;
    struct iovec *sub;
    uint64_t *table;
    int64_t host;
    int ret, nsub, nw = 0;
    uint64_t wstart = 0, wtail = tail;
    int64_t flen;
    bool fresh;

    ret = qcow2_l2_get_for_write(bs, cstart, &table);
    if (ret < 0) {
        return ret;
    }
    for (unsigned i = 0; i < nc; i++) {
        old[i] = qcow2_l2_get(s, table, first + i);
    }
    qcow2_l2_put(bs, &table);

    if (head) {
        struct iovec v;

        hbuf = g_malloc(head);
        v = (struct iovec){ hbuf, head };
        ret = do_read(bs, cstart, head, &v, 1, 0, true);
        if (ret < 0) {
            return ret;
        }
    }
    if (tail) {
        struct iovec v;

        tbuf = g_malloc(tail);
        v = (struct iovec){ tbuf, tail };
        ret = do_read(bs, off + n, tail, &v, 1, 0, true);
        if (ret < 0) {
            return ret;
        }
    }
    flen = bdrv_length(bs->file);
    host = qcow2_alloc_clusters(bs, (uint64_t)nc << s->cluster_bits);
    if (host < 0) {
        return (int)host;
    }
    /* Past the file's end the file reads zeroes already: zero COW bytes
     * need not be written (QEMU zeroes them with fallocate instead). */
    fresh = flen >= 0 && (uint64_t)host >= (uint64_t)flen;
    if (fresh && head && buf_is_zero(hbuf, head)) {
        wstart = head;
    }
    if (fresh && tail && buf_is_zero(tbuf, tail)) {
        wtail = 0;
    }
    sub = iov_slice(iov, niov, ioff, n, &nsub);
    wv = g_new(struct iovec, nsub + 2);
    if (head && !wstart) {
        wv[nw++] = (struct iovec){ hbuf, head };
    }
    memcpy(wv + nw, sub, sizeof(*sub) * nsub);
    nw += nsub;
    g_free(sub);
    if (wtail) {
        wv[nw++] = (struct iovec){ tbuf, tail };
    }
    ret = qcow2_pre_write_check(bs, 0, host, (uint64_t)nc << s->cluster_bits);
    if (ret >= 0) {
        ret = bdrv_pwritev(bs->file, host + wstart, cend - cstart - wstart - (tail - wtail),
                           wv, nw);
    }
    if (ret < 0) {
        qcow2_free_clusters(bs, host, (uint64_t)nc << s->cluster_bits);
        return ret;
    }
    ret = qcow2_l2_get_for_write(bs, cstart, &table);
    if (ret < 0) {
        qcow2_free_clusters(bs, host, (uint64_t)nc << s->cluster_bits);
        return ret;
    }
    for (unsigned i = 0; i < nc; i++) {
        qcow2_l2_set(s, table, first + i,
                     ((uint64_t)host + ((uint64_t)i << s->cluster_bits)) | QCOW_OFLAG_COPIED);
        qcow2_l2_set_bitmap(s, table, first + i, QCOW2_L2_BITMAP_ALL_ALLOC);
    }
    /* Written back at the next flush, after the data and refcounts are
     * stable; the old clusters are freed after that.  A crash before leaks
     * clusters, nothing worse. */
    qcow2_cache_mark_dirty(s->l2_cache, table);
    qcow2_l2_put(bs, &table);
    for (unsigned i = 0; i < nc; i++) {
        ret = qcow2_free_deferred(bs, old[i]);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

static int do_write(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov, int niov)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t ioff = 0;
    int ret = 0;

    if (off + bytes > s->size || writes_refused(bs)) {
        return -EIO;
    }
    g_mutex_lock(&s->lock);
    while (bytes && ret == 0) {
        uint64_t n = bytes, host, entry;
        enum qcow2_subcluster_type type;

        ret = qcow2_get_host_offset_ex(bs, off, &n, &host, &type, &entry);
        if (ret < 0) {
            break;
        }
        if (type == QCOW2_SUBCLUSTER_NORMAL && (entry & QCOW_OFLAG_COPIED)) {
            struct iovec *sub;
            int nsub;

            ret = qcow2_pre_write_check(bs, 0, host, n);
            if (ret < 0) {
                break;
            }
            sub = iov_slice(iov, niov, ioff, n, &nsub);
            /* The cluster is ours alone: data I/O without the metadata lock. */
            g_mutex_unlock(&s->lock);
            ret = bdrv_pwritev(bs->file, host, n, sub, nsub);
            g_mutex_lock(&s->lock);
            g_free(sub);
        } else {
            uint64_t cstart = qcow2_start_of_cluster(s, off);

            if (off + n - cstart > QCOW2_MAX_ALLOC_RUN) {
                n = cstart + QCOW2_MAX_ALLOC_RUN - off;
            }
            ret = alloc_write(bs, off, n, iov, niov, ioff);
        }
        off += n;
        ioff += n;
        bytes -= n;
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_pwritev(struct bdrv *bs, uint64_t off, uint64_t bytes, struct iovec *iov,
                         int niov)
{
    return do_write(bs, off, bytes, iov, niov);
}

/* Whether [off, off+bytes) (inside one cluster) reads as zeroes already. */
static int reads_as_zero(struct bdrv *bs, uint64_t off, uint64_t bytes, bool *zero)
{
    while (bytes) {
        uint64_t n = bytes, host, entry;
        enum qcow2_subcluster_type t;
        int ret = qcow2_get_host_offset_ex(bs, off, &n, &host, &t, &entry);

        if (ret < 0) {
            return ret;
        }
        if (!(t == QCOW2_SUBCLUSTER_ZERO_PLAIN || t == QCOW2_SUBCLUSTER_ZERO_ALLOC ||
              ((t == QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN ||
                t == QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC) && !bs->backing &&
               !bs->backing_file[0]))) {
            *zero = false;
            return 0;
        }
        off += n;
        bytes -= n;
    }
    *zero = true;
    return 0;
}

/* Zeroes a partial cluster: nothing when it reads as zero, else write zeroes. */
static int zero_partial(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags)
{
    struct qcow2_state *s = bs->opaque;
    g_autofree uint8_t *zbuf = NULL;
    struct iovec v;
    bool zero;
    int ret;

    if (!bytes) {
        return 0;
    }
    g_mutex_lock(&s->lock);
    ret = reads_as_zero(bs, off, bytes, &zero);
    g_mutex_unlock(&s->lock);
    if (ret < 0 || zero) {
        return ret;
    }
    if (flags & BDRV_REQ_NO_FALLBACK) {
        return -ENOTSUP;
    }
    zbuf = g_malloc0(bytes);
    v = (struct iovec){ zbuf, bytes };
    return do_write(bs, off, bytes, &v, 1);
}

static int qcow2_pwrite_zeroes(struct bdrv *bs, uint64_t off, uint64_t bytes, int flags)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t end = off + bytes, a, b;
    int ret;

    if (end > s->size || writes_refused(bs)) {
        return -EIO;
    }
    if (s->version < 3) {
        bool zero;

        g_mutex_lock(&s->lock);
        ret = 0;
        for (uint64_t o = off; o < end && ret == 0;) {
            uint64_t e = MIN(end, qcow2_start_of_cluster(s, o) + s->cluster_size);

            ret = reads_as_zero(bs, o, e - o, &zero);
            if (ret == 0 && !zero) {
                ret = -ENOTSUP; /* v2 has no zero flag: the layer writes zeroes */
            }
            o = e;
        }
        g_mutex_unlock(&s->lock);
        return ret;
    }
    a = MIN(end, qcow2_start_of_cluster(s, off + s->cluster_size - 1));
    b = end == s->size ? end : MAX(a, qcow2_start_of_cluster(s, end));
    ret = zero_partial(bs, off, a - off, flags);
    if (ret == 0 && b > a) {
        g_mutex_lock(&s->lock);
        ret = qcow2_cluster_zeroize(bs, a, b - a, (flags & BDRV_REQ_MAY_UNMAP) != 0);
        g_mutex_unlock(&s->lock);
    }
    if (ret == 0 && end > b) {
        ret = zero_partial(bs, b, end - b, flags);
    }
    return ret;
}

static int qcow2_discard(struct bdrv *bs, uint64_t off, uint64_t bytes)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t end = MIN(off + bytes, s->size);
    uint64_t a = qcow2_start_of_cluster(s, off + s->cluster_size - 1);
    uint64_t b = end == s->size ? end : qcow2_start_of_cluster(s, end);
    int ret;

    if (writes_refused(bs)) {
        return -EIO;
    }
    if (b <= a) {
        return 0; /* partial clusters are not discarded (as QEMU) */
    }
    g_mutex_lock(&s->lock);
    /* v3 keeps a discarded range reading as zeroes (zero flag), as QEMU does. */
    ret = qcow2_cluster_discard(bs, a, b - a, s->version >= 3);
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_pwrite_compressed(struct bdrv *bs, uint64_t off, uint64_t bytes,
                                   const void *buf)
{
    struct qcow2_state *s = bs->opaque;
    g_autofree uint8_t *in = NULL, *out = NULL;
    uint64_t *table, old, entry, nb_sectors;
    ssize_t clen;
    size_t padded;
    int64_t coff;
    int ret;

    if (qcow2_offset_into_cluster(s, off) || off + bytes > s->size ||
        (bytes != s->cluster_size && off + bytes != s->size) || bytes > s->cluster_size) {
        return -EINVAL;
    }
    if (writes_refused(bs)) {
        return -EIO;
    }
    in = g_malloc0(s->cluster_size);
    memcpy(in, buf, bytes);
    out = g_malloc0(s->cluster_size + 512);
    clen = qcow2_compress(s->compression_type, out, s->cluster_size - 1, in, s->cluster_size);
    if (clen == -ENOSPC) {
        struct iovec v = { (void *)buf, bytes };

        return do_write(bs, off, bytes, &v, 1); /* does not shrink: store it plain */
    }
    if (clen < 0) {
        return (int)clen;
    }
    g_mutex_lock(&s->lock);
    coff = qcow2_alloc_bytes(bs, (uint64_t)clen);
    if (coff < 0) {
        ret = (int)coff;
        goto out;
    }
    /* Pad to the sector end: readers fetch whole 512-byte sectors. */
    padded = (size_t)(((coff + clen + 511) & ~511ll) - coff);
    ret = qcow2_pre_write_check(bs, 0, (uint64_t)coff, padded);
    if (ret >= 0) {
        ret = bdrv_pwrite(bs->file, coff, out, padded);
    }
    if (ret < 0) {
        qcow2_free_clusters(bs, coff, clen);
        goto out;
    }
    ret = qcow2_l2_get_for_write(bs, off, &table);
    if (ret < 0) {
        goto out;
    }
    nb_sectors = ((coff + clen - 1) >> 9) - (coff >> 9);
    entry = QCOW_OFLAG_COMPRESSED | (nb_sectors << s->csize_shift) | (uint64_t)coff;
    old = qcow2_l2_get(s, table, qcow2_l2_index(s, off));
    qcow2_l2_set(s, table, qcow2_l2_index(s, off), entry);
    qcow2_l2_set_bitmap(s, table, qcow2_l2_index(s, off), 0);
    qcow2_cache_mark_dirty(s->l2_cache, table);
    qcow2_l2_put(bs, &table);
    ret = qcow2_free_deferred(bs, old);
out:
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_flush(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    int ret;

    if (s->read_only) {
        return 0;
    }
    g_mutex_lock(&s->lock);
    ret = qcow2_writeback(bs);
    g_mutex_unlock(&s->lock);
    return ret < 0 ? ret : bdrv_flush(bs->file);
}

static int64_t qcow2_length(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    return (int64_t)s->size;
}

static int qcow2_block_status(struct bdrv *bs, uint64_t off, uint64_t bytes, uint64_t *pnum,
                              uint64_t *map, struct bdrv **file)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t n = bytes, host, entry;
    enum qcow2_subcluster_type t;
    int ret, status = 0;

    g_mutex_lock(&s->lock);
    ret = qcow2_get_host_offset_ex(bs, off, &n, &host, &t, &entry);
    g_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    *pnum = n;
    if (t == QCOW2_SUBCLUSTER_NORMAL || t == QCOW2_SUBCLUSTER_ZERO_ALLOC ||
        t == QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC) {
        *map = host;
        *file = bs->file;
        status |= BDRV_BLOCK_OFFSET_VALID;
    }
    if (t == QCOW2_SUBCLUSTER_ZERO_PLAIN || t == QCOW2_SUBCLUSTER_ZERO_ALLOC) {
        status |= BDRV_BLOCK_ZERO;
    } else if (t != QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN &&
               t != QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC) {
        status |= BDRV_BLOCK_DATA;
    }
    if (t == QCOW2_SUBCLUSTER_COMPRESSED) {
        status |= BDRV_BLOCK_COMPRESSED;
    }
    return status;
}

static uint32_t qcow2_cluster_size_cb(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    return s->cluster_size;
}

static bool qcow2_is_dirty(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    return (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) != 0;
}

/* The bitmaps extension's directory (qcow2.txt "Bitmaps extension",
 * "Bitmap directory"), or NULL; *len its size in bytes. */
static uint8_t *read_bitmap_directory(struct bdrv *bs, uint32_t *nb, uint64_t *len)
{
    struct qcow2_state *s = bs->opaque;
    const struct qcow2_unknown_ext *ext = NULL;
    uint64_t off;
    uint8_t *dir;

    /* Without the autoclear bit a writer that knew no bitmaps came by:
     * they are stale and QEMU does not show them. */
    if (!(s->autoclear_features & QCOW2_AUTOCLEAR_BITMAPS)) {
        return NULL;
    }
    for (unsigned i = 0; i < s->nb_unknown_exts; i++) {
        if (s->unknown_exts[i].type == QCOW2_EXT_BITMAPS && s->unknown_exts[i].len >= 24) {
            ext = &s->unknown_exts[i];
        }
    }
    if (!ext) {
        return NULL;
    }
    *nb = qcow2_ld32(ext->data);
    *len = qcow2_ld64((const uint8_t *)ext->data + 8);
    off = qcow2_ld64((const uint8_t *)ext->data + 16);
    /* QEMU's limits: 65535 bitmaps, a directory of at most 64 MiB. */
    if (*nb == 0 || *nb > 65535 || *len == 0 || *len > (64u << 20)) {
        return NULL;
    }
    dir = g_try_malloc(*len);
    if (!dir || bdrv_pread(bs->file, off, dir, *len) < 0) {
        g_free(dir);
        return NULL;
    }
    return dir;
}

/* "bitmaps" of qemu-img info: name, granularity and flags of each entry. */
static void info_bitmaps(struct bdrv *bs, JsonBuilder *b)
{
    uint32_t nb = 0;
    uint64_t len = 0, pos = 0;
    g_autofree uint8_t *dir = read_bitmap_directory(bs, &nb, &len);

    if (!dir) {
        return;
    }
    json_builder_set_member_name(b, "bitmaps");
    json_builder_begin_array(b);
    for (uint32_t i = 0; i < nb && pos + 24 <= len; i++) {
        const uint8_t *e = dir + pos;
        uint32_t flags = qcow2_ld32(e + 12);
        unsigned gbits = e[17];
        uint16_t name_len = qcow2_ld16(e + 18);
        uint32_t extra = qcow2_ld32(e + 20);
        uint64_t entry = 24 + (uint64_t)extra + name_len;

        if (entry > len - pos || gbits > 63) {
            break;
        }
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "flags");
        json_builder_begin_array(b);
        if (flags & 1) {
            json_builder_add_string_value(b, "in-use");
        }
        if (flags & 2) {
            json_builder_add_string_value(b, "auto");
        }
        json_builder_end_array(b);
        {
            g_autofree char *name = g_strndup((const char *)e + 24 + extra, name_len);

            json_builder_set_member_name(b, "name");
            json_builder_add_string_value(b, name);
        }
        json_builder_set_member_name(b, "granularity");
        json_builder_add_int_value(b, (int64_t)(1ull << gbits));
        json_builder_end_object(b);
        pos += (entry + 7) & ~7ull;
    }
    json_builder_end_array(b);
}

static void qcow2_info_specific(struct bdrv *bs, JsonBuilder *b)
{
    struct qcow2_state *s = bs->opaque;

    json_builder_set_member_name(b, "compat");
    json_builder_add_string_value(b, s->version >= 3 ? "1.1" : "0.10");
    json_builder_set_member_name(b, "compression-type");
    json_builder_add_string_value(b, s->compression_type == QCOW2_COMPRESSION_ZSTD ? "zstd"
                                                                                   : "zlib");
    if (s->version >= 3) {
        json_builder_set_member_name(b, "lazy-refcounts");
        json_builder_add_boolean_value(b,
                                       (s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS));
        info_bitmaps(bs, b);
    }
    json_builder_set_member_name(b, "refcount-bits");
    json_builder_add_int_value(b, s->refcount_bits);
    if (s->version >= 3) {
        json_builder_set_member_name(b, "corrupt");
        json_builder_add_boolean_value(b, (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT));
        json_builder_set_member_name(b, "extended-l2");
        json_builder_add_boolean_value(b, s->extended_l2);
    }
}

static int qcow2_change_backing_file(struct bdrv *bs, const char *file, const char *fmt)
{
    struct qcow2_state *s = bs->opaque;
    char old_file[sizeof(bs->backing_file)], old_fmt[sizeof(bs->backing_format)];
    int ret;

    if (file && strlen(file) > QCOW2_MAX_BACKING_FILE_NAME) {
        return -EINVAL;
    }
    if (fmt && strlen(fmt) >= sizeof(bs->backing_format)) {
        return -EINVAL;
    }
    memcpy(old_file, bs->backing_file, sizeof(old_file));
    memcpy(old_fmt, bs->backing_format, sizeof(old_fmt));
    g_strlcpy(bs->backing_file, file ? file : "", sizeof(bs->backing_file));
    g_strlcpy(bs->backing_format, file && fmt ? fmt : "", sizeof(bs->backing_format));
    g_mutex_lock(&s->lock);
    ret = qcow2_update_header(bs);
    g_mutex_unlock(&s->lock);
    if (ret < 0) {
        memcpy(bs->backing_file, old_file, sizeof(old_file));
        memcpy(bs->backing_format, old_fmt, sizeof(old_fmt));
    }
    return ret;
}

static int qcow2_make_empty(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    int ret;

    g_mutex_lock(&s->lock);
    ret = qcow2_cluster_discard(bs, 0, s->size, false);
    g_mutex_unlock(&s->lock);
    return ret;
}

/*
 * The one-thread callbacks of qcow2-check.c, qcow2-snapshot.c, qcow2-amend.c
 * and qcow2-resize.c see the file as it is: lazily kept L2 entries and
 * refcounts are written back first, and cached tables are dropped after, in
 * case the callback rewrote tables behind the caches.
 */
static int caches_writeback(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    if (s->read_only) {
        return 0;
    }
    return qcow2_writeback(bs);
}

static void caches_drop(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;

    qcow2_writeback(bs);
    qcow2_cache_empty(bs, s->l2_cache);
    qcow2_cache_empty(bs, s->refcount_cache);
}

#define WRAP_ONE_THREAD(ret, call)        \
    do {                                  \
        int wret = caches_writeback(bs);  \
                                          \
        if (wret < 0) {                   \
            return wret;                  \
        }                                 \
        ret = call;                       \
        caches_drop(bs);                  \
    } while (0)

static int check_cb(struct bdrv *bs, struct bdrv_check_result *res, int fix)
{
    int ret;

    WRAP_ONE_THREAD(ret, qcow2_check(bs, res, fix));
    return ret;
}

static int amend_cb(struct bdrv *bs, const struct kv_list *opts, bool force, GError **errp)
{
    int ret;

    WRAP_ONE_THREAD(ret, qcow2_amend(bs, opts, force, errp));
    return ret;
}

static int truncate_cb(struct bdrv *bs, uint64_t size, bool shrink, const char *prealloc,
                       GError **errp)
{
    int ret;

    /* A corrupt image (marked now or before) takes no more writes. */
    if (writes_refused(bs)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Image is corrupt; cannot be written");
        return -EIO;
    }
    WRAP_ONE_THREAD(ret, qcow2_truncate(bs, size, shrink, prealloc, errp));
    return ret;
}

static int snapshot_create_cb(struct bdrv *bs, struct bdrv_snapshot *sn)
{
    int ret;

    /* A corrupt image (marked now or before) takes no more writes. */
    if (writes_refused(bs)) {
        return -EIO;
    }
    WRAP_ONE_THREAD(ret, qcow2_snapshot_create(bs, sn));
    return ret;
}

static int snapshot_goto_cb(struct bdrv *bs, const char *id_or_name)
{
    int ret;

    /* A corrupt image (marked now or before) takes no more writes. */
    if (writes_refused(bs)) {
        return -EIO;
    }
    WRAP_ONE_THREAD(ret, qcow2_snapshot_goto(bs, id_or_name));
    return ret;
}

static int snapshot_delete_cb(struct bdrv *bs, const char *id, const char *name,
                              GError **errp)
{
    int ret;

    /* A corrupt image (marked now or before) takes no more writes. */
    if (writes_refused(bs)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Image is corrupt; cannot be written");
        return -EIO;
    }
    WRAP_ONE_THREAD(ret, qcow2_snapshot_delete(bs, id, name, errp));
    return ret;
}

const struct block_driver bdrv_qcow2 = {
    .name = "qcow2",
    .state_size = sizeof(struct qcow2_state),
    .probe = qcow2_probe,
    .open = qcow2_open,
    .close = qcow2_close,
    .preadv = qcow2_preadv,
    .pwritev = qcow2_pwritev,
    .pwrite_zeroes = qcow2_pwrite_zeroes,
    .pwrite_compressed = qcow2_pwrite_compressed,
    .discard = qcow2_discard,
    .flush = qcow2_flush,
    .length = qcow2_length,
    .truncate = truncate_cb,
    .block_status = qcow2_block_status,
    .create = qcow2_create,
    .create_opts = qcow2_create_opts,
    .check = check_cb,
    .amend = amend_cb,
    .info_specific = qcow2_info_specific,
    .cluster_size = qcow2_cluster_size_cb,
    .is_dirty = qcow2_is_dirty,
    .change_backing_file = qcow2_change_backing_file,
    .make_empty = qcow2_make_empty,
    .measure = qcow2_measure,
    .snapshot_create = snapshot_create_cb,
    .snapshot_goto = snapshot_goto_cb,
    .snapshot_delete = snapshot_delete_cb,
    .snapshot_list = qcow2_snapshot_list,
};
