/*
 * qemu-img create -f qcow2: options, their checks (QEMU's messages), and the
 * image layout QEMU makes: header in cluster 0, refcount table in cluster 1,
 * first refcount block in cluster 2, then the L1 table (cluster 3 on).
 *
 * Threads: called from one thread (block.h).
 * Contract: writes a minimal valid image by hand (size 0, no L1 table), then
 * opens it with this driver and grows it to the requested size, records the
 * backing file and preallocates, so every later step is an ordinary,
 * crash-consistent metadata update.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2.h"

const struct create_opt_desc qcow2_create_opts[] = {
    { "backing_file", CREATE_OPT_STRING, "File name of a base image", NULL },
    { "backing_fmt", CREATE_OPT_STRING, "Image format of the base image", NULL },
    { "cluster_size", CREATE_OPT_SIZE, "qcow2 cluster size", NULL },
    { "compat", CREATE_OPT_STRING, "Compatibility level (v2 [0.10] or v3 [1.1])", NULL },
    { "compression_type", CREATE_OPT_STRING,
      "Compression method used for image cluster compression", NULL },
    { "data_file", CREATE_OPT_STRING, "File name of an external data file", NULL },
    { "data_file_raw", CREATE_OPT_BOOL,
      "The external data file must stay valid as a raw image", NULL },
    { "encrypt.cipher-alg", CREATE_OPT_STRING, "Name of encryption cipher algorithm", NULL },
    { "encrypt.cipher-mode", CREATE_OPT_STRING, "Name of encryption cipher mode", NULL },
    { "encrypt.format", CREATE_OPT_STRING,
      "Encrypt the image, format choices: 'aes', 'luks'", NULL },
    { "encrypt.hash-alg", CREATE_OPT_STRING, "Name of encryption hash algorithm", NULL },
    { "encrypt.iter-time", CREATE_OPT_NUMBER, "Time to spend in PBKDF in milliseconds", NULL },
    { "encrypt.ivgen-alg", CREATE_OPT_STRING, "Name of IV generator algorithm", NULL },
    { "encrypt.ivgen-hash-alg", CREATE_OPT_STRING, "Name of IV generator hash algorithm",
      NULL },
    { "encrypt.key-secret", CREATE_OPT_STRING,
      "ID of secret providing qcow AES key or LUKS passphrase", NULL },
    { "encryption", CREATE_OPT_BOOL,
      "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)",
      NULL },
    { "extended_l2", CREATE_OPT_BOOL, "Extended L2 tables", NULL },
    { "lazy_refcounts", CREATE_OPT_BOOL, "Postpone refcount updates", NULL },
    { "preallocation", CREATE_OPT_STRING,
      "Preallocation mode (allowed values: off, metadata, falloc, full)", NULL },
    { "refcount_bits", CREATE_OPT_NUMBER, "Width of a reference count entry in bits", NULL },
    { "size", CREATE_OPT_SIZE, "Virtual disk size", NULL },
    { NULL, 0, NULL, NULL },
};

struct qcow2_create_params {
    uint64_t size;
    uint32_t version;
    uint32_t cluster_bits;
    uint32_t refcount_order;
    uint8_t compression_type;
    bool lazy_refcounts;
    bool extended_l2;
    enum qcow2_prealloc prealloc;
    const char *backing_file;
    const char *backing_fmt;
};

#define CREATE_FAIL(...)                                                          \
    do {                                                                          \
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, __VA_ARGS__);         \
        return -EINVAL;                                                           \
    } while (0)

static int opt_bool(const struct kv_list *opts, const char *key, bool *out, GError **errp)
{
    const char *v = kv_get(opts, key);

    *out = false;
    if (v && !parse_bool(v, out)) {
        CREATE_FAIL("Parameter '%s' expects 'on' or 'off'", key);
    }
    return 0;
}

static int parse_params(const struct kv_list *opts, struct qcow2_create_params *p,
                        GError **errp)
{
    const char *v;
    uint64_t n;
    bool b;

    memset(p, 0, sizeof(*p));
    v = kv_get(opts, "size");
    if (!v || parse_size(v, 1, &p->size) < 0) {
        CREATE_FAIL("Parameter 'size' is required");
    }
    p->size = (p->size + 511) & ~511ull;
    if (p->size > INT64_MAX) {
        CREATE_FAIL("Image size is too large");
    }
    if (opt_bool(opts, "encryption", &b, errp) < 0) {
        return -EINVAL;
    }
    if (b || kv_get(opts, "encrypt.format")) {
        CREATE_FAIL("Encrypted qcow2 images are not supported");
    }
    if (kv_get(opts, "data_file")) {
        CREATE_FAIL("External data files are not supported");
    }
    if (opt_bool(opts, "data_file_raw", &b, errp) < 0) {
        return -EINVAL;
    }
    if (b) {
        CREATE_FAIL("data-file-raw requires data-file");
    }
    v = kv_get(opts, "compat");
    if (!v || !strcmp(v, "1.1") || !strcmp(v, "v3")) {
        p->version = 3;
    } else if (!strcmp(v, "0.10") || !strcmp(v, "v2")) {
        p->version = 2;
    } else {
        CREATE_FAIL("Parameter 'version' does not accept value '%s'", v);
    }
    if (opt_bool(opts, "extended_l2", &p->extended_l2, errp) < 0 ||
        opt_bool(opts, "lazy_refcounts", &p->lazy_refcounts, errp) < 0) {
        return -EINVAL;
    }
    n = 65536;
    v = kv_get(opts, "cluster_size");
    if (v && parse_size(v, 1, &n) < 0) {
        CREATE_FAIL("Parameter 'cluster_size' expects a size");
    }
    if (n < 512 || n > (2u << 20) || (n & (n - 1))) {
        CREATE_FAIL("Cluster size must be a power of two between 512 and 2048k");
    }
    p->cluster_bits = (uint32_t)__builtin_ctzll(n);
    n = 16;
    v = kv_get(opts, "refcount_bits");
    if (v && parse_uint(v, &n) < 0) {
        CREATE_FAIL("Parameter 'refcount_bits' expects a number");
    }
    if (n == 0 || n > 64 || (n & (n - 1))) {
        CREATE_FAIL("Refcount width must be a power of two and may not exceed 64 bits");
    }
    p->refcount_order = (uint32_t)__builtin_ctzll(n);
    v = kv_get(opts, "compression_type");
    if (!v || !strcmp(v, "zlib")) {
        p->compression_type = QCOW2_COMPRESSION_ZLIB;
    } else if (!strcmp(v, "zstd")) {
        p->compression_type = QCOW2_COMPRESSION_ZSTD;
    } else {
        CREATE_FAIL("Parameter 'compression-type' does not accept value '%s'", v);
    }
    if (qcow2_parse_prealloc(kv_get(opts, "preallocation"), &p->prealloc, errp) < 0) {
        return -EINVAL;
    }
    p->backing_file = kv_get(opts, "backing_file");
    p->backing_fmt = kv_get(opts, "backing_fmt");
    if (p->backing_file && !p->backing_file[0]) {
        p->backing_file = NULL;
    }

    if (p->version < 3 && p->refcount_order != 4) {
        CREATE_FAIL("Different refcount widths than 16 bits require compatibility level 1.1 "
                    "or above (use version=v3 or greater)");
    }
    if (p->version < 3 && p->lazy_refcounts) {
        CREATE_FAIL("Lazy refcounts only supported with compatibility level 1.1 and above "
                    "(use version=v3 or greater)");
    }
    if (p->version < 3 && p->compression_type != QCOW2_COMPRESSION_ZLIB) {
        CREATE_FAIL("Non-zlib compression type is only supported with compatibility level 1.1 "
                    "and above (use version=v3 or greater)");
    }
    if (p->extended_l2) {
        if (p->version < 3) {
            CREATE_FAIL("Extended L2 entries are only supported with compatibility level 1.1 "
                        "and above (use version=v3 or greater)");
        }
        if (p->cluster_bits < QCOW2_MIN_EXTL2_CLUSTER_BITS) {
            CREATE_FAIL("Extended L2 entries are only supported with cluster sizes of at least "
                        "16384 bytes");
        }
    }
    if (p->backing_file && p->prealloc != QCOW2_PREALLOC_OFF && !p->extended_l2) {
        CREATE_FAIL("Backing file and preallocation can only be used at the same time if "
                    "extended_l2 is on");
    }
    if (p->backing_file && strlen(p->backing_file) > QCOW2_MAX_BACKING_FILE_NAME) {
        CREATE_FAIL("Backing file name too long");
    }
    if (p->backing_fmt && strlen(p->backing_fmt) >= sizeof(((struct bdrv *)0)->backing_format)) {
        CREATE_FAIL("Backing format name too long");
    }
    return 0;
}

/* Header, refcount table and one refcount block for clusters 0-2: size 0. */
static int write_minimal_image(const char *filename, const struct qcow2_create_params *p,
                               GError **errp)
{
    size_t cs = (size_t)1 << p->cluster_bits;
    g_autofree uint8_t *buf = g_malloc0(cs * 3);
    struct qcow2_state tmp = { .refcount_order = p->refcount_order,
                               .refcount_bits = 1u << p->refcount_order };
    uint8_t *h = buf;
    int fd, ret = 0;

    qcow2_st32(h + QCOW2_HDR_MAGIC, QCOW2_MAGIC);
    qcow2_st32(h + QCOW2_HDR_VERSION, p->version);
    qcow2_st32(h + QCOW2_HDR_CLUSTER_BITS, p->cluster_bits);
    qcow2_st64(h + QCOW2_HDR_REFCOUNT_TABLE_OFFSET, cs);
    qcow2_st32(h + QCOW2_HDR_REFCOUNT_TABLE_CLUSTERS, 1);
    if (p->version >= 3) {
        uint64_t incompat = 0;

        if (p->compression_type != QCOW2_COMPRESSION_ZLIB) {
            incompat |= QCOW2_INCOMPAT_COMPRESSION;
        }
        if (p->extended_l2) {
            incompat |= QCOW2_INCOMPAT_EXTL2;
        }
        qcow2_st64(h + QCOW2_HDR_INCOMPATIBLE, incompat);
        qcow2_st64(h + QCOW2_HDR_COMPATIBLE, p->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
        qcow2_st32(h + QCOW2_HDR_REFCOUNT_ORDER, p->refcount_order);
        qcow2_st32(h + QCOW2_HDR_HEADER_LENGTH, QCOW2_HDR_V3_LENGTH);
        h[QCOW2_HDR_COMPRESSION_TYPE] = p->compression_type;
    }
    qcow2_st64(buf + cs, 2 * cs); /* refcount table entry 0 -> block at cluster 2 */
    for (int i = 0; i < 3; i++) {
        qcow2_refblock_set(&tmp, buf + 2 * cs, i, 1);
    }
    fd = open(filename, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "Could not create '%s': %s", filename, g_strerror(errno));
        return ret;
    }
    for (size_t done = 0; done < cs * 3;) {
        ssize_t w = pwrite(fd, buf + done, cs * 3 - done, (off_t)done);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            ret = w < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)w;
    }
    if (ret == 0 && fsync(fd) < 0) {
        ret = -errno;
    }
    close(fd);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Could not write qcow2 header: %s",
                    g_strerror(-ret));
    }
    return ret;
}

