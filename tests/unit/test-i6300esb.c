/*
 * i6300esb (hw/i6300esb.c) and pvpanic-pci (hw/pvpanic-pci.c) on -M pc's
 * bus, driven through configuration cycles and BAR accesses as a guest's
 * reach them, with a fake clock for the watchdog: its two stages of
 * (preload << 15) or (preload << 5) clocks of 33 MHz, reloads through the
 * 80h/86h unlock sequence, the lock register, free-running mode with the
 * output disabled, the previous-timeout flag across a reset.  The expected
 * config space is what a Linux guest read under QEMU 7.2 (sysfs dumps).
 */
#include <errno.h>

#include <glib.h>

#include "hw/device.h"
#include "hw/devices.h"
#include "hw/irq.h"
#include "hw/pci.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "tests/unit/io-access.h"

#define BAR 0xfe000000u
#define DEVFN 0x10              /* 02.0, the first free slot */

static int64_t now_ns;
static unsigned expiries;

static int64_t fake_clock(void)
{
    return now_ns;
}

static void count_watchdog(void *opaque, enum vm_request req, enum shutdown_cause cause)
{
    if (req == VM_REQUEST_WATCHDOG) {
        expiries++;
    }
}

static void no_irq(void *opaque, unsigned gsi, int level)
{
}

static struct pci_device *setup(const char *opts)
{
    g_autoptr(GError) err = NULL;
    struct dev_config *cfg;

    io_unregister_all();
    pci_bus_destroy();
    irq_set_route(no_irq, NULL);
    g_assert_cmpint(pci_host_create_pc(NULL, &err), ==, 0);
    cfg = dev_config_parse(opts, &err);
    g_assert_no_error(err);
    g_assert_cmpint(cfg->type->realize(NULL, cfg, &err), ==, 0);
    g_assert_no_error(err);
    dev_config_free(cfg);
    /* BAR 0 where a guest would put it, memory decoding on. */
    pci_cfg_wr(DEVFN, 0x10, BAR, 4);
    pci_cfg_wr(DEVFN, 0x04, 0x0002, 2);
    now_ns = 0;
    expiries = 0;
    return pci_find_device(DEVFN);
}

/* ---- pvpanic-pci ---- */

static void test_pvpanic_pci(void)
{
    setup("pvpanic-pci,events=1");
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x00, 4), ==, 0x00111b36);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x08, 4), ==, 0x08800001);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x2c, 4), ==, 0x11001af4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x3c, 4), ==, 0);
    /* Two bytes of register, the rest of the 16-byte BAR reads 0. */
    g_assert_cmphex(mmio_rd(BAR, 1), ==, 1);
    g_assert_cmphex(mmio_rd(BAR, 2), ==, 0x0101);
    g_assert_cmphex(mmio_rd(BAR, 4), ==, 0x0101);
    g_assert_cmphex(mmio_rd(BAR + 2, 1), ==, 0);
    g_assert_cmphex(mmio_rd(BAR + 12, 4), ==, 0);
    pci_cfg_wr(DEVFN, 0x10, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x10, 4), ==, 0xfffffff0);
}

/* ---- i6300esb ---- */

/* The length of a stage of preload at 1 kHz or 1 MHz, in ns. */
static int64_t stage_ns(uint32_t preload, bool mhz)
{
    return (int64_t)((uint64_t)preload << (mhz ? 5 : 15)) * 1000 / 33;
}

static void esb_unlock(void)
{
    mmio_wr(BAR + 0x0c, 0x80, 2);
    mmio_wr(BAR + 0x0c, 0x86, 2);
}

static void esb_preload(unsigned reg, uint32_t v)
{
    esb_unlock();
    mmio_wr(BAR + reg, v, 4);
}

static void esb_reload(void)
{
    esb_unlock();
    mmio_wr(BAR + 0x0c, 0x100, 2);
}

static void advance(struct pci_device *d, int64_t ns)
{
    now_ns += ns;
    i6300esb_update(d, now_ns);
}

static void test_esb_config(void)
{
    setup("i6300esb");
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x00, 4), ==, 0x25ab8086);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x08, 4), ==, 0x08800000);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x2c, 4), ==, 0x11001af4);
    pci_cfg_wr(DEVFN, 0x10, 0xffffffff, 4);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x10, 4), ==, 0xfffffff0);
    pci_cfg_wr(DEVFN, 0x10, BAR, 4);
    /* Power-on: output enabled, 1 kHz, IRQ; unlocked, disabled. */
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x60, 2), ==, 0);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x68, 1), ==, 0);
    /* QEMU 7.2 keeps bits 5, 4, 2 and 0 (its type mask is 11h). */
    pci_cfg_wr(DEVFN, 0x60, 0xffff, 2);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x60, 2), ==, 0x0035);
    pci_cfg_wr(DEVFN, 0x60, 0x0003, 2);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x60, 2), ==, 0x0001);
    /* Only bits 2-0 of the lock register. */
    pci_cfg_wr(DEVFN, 0x68, 0xf8, 1);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x68, 1), ==, 0);
    /* The BAR: the reload register reads the flag (clear), the rest 0. */
    g_assert_cmphex(mmio_rd(BAR + 0x0c, 2), ==, 0);
    g_assert_cmphex(mmio_rd(BAR + 0x00, 4), ==, 0);
    g_assert_cmphex(mmio_rd(BAR + 0x08, 4), ==, 0);
}

