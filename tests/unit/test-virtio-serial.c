/*
 * virtio-serial against a fake transport, guest RAM of the test's own and
 * real chardevs (unix socket servers the test connects to):
 *
 *   - the control handshake as Linux's virtio_console does it
 *     (DEVICE_READY, PORT_ADD, PORT_READY, CONSOLE_PORT, PORT_NAME,
 *     PORT_OPEN), virtio 1.2 section 5.3.6.2;
 *   - data both ways, and backpressure: a chardev whose guest has no
 *     receive buffer stops, and goes on when the driver posts one;
 *   - virtserialport open/close following the chardev's client, a
 *     virtconsole open from the start;
 *   - a driver without MULTIPORT, the emergency write, reset;
 *   - QEMU 7.2's port numbering, bus names and error messages;
 *   - guest errors breaking the device without a crash.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "chardev/chardev.h"
#include "hw/device.h"
#include "hw/virtio/virtio-serial.h"
#include "hw/virtio/virtio.h"
#include "system/keyval.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "tests/unit/file-node.h"
#include "tests/unit/unix-socket.h"
#include "tests/unit/virtio-driver.h"

#define RAM_SIZE        (16ull << 20)
#define QUEUE_BASE      0x10000ull      /* queue i's rings at QUEUE_BASE + i * 0x4000 */
#define CTRL_RX_BUF     0x200000ull     /* control buffers the driver posts */
#define CTRL_TX_BUF     0x210000ull     /* control messages the driver sends */
#define RX_BUF          0x300000ull     /* port receive buffers: + port * 0x10000 */
#define TX_BUF          0x400000ull     /* port transmit buffers: + port * 0x10000 */
#define QSIZE           16
#define NQ_MAX          64              /* max_ports=31, the default */
#define CTRL_BUFS       8

/* ---- a driver's view of the queues ---- */

static struct tq queues[NQ_MAX];

/* One buffer as a chain of its own; write: device-writable. */
static void tq_add(struct tq *q, uint64_t gpa, uint32_t len, bool write, bool kick)
{
    tq_add_chain(q, &(struct buf){ gpa, len, write }, 1, kick);
}

static unsigned rx_queue(uint32_t port)
{
    return port ? 2 * port + 2 : 0;
}

/* ---- control messages ---- */

static unsigned ctrl_tx_n;

/* The driver sends one control message (Linux's __send_control_msg). */
static void ctrl_send(uint32_t id, uint16_t event, uint16_t value)
{
    uint64_t gpa = CTRL_TX_BUF + 16ull * (ctrl_tx_n++ % QSIZE);

    put32(gpa, id);
    put16(gpa + 4, event);
    put16(gpa + 6, value);
    tq_add(&queues[VIRTIO_CONSOLE_Q_CTRL_TX], gpa, 8, false, true);
}

struct ctrl_msg {
    uint32_t id;
    uint16_t event, value;
    char name[64];
};

/* The next message from the device, its buffer posted again as Linux does. */
static bool ctrl_next(struct ctrl_msg *m)
{
    struct tq *q = &queues[VIRTIO_CONSOLE_Q_CTRL_RX];
    uint64_t gpa;
    uint32_t len;

    if (!tq_next_used(q, &gpa, &len)) {
        return false;
    }
    g_assert_cmpuint(len, >=, 8);
    memset(m, 0, sizeof(*m));
    m->id = get32(gpa);
    m->event = get16(gpa + 4);
    m->value = get16(gpa + 6);
    if (len > 8) {
        g_assert_cmpuint(len - 8, <, sizeof(m->name));
        g_assert_cmpint(ram_read(gpa + 8, m->name, len - 8), ==, 0);
        g_assert_cmpuint(m->name[len - 9], ==, 0);  /* NUL-terminated */
    }
    tq_add(q, gpa, 0x100, true, false);
    return true;
}

static void expect_ctrl(uint32_t id, uint16_t event, uint16_t value)
{
    struct ctrl_msg m;

    g_assert_true(ctrl_next(&m) || (tq_pump_until_used(&queues[VIRTIO_CONSOLE_Q_CTRL_RX], 1) &&
                                     ctrl_next(&m)));
    g_assert_cmpuint(m.event, ==, event);
    g_assert_cmpuint(m.id, ==, id);
    g_assert_cmpuint(m.value, ==, value);
}

