/*
 * -object filter-dump,id=ID,netdev=ND,file=FILE[,maxlen=N]: every frame
 * passing netdev ND goes to FILE in the classic libpcap format, as QEMU
 * 7.2's: a 24-byte file header (magic 0xa1b2c3d4 in host byte order,
 * version 2.4, snaplen = maxlen, link type 1 = Ethernet), then per frame
 * a 16-byte record header (host time in seconds and microseconds, the
 * bytes kept = min(length, maxlen), the frame's length) and those bytes.
 * The virtio-net header a back end may put in front of frames is not part
 * of the frame and is skipped.
 *
 * The file is opened (truncated) when the filter is created, after the
 * netdevs exist.  Each record is written with one writev(), so that a
 * reader never sees half a header while frames are still flowing; a
 * failed or short write is reported once and stops the dump, as QEMU's:
 * the guest's traffic never depends on the capture.
 *
 * Threads: big lock held (frames come from vCPU threads and main-loop
 * callbacks).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/filter-internal.h"
#include "net/net.h"
#include "system/iov.h"
#include "system/error.h"
#include "system/keyval.h"

#define PCAP_MAGIC          0xa1b2c3d4u
#define PCAP_LINKTYPE_ETHER 1
#define FILTER_DUMP_MAXLEN_DEFAULT 65536
/* Frames of up to this many pieces are written from an iovec array on
 * the stack. */
#define FILTER_DUMP_STACK_IOV 16

/* The libpcap file header ("pcap-savefile"), host byte order. */
struct pcap_file_hdr {
    uint32_t magic;
    uint16_t version_major;
    uint16_t version_minor;
    int32_t thiszone;       /* GMT to local correction: 0 */
    uint32_t sigfigs;       /* timestamp accuracy: 0 */
    uint32_t snaplen;
    uint32_t linktype;
};

struct pcap_rec_hdr {
    uint32_t ts_sec;
    uint32_t ts_usec;
    uint32_t caplen;        /* bytes that follow */
    uint32_t len;           /* the frame's length on the wire */
};

struct filter_dump {
    struct net_filter_priv p;
    char *file;
    uint32_t maxlen;
    int fd;                 /* -1: not open yet, or stopped after an error */
};

static const char *const filter_dump_keys[] = { "file", "maxlen", NULL };

static struct filter_dump *filter_dump_of(struct net_filter *f)
{
    return container_of(f, struct filter_dump, p.f);
}

/*
 * maxlen= as QEMU's uint32 property from -object: a number (decimal, 0x
 * hex, 0 octal; leading blanks and '+' taken), no size suffix.
 */
static int filter_dump_parse_maxlen(const char *s, uint64_t *out, GError **errp)
{
    const char *p = s;
    char *end;

    while (g_ascii_isspace(*p)) {
        p++;
    }
    errno = 0;
    *out = strtoull(p, &end, 0);
    if (*p == '-' || end == p || *end || errno) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Parameter 'maxlen' expects a uint64 value");
        return -EINVAL;
    }
    if (*out > UINT32_MAX) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'maxlen' expects uint32_t");
        return -ERANGE;
    }
    return 0;
}

static int filter_dump_check(const struct kv_list *kv, GError **errp)
{
    const char *maxlen = kv_get(kv, "maxlen");
    uint64_t v;

    if (!kv_get(kv, "file")) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Parameter 'file' is missing");
        return -EINVAL;
    }
    return maxlen ? filter_dump_parse_maxlen(maxlen, &v, errp) : 0;
}

/* ---- frames ---- */

/* Stops the dump after a write error: reported once, frames flow on. */
static void filter_dump_stop(struct filter_dump *d)
{
    error_report("network dump write error - stopping dump");
    close(d->fd);
    d->fd = -1;
}

/* Writes the record header and the bytes in one writev(); a frame in more
 * pieces than writev() takes is copied into one buffer first. */
