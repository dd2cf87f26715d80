/*
 * i6300esb: the watchdog timer of Intel's 6300ESB I/O controller hub
 * (PCI 8086:25ab, class 0880h), as QEMU 7.2's hw/watchdog/wdt_i6300esb.c
 * shows it to a guest and as the 6300ESB datasheet, section "Watchdog
 * Timer", describes its registers.  Linux's i6300esb driver drives it.
 *
 * Configuration space:
 *   60h  WDT configuration (16 bits): bit 5 WDT_OUTPUT disable (set: the
 *        second stage does not reboot), bit 2 the 1 MHz clock (clear:
 *        1 kHz), bits 1:0 WDT_INT_TYPE of the first stage (0 IRQ, 2 SMI,
 *        3 disabled).  QEMU 7.2 keeps bits 4 and 0 of the type instead
 *        (its mask is 11h), so Linux's 0003h reads back as 0001h; hyvm
 *        shows the guest the same.
 *   68h  WDT lock (8 bits): bit 2 free-running mode, bit 1 enable, bit 0
 *        lock: once set, the register keeps its value until reset.
 * BAR 0, 16 bytes of memory:
 *   00h  preload of stage 1, 04h preload of stage 2 (20 bits; dword
 *        writes), 08h general interrupt status (reads 0), 0Ch reload
 *        (word): bit 8 reloads stage 1, bit 9 (QEMU: also bit 12, which
 *        Linux's driver once used) clears the "previous timeout" flag,
 *        which a word read returns in both bits.
 * A write of 80h then 86h to 0Ch unlocks the next word or dword write
 * (the datasheet's "register unlocking sequence"); byte writes do not
 * use it up.
 *
 * Timing: a stage lasts (preload << 15) clocks of 33 MHz in 1 kHz mode
 * (about preload ms), (preload << 5) in 1 MHz mode.  When stage 1 ends
 * stage 2 starts; its interrupt is not raised (QEMU raises none either;
 * -d unimp says so once).  When stage 2 ends with WDT_OUTPUT enabled,
 * the watchdog's action is taken (vm_watchdog_expired: WATCHDOG event,
 * then -action watchdog=) and the device goes back to its reset state
 * with the "previous timeout" flag set; in free-running mode with the
 * output disabled, stage 1 starts again.
 *
 * Time is nanoseconds of the guest's virtual clock (system/vclock.h, as
 * QEMU's; with -icount it counts instructions), unless
 * i6300esb_set_clock() gave another.  The deadline is computed from that
 * clock's time (i6300esb_deadline), and a timer on the virtual clock fires
 * at it; tests with a fake clock call i6300esb_update() themselves.
 *
 * Threads: config cycles and BAR accesses run on vCPU threads, the timer
 * on its thread (the main loop's, or with -icount the vCPU's), all with
 * the big lock held.
 */
#include <errno.h>

#include "hw/device.h"
#include "hw/devices.h"
#include "hw/pci.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "system/vclock.h"

#define PCI_DEVICE_ID_INTEL_ESB_9   0x25ab
#define PCI_CLASS_SYSTEM_OTHER      0x088000

/* Configuration registers (datasheet: WDT configuration and lock). */
#define ESB_CONFIG_REG      0x60
#define ESB_LOCK_REG        0x68
#define ESB_WDT_REBOOT      (1u << 5)   /* set: WDT_OUTPUT disabled */
#define ESB_WDT_FREQ        (1u << 2)   /* set: 1 MHz clock */
#define ESB_WDT_INTTYPE     0x11u       /* QEMU's mask; the datasheet's is 3 */
#define ESB_WDT_FUNC        (1u << 2)   /* free-running */
#define ESB_WDT_ENABLE      (1u << 1)
#define ESB_WDT_LOCK        (1u << 0)

/* BAR 0 registers. */
#define ESB_BAR_SIZE        16
#define ESB_TIMER1_REG      0x00
#define ESB_TIMER2_REG      0x04
#define ESB_RELOAD_REG      0x0c
#define ESB_WDT_RELOAD      (1u << 8)
#define ESB_WDT_TIMEOUT     (1u << 9)
#define ESB_WDT_TIMEOUT_OLD (1u << 12)  /* what Linux's driver once wrote */
#define ESB_UNLOCK1         0x80
#define ESB_UNLOCK2         0x86
#define ESB_PRELOAD_MASK    0xfffffu

#define ESB_INT_TYPE_IRQ      0

/* The PCI clock the timer divides (33 MHz): 1000/33 ns per clock. */
#define ESB_CLOCK_NS_NUM    1000
#define ESB_CLOCK_NS_DEN    33

struct i6300esb {
    struct pci_device *pci;
    int64_t (*clock_ns)(void);
    struct vtimer *timer;
    int64_t armed_ns;           /* the timer's deadline, -1: none */

