/*
 * -M microvm's generic event device (hw/acpi-ged.c) as the guest's ACPI
 * code drives it through MMIO: the sleep control register (S5 powers
 * off), the reset register, and system_powerdown reaching the guest as a
 * pulse on GSI 9 with the power-button bit in the event selector.
 */
#include <string.h>

#include <glib.h>

#include "hw/acpi-ged.h"
#include "hw/irq.h"
#include "system/memory.h"
#include "system/runstate.h"

static unsigned gsi9_rises, gsi9_falls;
static int gsi9_level;
static int last_request = -1;
static int last_cause = -1;
static unsigned requests;

static void record_irq(void *opaque, unsigned gsi, int level)
{
    if (gsi != ACPI_GED_IRQ) {
        return;
    }
    if (level && !gsi9_level) {
        gsi9_rises++;
    } else if (!level && gsi9_level) {
        gsi9_falls++;
    }
    gsi9_level = level;
}

static void on_request(void *opaque, enum vm_request req, enum shutdown_cause cause)
{
    last_request = (int)req;
    last_cause = (int)cause;
    requests++;
}

static uint32_t mmio_rd(uint64_t addr, unsigned size)
{
    uint8_t b[4] = { 0 };

    io_mmio(addr, b, size, false);
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static void mmio_wr(uint64_t addr, uint32_t v, unsigned size)
{
    uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

    io_mmio(addr, b, size, true);
}

static void setup(void)
{
    g_autoptr(GError) err = NULL;

    io_unregister_all();
    irq_set_route(record_irq, NULL);
    gsi9_rises = gsi9_falls = 0;
    gsi9_level = 0;
    last_request = last_cause = -1;
    requests = 0;
    g_assert_cmpint(acpi_ged_create(&err), ==, 0);
    g_assert_no_error(err);
}

#define SLEEP_CTL (ACPI_GED_REGS_BASE + ACPI_GED_REG_SLEEP_CTL)
#define SLEEP_STS (ACPI_GED_REGS_BASE + ACPI_GED_REG_SLEEP_STS)
#define RESET_REG (ACPI_GED_REGS_BASE + ACPI_GED_REG_RESET)
/* SLP_TYP in bits 4:2, SLP_EN bit 5 (ACPI 6.5, 4.8.3.7). */
#define SLP(typ, en) (((typ) << 2) | ((en) ? 0x20 : 0))

static void test_sleep(void)
{
    setup();
    /* SLP_TYP 5 without SLP_EN, and other sleep types, do nothing. */
    mmio_wr(SLEEP_CTL, SLP(5, false), 1);
    mmio_wr(SLEEP_CTL, SLP(3, true), 1);
    mmio_wr(SLEEP_CTL, SLP(0, true), 1);
    g_assert_cmpuint(requests, ==, 0);
    g_assert_cmpuint(mmio_rd(SLEEP_STS, 1), ==, 0);
    /* What Linux writes for \_S5 = { 5, ... }: a guest shutdown. */
    mmio_wr(SLEEP_CTL, SLP(5, true), 1);
    g_assert_cmpuint(requests, ==, 1);
    g_assert_cmpint(last_request, ==, VM_REQUEST_SHUTDOWN);
    g_assert_cmpint(last_cause, ==, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
}

static void test_reset(void)
{
    setup();
    mmio_wr(RESET_REG, 0x06, 1);
    mmio_wr(RESET_REG, 0x00, 1);
    g_assert_cmpuint(requests, ==, 0);
    mmio_wr(RESET_REG, ACPI_GED_RESET_VALUE, 1);
    g_assert_cmpuint(requests, ==, 1);
    g_assert_cmpint(last_request, ==, VM_REQUEST_RESET);
    g_assert_cmpint(last_cause, ==, SHUTDOWN_CAUSE_GUEST_RESET);
}

static void test_power_button(void)
{
    setup();
    g_assert_cmphex(mmio_rd(ACPI_GED_EVT_BASE, 4), ==, 0);
    g_assert_true(vm_request_powerdown());
    g_assert_cmpint(last_request, ==, VM_REQUEST_POWERDOWN);
    /* An edge on GSI 9, the line left low. */
    g_assert_cmpuint(gsi9_rises, ==, 1);
    g_assert_cmpuint(gsi9_falls, ==, 1);
    g_assert_cmpint(gsi9_level, ==, 0);
    /* _EVT reads the selector: the power-button bit, once. */
    g_assert_cmphex(mmio_rd(ACPI_GED_EVT_BASE, 4), ==, ACPI_GED_PWR_DOWN_EVT);
    g_assert_cmphex(mmio_rd(ACPI_GED_EVT_BASE, 4), ==, 0);
    /* Two presses before the guest looks are one pending event. */
    g_assert_true(vm_request_powerdown());
    g_assert_true(vm_request_powerdown());
    g_assert_cmpuint(gsi9_rises, ==, 3);
    g_assert_cmphex(mmio_rd(ACPI_GED_EVT_BASE, 4), ==, ACPI_GED_PWR_DOWN_EVT);
    /* The selector is read-only. */
    mmio_wr(ACPI_GED_EVT_BASE, 0xffffffff, 4);
    g_assert_cmphex(mmio_rd(ACPI_GED_EVT_BASE, 4), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* Each guest shutdown request is then reported, not only the first. */
    runstate_set_no_shutdown(true);
    runstate_add_request_listener(on_request, NULL);
    g_test_add_func("/acpi-ged/sleep", test_sleep);
    g_test_add_func("/acpi-ged/reset", test_reset);
    g_test_add_func("/acpi-ged/power-button", test_power_button);
    return g_test_run();
}
