/*
 * -netdev tap, as QEMU 7.2's on Linux: the guest's frames go through a
 * kernel tap interface (/dev/net/tun with IFF_TAP | IFF_NO_PI)
 *   ifname=NAME (default tap%d)  created here; script= / downscript= run
 *                                with the interface's name after creation
 *                                and before it goes (default /etc/qemu-ifup
 *                                and /etc/qemu-ifdown, "no" for none);
 *   fd=N, fds=N                  a tap the caller opened (one queue only);
 *   vnet_hdr=on|off              the kernel's virtio-net header (IFF_VNET_HDR;
 *                                default: used when the kernel offers it);
 *   sndbuf=SIZE, vhost=off, queues=1, poll-us=N  accepted.
 * vhost, multiqueue and the bridge helper are refused with a clear error.
 *
 * The vnet header: the kernel reads and writes one in front of every frame
 * once IFF_VNET_HDR is set (10 bytes, or what TUNSETVNETHDRSZ asked).  Our
 * peer uses one only once it set nc.vnet_hdr_len (a virtio-net NIC); until
 * then (a hub port, a NIC not started yet) frames pass as plain Ethernet:
 * the header is stripped on the way in and a zero one added on the way out.
 *
 * Flow control: a frame the peer cannot take stops reading the tap until it
 * goes through; a frame the tap cannot take (EAGAIN) is queued by net.c
 * until the tap is writable again.
 *
 * Threads: the main thread's glib loop (fd callbacks) and vCPU threads (the
 * NIC sends), both with the big lock held.  Scripts run in a forked child
 * that only closes descriptors and execs, safe with other threads running.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include <glib-unix.h>

#include "net/net.h"
#include "system/iov.h"
#include "system/error.h"
#include "system/keyval.h"

#define NET_TAP_DEV          "/dev/net/tun"
#define NET_TAP_IFUP         "/etc/qemu-ifup"
#define NET_TAP_IFDOWN       "/etc/qemu-ifdown"
/* The kernel's own vnet header (struct virtio_net_hdr) and the largest a
 * peer may use (12 with mergeable buffers; 20 with the hash report). */
#define NET_TAP_HDR_DEFAULT  10
#define NET_TAP_HDR_MAX      20
/* The seam's largest frame behind the largest header. */
#define NET_TAP_BUFSIZE      (NET_TAP_HDR_MAX + NET_FRAME_MAX)
/* Frames read per wakeup, as QEMU's: a busy host does not starve the guest. */
#define NET_TAP_READ_BATCH   50
/* Frames in fewer pieces than this (the header added) use an iovec array on the stack. */
#define NET_TAP_STACK_IOV    64

struct net_tap {
    struct net_client nc;
    int fd;
    bool vnet_hdr;               /* IFF_VNET_HDR in use */
    unsigned host_hdr_len;       /* the kernel's header length (0 without) */
    char *downscript;            /* run with ifname at cleanup, or NULL */
    char *ifname;
    guint read_watch, write_watch;
    uint8_t *buf;                /* NET_TAP_BUFSIZE: one frame read */
};

static void net_tap_read_poll(struct net_tap *s, bool on);
static void net_tap_write_poll(struct net_tap *s, bool on);

static void net_tap_error(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void net_tap_error(GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(HYVM_ERROR, HYVM_ERROR_FAILED, fmt, ap));
    va_end(ap);
}

static void net_tap_unsupported(GError **errp, const char *what)
{
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED, "%s", what);
}

/* ---- the vnet header between the kernel and the peer ---- */

/* The first len bytes of a frame in pieces; the rest of out is zeroed. */
static void net_tap_iov_head(const struct iovec *iov, unsigned cnt, uint8_t *out, size_t len,
                             size_t out_size)
{
    memset(out, 0, out_size);
    iov_to_buf(iov, cnt, 0, out, len);
}

/*
 * The frame from the peer as the kernel wants it: the peer's header
 * (nc.vnet_hdr_len bytes, maybe none) replaced by one of host_hdr_len
 * bytes with the same leading fields.  out holds cnt + 1 entries; returns
 * how many it used.
 */