static void expect_ctrl_name(uint32_t id, const char *name)
{
    struct ctrl_msg m;

    g_assert_true(ctrl_next(&m));
    g_assert_cmpuint(m.event, ==, VIRTIO_CONSOLE_PORT_NAME);
    g_assert_cmpuint(m.id, ==, id);
    g_assert_cmpuint(m.value, ==, 1);
    g_assert_cmpstr(m.name, ==, name);
}

static void expect_no_ctrl(void)
{
    struct ctrl_msg m;

    g_assert_false(ctrl_next(&m));
}

/* ---- devices and ports ---- */

static char *tmp_dir;
static GPtrArray *configs;      /* struct dev_config *, freed at the end */

/* A -device line as the command line parses it (bus= included). */
static struct dev_config *config(const char *type, const char *id, const char *opts)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *line = g_strdup_printf("%s%s%s%s%s", type, id ? ",id=" : "", id ? id : "",
                                            opts ? "," : "", opts ? opts : "");
    struct dev_config *c = dev_config_parse(line, &err);

    g_assert_no_error(err);
    g_assert_nonnull(c);
    g_ptr_array_add(configs, c);
    return c;
}

static void config_free(gpointer p)
{
    dev_config_free(p);
}

static struct virtio_device *vser_new(const char *id, const char *opts)
{
    g_autoptr(GError) err = NULL;
    struct virtio_device *vdev = virtio_serial_new(config("virtio-serial-device", id, opts),
                                                   &err);

    g_assert_no_error(err);
    g_assert_nonnull(vdev);
    vdev->transport = &fake_transport;
    return vdev;
}

static int port_add(const char *type, const char *opts, GError **errp)
{
    return virtio_serial_port_realize(NULL, config(type, NULL, opts), errp);
}

static void port_add_ok(const char *type, const char *opts)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(port_add(type, opts, &err), ==, 0);
    g_assert_no_error(err);
}

/* Features acked (all offered unless told), every queue set up, DRIVER_OK. */
static void driver_start(struct virtio_device *vdev, uint64_t drop_features)
{
    g_assert_cmpuint(vdev->nvqs, <=, NQ_MAX);
    vd_driver_start(vdev, vdev->host_features & ~drop_features, queues, QUEUE_BASE, QSIZE);
    ctrl_tx_n = 0;
}

/* Linux's probe: control buffers posted, then DEVICE_READY. */
static void driver_device_ready(void)
{
    for (unsigned i = 0; i < CTRL_BUFS; i++) {
        tq_add(&queues[VIRTIO_CONSOLE_Q_CTRL_RX], CTRL_RX_BUF + 0x100 * i, 0x100, true,
               i == CTRL_BUFS - 1);
    }
    ctrl_send(0xffffffffu, VIRTIO_CONSOLE_DEVICE_READY, 1);
}

/* Linux's add_port: receive buffers posted, then PORT_READY. */
static void driver_port_ready(uint32_t port, unsigned nbufs, uint32_t buf_len)
{
    struct tq *q = &queues[rx_queue(port)];

    for (unsigned i = 0; i < nbufs; i++) {
        tq_add(q, RX_BUF + 0x10000ull * port + 0x1000 * i, buf_len, true, i == nbufs - 1);
    }
    ctrl_send(port, VIRTIO_CONSOLE_PORT_READY, 1);
}

/* A driver up with the device's only port: announced, then made ready
 * with nbufs receive buffers of buf_len bytes. */
static void driver_start_one_port(struct virtio_device *vdev, uint32_t port, unsigned nbufs,
                                  uint32_t buf_len)
{
    driver_start(vdev, 0);
    driver_device_ready();
    expect_ctrl(port, VIRTIO_CONSOLE_DEVICE_ADD, 1);
    driver_port_ready(port, nbufs, buf_len);
}

/* The guest writes s on the port. */
static void guest_write(uint32_t port, const char *s)
{
    struct tq *q = &queues[rx_queue(port) + 1];
    uint64_t gpa = TX_BUF + 0x10000ull * port + 0x100 * (q->avail_idx % QSIZE);

    g_assert_cmpint(ram_write(gpa, s, strlen(s)), ==, 0);
    tq_add(q, gpa, (uint32_t)strlen(s), false, true);
}

