/*
 * Fuzz target: split virtqueue descriptor parsing and used-ring updates
 * (hw/virtio/virtqueue.c) on a fake device over a small guest RAM.
 *
 * The input is a 24-byte header, then the first bytes of guest RAM:
 *   0      queue size: bit 7 set: the low 7 bits as they are (often not a
 *          power of two), else 1 << (bits 0-2)
 *   1      driver features: bit 0 INDIRECT_DESC, 1 EVENT_IDX,
 *          2 NOTIFY_ON_EMPTY, 3 a legacy transport (no VERSION_1)
 *   2      how the device returns chains: bits 0-1 one at a time, all in
 *          one batch, unpop-and-pop-again, reverse order; bit 2 with
 *          notifications off while it works; bit 3 a device reset halfway
 *   3      unused
 *   4-5    the index the queue starts at (as after 2^16 requests: wraps)
 *   6-7    unused
 *   8-19   desc, avail and used ring addresses (le32 guest-physical)
 *   20-23  unused
 * Guest RAM is two regions: RAM_A (16 KiB, the input's bytes then zeros)
 * and RAM_B (4 KiB of a fixed pattern), with unmapped space around both.
 * Seeds are well-formed rings: direct chains, indirect tables, chains of
 * direct descriptors ending in an indirect one, a queue whose indices
 * wrap, so that mutations explore near them.
 *
 * The device pops chains until the queue is empty or broken and pushes
 * them back; a check that fails aborts, as a crash does:
 *   - each pop gives what a model of the chain walk predicts from the
 *     rings just before it: the same head and buffers, or NULL for an empty
 *     queue, or NULL and a broken device for a malformed chain;
 *   - every iovec lies inside one RAM region; a chain has at most
 *     VIRTQUEUE_MAX_SIZE buffers and its head is below the queue size;
 *   - a NULL pop means empty or broken, and a broken device pops nothing;
 *   - an unpopped chain pops again with the same head;
 *   - each flush publishes exactly the entries filled, with their ids and
 *     lengths, and the used index the device counts;
 *   - nothing in guest RAM changes but the used ring and the device-
 *     writable buffers the device wrote; after a reset, nothing at all.
 *
 * HYVM_FUZZ_VERBOSE=1 logs the core's guest errors and a line per input
 * (chains popped, device broken) on stderr.
 *
 * Threads: one (the core's big-lock contract holds trivially).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "hw/virtio/virtio.h"
#include "system/log.h"
#include "system/memory.h"
#include "tests/fuzz/fuzz.h"

const char fuzz_target_name[] = "virtqueue";

#define HDR_LEN 24
#define RAM_A 0x1000u
#define RAM_A_SIZE 0x4000u
#define RAM_B 0x10000u
#define RAM_B_SIZE 0x1000u
#define QUEUE_MAX 128u
#define MAX_POPS (4 * QUEUE_MAX + 8)

#define FUZZ_CHECK(cond)                                                             \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "fuzz-virtqueue: check failed: %s (%s:%d)\n", #cond,     \
                    __FILE__, __LINE__);                                             \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* ---- seeds ---- */

#define L16(o, v) [(o)] = (uint8_t)(v), [(o) + 1] = (uint8_t)((v) >> 8)
#define L32(o, v) L16((o), (uint32_t)(v) & 0xffff), L16((o) + 2, (uint32_t)(v) >> 16)
#define L64(o, v) L32((o), (uint64_t)(v) & 0xffffffffu), L32((o) + 4, (uint64_t)(v) >> 32)
/* The input offset of guest address gpa in RAM_A. */
#define R(gpa) (HDR_LEN + (gpa) - RAM_A)
#define HEADER(qsize, feat, ops, start, desc, avail, used) \
    [0] = (qsize), [1] = (feat), [2] = (ops), L16(4, start), L32(8, desc), L32(12, avail), \
    L32(16, used)
/* Descriptor i of the table at gpa t. */
#define DESC(t, i, addr, len, flags, next) \
    L64(R(t) + 16 * (i), addr), L32(R(t) + 16 * (i) + 8, len), \
    L16(R(t) + 16 * (i) + 12, flags), L16(R(t) + 16 * (i) + 14, next)
#define F_NEXT VRING_DESC_F_NEXT
#define F_WRITE VRING_DESC_F_WRITE
#define F_INDIRECT VRING_DESC_F_INDIRECT