static unsigned net_tap_to_host(struct net_tap *s, const struct iovec *iov, unsigned cnt,
                                struct iovec *out, uint8_t *hdr)
{
    size_t skip = s->nc.vnet_hdr_len;
    unsigned n = 0;

    net_tap_iov_head(iov, cnt, hdr, MIN(skip, s->host_hdr_len), NET_TAP_HDR_MAX);
    if (s->host_hdr_len) {
        out[n++] = (struct iovec){ .iov_base = hdr, .iov_len = s->host_hdr_len };
    }
    for (unsigned i = 0; i < cnt; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        out[n++] = (struct iovec){ .iov_base = (uint8_t *)iov[i].iov_base + skip,
                                   .iov_len = iov[i].iov_len - skip };
        skip = 0;
    }
    return n;
}

/* ---- frames from the peer (the NIC) to the tap ---- */

static ssize_t net_tap_writev(struct net_tap *s, const struct iovec *iov, unsigned cnt,
                              size_t size)
{
    ssize_t n;

    do {
        n = writev(s->fd, iov, cnt);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) {
        net_tap_write_poll(s, true);
        return 0;
    }
    return n < 0 ? -errno : (ssize_t)size;
}

/* A frame in more pieces than writev takes, in one buffer. */
static ssize_t net_tap_write_flat(struct net_tap *s, const struct iovec *iov, unsigned cnt,
                                  size_t size)
{
    size_t total = iov_size(iov, cnt);
    g_autofree uint8_t *flat = NULL;
    struct iovec one;

    if (total > NET_TAP_BUFSIZE) {
        return size;               /* larger than any tap takes: dropped */
    }
    flat = g_malloc(total);
    net_tap_iov_head(iov, cnt, flat, total, total);
    one = (struct iovec){ .iov_base = flat, .iov_len = total };
    return net_tap_writev(s, &one, 1, size);
}

static ssize_t net_tap_receive(struct net_client *nc, const struct iovec *iov, unsigned cnt)
{
    struct net_tap *s = container_of(nc, struct net_tap, nc);
    size_t size = iov_size(iov, cnt);
    struct iovec stack_iov[NET_TAP_STACK_IOV];
    g_autofree struct iovec *heap_iov = NULL;
    struct iovec *out = stack_iov;
    uint8_t hdr[NET_TAP_HDR_MAX];
    unsigned n;

    if (s->write_watch) {
        return 0;                  /* frames before this one still wait */
    }
    if (size < nc->vnet_hdr_len || nc->vnet_hdr_len > NET_TAP_HDR_MAX) {
        return size;               /* no room for the header it claims: dropped */
    }
    if (cnt + 1 > NET_TAP_STACK_IOV) {
        out = heap_iov = g_new(struct iovec, cnt + 1);
    }
    n = net_tap_to_host(s, iov, cnt, out, hdr);
    if (n > IOV_MAX) {
        return net_tap_write_flat(s, out, n, size);
    }
    return net_tap_writev(s, out, n, size);
}

static gboolean net_tap_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    struct net_tap *s = opaque;

    s->write_watch = 0;
    /* Room again: what the peer queued goes now. */
    net_queue_flush(&s->nc);
    return G_SOURCE_REMOVE;
}

/* ---- frames from the tap to the peer ---- */

/* The peer took the frame it had refused: read again. */
static void net_tap_sent(struct net_client *nc, ssize_t ret)
{
    net_tap_read_poll(container_of(nc, struct net_tap, nc), true);
}

/* One frame as read (host_hdr_len bytes of header first) to the peer,
 * with the header the peer uses.  False when the peer refused it. */