/* The device put want in the port's next receive buffer. */
static void expect_guest_read(uint32_t port, const char *want)
{
    struct tq *q = &queues[rx_queue(port)];
    uint64_t gpa;
    uint32_t len;
    g_autofree char *s = NULL;

    g_assert_true(tq_pump_until_used(q, 1));
    g_assert_true(tq_next_used(q, &gpa, &len));
    s = g_malloc0(len + 1);
    g_assert_cmpint(ram_read(gpa, s, len), ==, 0);
    g_assert_cmpstr(s, ==, want);
}

/* ---- chardevs ---- */

static struct chardev *socket_chardev(const char *id, char **path)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *opts = NULL;
    struct chardev *chr;

    *path = g_build_filename(tmp_dir, id, NULL);
    opts = g_strdup_printf("socket,id=%s,path=%s,server=on,wait=off", id, *path);
    chr = chardev_new_from_opts(opts, &err);
    g_assert_no_error(err);
    return chr;
}

/* ---- tests ---- */

/* What the driver reads before it starts (section 5.3.3, 5.3.4). */
static void test_features_config(void)
{
    struct virtio_device *vdev = vser_new(NULL, NULL);

    g_assert_cmpuint(vdev->ops->device_id, ==, VIRTIO_ID_CONSOLE);
    g_assert_cmpuint(vdev->nvqs, ==, 2 * 31 + 2);
    g_assert_true(vdev->host_features & (1ull << VIRTIO_CONSOLE_F_MULTIPORT));
    g_assert_true(vdev->host_features & (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE));
    g_assert_false(vdev->host_features & (1ull << VIRTIO_CONSOLE_F_SIZE));
    g_assert_cmpuint(vdev->ops->config_size, ==, 12);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_CONSOLE_CFG_MAX_NR_PORTS, 4), ==, 31);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_CONSOLE_CFG_COLS, 4), ==, 0);
    g_assert_cmpuint(vdev->vqs[VIRTIO_CONSOLE_Q_CTRL_RX].num_max, ==, 32);
    g_assert_cmpuint(vdev->vqs[0].num_max, ==, 128);
    virtio_device_free(vdev);

    /* One port: no MULTIPORT; no emergency-write: an 8-byte config. */
    vdev = vser_new(NULL, "max_ports=1,emergency-write=off");
    g_assert_false(vdev->host_features & (1ull << VIRTIO_CONSOLE_F_MULTIPORT));
    g_assert_false(vdev->host_features & (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE));
    g_assert_cmpuint(vdev->ops->config_size, ==, 8);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_CONSOLE_CFG_MAX_NR_PORTS, 4), ==, 1);
    virtio_device_free(vdev);
}

