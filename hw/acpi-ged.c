/*
 * -M microvm's ACPI generic event device and sleep/reset registers (see
 * hw/acpi-ged.h for the layout).  Registers are one byte wide; the event
 * selector is read as a whole DWORD by the DSDT's Field (DWordAcc), and a
 * read hands the pending events to the guest and clears them, so each
 * press is seen once.
 */
#include <errno.h>

#include "hw/acpi-ged.h"
#include "hw/irq.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/runstate.h"

/* Sleep control register (ACPI 6.5, 4.8.3.7): SLP_TYPx bits 4:2, SLP_EN bit 5. */
#define GED_SLP_TYP(v)  (((v) >> 2) & 7)
#define GED_SLP_EN      (1u << 5)

struct acpi_ged {
    uint32_t sel;       /* pending events, ACPI_GED_*_EVT bits */
};

static struct acpi_ged acpi_ged;

static uint64_t acpi_ged_evt_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_ged *ged = opaque;
    uint32_t v = ged->sel;

    /* A narrower read still returns (and consumes) the whole selector's
     * bytes from offset: the AML only reads it as a DWORD. */
    ged->sel = 0;
    return offset < 4 ? v >> (offset * 8) : 0;
}

static void acpi_ged_evt_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    log_mask(LOG_GUEST_ERROR, "acpi-ged: write to the read-only event selector\n");
}

static const struct io_ops acpi_ged_evt_ops = {
    .read = acpi_ged_evt_read,
    .write = acpi_ged_evt_write,
};

static uint64_t acpi_ged_regs_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;   /* no wake status: the machine never sleeps */
}

static void acpi_ged_regs_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    uint8_t v = value;

    switch (offset) {
    case ACPI_GED_REG_SLEEP_CTL:
        if (!(v & GED_SLP_EN)) {
            break;
        }
        if (GED_SLP_TYP(v) == ACPI_GED_SLP_TYP_S5) {
            vm_request_shutdown(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        } else {
            log_mask(LOG_UNIMP, "acpi-ged: sleep state with SLP_TYP %u is not supported\n",
                     GED_SLP_TYP(v));
        }
        break;
    case ACPI_GED_REG_SLEEP_STS:
        break;
    case ACPI_GED_REG_RESET:
        if (v == ACPI_GED_RESET_VALUE) {
            vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
        } else {
            log_mask(LOG_GUEST_ERROR, "acpi-ged: reset register written with 0x%x\n", v);
        }
        break;
    default:
        break;
    }
}

static const struct io_ops acpi_ged_regs_ops = {
    .read = acpi_ged_regs_read,
    .write = acpi_ged_regs_write,
};

/* system_powerdown: flag the event and pulse the edge-triggered GSI. */
static void acpi_ged_power_button(void *opaque)
{
    struct acpi_ged *ged = opaque;

    ged->sel |= ACPI_GED_PWR_DOWN_EVT;
    irq_set_level(ACPI_GED_IRQ, 1);
    irq_set_level(ACPI_GED_IRQ, 0);
}

int acpi_ged_create(GError **errp)
{
    struct acpi_ged *ged = &acpi_ged;

    *ged = (struct acpi_ged){ 0 };
    if (io_register_mmio(ACPI_GED_EVT_BASE, ACPI_GED_EVT_LEN, "acpi-ged",
                         &acpi_ged_evt_ops, ged, errp) < 0 ||
        io_register_mmio(ACPI_GED_REGS_BASE, ACPI_GED_REGS_LEN, "acpi-ged-regs",
                         &acpi_ged_regs_ops, ged, errp) < 0) {
        return -EBUSY;
    }
    runstate_set_power_button(acpi_ged_power_button, ged);
    return 0;
}
