/*
 * virtio-serial (virtio 1.2 section 5.3) and its ports, virtconsole and
 * virtserialport (see virtio-serial.h for the numbering and bus names).
 *
 * Guest to host: a port's transmit queue is written to its chardev, whole
 * chains in order; a port the host side has not opened drops what the
 * guest sends, as QEMU does.
 *
 * Host to guest, with backpressure: the chardev asks can_receive() how many
 * bytes the port can take; that is the room of the receive buffers the
 * port has taken from its queue (taken on demand, about a page at a time).
 * With no room the back end stops reading; when the driver posts buffers
 * (a kick on the receive queue) or opens the port, the device tells the
 * chardev to resume (chr_fe_accept_input).
 *
 * Opening: a virtconsole with a chardev is open from the start (QEMU: a
 * console never waits for a peer); a virtserialport follows its chardev's
 * connection (CHR_EVENT_OPENED/CLOSED, e.g. a socket client) and tells the
 * guest with PORT_OPEN.  The guest's side: PORT_OPEN from the driver, or
 * DRIVER_OK for port 0 of a driver without MULTIPORT.
 *
 * Threads: big lock held.  Queue handlers and config writes run on vCPU
 * threads (or the main thread at DRIVER_OK); chardev callbacks on the main
 * loop.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "chardev/chardev.h"
#include "hw/device.h"
#include "hw/virtio/virtio-serial.h"
#include "hw/virtio/virtio.h"
#include "system/error.h"
#include "system/le.h"
#include "system/log.h"

#include "system/container-of.h"

/* QEMU's "no port number given" (nr=4294967295). */
#define VSER_BAD_ID             0xffffffffu
/* Each port takes two queues and the control pair two more; virtio-pci
 * has room for 1024 queues (QEMU's VIRTIO_QUEUE_MAX / 2 - 1). */
#define VSER_MAX_PORTS          511
/* Receive room a port takes from its queue before answering can_receive
 * (QEMU asks the ring for up to 4096 bytes). */
#define VSER_RX_WANT            4096
/* Control messages kept while the driver has no buffer for them. */
#define VSER_CTRL_BACKLOG       1024
/* Guest output is written to the chardev in pieces of at most this. */
#define VSER_TX_CHUNK           (64 * 1024)

struct virtio_serial;

struct vser_port {
    struct virtio_serial *vser;
    uint32_t id;
    char *name;                 /* name=, sent as PORT_NAME; NULL for none */
    bool is_console;            /* virtconsole: CONSOLE_PORT, always open */
    bool host_connected;        /* the chardev side is open */
    bool guest_connected;       /* the driver opened the port */
    struct char_fe fe;
    GQueue rx;                  /* struct virtq_elem *: empty receive buffers taken */
    uint64_t rx_room;           /* their device-writable bytes */
};

struct virtio_serial {
    struct virtio_device vdev;  /* first: the core frees the struct through it */
    char *bus_name;
    uint32_t max_ports;
    struct vser_port **ports;   /* max_ports entries, by port number */
    GPtrArray *plugged;         /* struct vser_port *, in plug order */
    uint32_t *ports_map;        /* numbers in use; 0 stays reserved (QEMU) */
    GQueue ctrl_out;            /* GBytes *: control messages waiting for a buffer */
};

/* Every virtio-serial device, in creation order: the buses ports look in. */
static GPtrArray *vser_devices;
/* "virtio-serial-bus.N" numbers handed to devices without an ID. */
static unsigned vser_auto_ids;

static struct virtio_serial *to_vser(struct virtio_device *vdev)
{
    return container_of(vdev, struct virtio_serial, vdev);
}

static bool vser_multiport(struct virtio_serial *s)
{
    return virtio_has_feature(&s->vdev, VIRTIO_CONSOLE_F_MULTIPORT);
}

/* Port n's receive queue: 0 for port 0, 2n + 2 for the others. */
static unsigned vser_rx_queue(uint32_t id)
{
    return id ? 2 * id + 2 : VIRTIO_CONSOLE_Q_RX0;
}

/* The port a data queue belongs to, or NULL (control queues, no port). */
static struct vser_port *vser_port_of_queue(struct virtio_serial *s, unsigned queue)
{
    uint32_t id = queue < 2 ? 0 : queue / 2 - 1;