int qcow2_create(const char *filename, const struct kv_list *opts, GError **errp)
{
    struct qcow2_create_params p;
    struct qcow2_state *s;
    struct bdrv *bs;
    int ret;

    ret = parse_params(opts, &p, errp);
    if (ret < 0) {
        return ret;
    }
    ret = write_minimal_image(filename, &p, errp);
    if (ret < 0) {
        return ret;
    }
    bs = bdrv_open(filename, "qcow2", NULL, BDRV_O_RDWR | BDRV_O_NO_BACKING, errp);
    if (!bs) {
        return -EIO;
    }
    s = bs->opaque;
    /* Grow to the size: an L1 table of exactly the entries needed (cluster 3). */
    ret = qcow2_grow_l1(bs, qcow2_l1_entries_for(s, p.size), true);
    if (ret == 0) {
        s->size = p.size;
        g_strlcpy(bs->backing_file, p.backing_file ? p.backing_file : "",
                  sizeof(bs->backing_file));
        g_strlcpy(bs->backing_format, p.backing_fmt ? p.backing_fmt : "",
                  sizeof(bs->backing_format));
        ret = qcow2_update_header(bs);
    }
    if (ret == 0 && p.prealloc != QCOW2_PREALLOC_OFF) {
        ret = qcow2_preallocate(bs, 0, p.size, p.prealloc);
    }
    if (ret == 0) {
        ret = bdrv_flush(bs);
    }
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Could not create image: %s",
                    g_strerror(-ret));
    }
    bdrv_unref(bs);
    return ret;
}