/* Two stages, reloads, the action and what it leaves. */
static void test_esb_stages(void)
{
    struct pci_device *d = setup("i6300esb");
    int64_t s1 = stage_ns(2, false), s2 = stage_ns(3, false);

    esb_preload(0x00, 2);
    esb_preload(0x04, 3);
    /* Without the unlock sequence a preload write is ignored. */
    mmio_wr(BAR + 0x00, 0xfffff, 4);
    /* Disabled: nothing runs. */
    advance(d, s1 + s2 + 1);
    g_assert_cmpuint(expiries, ==, 0);

    now_ns = 1000;
    pci_cfg_wr(DEVFN, 0x68, 0x02, 1);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x68, 1), ==, 0x02);
    advance(d, s1 - 1);
    advance(d, 1);                      /* stage 1 ends, stage 2 starts */
    advance(d, s2 - 1);
    g_assert_cmpuint(expiries, ==, 0);
    /* A reload goes back to stage 1, from now. */
    esb_reload();
    advance(d, s1 + s2 - 1);
    g_assert_cmpuint(expiries, ==, 0);
    advance(d, 1);
    g_assert_cmpuint(expiries, ==, 1);
    /* The device is back at power-on, with the previous-timeout flag. */
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x68, 1), ==, 0);
    g_assert_cmphex(mmio_rd(BAR + 0x0c, 2), ==, 0x1200);
    advance(d, 10 * (s1 + s2));
    g_assert_cmpuint(expiries, ==, 1);
    /* A system reset keeps the flag; a write of bit 9 after the unlock clears it. */
    pci_bus_reset();
    pci_cfg_wr(DEVFN, 0x10, BAR, 4);
    pci_cfg_wr(DEVFN, 0x04, 0x0002, 2);
    g_assert_cmphex(mmio_rd(BAR + 0x0c, 2), ==, 0x1200);
    mmio_wr(BAR + 0x0c, 0x200, 2);                  /* locked: ignored */
    g_assert_cmphex(mmio_rd(BAR + 0x0c, 2), ==, 0x1200);
    esb_unlock();
    mmio_wr(BAR + 0x0c, 0x200, 2);
    g_assert_cmphex(mmio_rd(BAR + 0x0c, 2), ==, 0);
}

/* A late timer takes both stages at once; the 1 MHz clock (preload << 5). */
static void test_esb_catch_up_and_mhz(void)
{
    struct pci_device *d = setup("i6300esb");
    int64_t s = stage_ns(1000, true);

    g_assert_cmpint(s, ==, 969696);         /* 32000 clocks of 33 MHz */
    pci_cfg_wr(DEVFN, 0x60, 0x0004, 2);             /* 1 MHz */
    esb_preload(0x00, 1000);
    esb_preload(0x04, 1000);
    pci_cfg_wr(DEVFN, 0x68, 0x02, 1);
    advance(d, s - 1);
    g_assert_cmpuint(expiries, ==, 0);
    advance(d, 5 * s);                      /* both stages in one update */
    g_assert_cmpuint(expiries, ==, 1);
}

/* Output disabled and free-running: stage 2 ends in stage 1 again, no action. */
static void test_esb_free_running(void)
{
    struct pci_device *d = setup("i6300esb");
    int64_t s = stage_ns(1, false);

    pci_cfg_wr(DEVFN, 0x60, 0x0020, 2);
    esb_preload(0x00, 1);
    esb_preload(0x04, 1);
    pci_cfg_wr(DEVFN, 0x68, 0x06, 1);
    for (int i = 0; i < 10; i++) {
        advance(d, s);
    }
    g_assert_cmpuint(expiries, ==, 0);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x68, 1), ==, 0x06);
    g_assert_cmphex(mmio_rd(BAR + 0x0c, 2), ==, 0);
    /* Output on again: the next stage 2 end acts. */
    pci_cfg_wr(DEVFN, 0x60, 0x0000, 2);
    advance(d, 2 * s);
    g_assert_cmpuint(expiries, ==, 1);
}

/* Once locked, the register keeps its value: the watchdog cannot be stopped. */
static void test_esb_lock(void)
{
    struct pci_device *d = setup("i6300esb");
    int64_t s = stage_ns(5, false);

    esb_preload(0x00, 5);
    esb_preload(0x04, 5);
    pci_cfg_wr(DEVFN, 0x68, 0x03, 1);
    pci_cfg_wr(DEVFN, 0x68, 0x00, 1);
    g_assert_cmphex(pci_cfg_rd(DEVFN, 0x68, 1), ==, 0x03);
    advance(d, 2 * s);
    g_assert_cmpuint(expiries, ==, 1);
    /* The expiry unlocked it (power-on state): now it can be disabled. */
    pci_cfg_wr(DEVFN, 0x68, 0x02, 1);
    pci_cfg_wr(DEVFN, 0x68, 0x00, 1);
    advance(d, 4 * s);
    g_assert_cmpuint(expiries, ==, 1);
}

int main(int argc, char **argv)
{
    static const struct vm_actions none = { .watchdog = WATCHDOG_ACTION_NONE };

    g_test_init(&argc, &argv, NULL);
    i6300esb_set_clock(fake_clock);
    runstate_set_actions(&none);
    runstate_add_request_listener(count_watchdog, NULL);
    g_test_add_func("/i6300esb/pvpanic-pci", test_pvpanic_pci);
    g_test_add_func("/i6300esb/config", test_esb_config);
    g_test_add_func("/i6300esb/stages", test_esb_stages);
    g_test_add_func("/i6300esb/catch-up-and-mhz", test_esb_catch_up_and_mhz);
    g_test_add_func("/i6300esb/free-running", test_esb_free_running);
    g_test_add_func("/i6300esb/lock", test_esb_lock);
    return g_test_run();
}