    if (queue == VIRTIO_CONSOLE_Q_CTRL_RX || queue == VIRTIO_CONSOLE_Q_CTRL_TX ||
        id >= s->max_ports) {
        return NULL;
    }
    return s->ports[id];
}

/* Gives back every chain of vq unused (nobody reads what they carry). */
static void vser_discard(struct virtio_serial *s, struct virtqueue *vq)
{
    struct virtq_elem *elem;
    bool any = false;

    if (!vq->ready) {
        return;
    }
    while ((elem = virtqueue_pop(vq, sizeof(*elem)))) {
        virtqueue_push(vq, elem, 0);
        g_free(elem);
        any = true;
    }
    if (any) {
        virtqueue_notify(vq);
    }
}

/* ---- control queues (section 5.3.6.2) ---- */

/* Sends waiting control messages while the driver has buffers for them. */
static void vser_ctrl_flush(struct virtio_serial *s)
{
    struct virtqueue *vq = &s->vdev.vqs[VIRTIO_CONSOLE_Q_CTRL_RX];
    bool any = false;

    while (vq->ready && !g_queue_is_empty(&s->ctrl_out)) {
        struct virtq_elem *elem = virtqueue_pop(vq, sizeof(*elem));
        GBytes *msg;
        size_t len;
        const void *data;

        if (!elem) {
            break;
        }
        msg = g_queue_pop_head(&s->ctrl_out);
        data = g_bytes_get_data(msg, &len);
        if (elem->out_num || iov_size(elem->in_sg, elem->in_num) < len) {
            virtio_error(&s->vdev, "control buffer of %zu bytes for a %zu-byte message",
                         iov_size(elem->in_sg, elem->in_num), len);
            g_free(elem);
            g_bytes_unref(msg);
            return;
        }
        iov_from_buf(elem->in_sg, elem->in_num, 0, data, len);
        virtqueue_push(vq, elem, (uint32_t)len);
        g_free(elem);
        g_bytes_unref(msg);
        any = true;
    }
    if (any) {
        virtqueue_notify(vq);
    }
}

/*
 * Queues a message for the driver.  Before the driver set the control
 * queue up there is nobody to tell (it asks with DEVICE_READY), so the
 * message is dropped, as QEMU does.
 */
static void vser_ctrl_send(struct virtio_serial *s, const void *buf, size_t len)
{
    if (!s->vdev.vqs[VIRTIO_CONSOLE_Q_CTRL_RX].ready || s->vdev.broken) {
        return;
    }
    if (g_queue_get_length(&s->ctrl_out) >= VSER_CTRL_BACKLOG) {
        log_mask(LOG_GUEST_ERROR, "virtio-serial-bus: %s: control queue full, message "
                 "dropped\n", s->bus_name);
        return;
    }
    g_queue_push_tail(&s->ctrl_out, g_bytes_new(buf, len));
    vser_ctrl_flush(s);
}

static void vser_ctrl_event(struct virtio_serial *s, uint32_t id, uint16_t event,
                            uint16_t value)
{
    uint8_t msg[VIRTIO_CONSOLE_CTRL_SIZE];

    st32(msg, id);
    st16(msg + 4, event);
    st16(msg + 6, value);
    vser_ctrl_send(s, msg, sizeof(msg));
}

/* PORT_NAME: the header, then the name and its NUL. */
static void vser_ctrl_port_name(struct virtio_serial *s, struct vser_port *p)
{
    size_t nlen = strlen(p->name);
    g_autofree uint8_t *msg = g_malloc(VIRTIO_CONSOLE_CTRL_SIZE + nlen + 1);

    st32(msg, p->id);
    st16(msg + 4, VIRTIO_CONSOLE_PORT_NAME);
    st16(msg + 6, 1);
    memcpy(msg + VIRTIO_CONSOLE_CTRL_SIZE, p->name, nlen + 1);
    vser_ctrl_send(s, msg, VIRTIO_CONSOLE_CTRL_SIZE + nlen + 1);
}

/* ---- ports: opening and data ---- */

static void vser_port_open(struct vser_port *p)
{
    if (p->host_connected) {
        return;
    }
    p->host_connected = true;
    vser_ctrl_event(p->vser, p->id, VIRTIO_CONSOLE_PORT_OPEN, 1);
}