/* The seeds' layout: an 8-entry queue, then tables and buffers in RAM_A. */
#define S_DESC 0x1000u
#define S_AVAIL 0x1080u
#define S_USED 0x1100u
#define S_ITAB 0x1200u
#define S_HDR 0x1300u
#define S_DATA 0x1400u
#define S_STATUS 0x1600u
#define S_END 0x1610u
#define FEAT_INDIRECT 1
#define FEAT_EVENT_IDX 2
#define FEAT_NOTIFY_EMPTY 4
#define FEAT_LEGACY 8

/* A block request of three direct descriptors from i, one into RAM_B. */
#define BLK_CHAIN(i) \
    DESC(S_DESC, (i), S_HDR, 16, F_NEXT, (i) + 1), \
    DESC(S_DESC, (i) + 1, RAM_B + 0x200, 512, F_NEXT | F_WRITE, (i) + 2), \
    DESC(S_DESC, (i) + 2, S_STATUS, 1, F_WRITE, 0)

/* Three direct chains: a request, a readable+writable pair, one writable buffer. */
static const uint8_t seed_direct[R(S_END)] = {
    HEADER(3, FEAT_INDIRECT, 0, 0, S_DESC, S_AVAIL, S_USED),
    BLK_CHAIN(0),
    DESC(S_DESC, 3, S_DATA, 64, F_NEXT, 4),
    DESC(S_DESC, 4, S_DATA + 64, 64, F_WRITE, 0),
    DESC(S_DESC, 5, RAM_B, 4096, F_WRITE, 0),
    L16(R(S_AVAIL) + 2, 3), L16(R(S_AVAIL) + 4, 0), L16(R(S_AVAIL) + 6, 3),
    L16(R(S_AVAIL) + 8, 5),
};

/* Two indirect chains: a request through a 3-entry table, a 2-entry table. */
static const uint8_t seed_indirect[R(S_END)] = {
    HEADER(3, FEAT_INDIRECT | FEAT_EVENT_IDX, 1, 0, S_DESC, S_AVAIL, S_USED),
    DESC(S_DESC, 0, S_ITAB, 48, F_INDIRECT, 0),
    DESC(S_DESC, 1, S_ITAB + 48, 32, F_INDIRECT, 0),
    DESC(S_ITAB, 0, S_HDR, 16, F_NEXT, 1),
    DESC(S_ITAB, 1, S_DATA, 512, F_NEXT | F_WRITE, 2),
    DESC(S_ITAB, 2, S_STATUS, 1, F_WRITE, 0),
    DESC(S_ITAB, 3, S_HDR, 16, F_NEXT, 1),
    DESC(S_ITAB, 4, RAM_B, 1024, F_WRITE, 0),
    L16(R(S_AVAIL) + 2, 2), L16(R(S_AVAIL) + 4, 0), L16(R(S_AVAIL) + 6, 1),
};

/* Direct descriptors ending in an indirect table, beside a direct request;
 * returned in reverse order with notifications off, event idx on. */
static const uint8_t seed_mixed[R(S_END)] = {
    HEADER(3, FEAT_INDIRECT | FEAT_EVENT_IDX | FEAT_NOTIFY_EMPTY, 3 | 4, 0, S_DESC, S_AVAIL,
           S_USED),
    DESC(S_DESC, 0, S_HDR, 16, F_NEXT, 1),
    DESC(S_DESC, 1, S_ITAB, 32, F_INDIRECT, 0),
    DESC(S_ITAB, 0, S_DATA, 256, F_NEXT | F_WRITE, 1),
    DESC(S_ITAB, 1, S_STATUS, 1, F_WRITE, 0),
    BLK_CHAIN(4),
    L16(R(S_AVAIL) + 2, 2), L16(R(S_AVAIL) + 4, 0), L16(R(S_AVAIL) + 6, 4),
    /* used_event: interrupt after the first entry */
    L16(R(S_AVAIL) + 4 + 2 * 8, 0),
};

/* Indices that wrap: the queue starts at 0xfffe, three chains make avail
 * idx 1; unpop and pop again; a legacy driver. */
