/*
 * i6300esb (-M pc -device i6300esb): the guest finds the watchdog by a
 * scan of bus 0 (configuration mechanism #1), checks what its config
 * space and BAR 0 show, programs both stages to PRELOAD (about half a
 * second each at 1 kHz: (PRELOAD << 15) clocks of 33 MHz, 6300ESB
 * datasheet "Watchdog Timer") through the 80h/86h unlock sequence, turns
 * the first stage's interrupt off as Linux's driver does, enables it and
 * then:
 *   1. reloads it every RELOAD_MS for KEEP_MS, well past the two stages,
 *      timing with the ACPI PM timer, and says how many reloads it made:
 *      had a reload been lost the watchdog would have acted by now;
 *   2. sets the lock bit, checks that disabling is then refused, stops
 *      reloading and waits WAIT_MS for the watchdog's action (-action
 *      watchdog=...).  Still running after that, it fails with WAIT_FAIL.
 * With watchdog=reset the machine starts the guest again: the reload
 * register then shows the "previous timeout" flag (bits 9 and 12 in
 * QEMU), which the guest clears and reports, and exits 0.
 * Exit code 0 when every check passes, else the number of the first
 * check that failed (or WAIT_FAIL).
 */
#include "guest.h"


#define PM_TMR 0x608            /* -M pc's ACPI PM timer, 24 bits */
#define PM_HZ 3579545u

#define ESB_ID          0x25ab8086u
#define ESB_CONFIG_REG  0x60
#define ESB_LOCK_REG    0x68
#define ESB_TIMER1      0x00
#define ESB_TIMER2      0x04
#define ESB_RELOAD      0x0c

#define PRELOAD    512           /* about 508 ms per stage */
#define RELOAD_MS  50
#define KEEP_MS    2500
#define WAIT_MS    10000
#define WAIT_FAIL  0x77

static unsigned checks;

#define CHECK(cond)                                                             \
    do {                                                                        \
        checks++;                                                               \
        if (!(cond)) {                                                          \
            printf("watchdog: check %u failed: %s (line %d)\n", checks, #cond, \
                   __LINE__);                                                   \
            return checks;                                                      \
        }                                                                       \
    } while (0)

static volatile uint8_t *bar;

static void unlock(void)
{
    *(volatile uint16_t *)(bar + ESB_RELOAD) = 0x80;
    *(volatile uint16_t *)(bar + ESB_RELOAD) = 0x86;
}

static void set_preload(unsigned reg, uint32_t v)
{
    unlock();
    *(volatile uint32_t *)(bar + reg) = v;
}

static void reload(void)
{
    unlock();
    *(volatile uint16_t *)(bar + ESB_RELOAD) = 0x100;
}

/* Milliseconds from the PM timer (wraps at 2^24, every 4.7 s), counted
 * in 32 bits: the freestanding runtime has no 64-bit division. */
static uint32_t pm_last, pm_rem, pm_ms;

static uint32_t now_ms(void)
{
    uint32_t t = inl(PM_TMR) & 0xffffff;

    pm_rem += (t - pm_last) & 0xffffff;
    pm_last = t;
    pm_ms += pm_rem / (PM_HZ / 1000);
    pm_rem %= PM_HZ / 1000;
    return pm_ms;
}

static void wait_ms(uint32_t ms)
{
    uint32_t end = now_ms() + ms;

    while ((int32_t)(now_ms() - end) < 0) {
    }
}

int main(const struct mb_info *mbi)
{
    unsigned devfn;
    uint32_t start, last, reloads = 0;
    uint16_t flag;

    for (devfn = 0; devfn < 256; devfn++) {
        if (pci_cfg_rd32(devfn, 0) == ESB_ID) {
            break;
        }
    }
    CHECK(devfn < 256);
    printf("watchdog: i6300esb at %x.%x\n", devfn >> 3, devfn & 7);
    CHECK(pci_cfg_rd32(devfn, 0x08) == 0x08800000);     /* class 0880h, revision 0 */
    CHECK((pci_cfg_rd32(devfn, 0x10) & 0xf) == 0);      /* 32-bit memory BAR */
    CHECK((pci_cfg_rd16(devfn, 0x04) & 2) == 2);        /* decoding on */
    bar = (volatile uint8_t *)(pci_cfg_rd32(devfn, 0x10) & ~0xfu);
    /* Power-on: reboot enabled, 1 kHz, IRQ; not enabled, not locked. */
    CHECK(pci_cfg_rd16(devfn, ESB_CONFIG_REG) == 0);
    CHECK(pci_cfg_rd8(devfn, ESB_LOCK_REG) == 0);

    /* After a watchdog reset (watchdog=reset): the flag, then cleared. */
    flag = *(volatile uint16_t *)(bar + ESB_RELOAD);
    if (flag) {
        printf("watchdog: previous timeout flag set (0x%x)\n", flag);
        CHECK(flag == 0x1200);
        unlock();
        *(volatile uint16_t *)(bar + ESB_RELOAD) = 0x200;
        CHECK(*(volatile uint16_t *)(bar + ESB_RELOAD) == 0);
        printf("watchdog: flag cleared after the reset\n");
        return 0;
    }
    /* The reload register reads 0; the preloads and the status too. */
    CHECK(*(volatile uint32_t *)(bar + ESB_TIMER1) == 0);
    CHECK(*(volatile uint32_t *)(bar + 0x08) == 0);

    /* First-stage interrupt off, as Linux's driver writes it; QEMU 7.2
     * keeps only bits 4 and 0 of WDT_INT_TYPE, so it reads back 0001h. */
    pci_cfg_wr16(devfn, ESB_CONFIG_REG, 0x0003);
    CHECK(pci_cfg_rd16(devfn, ESB_CONFIG_REG) == 0x0001);
    set_preload(ESB_TIMER1, PRELOAD);
    set_preload(ESB_TIMER2, PRELOAD);
    /* A write without the unlock sequence is ignored: stage 1 stays at
     * PRELOAD (a preload of 1 would fire at once below). */
    *(volatile uint32_t *)(bar + ESB_TIMER1) = 1;
    *(volatile uint32_t *)(bar + ESB_TIMER2) = 1;
    reload();

    now_ms();
    pci_cfg_wr8(devfn, ESB_LOCK_REG, 0x02);             /* enable */
    CHECK(pci_cfg_rd8(devfn, ESB_LOCK_REG) == 0x02);
    start = last = now_ms();
    while (now_ms() - start < KEEP_MS) {
        if (now_ms() - last >= RELOAD_MS) {
            reload();
            last = now_ms();
            reloads++;
        }
    }
    printf("watchdog: %u reloads over %u ms, still running\n", reloads, KEEP_MS);
    CHECK(reloads >= KEEP_MS / RELOAD_MS / 2);

    /* Locked: the enable bit can no longer be cleared. */
    reload();
    pci_cfg_wr8(devfn, ESB_LOCK_REG, 0x03);
    pci_cfg_wr8(devfn, ESB_LOCK_REG, 0x00);
    CHECK(pci_cfg_rd8(devfn, ESB_LOCK_REG) == 0x03);
    printf("watchdog: locked; no more reloads, waiting for the watchdog\n");
    wait_ms(WAIT_MS);
    printf("watchdog: still running %u ms after the last reload\n", WAIT_MS);
    return WAIT_FAIL;
}