/* The chardev side went away: what the guest sent is dropped. */
static void vser_port_close(struct vser_port *p)
{
    struct virtio_serial *s = p->vser;

    p->host_connected = false;
    vser_discard(s, &s->vdev.vqs[vser_rx_queue(p->id) + 1]);
    vser_ctrl_event(s, p->id, VIRTIO_CONSOLE_PORT_OPEN, 0);
}

static void vser_port_drop_rx(struct vser_port *p)
{
    g_queue_clear_full(&p->rx, g_free);
    p->rx_room = 0;
}

/*
 * How many bytes the guest can take on p now: the receive buffers taken,
 * topped up from the queue.  0 until the driver is up and, with
 * MULTIPORT, has opened the port.
 */
static uint64_t vser_port_rx_room(struct vser_port *p)
{
    struct virtio_serial *s = p->vser;
    struct virtqueue *vq = &s->vdev.vqs[vser_rx_queue(p->id)];
    struct virtq_elem *elem;

    if (!virtio_driver_ok(&s->vdev) || !vq->ready || !p->host_connected ||
        (vser_multiport(s) && !p->guest_connected)) {
        return 0;
    }
    while (p->rx_room < VSER_RX_WANT && (elem = virtqueue_pop(vq, sizeof(*elem)))) {
        if (elem->out_num || !elem->in_num) {
            virtio_error(&s->vdev, "port %u: receive buffer with %u device-readable parts",
                         p->id, elem->out_num);
            g_free(elem);
            vser_port_drop_rx(p);
            return 0;
        }
        g_queue_push_tail(&p->rx, elem);
        p->rx_room += iov_size(elem->in_sg, elem->in_num);
    }
    return s->vdev.broken ? 0 : p->rx_room;
}

static int vser_chr_can_receive(void *opaque)
{
    return (int)MIN(vser_port_rx_room(opaque), (uint64_t)G_MAXINT);
}

/* Chardev input: into the port's receive buffers, one chain per piece. */
static void vser_chr_receive(void *opaque, const uint8_t *buf, int len)
{
    struct vser_port *p = opaque;
    struct virtqueue *vq = &p->vser->vdev.vqs[vser_rx_queue(p->id)];
    size_t off = 0;
    bool any = false;

    if (!p->guest_connected) {
        return;     /* nobody reads the port: QEMU drops the bytes too */
    }
    while (off < (size_t)len && (!g_queue_is_empty(&p->rx) || vser_port_rx_room(p))) {
        struct virtq_elem *elem = g_queue_pop_head(&p->rx);
        size_t n;

        p->rx_room -= iov_size(elem->in_sg, elem->in_num);
        n = iov_from_buf(elem->in_sg, elem->in_num, 0, buf + off, (size_t)len - off);
        virtqueue_push(vq, elem, (uint32_t)n);
        g_free(elem);
        off += n;
        any = true;
    }
    if (any) {
        virtqueue_notify(vq);
    }
}

static void vser_chr_event(void *opaque, enum chr_event event)
{
    struct vser_port *p = opaque;

    if (event == CHR_EVENT_OPENED) {
        vser_port_open(p);
    } else if (event == CHR_EVENT_CLOSED) {
        vser_port_close(p);
    }
}

static void vser_port_accept_input(struct vser_port *p)
{
    if (p->host_connected && p->guest_connected) {
        chr_fe_accept_input(&p->fe);
    }
}

/* The driver posted receive buffers: a chardev that stopped may go on. */
static void vser_handle_rx(struct virtio_device *vdev, unsigned queue)
{
    struct vser_port *p = vser_port_of_queue(to_vser(vdev), queue);

    if (p) {
        vser_port_accept_input(p);
    }
}

static void vser_port_write(struct vser_port *p, const struct virtq_elem *elem)
{
    for (unsigned i = 0; i < elem->out_num; i++) {
        const uint8_t *base = elem->out_sg[i].iov_base;
        size_t len = elem->out_sg[i].iov_len;

        for (size_t off = 0; off < len; off += VSER_TX_CHUNK) {
            chr_fe_write_all(&p->fe, base + off, (int)MIN(len - off, VSER_TX_CHUNK));
        }
    }
}