    bool reboot_enabled;        /* WDT_OUTPUT enabled (config bit 5 clear) */
    bool clock_1mhz;
    uint8_t int_type;
    bool free_run, locked, enabled;
    uint32_t preload[2];        /* stage 1, stage 2 */
    int stage;                  /* 1 or 2 */
    int unlock_state;           /* 0, 1 after 80h, 2 after 80h 86h */
    bool previous_timeout;      /* kept across resets */
    int64_t deadline_ns;        /* when the running stage ends; -1: stopped */
    bool int_logged;
};

/* ---- time ---- */

/* The clock time at which a stage started at now ends. */
static int64_t i6300esb_deadline(const struct i6300esb *d, int stage, int64_t now)
{
    uint64_t clocks = (uint64_t)d->preload[stage - 1] << (d->clock_1mhz ? 5 : 15);

    /* At most 2^35 clocks: the product stays far below 2^63. */
    return now + (int64_t)(clocks * ESB_CLOCK_NS_NUM / ESB_CLOCK_NS_DEN);
}

/* The timer follows deadline_ns. */
static void i6300esb_rearm(struct i6300esb *d)
{
    if (d->timer && d->deadline_ns != d->armed_ns) {
        d->armed_ns = d->deadline_ns;
        vtimer_mod(d->timer, d->deadline_ns);
    }
}

/* The guest enabled the timer or reloaded it: stage runs from now. */
static void i6300esb_start(struct i6300esb *d, int stage, int64_t now)
{
    if (!d->enabled) {
        return;
    }
    d->stage = stage;
    d->deadline_ns = i6300esb_deadline(d, stage, now);
    i6300esb_rearm(d);
}

static void i6300esb_stop(struct i6300esb *d)
{
    d->deadline_ns = -1;
    i6300esb_rearm(d);
}

/* The registers back in config space after the state changed on its own. */
static void i6300esb_sync_config(struct i6300esb *d)
{
    uint8_t *c = d->pci->config;

    c[ESB_CONFIG_REG] = (d->reboot_enabled ? 0 : ESB_WDT_REBOOT) |
                        (d->clock_1mhz ? ESB_WDT_FREQ : 0) | d->int_type;
    c[ESB_CONFIG_REG + 1] = 0;
    c[ESB_LOCK_REG] = (d->free_run ? ESB_WDT_FUNC : 0) | (d->enabled ? ESB_WDT_ENABLE : 0) |
                      (d->locked ? ESB_WDT_LOCK : 0);
}

/* Power-on state; the "previous timeout" flag survives (datasheet: it is
 * cleared by software or by a power cycle only). */
static void i6300esb_reset_state(struct i6300esb *d)
{
    d->reboot_enabled = true;
    d->clock_1mhz = false;
    d->int_type = ESB_INT_TYPE_IRQ;
    d->free_run = false;
    d->locked = false;
    d->enabled = false;
    d->preload[0] = d->preload[1] = ESB_PRELOAD_MASK;
    d->stage = 1;
    d->unlock_state = 0;
    i6300esb_stop(d);
    i6300esb_sync_config(d);
}

/* The running stage ended. */
static void i6300esb_expire(struct i6300esb *d, int64_t now)
{
    if (d->stage == 1) {
        if (d->int_type == ESB_INT_TYPE_IRQ && !d->int_logged) {
            d->int_logged = true;
            log_mask(LOG_UNIMP, "i6300esb: the first stage's interrupt is not delivered\n");
        }
        i6300esb_start(d, 2, now);
        return;
    }
    d->deadline_ns = -1;
    if (d->reboot_enabled) {
        d->previous_timeout = true;
        vm_watchdog_expired();
        i6300esb_reset_state(d);
    }
    if (d->free_run) {
        i6300esb_start(d, 1, now);
    }
    i6300esb_rearm(d);
}

/* Takes every stage end due by now (a late main loop may owe two). */
static void i6300esb_catch_up(struct i6300esb *d, int64_t now)
{
    while (d->deadline_ns >= 0 && d->deadline_ns <= now) {
        int64_t due = d->deadline_ns;

        i6300esb_expire(d, due);
        /* A zero preload ends the next stage at once; never spin on it. */
        if (d->deadline_ns == due) {
            d->deadline_ns = now + 1000;
        }
    }
    i6300esb_rearm(d);
}

static void i6300esb_timer_fired(void *opaque)
{
    struct i6300esb *d = opaque;

    d->armed_ns = -1;       /* a fired timer is disarmed */
    i6300esb_catch_up(d, d->clock_ns());
}

/* ---- configuration space ---- */

static bool covers(unsigned addr, unsigned len, unsigned reg)
{
    return addr <= reg && reg < addr + len;
}