static const uint8_t seed_wrap[R(S_END)] = {
    HEADER(3, FEAT_LEGACY, 2, 0xfffe, S_DESC, S_AVAIL, S_USED),
    BLK_CHAIN(0),
    DESC(S_DESC, 3, S_DATA, 512, F_WRITE, 0),
    DESC(S_DESC, 4, S_HDR, 16, 0, 0),
    L16(R(S_AVAIL) + 2, 1), L16(R(S_AVAIL) + 4 + 2 * 6, 0), L16(R(S_AVAIL) + 4 + 2 * 7, 3),
    L16(R(S_AVAIL) + 4, 4), L16(R(S_USED) + 2, 0xfffe),
};

/* A device reset with chains in flight: the late pushes must not land. */
static const uint8_t seed_reset[R(S_END)] = {
    HEADER(3, FEAT_INDIRECT, 8 | 1, 0, S_DESC, S_AVAIL, S_USED),
    BLK_CHAIN(0),
    BLK_CHAIN(3),
    DESC(S_DESC, 6, S_ITAB, 48, F_INDIRECT, 0),
    DESC(S_ITAB, 0, S_HDR, 16, F_NEXT, 1),
    DESC(S_ITAB, 1, S_DATA, 512, F_NEXT | F_WRITE, 2),
    DESC(S_ITAB, 2, S_STATUS, 1, F_WRITE, 0),
    L16(R(S_AVAIL) + 2, 3), L16(R(S_AVAIL) + 4, 0), L16(R(S_AVAIL) + 6, 3),
    L16(R(S_AVAIL) + 8, 6),
};

#define SEED(a) { (const char *)(a), sizeof(a) }

const struct fuzz_seed fuzz_seeds[] = {
    SEED(seed_direct),
    SEED(seed_indirect),
    SEED(seed_mixed),
    SEED(seed_wrap),
    SEED(seed_reset),
    { NULL },
};

/* ---- the fake device and transport ---- */

struct fuzz_req {
    struct virtq_elem elem;      /* first: virtqueue_pop() allocates the request */
    uint32_t written;            /* bytes the device wrote into in_sg */
};

struct fuzz_dev {
    struct virtio_device vdev;   /* first: virtio_device_free() frees through it */
};

static unsigned notifies, resets;

static void fuzz_notify(struct virtio_device *vdev, uint16_t vector)
{
    (void)vdev;
    (void)vector;
    notifies++;
}

static void fuzz_transport_reset(struct virtio_device *vdev)
{
    (void)vdev;
    resets++;
}

static const struct virtio_transport_ops fuzz_transport = {
    .name = "fuzz",
    .notify = fuzz_notify,
    .reset = fuzz_transport_reset,
};

static const struct virtio_dev_ops fuzz_dev_ops = {
    .name = "virtio-fuzz",
    .device_id = VIRTIO_ID_BLOCK,
    .config_size = 8,
};

/* ---- guest RAM and what the device may change in it ---- */

static uint8_t *ram_a, *ram_b;
static uint8_t before_a[RAM_A_SIZE], before_b[RAM_B_SIZE];
static uint8_t may_a[RAM_A_SIZE], may_b[RAM_B_SIZE];   /* 1: the device may write it */

static void ram_setup(void)
{
    GError *err = NULL;

    if (ram_a) {
        return;
    }
    if (ram_add_region(RAM_A, RAM_A_SIZE, &err) < 0 ||
        ram_add_region(RAM_B, RAM_B_SIZE, &err) < 0) {
        fprintf(stderr, "fuzz-virtqueue: %s\n", err->message);
        abort();
    }
    ram_a = ram_hva(RAM_A, RAM_A_SIZE);
    ram_b = ram_hva(RAM_B, RAM_B_SIZE);
    FUZZ_CHECK(ram_a && ram_b);
}

/* Where an iovec's bytes live: the may-write map of its region and its
 * offset there, or NULL when it is not inside one region. */
static uint8_t *region_of(const struct iovec *iov, size_t *off)
{
    const uint8_t *p = iov->iov_base;

    if (p >= ram_a && p - ram_a < RAM_A_SIZE && iov->iov_len <= RAM_A_SIZE - (size_t)(p - ram_a)) {
        *off = p - ram_a;
        return may_a;
    }
    if (p >= ram_b && p - ram_b < RAM_B_SIZE && iov->iov_len <= RAM_B_SIZE - (size_t)(p - ram_b)) {
        *off = p - ram_b;
        return may_b;
    }
    return NULL;
}