/* Guest output: to the chardev, or dropped while the host side is closed. */
static void vser_handle_tx(struct virtio_device *vdev, unsigned queue)
{
    struct virtio_serial *s = to_vser(vdev);
    struct vser_port *p = vser_port_of_queue(s, queue);
    struct virtqueue *vq = &vdev->vqs[queue];
    struct virtq_elem *elem;
    bool any = false;

    if (!p || !p->host_connected) {
        vser_discard(s, vq);
        return;
    }
    while ((elem = virtqueue_pop(vq, sizeof(*elem)))) {
        vser_port_write(p, elem);
        virtqueue_push(vq, elem, 0);
        g_free(elem);
        any = true;
    }
    if (any) {
        virtqueue_notify(vq);
    }
}

/* ---- what the driver tells the device (section 5.3.6.2) ---- */

/* DEVICE_READY: the driver is up; it learns of every port with PORT_ADD. */
static void vser_device_ready(struct virtio_serial *s, uint16_t value)
{
    if (!value) {
        log_mask(LOG_GUEST_ERROR, "virtio-serial-bus: Guest failure in adding device %s\n",
                 s->bus_name);
        return;
    }
    for (guint i = 0; i < s->plugged->len; i++) {
        struct vser_port *p = g_ptr_array_index(s->plugged, i);

        vser_ctrl_event(s, p->id, VIRTIO_CONSOLE_DEVICE_ADD, 1);
    }
}

/* PORT_READY: the driver set the port up; tell it what the port is. */
static void vser_port_ready(struct virtio_serial *s, struct vser_port *p, uint16_t value)
{
    if (!value) {
        log_mask(LOG_GUEST_ERROR, "virtio-serial-bus: Guest failure in adding port %u for "
                 "device %s\n", p->id, s->bus_name);
        return;
    }
    if (p->is_console) {
        vser_ctrl_event(s, p->id, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
    }
    if (p->name) {
        vser_ctrl_port_name(s, p);
    }
    if (p->host_connected) {
        vser_ctrl_event(s, p->id, VIRTIO_CONSOLE_PORT_OPEN, 1);
    }
}

static void vser_ctrl_handle(struct virtio_serial *s, uint32_t id, uint16_t event,
                             uint16_t value)
{
    struct vser_port *p;

    if (event == VIRTIO_CONSOLE_DEVICE_READY) {
        vser_device_ready(s, value);
        return;
    }
    p = id < s->max_ports ? s->ports[id] : NULL;
    if (!p) {
        log_mask(LOG_GUEST_ERROR, "virtio-serial-bus: Unexpected port id %u for device %s\n",
                 id, s->bus_name);
        return;
    }
    switch (event) {
    case VIRTIO_CONSOLE_PORT_READY:
        vser_port_ready(s, p, value);
        break;
    case VIRTIO_CONSOLE_PORT_OPEN:
        p->guest_connected = value != 0;
        vser_port_accept_input(p);
        break;
    default:
        log_mask(LOG_GUEST_ERROR, "virtio-serial-bus: %s: control event %u from the "
                 "driver ignored\n", s->bus_name, event);
        break;
    }
}

static void vser_handle_ctrl_tx(struct virtio_device *vdev, unsigned queue)
{
    struct virtio_serial *s = to_vser(vdev);
    struct virtqueue *vq = &vdev->vqs[queue];
    struct virtq_elem *elem;
    bool any = false;

    while ((elem = virtqueue_pop(vq, sizeof(*elem)))) {
        uint8_t msg[VIRTIO_CONSOLE_CTRL_SIZE];
        size_t n = iov_to_buf(elem->out_sg, elem->out_num, 0, msg, sizeof(msg));

        virtqueue_push(vq, elem, 0);
        g_free(elem);
        any = true;
        if (n < sizeof(msg)) {
            log_mask(LOG_GUEST_ERROR, "virtio-serial-bus: %s: %zu-byte control message "
                     "ignored\n", s->bus_name, n);
            continue;
        }
        vser_ctrl_handle(s, ld32(msg), ld16(msg + 4), ld16(msg + 6));
    }
    if (any) {
        virtqueue_notify(vq);
    }
}

/* The driver posted control buffers: messages that waited go out. */
static void vser_handle_ctrl_rx(struct virtio_device *vdev, unsigned queue)
{
    vser_ctrl_flush(to_vser(vdev));
}

/* ---- device callbacks ---- */

static void vser_config_fill(struct virtio_serial *s)
{
    uint8_t *c = s->vdev.config;

    /* QEMU 7.2 offers no SIZE feature: cols and rows read 0. */
    memset(c, 0, s->vdev.ops->config_size);
    st32(c + VIRTIO_CONSOLE_CFG_MAX_NR_PORTS, s->max_ports);
}

/* The first virtconsole whose chardev is open (QEMU's choice). */
static struct vser_port *vser_first_open_console(struct virtio_serial *s)
{
    for (guint i = 0; i < s->plugged->len; i++) {
        struct vser_port *p = g_ptr_array_index(s->plugged, i);

        if (p->is_console && p->host_connected) {
            return p;
        }
    }
    return NULL;
}

/*
 * Section 5.3.4: with EMERG_WRITE, a write of emerg_wr puts its low byte
 * on the console before the driver has any queue.  Nothing else in the
 * config is the driver's to change.
 */
static void vser_config_written(struct virtio_device *vdev, unsigned offset, unsigned len)
{
    struct virtio_serial *s = to_vser(vdev);
    bool has_emerg = vdev->ops->config_size >= VIRTIO_CONSOLE_CFG_SIZE;
    uint32_t emerg = has_emerg ? ld32(vdev->config + VIRTIO_CONSOLE_CFG_EMERG_WR) : 0;
    struct vser_port *p;

    /* emerg_wr reads 0 again, so a later write of another field is not
     * taken for a second emergency write. */
    vser_config_fill(s);
    if (!emerg) {
        return;
    }
    p = vser_first_open_console(s);
    if (p) {
        uint8_t c = (uint8_t)emerg;

        chr_fe_write_all(&p->fe, &c, 1);
    }
}

/* The driver went away: nobody has the ports open on its side. */
static void vser_guest_reset(struct virtio_serial *s)
{
    for (guint i = 0; i < s->plugged->len; i++) {
        struct vser_port *p = g_ptr_array_index(s->plugged, i);

        p->guest_connected = false;
        vser_port_drop_rx(p);
    }
}

static void vser_status_changed(struct virtio_device *vdev, uint8_t old_status)
{
    struct virtio_serial *s = to_vser(vdev);
    struct vser_port *p0 = s->ports[0];

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        vser_guest_reset(s);
        return;
    }
    /* A driver without MULTIPORT cannot say it opened port 0: it has
     * when it is up (section 5.3.6). */
    if (p0 && !vser_multiport(s) && !p0->guest_connected) {
        p0->guest_connected = true;
        vser_port_accept_input(p0);
    }
}

