/*
 * The software CPU's interrupt controllers: what KVM_CREATE_IRQCHIP and
 * KVM_CREATE_PIT2 give a KVM guest, in userspace.  The dual i8259 takes the
 * machine's ISA lines (GSI 0-15), the i8254 drives IRQ 0 from a main-loop
 * timer, and the master's INT output is the bootstrap processor's INTR pin
 * (virtual-wire mode; the LAPIC and IOAPIC come with the machine issue).
 *
 * The vCPU side is one call: tcg_irqchip_ack() runs the acknowledge cycle
 * and gives the vector (tcg.c delivers it through the IDT).
 *
 * Threads: everything here runs with the big lock held: devices raising
 * lines, the PIT timer (a glib source on the main loop), and the vCPU's
 * acknowledge (which takes the lock itself).
 */
#include <glib.h>

#include "accel/tcg/tcg-internal.h"
#include "hw/i8254.h"
#include "hw/i8259.h"
#include "machine/machine.h"
#include "system/main-loop.h"

static struct {
    struct machine *m;
    struct i8259 *pic;
    struct i8254 *pit;
    GSource *pit_timer;
} chip;

/* The master's INT output changed: it is vCPU 0's INTR pin. */
static void intr_changed(void *opaque, bool level)
{
    struct machine *m = chip.m;

    if (m->cpus && m->ncpus && m->cpus[0]) {
        tcg_vcpu_set_intr(m->cpus[0], level);
    }
}

static void pit_irq(void *opaque, int level)
{
    i8259_set_irq(chip.pic, 0, level);
}

/* Arms the timer for the PIT's next output change (glib counts the same
 * CLOCK_MONOTONIC in microseconds). */
static void pit_rearm(void *opaque)
{
    int64_t next = i8254_next_event_ns(chip.pit);

    g_source_set_ready_time(chip.pit_timer, next < 0 ? -1 : (next + 999) / 1000);
}

static gboolean pit_timer_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    i8254_update(chip.pit, i8254_host_clock_ns());
    pit_rearm(NULL);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs pit_timer_funcs = {
    .dispatch = pit_timer_dispatch,
};

int tcg_irqchip_init(struct machine *m, GError **errp)
{
    chip.m = m;
    chip.pic = i8259_create(intr_changed, NULL, errp);
    if (!chip.pic) {
        return -1;
    }
    chip.pit_timer = g_source_new(&pit_timer_funcs, sizeof(GSource));
    g_source_set_name(chip.pit_timer, "i8254");
    g_source_attach(chip.pit_timer, NULL);
    chip.pit = i8254_create(NULL, pit_irq, NULL, errp);
    if (!chip.pit) {
        return -1;
    }
    i8254_set_change_hook(chip.pit, pit_rearm, NULL);
    pit_rearm(NULL);
    return 0;
}

void tcg_irqchip_set_irq(unsigned gsi, int level)
{
    /* GSI 0-15 are the ISA IRQs; GSI 2 is the PIT's on an IOAPIC, which the
     * 8259 sees on IRQ 0 (QEMU's and ACPI's interrupt source override). */
    if (!chip.pic || gsi >= 16) {
        return;
    }
    i8259_set_irq(chip.pic, gsi == 2 ? 0 : gsi, level);
}

int tcg_irqchip_ack(void)
{
    int vec = -1;

    bql_lock();
    if (chip.pic && i8259_has_interrupt(chip.pic)) {
        vec = i8259_ack(chip.pic);
    }
    bql_unlock();
    return vec;
}

void tcg_irqchip_reset(void)
{
    if (chip.pic) {
        i8259_reset(chip.pic);
    }
}