static bool net_tap_deliver(struct net_tap *s, uint8_t *buf, size_t len)
{
    unsigned peer_hdr = s->nc.vnet_hdr_len;
    uint8_t hdr[NET_TAP_HDR_MAX];
    struct iovec iov[2];
    unsigned n = 0;

    if (len < s->host_hdr_len || peer_hdr > NET_TAP_HDR_MAX) {
        return true;               /* a runt, or a header we cannot build: dropped */
    }
    if (peer_hdr) {
        memset(hdr, 0, sizeof(hdr));
        memcpy(hdr, buf, MIN(peer_hdr, s->host_hdr_len));
        iov[n++] = (struct iovec){ .iov_base = hdr, .iov_len = peer_hdr };
    }
    iov[n++] = (struct iovec){ .iov_base = buf + s->host_hdr_len,
                               .iov_len = len - s->host_hdr_len };
    return net_send(&s->nc, iov, n, net_tap_sent) != 0;
}

static gboolean net_tap_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    struct net_tap *s = opaque;

    for (unsigned i = 0; i < NET_TAP_READ_BATCH && s->read_watch; i++) {
        ssize_t n = read(fd, s->buf, NET_TAP_BUFSIZE);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        if (n < 0) {
            /* The interface went away under us (EBADFD): poll would keep
             * waking us, so stop reading. */
            warn_report("netdev %s: tap read failed: %s", s->nc.name, g_strerror(errno));
            net_tap_read_poll(s, false);
            break;
        }
        if (!net_tap_deliver(s, s->buf, n)) {
            net_tap_read_poll(s, false);
        }
    }
    /* The watch may have been dropped above (flow control, an error). */
    return s->read_watch ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Starts (on) or stops the main-loop source *watch that waits for cond on the tap. */
static void net_tap_poll(struct net_tap *s, guint *watch, GIOCondition cond,
                         GUnixFDSourceFunc cb, bool on)
{
    if (on && !*watch && s->fd >= 0) {
        *watch = g_unix_fd_add(s->fd, cond, cb, s);
    } else if (!on && *watch) {
        g_source_remove(*watch);
        *watch = 0;
    }
}

static void net_tap_read_poll(struct net_tap *s, bool on)
{
    net_tap_poll(s, &s->read_watch, G_IO_IN, net_tap_readable, on);
}

static void net_tap_write_poll(struct net_tap *s, bool on)
{
    net_tap_poll(s, &s->write_watch, G_IO_OUT, net_tap_writable, on);
}

/* ---- vnet header and offloads (the NIC asks) ---- */

static bool net_tap_has_vnet_hdr(struct net_client *nc)
{
    return container_of(nc, struct net_tap, nc)->vnet_hdr;
}

/* The kernel then reads and writes headers of the peer's length: no
 * conversion.  0 leaves the kernel's and strips it as for a plain peer. */
static void net_tap_set_vnet_hdr_len(struct net_client *nc, unsigned len)
{
    struct net_tap *s = container_of(nc, struct net_tap, nc);
    int v = len;

    if (!s->vnet_hdr || !len || len == s->host_hdr_len) {
        return;
    }
    if (len < NET_TAP_HDR_DEFAULT || len > NET_TAP_HDR_MAX ||
        ioctl(s->fd, TUNSETVNETHDRSZ, &v) < 0) {
        /* Kept as it was: frames are converted between the two lengths. */
        warn_report("netdev %s: cannot set the tap's vnet header length to %u", nc->name, len);
        return;
    }
    s->host_hdr_len = len;
}

static int net_tap_offload_ioctl(int fd, unsigned flags)
{
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags);
}

/* QEMU's rules: nothing without checksum offload, ECN only with TSO, and
 * UFO dropped when the kernel no longer has it. */
static void net_tap_set_offloads(struct net_client *nc, const struct net_offloads *o)
{
    struct net_tap *s = container_of(nc, struct net_tap, nc);
    unsigned flags = 0;

    if (net_tap_offload_ioctl(s->fd, 0) < 0 && errno == EINVAL) {
        return;                    /* a kernel without TUNSETOFFLOAD */
    }
    if (o->csum) {
        flags |= TUN_F_CSUM;
        flags |= o->tso4 ? TUN_F_TSO4 : 0;
        flags |= o->tso6 ? TUN_F_TSO6 : 0;
        flags |= (o->tso4 || o->tso6) && o->ecn ? TUN_F_TSO_ECN : 0;
        flags |= o->ufo ? TUN_F_UFO : 0;
    }
    if (net_tap_offload_ioctl(s->fd, flags) < 0 &&
        net_tap_offload_ioctl(s->fd, flags & ~TUN_F_UFO) < 0) {
        warn_report("TUNSETOFFLOAD ioctl() failed: %s", g_strerror(errno));
    }
}