static void vser_reset(struct virtio_device *vdev)
{
    struct virtio_serial *s = to_vser(vdev);

    vser_guest_reset(s);
    g_queue_clear_full(&s->ctrl_out, (GDestroyNotify)g_bytes_unref);
}

static void vser_port_free(struct vser_port *p)
{
    chr_fe_deinit(&p->fe);
    vser_port_drop_rx(p);
    g_free(p->name);
    g_free(p);
}

static void vser_cleanup(struct virtio_device *vdev)
{
    struct virtio_serial *s = to_vser(vdev);

    if (vser_devices) {
        g_ptr_array_remove(vser_devices, s);
    }
    vser_reset(vdev);
    g_ptr_array_free(s->plugged, TRUE);
    g_free(s->ports);
    g_free(s->ports_map);
    g_free(s->bus_name);
}

/* QEMU's config size: emerg_wr only with emergency-write. */
#define VSER_OPS(size)                                  \
    {                                                   \
        .name = "virtio-serial",                        \
        .device_id = VIRTIO_ID_CONSOLE,                 \
        .pci_class = 0x078000,  /* "Class 1920" */      \
        .config_size = (size),                          \
        .config_written = vser_config_written,          \
        .status_changed = vser_status_changed,          \
        .reset = vser_reset,                            \
        .cleanup = vser_cleanup,                        \
    }

static const struct virtio_dev_ops vser_ops = VSER_OPS(VIRTIO_CONSOLE_CFG_SIZE);
static const struct virtio_dev_ops vser_ops_no_emerg = VSER_OPS(VIRTIO_CONSOLE_CFG_EMERG_WR);