/* The guest-physical range [gpa, gpa + len) may change (clipped to RAM). */
static void allow_gpa(uint64_t gpa, uint64_t len)
{
    for (uint64_t a = gpa; a < gpa + len && a >= gpa; a++) {
        if (a >= RAM_A && a < RAM_A + RAM_A_SIZE) {
            may_a[a - RAM_A] = 1;
        } else if (a >= RAM_B && a < RAM_B + RAM_B_SIZE) {
            may_b[a - RAM_B] = 1;
        }
    }
}

static void check_unchanged(const uint8_t *now, const uint8_t *before, const uint8_t *may,
                            size_t size)
{
    for (size_t i = 0; i < size; i++) {
        FUZZ_CHECK(now[i] == before[i] || may[i]);
    }
}

/* ---- the device's work ---- */

struct run {
    struct virtio_device *vdev;
    struct virtqueue *vq;
    uint8_t ops;
    struct fuzz_req *held[MAX_POPS];   /* popped, not pushed yet */
    unsigned nheld;
    unsigned pops;
    bool after_reset;
};

/* Checks a chain the core handed out, reads its readable part and writes
 * up to REPLY_MAX bytes of its writable part, as a device would. */
#define REPLY_MAX 600u

static void take_elem(struct run *r, struct fuzz_req *req)
{
    struct virtq_elem *e = &req->elem;
    static uint8_t scratch[RAM_A_SIZE + RAM_B_SIZE];
    uint8_t reply[REPLY_MAX];
    size_t left;

    FUZZ_CHECK(e->index < r->vq->num);
    FUZZ_CHECK(e->out_num + e->in_num <= VIRTQUEUE_MAX_SIZE);
    FUZZ_CHECK(e->in_sg == e->out_sg + e->out_num);
    for (unsigned i = 0; i < e->out_num + e->in_num; i++) {
        size_t off;

        FUZZ_CHECK(region_of(&e->out_sg[i], &off) != NULL);
    }
    FUZZ_CHECK(iov_to_buf(e->out_sg, e->out_num, 0, scratch, sizeof(scratch)) ==
               MIN(iov_size(e->out_sg, e->out_num), sizeof(scratch)));
    left = MIN(iov_size(e->in_sg, e->in_num), (size_t)REPLY_MAX);
    for (unsigned i = 0; i < e->in_num && left; i++) {
        size_t off, n = MIN(e->in_sg[i].iov_len, left);

        memset(region_of(&e->in_sg[i], &off) + off, 1, n);
        left -= n;
    }
    memset(reply, 0xd0 + (e->index & 15), sizeof(reply));
    req->written = iov_from_buf(e->in_sg, e->in_num, 0, reply, sizeof(reply));
    FUZZ_CHECK(req->written == MIN(iov_size(e->in_sg, e->in_num), (size_t)REPLY_MAX));
}

static uint16_t used_idx_in_ram(struct virtqueue *vq)
{
    uint16_t v;

    memcpy(&v, vq->used_hva + 2, 2);
    return GUINT16_FROM_LE(v);
}

/* ---- a model of taking one chain (virtio 1.2 sections 2.7.5 - 2.7.6) ---- */

/*
 * Predicts virtqueue_pop() from the rings as they are just before it: the
 * buffers of the next chain, or that the queue is empty, or a guest error.
 * Besides the spec's rules it encodes the core's policy (virtqueue.c):
 * empty buffers are left out, an indirect table holds 1 to
 * VIRTQUEUE_MAX_SIZE entries and needs INDIRECT_DESC acked and no NEXT
 * beside it, a chain has at most VIRTQUEUE_MAX_SIZE buffers.
 */
enum { M_EMPTY, M_ERROR, M_CHAIN };

struct model {
    uint16_t head;
    unsigned out, in;
    struct iovec sg[VIRTQUEUE_MAX_SIZE];
};

static void model_desc(uint64_t table, unsigned i, struct vring_desc *d)
{
    FUZZ_CHECK(ram_read(table + 16ull * i, d, sizeof(*d)) == 0);
    d->addr = GUINT64_FROM_LE(d->addr);
    d->len = GUINT32_FROM_LE(d->len);
    d->flags = GUINT16_FROM_LE(d->flags);
    d->next = GUINT16_FROM_LE(d->next);
}

