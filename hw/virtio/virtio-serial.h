/*
 * virtio-serial, the virtio console device (virtio 1.2 section 5.3), and
 * the ports on its bus: -device virtio-serial-pci / virtio-serial-device
 * (max_ports, emergency-write) and -device virtconsole / virtserialport
 * (chardev=, name=, nr=, bus=), with QEMU 7.2's names, numbering and
 * messages.
 *
 * A device with max_ports > 1 offers MULTIPORT and speaks the control
 * protocol of section 5.3.6.2 on queues 2 and 3; port 0 has queues 0 and
 * 1, port n > 0 queues 2n + 2 and 2n + 3.  Port 0 is kept for the first
 * virtconsole, as QEMU does, so the console shows up as /dev/hvc0.
 *
 * The bus of a device is "ID.0" for -device ...,id=ID, else
 * "virtio-serial-bus.N" (N counting the devices without an ID); a port
 * without bus= goes on the newest bus, as in QEMU.
 *
 * Threads: big lock held.  Queue handlers and config writes run on vCPU
 * threads (or the main thread at DRIVER_OK); chardev input and events on
 * the main loop.
 */
#ifndef HYVM_VIRTIO_SERIAL_H
#define HYVM_VIRTIO_SERIAL_H

#include <glib.h>

struct machine;
struct dev_config;
struct virtio_device;

/* Feature bits (section 5.3.3). */
#define VIRTIO_CONSOLE_F_SIZE           0
#define VIRTIO_CONSOLE_F_MULTIPORT      1
#define VIRTIO_CONSOLE_F_EMERG_WRITE    2

/* Config layout (section 5.3.4), little-endian. */
#define VIRTIO_CONSOLE_CFG_COLS         0
#define VIRTIO_CONSOLE_CFG_ROWS         2
#define VIRTIO_CONSOLE_CFG_MAX_NR_PORTS 4
#define VIRTIO_CONSOLE_CFG_EMERG_WR     8
#define VIRTIO_CONSOLE_CFG_SIZE         12

/* Control messages (section 5.3.6.2): le32 id, le16 event, le16 value. */
#define VIRTIO_CONSOLE_CTRL_SIZE        8
#define VIRTIO_CONSOLE_DEVICE_READY     0
#define VIRTIO_CONSOLE_DEVICE_ADD       1
#define VIRTIO_CONSOLE_DEVICE_REMOVE    2
#define VIRTIO_CONSOLE_PORT_READY       3
#define VIRTIO_CONSOLE_CONSOLE_PORT     4
#define VIRTIO_CONSOLE_RESIZE           5
#define VIRTIO_CONSOLE_PORT_OPEN        6
#define VIRTIO_CONSOLE_PORT_NAME        7

/* Queues (section 5.3.2). */
#define VIRTIO_CONSOLE_Q_RX0            0
#define VIRTIO_CONSOLE_Q_TX0            1
#define VIRTIO_CONSOLE_Q_CTRL_RX        2
#define VIRTIO_CONSOLE_Q_CTRL_TX        3
/* QEMU's sizes: 128 for data queues, 32 for the control pair. */
#define VIRTIO_SERIAL_QUEUE_SIZE        128
#define VIRTIO_SERIAL_CTRL_QUEUE_SIZE   32

/*
 * Creates a virtio-serial device from cfg without a transport (unit tests
 * give it theirs; realize plugs it) and puts its bus on the list ports
 * look in.  NULL with *errp set on a bad property.
 */
struct virtio_device *virtio_serial_new(const struct dev_config *cfg, GError **errp);
/* -device virtio-serial-pci / virtio-serial-device. */
int virtio_serial_realize(struct machine *m, const struct dev_config *cfg, GError **errp);
/* -device virtconsole / virtserialport: a port on a virtio-serial bus. */
int virtio_serial_port_realize(struct machine *m, const struct dev_config *cfg,
                               GError **errp);
/* The bus name ports give as bus= ("vs.0"), for tests and QOM. */
const char *virtio_serial_bus_name(struct virtio_device *vdev);

#endif