/* ---- realize: the device ---- */

static void vser_set_handlers(struct virtio_serial *s)
{
    for (unsigned i = 0; i < s->vdev.nvqs; i++) {
        struct virtqueue *vq = &s->vdev.vqs[i];

        if (i == VIRTIO_CONSOLE_Q_CTRL_RX || i == VIRTIO_CONSOLE_Q_CTRL_TX) {
            vq->num_max = vq->num = VIRTIO_SERIAL_CTRL_QUEUE_SIZE;
            vq->handle = i == VIRTIO_CONSOLE_Q_CTRL_RX ? vser_handle_ctrl_rx
                                                       : vser_handle_ctrl_tx;
        } else {
            vq->handle = i % 2 ? vser_handle_tx : vser_handle_rx;
        }
    }
}

struct virtio_device *virtio_serial_new(const struct dev_config *cfg, GError **errp)
{
    uint64_t max_ports = dev_config_uint(cfg, "max_ports");
    bool emerg = dev_config_bool(cfg, "emergency-write");
    uint64_t features = 0;
    struct virtio_serial *s;

    if (!max_ports) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "Maximum number of serial ports not specified");
        return NULL;
    }
    if (max_ports > VSER_MAX_PORTS) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "maximum ports supported: %u",
                    VSER_MAX_PORTS);
        return NULL;
    }
    if (max_ports > 1) {
        features |= 1ull << VIRTIO_CONSOLE_F_MULTIPORT;
    }
    if (emerg) {
        features |= 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE;
    }
    s = g_new0(struct virtio_serial, 1);
    s->max_ports = (uint32_t)max_ports;
    /* Queues exist for every possible port, control pair included. */
    virtio_init(&s->vdev, emerg ? &vser_ops : &vser_ops_no_emerg, cfg,
                2 * s->max_ports + 2, VIRTIO_SERIAL_QUEUE_SIZE, features);
    vser_set_handlers(s);
    s->bus_name = cfg && cfg->id ? g_strdup_printf("%s.0", cfg->id)
                                 : g_strdup_printf("virtio-serial-bus.%u", vser_auto_ids++);
    s->ports = g_new0(struct vser_port *, s->max_ports);
    s->plugged = g_ptr_array_new_with_free_func((GDestroyNotify)vser_port_free);
    s->ports_map = g_new0(uint32_t, (s->max_ports + 31) / 32);
    s->ports_map[0] = 1;    /* port 0 waits for a virtconsole (QEMU) */
    g_queue_init(&s->ctrl_out);
    vser_config_fill(s);
    if (!vser_devices) {
        vser_devices = g_ptr_array_new();
    }
    g_ptr_array_add(vser_devices, s);
    return &s->vdev;
}

int virtio_serial_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    return virtio_plug_new(m, cfg, virtio_serial_new(cfg, errp), errp);
}

const char *virtio_serial_bus_name(struct virtio_device *vdev)
{
    return to_vser(vdev)->bus_name;
}

/* ---- realize: the ports ---- */

/* bus=NAME, or the newest virtio-serial bus (QEMU's search order). */
static struct virtio_serial *vser_find_bus(const char *bus, const char *type, GError **errp)
{
    guint n = vser_devices ? vser_devices->len : 0;

    if (!bus) {
        if (!n) {
            virtio_fail(errp, "No 'virtio-serial-bus' bus found for device '%s'", type);
            return NULL;
        }
        return g_ptr_array_index(vser_devices, n - 1);
    }
    for (guint i = 0; i < n; i++) {
        struct virtio_serial *s = g_ptr_array_index(vser_devices, i);

        if (!strcmp(s->bus_name, bus)) {
            return s;
        }
    }
    virtio_fail(errp, "Bus '%s' not found", bus);
    return NULL;
}

static struct vser_port *vser_find_port_by_name(const char *name)
{
    for (guint i = 0; vser_devices && i < vser_devices->len; i++) {
        struct virtio_serial *s = g_ptr_array_index(vser_devices, i);

        for (guint j = 0; j < s->plugged->len; j++) {
            struct vser_port *p = g_ptr_array_index(s->plugged, j);

            if (p->name && !strcmp(p->name, name)) {
                return p;
            }
        }
    }
    return NULL;
}