static int model_walk(struct virtqueue *vq, uint64_t table, unsigned size, bool indirect,
                      struct model *m)
{
    unsigned i = indirect ? 0 : m->head;

    /* Section 2.7.5.3.1 / 2.7.4: a chain never visits an entry twice. */
    for (unsigned visited = 0; visited < size; visited++) {
        struct vring_desc d;

        model_desc(table, i, &d);
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (indirect || (d.flags & VRING_DESC_F_NEXT) ||
                !virtio_has_feature(vq->vdev, VIRTIO_RING_F_INDIRECT_DESC) ||
                d.len == 0 || d.len % 16 || d.len / 16 > VIRTQUEUE_MAX_SIZE ||
                !ram_hva(d.addr, d.len)) {
                return M_ERROR;
            }
            return model_walk(vq, d.addr, d.len / 16, true, m);
        }
        if (d.len) {
            void *hva = ram_hva(d.addr, d.len);

            if (!hva || m->out + m->in == VIRTQUEUE_MAX_SIZE) {
                return M_ERROR;
            }
            if (d.flags & VRING_DESC_F_WRITE) {
                m->sg[m->out + m->in++] = (struct iovec){ hva, d.len };
            } else if (m->in) {
                return M_ERROR;     /* section 2.7.4.2: readable ones first */
            } else {
                m->sg[m->out++] = (struct iovec){ hva, d.len };
            }
        }
        if (!(d.flags & VRING_DESC_F_NEXT)) {
            return M_CHAIN;
        }
        if (d.next >= size) {
            return M_ERROR;
        }
        i = d.next;
    }
    return M_ERROR;
}

static int model_pop(struct virtqueue *vq, struct model *m)
{
    uint16_t idx;

    m->out = m->in = 0;
    if (!vq->ready || vq->vdev->broken) {
        return M_EMPTY;
    }
    /* The device may keep using an available index it read before. */
    if (vq->shadow_avail_idx != vq->last_avail_idx) {
        idx = vq->shadow_avail_idx;
    } else {
        FUZZ_CHECK(ram_read(vq->avail + 2, &idx, 2) == 0);
        idx = GUINT16_FROM_LE(idx);
        if ((uint16_t)(idx - vq->last_avail_idx) > vq->num) {
            return M_ERROR;     /* section 2.7.6: at most num new entries */
        }
    }
    if (idx == vq->last_avail_idx) {
        return M_EMPTY;
    }
    FUZZ_CHECK(ram_read(vq->avail + 4 + 2ull * (vq->last_avail_idx % vq->num), &m->head, 2) ==
               0);
    m->head = GUINT16_FROM_LE(m->head);
    if (m->head >= vq->num) {
        return M_ERROR;
    }
    return model_walk(vq, vq->desc, vq->num, false, m);
}

/* virtqueue_pop() held against the model's prediction. */
static struct fuzz_req *pop_checked(struct run *r)
{
    static struct model m;
    bool was_broken = r->vdev->broken;
    int want = model_pop(r->vq, &m);
    struct fuzz_req *req = virtqueue_pop(r->vq, sizeof(*req));

    switch (want) {
    case M_EMPTY:
        FUZZ_CHECK(!req && r->vdev->broken == was_broken);
        break;
    case M_ERROR:
        FUZZ_CHECK(!req && r->vdev->broken);
        break;
    default:
        FUZZ_CHECK(req && !r->vdev->broken);
        FUZZ_CHECK(req->elem.index == m.head);
        FUZZ_CHECK(req->elem.out_num == m.out && req->elem.in_num == m.in);
        for (unsigned i = 0; i < m.out + m.in; i++) {
            FUZZ_CHECK(req->elem.out_sg[i].iov_base == m.sg[i].iov_base);
            FUZZ_CHECK(req->elem.out_sg[i].iov_len == m.sg[i].iov_len);
        }
        break;
    }
    return req;
}

