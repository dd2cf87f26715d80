/*
 * The PC's keyboard controller (an Intel 8042 as IBM's AT and PS/2 wired it)
 * with a PS/2 keyboard on its first port and a PS/2 mouse on its auxiliary
 * port, and system control port A (port 0x92), both as QEMU 7.2 shows them
 * on -M pc.
 *
 * The controller owns ports 0x60 (data) and 0x64 (status on read, command
 * on write), raises GSI 1 for keyboard bytes and GSI 12 for mouse bytes as
 * its command byte allows, and drives two lines of its output port: bit 0,
 * the CPU reset (driven low, it resets the machine), and bit 1, the A20
 * gate.  Port 0x92's bit 0 resets the machine on a 0-to-1 write and its
 * bit 1 is the "fast A20" gate.
 *
 * Resets are requested with vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET)
 * (system/runstate.h), which -no-reboot turns into an exit.  A20 is not
 * emulated: guest memory never wraps at 1 MiB.  The gate bits read back as
 * written and the first time a guest turns A20 off is logged under -d unimp.
 *
 * Threads: every function here and the port handlers run with the big lock
 * held (system/main-loop.h).
 */
#ifndef HYVM_I8042_H
#define HYVM_I8042_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define I8042_DATA_PORT     0x60
#define I8042_CMD_PORT      0x64    /* status register on read */
#define I8042_KBD_GSI       1
#define I8042_AUX_GSI       12
#define PORT92_PORT         0x92

struct i8042;

/*
 * Creates the controller, keyboard and mouse in their reset state and claims
 * ports 0x60 and 0x64.  NULL with errp set (-EBUSY) when either is taken.
 */
struct i8042 *i8042_create(GError **errp);
/* Frees the state; only once its ports are gone (io_unregister_all()). */
void i8042_free(struct i8042 *s);

/*
 * System reset: command byte 0x03 (both IRQs enabled, no translation),
 * status 0x18, output port 0xcf (reset line high, A20 on), queues empty and
 * both IRQ lines low; the keyboard back to scan code set 2 with scanning on,
 * the mouse to its power-on settings.
 */
void i8042_reset(struct i8042 *s);

/*
 * A byte from the keyboard as the keyboard itself sends it: a scan code of
 * its current set (i8042_kbd_scancode_set()), prefixes 0xe0/0xe1 and the
 * set-2/3 break prefix 0xf0 included.  When the command byte asks for
 * translation the controller turns set 2 into set 1 (0xf0 then x becomes
 * x's set-1 code with bit 7 set).  Dropped while the guest has scanning
 * disabled (0xf5) and when the 16-byte keyboard buffer is full.
 */
void i8042_kbd_put_keycode(struct i8042 *s, uint8_t code);
/* The scan code set the guest selected with command 0xf0 (1, 2 or 3). */
unsigned i8042_kbd_scancode_set(const struct i8042 *s);
/* True while the command byte's translation bit (bit 6) is set. */
bool i8042_kbd_translating(const struct i8042 *s);

/*
 * System control port A at 0x92: reads return the last value written (0
 * after power-on; QEMU's firmware writes A20 on).  -EBUSY with errp set
 * when the port is taken.  One per process.
 */
int port92_create(GError **errp);
/* System reset: bit 0 (the fast reset bit) reads 0 again; bit 1 is kept. */
void port92_reset(void);

#endif