/* The generic write has put the writable bits (wmask) into config. */
static void i6300esb_config_written(struct pci_device *pci, unsigned addr, unsigned len)
{
    struct i6300esb *d = pci->opaque;
    uint8_t v;

    if (covers(addr, len, ESB_CONFIG_REG)) {
        v = pci->config[ESB_CONFIG_REG];
        d->reboot_enabled = !(v & ESB_WDT_REBOOT);
        d->clock_1mhz = v & ESB_WDT_FREQ;
        d->int_type = v & ESB_WDT_INTTYPE;
    }
    if (covers(addr, len, ESB_LOCK_REG)) {
        bool was_enabled = d->enabled;

        v = pci->config[ESB_LOCK_REG];
        if (!d->locked) {
            d->locked = v & ESB_WDT_LOCK;
            d->free_run = v & ESB_WDT_FUNC;
            d->enabled = v & ESB_WDT_ENABLE;
            if (!was_enabled && d->enabled) {
                i6300esb_start(d, 1, d->clock_ns());
            } else if (!d->enabled) {
                i6300esb_stop(d);
            }
        }
        i6300esb_sync_config(d);
    }
}

/* ---- BAR 0 ---- */

static uint64_t i6300esb_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i6300esb *d = opaque;

    if (offset == ESB_RELOAD_REG && size == 2) {
        return d->previous_timeout ? ESB_WDT_TIMEOUT | ESB_WDT_TIMEOUT_OLD : 0;
    }
    return 0;
}

static void i6300esb_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct i6300esb *d = opaque;

    if (offset == ESB_RELOAD_REG && value == ESB_UNLOCK1) {
        d->unlock_state = 1;
        return;
    }
    if (offset == ESB_RELOAD_REG && value == ESB_UNLOCK2 && d->unlock_state == 1) {
        d->unlock_state = 2;
        return;
    }
    if ((size != 2 && size != 4) || d->unlock_state != 2) {
        return;
    }
    if (size == 2 && offset == ESB_RELOAD_REG) {
        if (value & ESB_WDT_RELOAD) {
            i6300esb_start(d, 1, d->clock_ns());
        }
        if (value & (ESB_WDT_TIMEOUT | ESB_WDT_TIMEOUT_OLD)) {
            d->previous_timeout = false;
        }
    } else if (size == 4 && (offset == ESB_TIMER1_REG || offset == ESB_TIMER2_REG)) {
        d->preload[offset == ESB_TIMER2_REG] = value & ESB_PRELOAD_MASK;
    }
    d->unlock_state = 0;
}

static const struct io_ops i6300esb_ops = {
    .read = i6300esb_read,
    .write = i6300esb_write,
};

/* ---- the function ---- */

static int64_t (*i6300esb_clock)(void) = vclock_virtual_ns;

void i6300esb_set_clock(int64_t (*clock_ns)(void))
{
    i6300esb_clock = clock_ns ? clock_ns : vclock_virtual_ns;
}

void i6300esb_update(struct pci_device *pci, int64_t now_ns)
{
    i6300esb_catch_up(pci->opaque, now_ns);
}

/* System reset (the bus has restored config space). */
static void i6300esb_reset(struct pci_device *pci)
{
    i6300esb_reset_state(pci->opaque);
}

static void i6300esb_destroy(struct pci_device *pci)
{
    struct i6300esb *d = pci->opaque;

    vtimer_free(d->timer);
    d->timer = NULL;
}

int i6300esb_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    struct pci_device *pci;
    struct i6300esb *d;

    (void)m;
    pci = pci_device_add_cfg(cfg, errp);
    if (!pci) {
        return -EINVAL;
    }
    d = g_new0(struct i6300esb, 1);
    d->pci = pci;
    d->clock_ns = i6300esb_clock;
    d->armed_ns = -1;
    pci->opaque = d;     /* the bus frees it */
    pci->config_written = i6300esb_config_written;
    pci->reset = i6300esb_reset;
    pci->destroy = i6300esb_destroy;
    pci_set_ids(pci, PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_ESB_9, 0, PCI_CLASS_SYSTEM_OTHER);
    /* The rest of 40h-FFh stays plain read-write bytes, as in QEMU. */
    pci->wmask[ESB_CONFIG_REG] = ESB_WDT_REBOOT | ESB_WDT_FREQ | ESB_WDT_INTTYPE;
    pci->wmask[ESB_CONFIG_REG + 1] = 0;
    pci->wmask[ESB_LOCK_REG] = ESB_WDT_FUNC | ESB_WDT_ENABLE | ESB_WDT_LOCK;
    d->timer = vtimer_new(VCLOCK_VIRTUAL, "i6300esb", i6300esb_timer_fired, d);
    i6300esb_reset_state(d);
    return pci_register_bar(pci, 0, 0, ESB_BAR_SIZE, "i6300esb", &i6300esb_ops, d, errp);
}