/* The handshake of Linux's driver, then data both ways on the console. */
static void test_handshake_console(void)
{
    g_autofree char *path = NULL;
    struct virtio_device *vdev = vser_new("vs", "max_ports=4");
    int client;

    socket_chardev("con", &path);
    port_add_ok("virtconsole", "chardev=con,name=org.hyvm.console");
    port_add_ok("virtserialport", "name=org.hyvm.port");   /* no chardev */
    driver_start(vdev, 0);
    driver_device_ready();
    expect_ctrl(0, VIRTIO_CONSOLE_DEVICE_ADD, 1);
    expect_ctrl(1, VIRTIO_CONSOLE_DEVICE_ADD, 1);
    expect_no_ctrl();

    driver_port_ready(0, 2, 64);
    expect_ctrl(0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
    expect_ctrl_name(0, "org.hyvm.console");
    expect_ctrl(0, VIRTIO_CONSOLE_PORT_OPEN, 1);    /* a console is open at once */
    driver_port_ready(1, 1, 64);
    expect_ctrl_name(1, "org.hyvm.port");
    expect_no_ctrl();                               /* no chardev: never open */
    g_assert_cmpuint(notifies, >, 0);

    /* hvc opens the port; output reaches the chardev's client. */
    ctrl_send(0, VIRTIO_CONSOLE_PORT_OPEN, 1);
    client = unix_connect(path);
    pump_for_ms(10);
    guest_write(0, "login: ");
    fd_expect(client, "login: ");
    g_assert_cmpuint(tq_used_idx(&queues[1]), ==, 1);

    fd_write(client, "root\n");
    expect_guest_read(0, "root\n");

    /* Output of a port nobody opened on the host side is dropped. */
    guest_write(1, "lost");
    g_assert_cmpuint(tq_used_idx(&queues[rx_queue(1) + 1]), ==, 1);

    close(client);
    virtio_device_free(vdev);
}

/* No receive buffer, no reading: the rest waits in the chardev. */
static void test_backpressure(void)
{
    g_autofree char *path = NULL;
    struct virtio_device *vdev = vser_new(NULL, "max_ports=2");
    int client;

    socket_chardev("bp", &path);
    port_add_ok("virtconsole", "chardev=bp");
    driver_start_one_port(vdev, 0, 1, 4);
    expect_ctrl(0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
    expect_ctrl(0, VIRTIO_CONSOLE_PORT_OPEN, 1);
    client = unix_connect(path);
    pump_for_ms(10);

    /* Before the guest opens the port nothing is taken from the client. */
    fd_write(client, "0123456789");
    pump_for_ms(20);
    g_assert_cmpuint(tq_used_idx(&queues[0]), ==, 0);

    ctrl_send(0, VIRTIO_CONSOLE_PORT_OPEN, 1);
    expect_guest_read(0, "0123");
    pump_for_ms(30);
    g_assert_cmpuint(tq_used_idx(&queues[0]), ==, 1);

    /* A kick with a new buffer resumes the chardev. */
    tq_add(&queues[0], RX_BUF + 0x8000, 4, true, true);
    expect_guest_read(0, "4567");
    tq_add(&queues[0], RX_BUF + 0x9000, 64, true, true);
    expect_guest_read(0, "89");

    close(client);
    virtio_device_free(vdev);
}

/* A virtserialport follows its chardev's client: PORT_OPEN 1, then 0. */
static void test_serialport_open_close(void)
{
    g_autofree char *path = NULL;
    struct virtio_device *vdev = vser_new(NULL, "max_ports=4");
    int client;

    socket_chardev("sp", &path);
    port_add_ok("virtserialport", "chardev=sp,name=org.hyvm.agent");
    driver_start_one_port(vdev, 1, 2, 64);
    expect_ctrl_name(1, "org.hyvm.agent");
    expect_no_ctrl();
    ctrl_send(1, VIRTIO_CONSOLE_PORT_OPEN, 1);

    /* Nobody connected: the guest's output is dropped. */
    guest_write(1, "early");
    g_assert_cmpuint(tq_used_idx(&queues[rx_queue(1) + 1]), ==, 1);

    client = unix_connect(path);
    g_assert_true(tq_pump_until_used(&queues[VIRTIO_CONSOLE_Q_CTRL_RX], 1));
    expect_ctrl(1, VIRTIO_CONSOLE_PORT_OPEN, 1);
    guest_write(1, "ping");
    fd_expect(client, "ping");
    fd_write(client, "pong");
    expect_guest_read(1, "pong");
    g_assert_false(fd_readable(client));

    close(client);
    g_assert_true(tq_pump_until_used(&queues[VIRTIO_CONSOLE_Q_CTRL_RX], 1));
    expect_ctrl(1, VIRTIO_CONSOLE_PORT_OPEN, 0);
    virtio_device_free(vdev);
}

/* A driver without MULTIPORT: port 0 only, open once the driver is up. */
static void test_no_multiport(void)
{
    g_autofree char *path = NULL;
    struct virtio_device *vdev = vser_new(NULL, NULL);
    int client;

    socket_chardev("legacy", &path);
    port_add_ok("virtconsole", "chardev=legacy");
    driver_start(vdev, 1ull << VIRTIO_CONSOLE_F_MULTIPORT);
    client = unix_connect(path);
    pump_for_ms(10);
    tq_add(&queues[0], RX_BUF, 64, true, true);
    guest_write(0, "hvc0 says hi");
    fd_expect(client, "hvc0 says hi");
    fd_write(client, "ls\n");
    expect_guest_read(0, "ls\n");

    /* Section 5.3.4: an emergency write goes to the console. */
    virtio_config_write(vdev, VIRTIO_CONSOLE_CFG_EMERG_WR, '!', 4);
    fd_expect(client, "!");
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_CONSOLE_CFG_EMERG_WR, 4), ==, 0);
    virtio_config_write(vdev, VIRTIO_CONSOLE_CFG_MAX_NR_PORTS, 7, 4);
    g_assert_cmpuint(virtio_config_read(vdev, VIRTIO_CONSOLE_CFG_MAX_NR_PORTS, 4), ==, 31);
    g_assert_false(fd_readable(client));

    /* Reset: nothing is read for the driver while it is gone; what the
     * client sent waits for the driver to come back. */
    virtio_set_status(vdev, 0);
    fd_write(client, "x");
    pump_for_ms(20);
    driver_start(vdev, 1ull << VIRTIO_CONSOLE_F_MULTIPORT);
    pump_for_ms(20);
    g_assert_cmpuint(tq_used_idx(&queues[0]), ==, 0);
    tq_add(&queues[0], RX_BUF, 64, true, true);
    expect_guest_read(0, "x");

    close(client);
    virtio_device_free(vdev);
}