/* The lowest number not in use; may be past max_ports (then refused). */
static uint32_t vser_free_id(struct virtio_serial *s)
{
    for (uint32_t i = 0; i < (s->max_ports + 31) / 32 * 32; i++) {
        if (!(s->ports_map[i / 32] & (1u << (i % 32)))) {
            return i;
        }
    }
    return VSER_BAD_ID;
}

/* Picks the port's number as QEMU does, with its messages. */
static int vser_port_number(struct virtio_serial *s, struct vser_port *p, uint32_t nr,
                            GError **errp)
{
    bool port0 = p->is_console && !s->ports[0];

    if (nr != VSER_BAD_ID && nr < s->max_ports && s->ports[nr]) {
        return virtio_fail(errp, "virtio-serial-bus: A port already exists at id %u", nr);
    }
    if (p->name && vser_find_port_by_name(p->name)) {
        return virtio_fail(errp, "virtio-serial-bus: A port already exists by name %s",
                           p->name);
    }
    if (nr == VSER_BAD_ID) {
        nr = port0 ? 0 : vser_free_id(s);
        if (nr == VSER_BAD_ID) {
            return virtio_fail(errp, "virtio-serial-bus: Maximum port limit for this device "
                               "reached");
        }
    }
    if (nr >= s->max_ports) {
        return virtio_fail(errp, "virtio-serial-bus: Out-of-range port id specified, max. "
                           "allowed: %u", s->max_ports - 1);
    }
    if (nr == 0 && !p->is_console) {
        return virtio_fail(errp, "Port number 0 on virtio-serial devices reserved for "
                           "virtconsole devices for backward compatibility.");
    }
    p->id = nr;
    return 0;
}

static int vser_port_chardev(struct vser_port *p, const struct dev_config *cfg,
                             GError **errp)
{
    const char *type = cfg->type->name;
    const char *id = dev_config_str(cfg, "chardev");
    g_autoptr(GError) err = NULL;
    struct chardev *chr = NULL;

    if (id) {
        chr = chardev_find(id);
        if (!chr) {
            return virtio_fail(errp, "Property '%s.chardev' can't find value '%s'", type, id);
        }
    }
    if (chr_fe_init(&p->fe, chr, &err) < 0) {
        return virtio_fail(errp, "Property '%s.chardev' can't take value '%s': %s", type, id,
                           err->message);
    }
    return 0;
}

/* The port joins its bus; a guest already running learns of it. */
static void vser_port_plug(struct virtio_serial *s, struct vser_port *p)
{
    p->vser = s;
    s->ports[p->id] = p;
    s->ports_map[p->id / 32] |= 1u << (p->id % 32);
    g_ptr_array_add(s->plugged, p);
    vser_ctrl_event(s, p->id, VIRTIO_CONSOLE_DEVICE_ADD, 1);
    virtio_notify_config(&s->vdev);
    if (!p->fe.chr) {
        return;     /* no chardev: never open, output dropped (QEMU) */
    }
    if (p->is_console) {
        chr_fe_set_handlers(&p->fe, vser_chr_can_receive, vser_chr_receive, NULL, p);
        vser_port_open(p);
    } else {
        /* Replays OPENED at once when the back end is already connected. */
        chr_fe_set_handlers(&p->fe, vser_chr_can_receive, vser_chr_receive, vser_chr_event,
                            p);
    }
}

int virtio_serial_port_realize(struct machine *m, const struct dev_config *cfg,
                               GError **errp)
{
    struct virtio_serial *s = vser_find_bus(dev_config_str(cfg, "bus"), cfg->type->name,
                                            errp);
    struct vser_port *p;
    const char *name = dev_config_str(cfg, "name");

    if (!s) {
        return -ENODEV;
    }
    p = g_new0(struct vser_port, 1);
    p->is_console = !strcmp(cfg->type->name, "virtconsole");
    p->name = name && *name ? g_strdup(name) : NULL;
    g_queue_init(&p->rx);
    if (vser_port_chardev(p, cfg, errp) < 0 ||
        vser_port_number(s, p, (uint32_t)dev_config_uint(cfg, "nr"), errp) < 0) {
        vser_port_free(p);
        return -EINVAL;
    }
    vser_port_plug(s, p);
    return 0;
}
