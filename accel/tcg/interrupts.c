/*
 * The software CPU's interrupt controllers: what KVM_CREATE_IRQCHIP and
 * KVM_CREATE_PIT2 give a KVM guest, in userspace.  The dual i8259 takes the
 * machine's ISA lines (GSI 0-15), the i8254 drives IRQ 0 from a main-loop
 * timer, and the bootstrap processor's local APIC (hw/lapic.c) sits at
 * IA32_APIC_BASE with its own main-loop timer.  The i8259's INT output is
 * the APIC's LINT0 pin; in ExtINT mode (the reset state, virtual wire) or
 * with the APIC globally disabled it reaches the CPU's INTR directly.  The
 * IOAPIC and the APICs of other vCPUs come with SMP (issue 7); the page at
 * the APIC base is vCPU 0's, which is right while only vCPU 0 runs.
 *
 * The vCPU side is irq_req (tcg_vcpu_set_intr) and one call:
 * tcg_irqchip_ack() runs the acknowledge cycle and gives the vector (tcg.c
 * delivers it through the IDT).  irq_req is recomputed after every change
 * of either chip: the APIC has a vector above its processor priority, or
 * the i8259 asks and passes through.
 *
 * Threads: everything here runs with the big lock held: devices raising
 * lines, the timers (glib sources on the main loop), APIC register
 * accesses (io_mmio under the lock), and the vCPU's acknowledge, CR8 and
 * MSR calls (which take the lock themselves).
 */
#include <glib.h>

#include "accel/accel.h"
#include "accel/tcg/interrupts.h"
#include "accel/tcg/tcg-internal.h"
#include "hw/i8254.h"
#include "hw/i8259.h"
#include "hw/lapic.h"
#include "machine/machine.h"
#include "system/cpus.h"
#include "system/log.h"
#include "system/main-loop.h"
#include "system/memory.h"

static struct {
    struct machine *m;
    struct i8259 *pic;
    struct i8254 *pit;
    GSource *pit_timer;
    struct lapic *apic;         /* vCPU 0's */
    GSource *apic_timer;
    uint64_t apic_mapped;       /* base of the mapped APIC page; 0: none */
    int64_t (*clock_ns)(void);  /* tests: a fake clock for the APIC */
} chip;

static struct vcpu *vcpu0(void)
{
    struct machine *m = chip.m;

    return m && m->cpus && m->ncpus ? m->cpus[0] : NULL;
}

/* The APIC of a software vCPU: vCPU 0's for now (no vcpu: a unit test's). */
static struct lapic *apic_of(const struct tcg_cpu *cpu)
{
    const struct vcpu *v = cpu->vcpu;

    return !v || v->index == 0 ? chip.apic : NULL;
}

static int64_t apic_clock(void)
{
    return chip.clock_ns ? chip.clock_ns() : i8254_host_clock_ns();
}

/* ---- vCPU 0's INTR pin ---- */

static bool pic_asks(void)
{
    return chip.pic && i8259_has_interrupt(chip.pic);
}

/* INTR: a deliverable APIC vector, or the i8259 through LINT0 / with the
 * APIC off (SDM vol. 3, "Local Interrupts"). */
static void update_intr(void)
{
    struct vcpu *v = vcpu0();
    bool level = pic_asks();

    if (chip.apic) {
        level = (level && lapic_pic_passes(chip.apic)) || lapic_pending(chip.apic) >= 0;
    }
    if (v) {
        tcg_vcpu_set_intr(v, level);
    }
}

/* The master's INT output changed: the APIC's LINT0 pin. */
static void intr_changed(void *opaque, bool level)
{
    if (chip.apic) {
        lapic_set_lint(chip.apic, 0, level);
    }
    update_intr();
}

/* ---- the i8254 ---- */

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

/* ---- the local APIC ---- */

static void apic_changed(void *opaque)
{
    update_intr();
}

static void apic_nmi(void *opaque)
{
    struct vcpu *v = vcpu0();

    if (v && chip.m->accel && chip.m->accel->vcpu_nmi) {
        chip.m->accel->vcpu_nmi(v);
    }
}

static void apic_rearm(void *opaque)
{
    int64_t next;

    if (!chip.apic_timer) {
        return;
    }
    /* A TSC deadline far away may be INT64_MAX: round up without overflow. */
    next = lapic_next_event_ns(chip.apic);
    g_source_set_ready_time(chip.apic_timer, next < 0 ? -1 : next / 1000 + (next % 1000 != 0));
}

static gboolean apic_timer_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    lapic_timer_update(chip.apic, apic_clock());
    apic_rearm(NULL);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs apic_timer_funcs = {
    .dispatch = apic_timer_dispatch,
};

/*
 * Maps the APIC page where IA32_APIC_BASE says, or nowhere while the APIC
 * is globally disabled (SDM vol. 3, "Local APIC Status and Location").
 * A base over another device's range leaves the page unmapped.
 */
static void apic_map(void)
{
    uint64_t want = 0;
    GError *err = NULL;

    if (lapic_enabled(chip.apic)) {
        want = lapic_get_base(chip.apic) & ~0xfffull;
    }
    if (want == chip.apic_mapped) {
        return;
    }
    if (chip.apic_mapped) {
        io_unregister_mmio(chip.apic_mapped, LAPIC_SIZE);
        chip.apic_mapped = 0;
    }
    if (!want) {
        return;
    }
    if (io_register_mmio(want, LAPIC_SIZE, "lapic", &lapic_mmio_ops, chip.apic, &err) < 0) {
        log_mask(LOG_GUEST_ERROR, "lapic: cannot move to 0x%" G_GINT64_MODIFIER "x: %s\n",
                 want, err->message);
        g_clear_error(&err);
        return;
    }
    chip.apic_mapped = want;
}