/* Returns held[from, from + n) (in reverse when asked) as one batch. */
static void push_batch(struct run *r, unsigned from, unsigned n, bool reverse)
{
    struct virtqueue *vq = r->vq;
    uint16_t start = vq->used_idx;

    if (!n) {
        return;
    }
    if (r->after_reset) {
        /* The queue is gone: the late completions must change nothing. */
        FUZZ_CHECK(!vq->ready);
    }
    for (unsigned k = 0; k < n; k++) {
        struct fuzz_req *req = r->held[reverse ? from + n - 1 - k : from + k];

        virtqueue_fill(vq, &req->elem, req->written, k);
    }
    virtqueue_flush(vq, n);
    if (vq->ready) {
        unsigned notifies_before = notifies;

        FUZZ_CHECK(vq->used_idx == (uint16_t)(start + n));
        FUZZ_CHECK(used_idx_in_ram(vq) == vq->used_idx);
        /* A batch longer than the queue (a driver that rewrote avail->idx
         * through a buffer) overwrites its first entries: the last num hold. */
        for (unsigned k = n > vq->num ? n - vq->num : 0; k < n; k++) {
            struct fuzz_req *req = r->held[reverse ? from + n - 1 - k : from + k];
            uint32_t ent[2];

            memcpy(ent, vq->used_hva + 4 + 8 * ((uint16_t)(start + k) % vq->num), 8);
            FUZZ_CHECK(GUINT32_FROM_LE(ent[0]) == req->elem.index);
            FUZZ_CHECK(GUINT32_FROM_LE(ent[1]) == req->written);
        }
        virtqueue_notify(vq);
        /* A broken device interrupts for nothing but the config change. */
        FUZZ_CHECK(!r->vdev->broken || notifies == notifies_before);
    }
    for (unsigned k = 0; k < n; k++) {
        g_free(r->held[from + k]);
        r->held[from + k] = NULL;
    }
}

static void device_reset(struct run *r)
{
    struct virtqueue *vq = r->vq;
    unsigned resets_before = resets;

    check_unchanged(ram_a, before_a, may_a, RAM_A_SIZE);
    check_unchanged(ram_b, before_b, may_b, RAM_B_SIZE);
    memcpy(before_a, ram_a, RAM_A_SIZE);
    memcpy(before_b, ram_b, RAM_B_SIZE);
    memset(may_a, 0, RAM_A_SIZE);
    memset(may_b, 0, RAM_B_SIZE);
    virtio_set_status(r->vdev, 0);
    FUZZ_CHECK(!vq->ready && !r->vdev->broken && r->vdev->status == 0);
    FUZZ_CHECK(resets == resets_before + 1);
    r->after_reset = true;
}

static void work(struct run *r)
{
    struct virtqueue *vq = r->vq;
    unsigned mode = r->ops & 3;
    bool unpopped = false;

    if (r->ops & 4) {
        virtqueue_set_notification(vq, false);
    }
    while (r->pops < MAX_POPS && r->nheld < MAX_POPS) {
        struct fuzz_req *req = pop_checked(r);

        if (!req) {
            /* Empty or broken: nothing more comes out either way. */
            FUZZ_CHECK(r->vdev->broken || virtqueue_empty(vq));
            if (r->vdev->broken) {
                FUZZ_CHECK(virtqueue_pop(vq, sizeof(*req)) == NULL);
            }
            break;
        }
        r->pops++;
        if (mode == 2 && !unpopped) {
            uint16_t head = req->elem.index;
            /* With event idx the pop wrote avail_event, which a driver may
             * have put over its own descriptors: then anything may follow. */
            bool same = !(vq->notification &&
                          virtio_has_feature(r->vdev, VIRTIO_RING_F_EVENT_IDX));

            unpopped = true;
            virtqueue_unpop(vq, &req->elem);
            g_free(req);
            req = pop_checked(r);
            FUZZ_CHECK(!same || (req && req->elem.index == head));
            if (!req) {
                FUZZ_CHECK(r->vdev->broken);
                break;
            }
        }
        take_elem(r, req);
        r->held[r->nheld++] = req;
        if (mode == 0 || mode == 2) {
            push_batch(r, r->nheld - 1, 1, false);
            r->nheld--;
        }
        if ((r->ops & 8) && !r->after_reset && r->pops == 2) {
            device_reset(r);
            break;
        }
    }
    if (r->ops & 4) {
        virtqueue_set_notification(vq, true);
    }
    push_batch(r, 0, r->nheld, mode == 3);
    r->nheld = 0;
}

static struct run *cur_run;
static bool verbose;

