/*
 * The ACPI power-management registers of -M pc's PIIX4 (ACPI 6.5, 4.8):
 * the PM1a event block (PM1_STS, PM1_EN) at 0x600, the PM1a control block
 * (PM1_CNT) at 0x604, the 24-bit PM timer at 0x608, and the APM/SMI
 * command port 0xb2 where firmware-less guests switch ACPI mode on.
 * These are the addresses QEMU's PIIX4 uses with its firmware, so guests
 * written for it find them.
 *
 * What it gives the machine: a power button (system_powerdown sets
 * PWRBTN_STS and raises the SCI, GSI 9, when PWRBTN_EN and SCI_EN are
 * set) and soft-off (SLP_TYP 0 with SLP_EN, the S5 value QEMU's tables
 * give, powers the machine off as a guest shutdown).  The timer's
 * overflow status (TMR_STS) is not raised.
 *
 * Threads: registers are accessed by vCPU threads and the power button is
 * pressed by the main thread, both with the big lock held.
 */
#include <errno.h>
#include <time.h>

#include "hw/devices.h"
#include "hw/irq.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "system/vclock.h"

#define ACPI_PM_BASE 0x600
#define ACPI_SMI_CMD 0xb2
#define ACPI_SCI_GSI 9

/* ACPI 6.5, tables 4.16-4.18 and 4.21. */
#define PM1_STS_TMR     (1u << 0)
#define PM1_STS_GBL     (1u << 5)
#define PM1_STS_PWRBTN  (1u << 8)
#define PM1_STS_RTC     (1u << 10)
#define PM1_STS_WAK     (1u << 15)
#define PM1_CNT_SCI_EN  (1u << 0)
#define PM1_CNT_SLP_EN  (1u << 13)
#define PM1_CNT_SLP_TYP(v) (((v) >> 10) & 7)

/* The values QEMU's PIIX4 takes on the SMI command port. */
#define SMI_ACPI_ENABLE  0xf1
#define SMI_ACPI_DISABLE 0xf0

/* PM timer: 3.579545 MHz (ACPI 6.5, 4.8.3.3). */
#define PM_TIMER_HZ 3579545ull

struct acpi_pm {
    uint16_t sts, en, cnt;
    uint8_t apm_cnt, apm_sts;
    int sci;
};

static struct acpi_pm acpi_pm;

static void acpi_pm_update_sci(struct acpi_pm *pm)
{
    int level = (pm->cnt & PM1_CNT_SCI_EN) &&
                (pm->sts & pm->en & (PM1_STS_TMR | PM1_STS_GBL | PM1_STS_PWRBTN | PM1_STS_RTC));

    if (level != pm->sci) {
        pm->sci = level;
        irq_set_level(ACPI_SCI_GSI, level);
    }
}

/* The 3.579545 MHz counter of the guest's virtual clock (24 bits). */
static uint32_t acpi_pm_timer(void)
{
    int64_t now = vclock_virtual_ns();
    unsigned __int128 ns = now > 0 ? (unsigned __int128)now : 0;

    return (uint32_t)(ns * PM_TIMER_HZ / 1000000000u) & 0xffffff;
}

static uint64_t acpi_pm_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    uint64_t regs;

    if (offset >= 8) {
        return acpi_pm_timer() >> ((offset - 8) * 8);
    }
    /* Byte access to the 16-bit registers reads their halves. */
    regs = pm->sts | ((uint64_t)pm->en << 16) | ((uint64_t)pm->cnt << 32);
    return (regs >> (offset * 8)) & (size >= 8 ? ~0ull : (1ull << (size * 8)) - 1);
}

static void acpi_pm_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct acpi_pm *pm = opaque;

    if (offset >= 8) {
        return;     /* the timer is read-only */
    }
    for (unsigned i = 0; i < size && offset + i < 8; i++) {
        uint8_t b = value >> (i * 8);
        unsigned reg = (offset + i) / 2, shift = ((offset + i) & 1) * 8;

        switch (reg) {
        case 0:     /* PM1_STS: write one to clear */
            pm->sts &= ~((uint16_t)b << shift);
            break;
        case 1:     /* PM1_EN */
            pm->en = (pm->en & ~(0xffu << shift)) | ((uint16_t)b << shift);
            break;
        case 2:     /* PM1_CNT; SLP_EN reads back as 0 (4.8.3.2.1) */
            pm->cnt = (pm->cnt & ~(0xffu << shift)) | ((uint16_t)b << shift);
            break;
        default:
            break;
        }
    }
    if (pm->cnt & PM1_CNT_SLP_EN) {
        unsigned typ = PM1_CNT_SLP_TYP(pm->cnt);

        pm->cnt &= ~PM1_CNT_SLP_EN;
        if (typ == 0) {
            vm_request_shutdown(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        } else {
            log_mask(LOG_UNIMP, "acpi-pm: sleep state with SLP_TYP %u is not supported\n",
                     typ);
        }
    }
    acpi_pm_update_sci(pm);
}

static const struct io_ops acpi_pm_ops = {
    .read = acpi_pm_read,
    .write = acpi_pm_write,
};

static uint64_t acpi_smi_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;

    return offset == 0 ? pm->apm_cnt : pm->apm_sts;
}

static void acpi_smi_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct acpi_pm *pm = opaque;

    if (offset == 1) {
        pm->apm_sts = value;
        return;
    }
    pm->apm_cnt = value;
    if (pm->apm_cnt == SMI_ACPI_ENABLE) {
        pm->cnt |= PM1_CNT_SCI_EN;
    } else if (pm->apm_cnt == SMI_ACPI_DISABLE) {
        pm->cnt &= ~PM1_CNT_SCI_EN;
    }
    acpi_pm_update_sci(pm);
}

static const struct io_ops acpi_smi_ops = {
    .read = acpi_smi_read,
    .write = acpi_smi_write,
};

static void acpi_pm_power_button(void *opaque)
{
    struct acpi_pm *pm = opaque;

    pm->sts |= PM1_STS_PWRBTN;
    acpi_pm_update_sci(pm);
}

int acpi_pm_create(GError **errp)
{
    struct acpi_pm *pm = &acpi_pm;

    *pm = (struct acpi_pm){ 0 };
    if (io_register_pio(ACPI_PM_BASE, 12, "acpi-pm", &acpi_pm_ops, pm, errp) < 0 ||
        io_register_pio(ACPI_SMI_CMD, 2, "apm", &acpi_smi_ops, pm, errp) < 0) {
        return -EBUSY;
    }
    runstate_set_power_button(acpi_pm_power_button, pm);
    return 0;
}