static int apic_init(GError **errp)
{
    static const struct lapic_hooks hooks = {
        .changed = apic_changed,
        .nmi = apic_nmi,
        .timer_changed = apic_rearm,
    };

    chip.apic_timer = g_source_new(&apic_timer_funcs, sizeof(GSource));
    g_source_set_name(chip.apic_timer, "lapic");
    g_source_attach(chip.apic_timer, NULL);
    /* vCPU 0 is the BSP with APIC ID 0 (CPUID.1:EBX[31:24], tcg-cpuid.c). */
    chip.apic = lapic_create(0, true, apic_clock, &hooks);
    if (io_register_mmio(LAPIC_DEFAULT_BASE, LAPIC_SIZE, "lapic", &lapic_mmio_ops, chip.apic,
                         errp) < 0) {
        return -1;
    }
    chip.apic_mapped = LAPIC_DEFAULT_BASE;
    return 0;
}

/* ---- the vCPU's instructions (interrupts.h) ---- */

uint8_t tcg_apic_get_cr8(struct tcg_cpu *cpu)
{
    struct lapic *apic = apic_of(cpu);
    uint8_t v;

    if (!apic) {
        return cpu->st.cr8 & 0xf;
    }
    bql_lock();
    v = lapic_get_cr8(apic);
    bql_unlock();
    return v;
}

void tcg_apic_set_cr8(struct tcg_cpu *cpu, uint8_t cr8)
{
    struct lapic *apic = apic_of(cpu);

    cpu->st.cr8 = cr8 & 0xf;
    if (apic) {
        bql_lock();
        lapic_set_cr8(apic, cr8);
        bql_unlock();
    }
}

void tcg_apic_set_base(struct tcg_cpu *cpu, uint64_t val)
{
    struct lapic *apic = apic_of(cpu);

    if (!apic) {
        return;
    }
    bql_lock();
    lapic_set_base(apic, val);
    apic_map();
    bql_unlock();
}

uint64_t tcg_apic_get_tsc_deadline(struct tcg_cpu *cpu)
{
    struct lapic *apic = apic_of(cpu);
    uint64_t v;

    if (!apic) {
        return 0;
    }
    bql_lock();
    v = lapic_get_tsc_deadline(apic);
    bql_unlock();
    return v;
}

/* The clock time at which the guest TSC reaches tsc (rounded up, so the
 * interrupt never comes before the TSC reads the deadline). */
static int64_t tsc_deadline_ns(struct tcg_cpu *cpu, uint64_t tsc, int64_t now)
{
    uint64_t cur = tcg_guest_tsc(cpu);
    unsigned __int128 ns;

    if (tsc <= cur) {
        return now;
    }
    ns = ((unsigned __int128)(tsc - cur) * 1000000000u + TCG_TSC_HZ - 1) / TCG_TSC_HZ;
    return ns > (unsigned __int128)(INT64_MAX - now) ? INT64_MAX : now + (int64_t)ns;
}

void tcg_apic_set_tsc_deadline(struct tcg_cpu *cpu, uint64_t tsc)
{
    struct lapic *apic = apic_of(cpu);

    if (!apic) {
        return;
    }
    bql_lock();
    lapic_set_tsc_deadline(apic, tsc, tsc_deadline_ns(cpu, tsc, apic_clock()));
    bql_unlock();
}

/* ---- tcg-internal.h ---- */

int tcg_irqchip_init(struct machine *m, GError **errp)
{
    chip.m = m;
    chip.pic = i8259_create(intr_changed, NULL, errp);
    if (!chip.pic) {
        return -1;
    }
    /* -machine pit=off leaves the PIT out, as KVM's in-kernel one. */
    if (machine_pit_enabled(m)) {
        chip.pit_timer = g_source_new(&pit_timer_funcs, sizeof(GSource));
        g_source_set_name(chip.pit_timer, "i8254");
        g_source_attach(chip.pit_timer, NULL);
        chip.pit = i8254_create(NULL, pit_irq, NULL, errp);
        if (!chip.pit) {
            return -1;
        }
        i8254_set_change_hook(chip.pit, pit_rearm, NULL);
        pit_rearm(NULL);
    }
    return apic_init(errp);
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

/*
 * The acknowledge cycle: ExtINT first, as it ignores priorities (the
 * i8259 answers), then the APIC's highest vector above the PPR.
 */
int tcg_irqchip_ack(void)
{
    int vec = -1;

    bql_lock();
    if (pic_asks() && (!chip.apic || lapic_pic_passes(chip.apic))) {
        vec = i8259_ack(chip.pic);
    } else if (chip.apic) {
        vec = lapic_ack(chip.apic);
    }
    update_intr();
    bql_unlock();
    return vec;
}

void tcg_irqchip_reset(void)
{
    if (chip.pic) {
        i8259_reset(chip.pic);
    }
    if (chip.apic) {
        lapic_reset(chip.apic);
        apic_map();
    }
    update_intr();
}

void tcg_irqchip_set_clock(int64_t (*clock_ns)(void))
{
    chip.clock_ns = clock_ns;
}