static bool filter_dump_write(int fd, const struct pcap_rec_hdr *hdr, const struct iovec *iov,
                              unsigned cnt, size_t skip, size_t caplen)
{
    struct iovec stack[FILTER_DUMP_STACK_IOV + 1];
    g_autofree struct iovec *heap = NULL;
    g_autofree uint8_t *flat = NULL;
    struct iovec *v = stack;
    unsigned n;

    if (cnt + 1 > G_N_ELEMENTS(stack)) {
        v = heap = g_new(struct iovec, (size_t)cnt + 1);
    }
    v[0].iov_base = (void *)hdr;
    v[0].iov_len = sizeof(*hdr);
    n = iov_slice(&v[1], iov, cnt, skip, caplen);
    if (n + 1 > IOV_MAX) {
        flat = g_malloc(caplen);
        iov_to_buf(&v[1], n, 0, flat, caplen);
        v[1].iov_base = flat;
        v[1].iov_len = caplen;
        n = 1;
    }
    return writev(fd, v, n + 1) == (ssize_t)(sizeof(*hdr) + caplen);
}

static void filter_dump_frame(struct net_filter *f, bool tx, const struct iovec *iov,
                              unsigned cnt, unsigned hdr_len)
{
    struct filter_dump *d = filter_dump_of(f);
    struct pcap_rec_hdr hdr;
    size_t size = iov_size(iov, cnt);
    gint64 now;

    if (d->fd < 0) {
        return;
    }
    /* Shorter than the virtio-net header: no frame to record. */
    if (size < hdr_len) {
        return;
    }
    size -= hdr_len;
    now = g_get_real_time();
    hdr.ts_sec = now / G_USEC_PER_SEC;
    hdr.ts_usec = now % G_USEC_PER_SEC;
    hdr.len = MIN(size, UINT32_MAX);
    hdr.caplen = MIN(hdr.len, d->maxlen);
    if (!filter_dump_write(d->fd, &hdr, iov, cnt, hdr_len, hdr.caplen)) {
        filter_dump_stop(d);
    }
}

/* ---- life cycle ---- */

static void filter_dump_cleanup(struct net_filter *f)
{
    struct filter_dump *d = filter_dump_of(f);

    if (d->fd >= 0) {
        close(d->fd);
    }
    g_free(d->file);
    g_free(d);
}

static const struct net_filter_ops filter_dump_ops = {
    .type = "filter-dump",
    .frame = filter_dump_frame,
    .cleanup = filter_dump_cleanup,
};

static struct net_filter_priv *filter_dump_create(const struct kv_list *kv, GError **errp)
{
    const char *maxlen = kv_get(kv, "maxlen");
    uint64_t v = FILTER_DUMP_MAXLEN_DEFAULT;
    struct filter_dump *d;

    if (maxlen && filter_dump_parse_maxlen(maxlen, &v, errp) < 0) {
        return NULL;
    }
    if (v == 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Property 'filter-dump.maxlen' doesn't take value '0'");
        return NULL;
    }
    d = g_new0(struct filter_dump, 1);
    d->p.f.ops = &filter_dump_ops;
    d->file = g_strdup(kv_get(kv, "file"));
    d->maxlen = v;
    d->fd = -1;
    return &d->p;
}

static int filter_dump_setup(struct net_filter *f, GError **errp)
{
    struct filter_dump *d = filter_dump_of(f);
    struct pcap_file_hdr hdr = {
        .magic = PCAP_MAGIC,
        .version_major = 2,
        .version_minor = 4,
        .snaplen = d->maxlen,
        .linktype = PCAP_LINKTYPE_ETHER,
    };
    int fd, err;

    fd = open(d->file, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        err = errno;
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "net dump: can't open %s: %s",
                    d->file, g_strerror(err));
        return -err;
    }
    errno = 0;
    if (write(fd, &hdr, sizeof(hdr)) != sizeof(hdr)) {
        err = errno ? errno : ENOSPC;
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "net dump write error: %s",
                    g_strerror(err));
        close(fd);
        return -err;
    }
    d->fd = fd;
    return 0;
}

static void filter_dump_info(const struct net_filter *f, GString *out)
{
    const struct filter_dump *d = container_of(f, const struct filter_dump, p.f);

    g_string_append_printf(out, ",file=%s,maxlen=%u", d->file, d->maxlen);
}

const struct net_filter_type net_filter_dump_type = {
    .name = "filter-dump",
    .keys = filter_dump_keys,
    .check = filter_dump_check,
    .create = filter_dump_create,
    .setup = filter_dump_setup,
    .info = filter_dump_info,
};