/* ---- scripts ---- */

/*
 * Runs "script ifname" and waits for it.  The child gets no descriptor of
 * ours past stderr and the default signal mask; it only makes system calls
 * between fork and exec.
 */
static int net_tap_run_script(const char *script, const char *ifname, GError **errp)
{
    char *argv[] = { (char *)script, (char *)ifname, NULL };
    long open_max = sysconf(_SC_OPEN_MAX);
    sigset_t none;
    int status;
    pid_t pid;

    sigemptyset(&none);
    pid = fork();
    if (pid < 0) {
        net_tap_error(errp, "could not launch network script %s: %s", script,
                      g_strerror(errno));
        return -errno;
    }
    if (pid == 0) {
        if (close_range(3, ~0U, 0) < 0) {
            for (long fd = 3; fd < open_max; fd++) {
                close(fd);
            }
        }
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(script, argv);
        _exit(1);
    }
    while (waitpid(pid, &status, 0) != pid) {
        if (errno != EINTR) {
            status = -1;
            break;
        }
    }
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return 0;
    }
    /* The raw wait status, as QEMU prints it (256 for exit code 1). */
    net_tap_error(errp, "network script %s failed with status %d", script, status);
    return -EIO;
}

static bool net_tap_script_given(const char *script)
{
    return script && *script && strcmp(script, "no");
}

/* ---- the client ---- */

static void net_tap_cleanup(struct net_client *nc)
{
    struct net_tap *s = container_of(nc, struct net_tap, nc);
    GError *err = NULL;

    net_tap_read_poll(s, false);
    net_tap_write_poll(s, false);
    /* The interface still exists while the script runs, as in QEMU. */
    if (s->downscript && net_tap_run_script(s->downscript, s->ifname, &err) < 0) {
        error_report_err(err);
    }
    close(s->fd);
    g_free(s->downscript);
    g_free(s->ifname);
    g_free(s->buf);
    g_free(s);
}

static const struct net_client_ops net_tap_ops = {
    .type = NET_CLIENT_TAP,
    .type_name = "tap",
    .receive = net_tap_receive,
    .has_vnet_hdr = net_tap_has_vnet_hdr,
    .set_vnet_hdr_len = net_tap_set_vnet_hdr_len,
    .set_offloads = net_tap_set_offloads,
    .cleanup = net_tap_cleanup,
};

/*
 * sndbuf= (0 or none: unlimited, as QEMU's default) and the state another
 * user of a persistent tap may have left: the default header length, no
 * offloads.  Fails only when sndbuf= was given and the kernel refused it.
 */
static int net_tap_setup_fd(int fd, bool vnet_hdr, const char *sndbuf, GError **errp)
{
    uint64_t size = 0;
    int v = NET_TAP_HDR_DEFAULT;
    int sb;

    if (sndbuf) {
        parse_size(sndbuf, 1, &size);
    }
    sb = !size || size > INT_MAX ? INT_MAX : (int)size;
    if (ioctl(fd, TUNSETSNDBUF, &sb) < 0 && sndbuf) {
        net_tap_error(errp, "TUNSETSNDBUF ioctl failed: %s", g_strerror(errno));
        return -EINVAL;
    }
    if (vnet_hdr) {
        ioctl(fd, TUNSETVNETHDRSZ, &v);
    }
    net_tap_offload_ioctl(fd, 0);
    return 0;
}

/* The client on an open, non-blocking tap fd (taken: closed at cleanup). */
static struct net_tap *net_tap_new(const char *id, int fd, bool vnet_hdr)
{
    struct net_tap *s = g_new0(struct net_tap, 1);