/* Port numbers, buses and messages as QEMU 7.2's. */
static void test_numbering_and_errors(void)
{
    g_autoptr(GError) err = NULL;
    struct virtio_device *a, *b;

#define EXPECT_PORT_ERROR(type, opts, msg)                          \
    do {                                                            \
        g_assert_cmpint(port_add(type, opts, &err), <, 0);          \
        g_assert_nonnull(err);                                      \
        g_assert_cmpstr(err->message, ==, msg);                     \
        g_clear_error(&err);                                        \
    } while (0)

    EXPECT_PORT_ERROR("virtconsole", NULL,
                      "No 'virtio-serial-bus' bus found for device 'virtconsole'");
    a = vser_new("a", "max_ports=3");
    b = vser_new(NULL, "max_ports=2");
    g_assert_cmpstr(virtio_serial_bus_name(a), ==, "a.0");
    g_assert_true(g_str_has_prefix(virtio_serial_bus_name(b), "virtio-serial-bus."));
    EXPECT_PORT_ERROR("virtconsole", "bus=a.1", "Bus 'a.1' not found");
    EXPECT_PORT_ERROR("virtconsole", "chardev=nope",
                      "Property 'virtconsole.chardev' can't find value 'nope'");
    g_assert_nonnull(chardev_new_from_opts("null,id=n0", &err));
    g_assert_no_error(err);
    port_add_ok("virtserialport", "bus=a.0,chardev=n0,name=one");
    EXPECT_PORT_ERROR("virtserialport", "bus=a.0,chardev=n0",
                      "Property 'virtserialport.chardev' can't take value 'n0': "
                      "Device 'n0' is in use");
    EXPECT_PORT_ERROR("virtserialport", "bus=a.0,name=one",
                      "virtio-serial-bus: A port already exists by name one");
    EXPECT_PORT_ERROR("virtserialport", "bus=a.0,nr=1",
                      "virtio-serial-bus: A port already exists at id 1");
    EXPECT_PORT_ERROR("virtserialport", "bus=a.0,nr=0",
                      "Port number 0 on virtio-serial devices reserved for virtconsole "
                      "devices for backward compatibility.");
    EXPECT_PORT_ERROR("virtserialport", "bus=a.0,nr=3",
                      "virtio-serial-bus: Out-of-range port id specified, max. allowed: 2");

    /* The first virtconsole takes 0, the next one the lowest free number. */
    port_add_ok("virtconsole", "bus=a.0");
    port_add_ok("virtconsole", "bus=a.0");
    EXPECT_PORT_ERROR("virtconsole", "bus=a.0",
                      "virtio-serial-bus: Out-of-range port id specified, max. allowed: 2");
    driver_start(a, 0);
    driver_device_ready();
    expect_ctrl(1, VIRTIO_CONSOLE_DEVICE_ADD, 1);
    expect_ctrl(0, VIRTIO_CONSOLE_DEVICE_ADD, 1);
    expect_ctrl(2, VIRTIO_CONSOLE_DEVICE_ADD, 1);
    expect_no_ctrl();
    virtio_device_free(a);

    /* Without bus= a port goes on the newest bus. */
    port_add_ok("virtserialport", NULL);
    EXPECT_PORT_ERROR("virtserialport", NULL,
                      "virtio-serial-bus: Out-of-range port id specified, max. allowed: 1");
    virtio_device_free(b);
#undef EXPECT_PORT_ERROR

    g_assert_null(virtio_serial_new(config("virtio-serial-device", NULL, "max_ports=0"),
                                    &err));
    g_assert_cmpstr(err->message, ==, "Maximum number of serial ports not specified");
    g_clear_error(&err);
    g_assert_null(virtio_serial_new(config("virtio-serial-device", NULL, "max_ports=512"),
                                    &err));
    g_assert_cmpstr(err->message, ==, "maximum ports supported: 511");
}