/* The queue's handler: the core calls it at DRIVER_OK and on kicks. */
static void fuzz_handle(struct virtio_device *vdev, unsigned queue)
{
    FUZZ_CHECK(vdev == cur_run->vdev && queue == 0);
    work(cur_run);
}

static uint32_t le32_at(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void run_input(const uint8_t *data)
{
    struct fuzz_dev *fd = g_new0(struct fuzz_dev, 1);
    struct virtio_device *vdev = &fd->vdev;
    struct virtqueue *vq;
    struct run r = { .vdev = vdev, .ops = data[2] };
    uint8_t feat = data[1];
    uint64_t features = 0;
    uint16_t start = data[4] | data[5] << 8;
    uint8_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

    virtio_init(vdev, &fuzz_dev_ops, NULL, 1, QUEUE_MAX, 0);
    vdev->transport = &fuzz_transport;
    vdev->legacy = feat & FEAT_LEGACY;
    features |= (feat & FEAT_INDIRECT) ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0;
    features |= (feat & FEAT_EVENT_IDX) ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0;
    features |= (feat & FEAT_NOTIFY_EMPTY) ? 1ull << VIRTIO_F_NOTIFY_ON_EMPTY : 0;
    features |= vdev->legacy ? 0 : 1ull << VIRTIO_F_VERSION_1;
    virtio_set_status(vdev, st);
    FUZZ_CHECK(virtio_set_guest_features(vdev, features));
    st |= vdev->legacy ? 0 : VIRTIO_CONFIG_S_FEATURES_OK;
    virtio_set_status(vdev, st);

    vq = r.vq = &vdev->vqs[0];
    vq->handle = fuzz_handle;
    cur_run = &r;
    vq->num = (data[0] & 0x80) ? data[0] & 0x7f : 1u << (data[0] & 7);
    vq->desc = le32_at(data + 8);
    vq->avail = le32_at(data + 12);
    vq->used = le32_at(data + 16);
    if (!virtqueue_enable(vq)) {
        FUZZ_CHECK(!vq->ready && vdev->broken);
        goto out;
    }
    FUZZ_CHECK(vq->ready && vq->desc_hva && vq->avail_hva && vq->used_hva);
    /* As a queue that has served `start` requests since its reset. */
    vq->last_avail_idx = vq->shadow_avail_idx = vq->used_idx = start;
    vq->signalled_used = start;
    allow_gpa(vq->used, vring_used_size(vq->num));

    /* DRIVER_OK runs the handler for the chains already there; a second
     * kick finds nothing new, or a broken device or a reset queue. */
    virtio_set_status(vdev, st | VIRTIO_CONFIG_S_DRIVER_OK);
    virtio_queue_kick(vdev, 0);
    {
        /* Only a run cut short by MAX_POPS leaves chains behind. */
        struct fuzz_req *req = pop_checked(&r);

        FUZZ_CHECK(!req || r.pops >= MAX_POPS);
        g_free(req);
    }
out:
    if (verbose) {
        fprintf(stderr, "fuzz-virtqueue: queue of %u: %u chains popped, %s\n", vq->num, r.pops,
                vdev->broken ? "broken" : r.after_reset ? "reset" : "fine");
    }
    check_unchanged(ram_a, before_a, may_a, RAM_A_SIZE);
    check_unchanged(ram_b, before_b, may_b, RAM_B_SIZE);
    virtio_device_free(vdev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;

    if (size < HDR_LEN) {
        return 0;
    }
    n = size - HDR_LEN;
    if (!ram_a) {
        verbose = g_getenv("HYVM_FUZZ_VERBOSE") != NULL;
        if (verbose) {
            hyvm_log_mask |= LOG_GUEST_ERROR;
        }
    }
    ram_setup();
    memset(ram_a, 0, RAM_A_SIZE);
    memcpy(ram_a, data + HDR_LEN, MIN(n, (size_t)RAM_A_SIZE));
    for (unsigned i = 0; i < RAM_B_SIZE; i++) {
        ram_b[i] = (uint8_t)(i * 13 + 5);
    }
    memcpy(before_a, ram_a, RAM_A_SIZE);
    memcpy(before_b, ram_b, RAM_B_SIZE);
    memset(may_a, 0, RAM_A_SIZE);
    memset(may_b, 0, RAM_B_SIZE);
    run_input(data);
    return 0;
}