    s->fd = fd;
    s->vnet_hdr = vnet_hdr;
    s->host_hdr_len = vnet_hdr ? NET_TAP_HDR_DEFAULT : 0;
    s->buf = g_malloc(NET_TAP_BUFSIZE);
    net_client_init(&s->nc, &net_tap_ops, "tap", id, NULL);
    net_tap_read_poll(s, true);
    return s;
}

/* ---- creation ---- */

/* QEMU's file descriptor argument: a decimal number (no monitor names). */
static bool net_tap_parse_fd(const char *str, int *fd)
{
    char *end;
    gint64 v;

    errno = 0;
    v = g_ascii_strtoll(str, &end, 10);
    if (!*str || *end || errno || v < 0 || v > INT_MAX) {
        return false;
    }
    *fd = v;
    return true;
}

static int net_tap_fd_error(GError **errp, const char *str)
{
    net_tap_error(errp, "Invalid file descriptor number '%s'", str);
    return -EINVAL;
}

/* fd= or fds=: a tap someone else opened; its IFF_VNET_HDR decides ours. */
static int net_tap_init_fd(const char *id, const char *str, const char *sndbuf, GError **errp)
{
    struct ifreq ifr = { 0 };
    struct net_tap *s;
    int fd, fl;

    if (!net_tap_parse_fd(str, &fd)) {
        return net_tap_fd_error(errp, str);
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        net_tap_error(errp, "%s: Can't use file descriptor %d: %s", id, fd, g_strerror(errno));
        if (fl >= 0) {
            close(fd);
        }
        return -EINVAL;
    }
    if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
        net_tap_error(errp, "Unable to query TUNGETIFF on FD %d: %s", fd, g_strerror(errno));
        close(fd);
        return -EINVAL;
    }
    if (net_tap_setup_fd(fd, ifr.ifr_flags & IFF_VNET_HDR, sndbuf, errp) < 0) {
        close(fd);
        return -EINVAL;
    }
    s = net_tap_new(id, fd, ifr.ifr_flags & IFF_VNET_HDR);
    net_client_set_info(&s->nc, "fd=%d", fd);
    return 0;
}

/*
 * Creates (or attaches to a persistent) tap named ifname, "tap%d" when
 * empty; ifname receives the kernel's name.  *vnet_hdr: asked for on
 * entry, in use on return.
 */
static int net_tap_open(char ifname[IFNAMSIZ], bool *vnet_hdr, bool vnet_required,
                        GError **errp)
{
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    unsigned features = 0;
    int fd;

    fd = open(NET_TAP_DEV, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        net_tap_error(errp, "could not open %s: %s", NET_TAP_DEV, g_strerror(errno));
        return -1;
    }
    if (ioctl(fd, TUNGETFEATURES, &features) < 0) {
        warn_report("TUNGETFEATURES failed: %s", g_strerror(errno));
        features = 0;
    }
    if (*vnet_hdr) {
        *vnet_hdr = features & IFF_VNET_HDR;
        if (vnet_required && !*vnet_hdr) {
            net_tap_error(errp, "vnet_hdr=1 requested, but no kernel support for "
                          "IFF_VNET_HDR available");
            close(fd);
            return -1;
        }
        ifr.ifr_flags |= *vnet_hdr ? IFF_VNET_HDR : 0;
    }
    g_strlcpy(ifr.ifr_name, *ifname ? ifname : "tap%d", IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        if (*ifname) {
            net_tap_error(errp, "could not configure %s (%s): %s", NET_TAP_DEV, ifr.ifr_name,
                          g_strerror(errno));
        } else {
            net_tap_error(errp, "could not configure %s: %s", NET_TAP_DEV, g_strerror(errno));
        }
        close(fd);
        return -1;
    }
    g_strlcpy(ifname, ifr.ifr_name, IFNAMSIZ);
    return fd;
}