/* Guest errors: logged, the device broken until reset, never a crash. */
static void test_guest_errors(void)
{
    g_autofree char *path = NULL;
    struct virtio_device *vdev = vser_new(NULL, "max_ports=2");
    int client;
    struct tq *crx = &queues[VIRTIO_CONSOLE_Q_CTRL_RX];
    uint64_t gpa;

    port_add_ok("virtconsole", NULL);
    driver_start(vdev, 0);

    /* Short or unknown control messages are ignored. */
    gpa = CTRL_TX_BUF + 0x800;
    put32(gpa, 0);
    tq_add(&queues[VIRTIO_CONSOLE_Q_CTRL_TX], gpa, 4, false, true);
    ctrl_send(77, VIRTIO_CONSOLE_PORT_OPEN, 1);
    ctrl_send(0, 99, 1);
    g_assert_false(vdev->broken);
    g_assert_cmpuint(tq_used_idx(&queues[VIRTIO_CONSOLE_Q_CTRL_TX]), ==, 3);

    /* A control buffer too small for the message the device has. */
    tq_add(crx, CTRL_RX_BUF, 4, true, true);
    ctrl_send(0xffffffffu, VIRTIO_CONSOLE_DEVICE_READY, 1);
    g_assert_true(vdev->broken);
    g_assert_true(vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmpuint(tq_used_idx(crx), ==, 0);
    virtio_device_free(vdev);

    /* A device-readable receive buffer, found when the chardev has input. */
    vdev = vser_new(NULL, "max_ports=1");
    socket_chardev("bad", &path);
    port_add_ok("virtconsole", "chardev=bad");
    driver_start(vdev, 0);
    client = unix_connect(path);
    tq_add(&queues[0], RX_BUF, 16, false, true);
    fd_write(client, "z");
    pump_for_ms(20);
    g_assert_true(vdev->broken);
    g_assert_cmpuint(tq_used_idx(&queues[0]), ==, 0);
    close(client);
    virtio_device_free(vdev);

    /* Output in a buffer outside guest RAM: the core refuses the chain. */
    vdev = vser_new(NULL, "max_ports=1");
    driver_start(vdev, 0);
    tq_add(&queues[1], RAM_SIZE - 4, 64, false, true);
    g_assert_true(vdev->broken);
    g_assert_cmpuint(tq_used_idx(&queues[1]), ==, 0);
    virtio_device_free(vdev);
}

int main(int argc, char **argv)
{
    int ret;

    tmp_dir = vd_test_init(&argc, &argv, RAM_SIZE, "hyvm-vser-XXXXXX");
    configs = g_ptr_array_new_with_free_func(config_free);

    g_test_add_func("/virtio-serial/features-config", test_features_config);
    g_test_add_func("/virtio-serial/handshake-console", test_handshake_console);
    g_test_add_func("/virtio-serial/backpressure", test_backpressure);
    g_test_add_func("/virtio-serial/serialport-open-close", test_serialport_open_close);
    g_test_add_func("/virtio-serial/no-multiport", test_no_multiport);
    g_test_add_func("/virtio-serial/numbering-errors", test_numbering_and_errors);
    g_test_add_func("/virtio-serial/guest-errors", test_guest_errors);
    ret = g_test_run();

    chardev_cleanup_all();
    g_ptr_array_free(configs, TRUE);
    tmpdir_remove(tmp_dir);
    g_free(tmp_dir);
    ram_free_all();
    return ret;
}