static int net_tap_init_ifname(const char *id, const struct kv_list *kv, GError **errp)
{
    const char *script = kv_get(kv, "script") ?: NET_TAP_IFUP;
    const char *downscript = kv_get(kv, "downscript") ?: NET_TAP_IFDOWN;
    const char *vh = kv_get(kv, "vnet_hdr");
    bool vnet_hdr = true, required = false;
    char ifname[IFNAMSIZ];
    struct net_tap *s;
    int fd;

    if (vh) {
        parse_bool(vh, &vnet_hdr);
        required = vnet_hdr;
    }
    /* A longer name is cut to what the kernel takes, as QEMU's copy does. */
    g_strlcpy(ifname, kv_get(kv, "ifname") ?: "", sizeof(ifname));
    fd = net_tap_open(ifname, &vnet_hdr, required, errp);
    if (fd < 0) {
        return -EINVAL;
    }
    if (net_tap_script_given(script) && net_tap_run_script(script, ifname, errp) < 0) {
        close(fd);
        return -EINVAL;
    }
    if (net_tap_setup_fd(fd, vnet_hdr, kv_get(kv, "sndbuf"), errp) < 0) {
        close(fd);
        return -EINVAL;
    }
    s = net_tap_new(id, fd, vnet_hdr);
    s->ifname = g_strdup(ifname);
    if (strcmp(downscript, "no")) {
        s->downscript = *downscript ? g_strdup(downscript) : NULL;
    }
    net_client_set_info(&s->nc, "ifname=%s,script=%s,downscript=%s", ifname, script,
                        downscript);
    return 0;
}

/* ---- options ---- */

static int net_tap_check_types(const struct kv_list *kv, GError **errp)
{
    static const char *const bools[] = { "vnet_hdr", "vhost", "vhostforce", NULL };
    static const char *const u32s[] = { "queues", "poll-us", NULL };
    const char *v;
    uint64_t n;
    bool b;

    for (unsigned i = 0; bools[i]; i++) {
        if ((v = kv_get(kv, bools[i])) && !parse_bool(v, &b)) {
            net_tap_error(errp, "Parameter '%s' expects 'on' or 'off'", bools[i]);
            return -EINVAL;
        }
    }
    for (unsigned i = 0; u32s[i]; i++) {
        if (!(v = kv_get(kv, u32s[i]))) {
            continue;
        }
        if (parse_uint(v, &n) < 0) {
            net_tap_error(errp, "Parameter '%s' expects a uint64 value", u32s[i]);
            return -EINVAL;
        }
        if (n > UINT32_MAX) {
            net_tap_error(errp, "Parameter '%s' expects uint32_t", u32s[i]);
            return -EINVAL;
        }
    }
    if ((v = kv_get(kv, "sndbuf")) && parse_size(v, 1, &n) < 0) {
        net_tap_error(errp, "Parameter 'sndbuf' expects a size value");
        return -EINVAL;
    }
    return 0;
}

/* QEMU's: fd=, fds= and helper= each exclude the options of the others. */
static int net_tap_check_modes(const struct kv_list *kv, GError **errp)
{
    static const char *const with_fd[] = {
        "ifname", "script", "downscript", "vnet_hdr", "helper", "queues", "fds", "vhostfds",
        NULL,
    };
    static const char *const with_fds[] = {
        "ifname", "script", "downscript", "vnet_hdr", "helper", "queues", "vhostfd", NULL,
    };
    static const char *const with_helper[] = {
        "ifname", "script", "downscript", "vnet_hdr", "queues", "vhostfds", NULL,
    };
    const char *const *bad = NULL;
    const char *msg = NULL;

    if (kv_has(kv, "fd")) {
        bad = with_fd;
        msg = "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and "
              "vhostfds= are invalid with fd=";
    } else if (kv_has(kv, "fds")) {
        bad = with_fds;
        msg = "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= "
              "are invalid with fds=";
    } else if (kv_has(kv, "helper")) {
        bad = with_helper;
        msg = "ifname=, script=, downscript=, vnet_hdr=, queues=, and vhostfds= are "
              "invalid with helper=";
    } else if (kv_has(kv, "vhostfds")) {
        net_tap_error(errp, "vhostfds= is invalid if fds= wasn't specified");
        return -EINVAL;
    }
    for (unsigned i = 0; bad && bad[i]; i++) {
        if (kv_has(kv, bad[i])) {
            net_tap_error(errp, "%s", msg);
            return -EINVAL;
        }
    }
    return 0;
}

/* fd= and fds= numbers; fds= with one only (no multiqueue). */
static int net_tap_check_fds(const struct kv_list *kv, GError **errp)
{
    const char *v;
    int fd;

    if ((v = kv_get(kv, "fd")) && !net_tap_parse_fd(v, &fd)) {
        return net_tap_fd_error(errp, v);
    }
    if ((v = kv_get(kv, "fds"))) {
        g_auto(GStrv) fds = g_strsplit(v, ":", -1);

        for (unsigned i = 0; fds[i]; i++) {
            if (!net_tap_parse_fd(fds[i], &fd)) {
                return net_tap_fd_error(errp, fds[i]);
            }
        }
        if (g_strv_length(fds) > 1) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                        "multiqueue tap is not supported: fds= takes one file descriptor, "
                        "not %u", g_strv_length(fds));
            return -ENOTSUP;
        }
    }
    return 0;
}

/* What hyvm does not build: vhost-net, multiqueue, the bridge helper. */
static int net_tap_check_unsupported(const struct kv_list *kv, GError **errp)
{
    const char *v;
    uint64_t n;
    bool b;

    if (((v = kv_get(kv, "vhost")) && parse_bool(v, &b) && b) ||
        ((v = kv_get(kv, "vhostforce")) && parse_bool(v, &b) && b) ||
        kv_has(kv, "vhostfd") || kv_has(kv, "vhostfds")) {
        net_tap_unsupported(errp, "vhost-net is not supported: use vhost=off (the default)");
        return -ENOTSUP;
    }
    if ((v = kv_get(kv, "queues")) && parse_uint(v, &n) == 0 && n != 1) {
        g_set_error(errp, HYVM_ERROR, n ? HYVM_ERROR_UNSUPPORTED : HYVM_ERROR_FAILED,
                    n ? "multiqueue tap is not supported: queues=%s, only queues=1"
                      : "queues=%s: a tap needs one queue", v);
        return n ? -ENOTSUP : -EINVAL;
    }
    if (kv_has(kv, "helper") || kv_has(kv, "br")) {
        net_tap_unsupported(errp, "the bridge helper (helper=, br=) is not supported: create "
                            "the tap beforehand and use ifname= or fd=");
        return -ENOTSUP;
    }
    return 0;
}

int net_tap_check(const struct kv_list *kv, GError **errp)
{
    static const char *const keys[] = {
        "type", "id", "ifname", "fd", "fds", "script", "downscript", "br", "helper",
        "sndbuf", "vnet_hdr", "vhost", "vhostfd", "vhostfds", "vhostforce", "queues",
        "poll-us", NULL,
    };
    int ret;

    for (unsigned i = 0; i < kv->n; i++) {
        if (!g_strv_contains(keys, kv->items[i].key)) {
            net_tap_error(errp, "Invalid parameter '%s'", kv->items[i].key);
            return -EINVAL;
        }
    }
    if ((ret = net_tap_check_types(kv, errp)) < 0 ||
        (ret = net_tap_check_modes(kv, errp)) < 0 ||
        (ret = net_tap_check_fds(kv, errp)) < 0 ||
        (ret = net_tap_check_unsupported(kv, errp)) < 0) {
        return ret;
    }
    return 0;
}

int net_tap_init(const char *id, const struct kv_list *kv, GError **errp)
{
    const char *v;
    int ret = net_tap_check(kv, errp);

    if (ret < 0) {
        return ret;
    }
    if ((v = kv_get(kv, "fd")) || (v = kv_get(kv, "fds"))) {
        return net_tap_init_fd(id, v, kv_get(kv, "sndbuf"), errp);
    }
    return net_tap_init_ifname(id, kv, errp);
}
