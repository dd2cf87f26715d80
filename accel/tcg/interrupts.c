/*
 * The software CPU's interrupt controllers: what KVM_CREATE_IRQCHIP and
 * KVM_CREATE_PIT2 give a KVM guest, in userspace.  The dual i8259 takes the
 * ISA lines (GSI 0-15 but the cascade), the IOAPIC all 24 GSIs (GSI 0, the
 * timer, on pin 2 as ACPI's interrupt source override says), the i8254
 * drives GSI 0 from a timer on the virtual clock (system/vclock.h), and
 * every vCPU has its local APIC (hw/lapic.c) with its own such timer.  The i8259's INT output is the
 * APICs' LINT0 pin; in ExtINT mode (the BSP's reset state, virtual wire) or
 * with an APIC globally disabled it reaches that CPU's INTR directly.
 *
 * The APIC bus: IPIs (lapic_hooks.ipi) and IOAPIC messages reach every APIC
 * their destination names (lowest priority picks the one with the lowest
 * PPR); INIT and SIPI go on to the vCPU (tcg.c); EOIs of level-triggered
 * vectors go to the IOAPIC.  The APIC page at IA32_APIC_BASE is one MMIO
 * region that reaches the APIC of the vCPU that accesses it.
 *
 * The vCPU side is irq_req (tcg_vcpu_set_intr) and one call:
 * tcg_irqchip_ack() runs the acknowledge cycle and gives the vector (tcg.c
 * delivers it through the IDT).  irq_req is recomputed after every change:
 * the APIC has a vector above its processor priority, or the i8259 asks
 * and passes through.
 *
 * Threads: everything here runs with the big lock held: devices raising
 * lines, the timers (on the main loop, or with -icount on the thread of
 * the vCPU whose turn it is), APIC register accesses (io_mmio under the
 * lock), and the vCPU's acknowledge, CR8 and MSR calls (which take the
 * lock themselves).
 */
#include <glib.h>

#include "accel/accel.h"
#include "accel/tcg/interrupts.h"
#include "accel/tcg/tcg-internal.h"
#include "hw/i8254.h"
#include "hw/i8259.h"
#include "hw/irq.h"
#include "hw/ioapic.h"
#include "hw/lapic.h"
#include "machine/machine.h"
#include "system/cpus.h"
#include "system/log.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/vclock.h"

/* One vCPU's local APIC and its timer. */
struct tcg_apic {
    struct lapic *apic;
    struct vtimer *timer;
    unsigned index;
};

static struct {
    struct machine *m;
    struct i8259 *pic;
    struct i8254 *pit;
    struct vtimer *pit_timer;
    int pit_level;
    bool pit_gated;             /* the HPET's legacy route owns IRQ 0 */
    struct ioapic *ioapic;
    struct ioapic *ioapic2;     /* -M microvm,ioapic2=on: GSI 24-47 */
    struct tcg_apic *apics;     /* by vCPU index */
    unsigned napics;
    uint64_t apic_mapped;       /* base of the mapped APIC page; 0: none */
    int64_t (*clock_ns)(void);  /* tests: a fake clock for the APICs */
} chip;

static struct vcpu *vcpu_at(unsigned i)
{
    struct machine *m = chip.m;

    return m && m->cpus && i < m->ncpus ? m->cpus[i] : NULL;
}

static unsigned index_of(const struct tcg_cpu *cpu)
{
    const struct vcpu *v = cpu ? cpu->vcpu : NULL;

    return v ? v->index : 0;
}

/* The APIC of a software vCPU (no vcpu: a unit test's, vCPU 0's). */
static struct lapic *apic_of(const struct tcg_cpu *cpu)
{
    unsigned i = index_of(cpu);

    return i < chip.napics ? chip.apics[i].apic : NULL;
}

static int64_t apic_clock(void)
{
    return chip.clock_ns ? chip.clock_ns() : vclock_virtual_ns();
}

/* ---- the vCPUs' INTR pins ---- */

static bool pic_asks(void)
{
    return chip.pic && i8259_has_interrupt(chip.pic);
}

/* INTR: a deliverable APIC vector, or the i8259 through LINT0 / with the
 * APIC off (SDM vol. 3, "Local Interrupts"). */
static void update_intr(unsigned i)
{
    struct vcpu *v = vcpu_at(i);
    struct lapic *a = chip.apics[i].apic;
    bool level = (pic_asks() && lapic_pic_passes(a)) || lapic_pending(a) >= 0;

    if (v) {
        tcg_vcpu_set_intr(v, level);
    }
}

static void update_all(void)
{
    for (unsigned i = 0; i < chip.napics; i++) {
        update_intr(i);
    }
}

/* The master's INT output changed: every APIC's LINT0 pin. */
static void intr_changed(void *opaque, bool level)
{
    for (unsigned i = 0; i < chip.napics; i++) {
        lapic_set_lint(chip.apics[i].apic, 0, level);
    }
    update_all();
}

/* ---- the lines ---- */

static void irq_line(unsigned gsi, int level)
{
    if (chip.pic && gsi < 16 && gsi != 2) {
        i8259_set_irq(chip.pic, gsi, level);
    }
    if (chip.ioapic && gsi < IOAPIC_NUM_PINS) {
        ioapic_set_irq(chip.ioapic, gsi == 0 ? 2 : gsi, level);
    } else if (chip.ioapic2 && gsi < 2 * IOAPIC_NUM_PINS) {
        ioapic_set_irq(chip.ioapic2, gsi - IOAPIC_NUM_PINS, level);
    }
}

/* ---- the i8254 ---- */

static void pit_irq(void *opaque, int level)
{
    chip.pit_level = level;
    if (!chip.pit_gated) {
        irq_line(0, level);
    }
}

/* Arms the timer for the PIT's next output change. */
static void pit_rearm(void *opaque)
{
    vtimer_mod(chip.pit_timer, i8254_next_event_ns(chip.pit));
}

static void pit_timer_expired(void *opaque)
{
    i8254_update(chip.pit, vclock_virtual_ns());
    pit_rearm(NULL);
}

/* ---- the APIC bus ---- */

static void bus_deliver_one(unsigned i, unsigned mode, uint8_t vector, bool trig_level,
                            bool assert)
{
    struct vcpu *v = vcpu_at(i);

    if (lapic_deliver(chip.apics[i].apic, mode, vector, trig_level)) {
        return;     /* fixed, lowest priority, NMI */
    }
    switch (mode) {
    case LAPIC_DM_INIT:
        /* SDM vol. 3, 11.6.1: INIT resets the APIC but for its ID and base. */
        if (assert && v) {
            lapic_init_reset(chip.apics[i].apic);
            tcg_vcpu_init_signal(v);
        }
        break;
    case LAPIC_DM_SIPI:
        if (v) {
            tcg_vcpu_sipi(v, vector);
        }
        break;
    default:
        log_mask(LOG_UNIMP, "apic bus: delivery mode %u to vCPU %u is not implemented\n",
                 mode, i);
        break;
    }
}

/* A message to every APIC its destination names; lowest priority picks one
 * (SDM vol. 3, 11.6.2.4). sender: the sending vCPU, -1 for the IOAPIC. */
static void bus_send(int sender, const struct lapic_ipi *ipi)
{
    int best = -1;

    for (unsigned i = 0; i < chip.napics; i++) {
        if (!lapic_ipi_matches(chip.apics[i].apic, ipi, (int)i == sender)) {
            continue;
        }
        if (ipi->delivery_mode == LAPIC_DM_LOWEST) {
            if (best < 0 ||
                lapic_priority(chip.apics[i].apic) < lapic_priority(chip.apics[best].apic)) {
                best = (int)i;
            }
            continue;
        }
        bus_deliver_one(i, ipi->delivery_mode, ipi->vector, ipi->trigger_level, ipi->level);
    }
    if (best >= 0) {
        bus_deliver_one((unsigned)best, LAPIC_DM_LOWEST, ipi->vector, ipi->trigger_level,
                        true);
    }
}

static void ioapic_deliver(void *opaque, const struct ioapic_msg *m)
{
    struct lapic_ipi msg = {
        .source = 0xff, .dest = m->dest, .logical = m->logical,
        .shorthand = LAPIC_SHORTHAND_NONE, .delivery_mode = m->delivery_mode,
        .vector = m->vector, .level = true, .trigger_level = m->level,
    };

    bus_send(-1, &msg);
}

/*
 * An MSI (hw/irq.c's route): the message's address and data name the same
 * fields as an IOAPIC redirection entry (SDM vol. 3, 11.11.1 and 11.11.2):
 * destination ID in address bits 19:12, destination mode in bit 2 (the
 * redirection hint is not modelled), vector in data bits 7:0, delivery
 * mode in bits 10:8, trigger mode in bit 15.
 */
static void msi_deliver(void *opaque, uint64_t addr, uint32_t data)
{
    struct lapic_ipi msg = {
        .source = 0xff, .dest = (addr >> 12) & 0xff, .logical = (addr >> 2) & 1,
        .shorthand = LAPIC_SHORTHAND_NONE, .delivery_mode = (data >> 8) & 7,
        .vector = data & 0xff, .level = true, .trigger_level = (data >> 15) & 1,
    };

    bus_send(-1, &msg);
}

/* ---- the local APICs ---- */

static void apic_changed(void *opaque)
{
    const struct tcg_apic *a = opaque;

    update_intr(a->index);
}

static void apic_nmi(void *opaque)
{
    const struct tcg_apic *a = opaque;
    struct vcpu *v = vcpu_at(a->index);

    if (v && chip.m->accel && chip.m->accel->vcpu_nmi) {
        chip.m->accel->vcpu_nmi(v);
    }
}

static void apic_rearm(void *opaque)
{
    struct tcg_apic *a = opaque;
    int64_t next;

    if (!a->timer) {
        return;
    }
    next = lapic_next_event_ns(a->apic);
    vtimer_mod(a->timer, next);
}

static void apic_eoi(void *opaque, unsigned vector)
{
    if (chip.ioapic) {
        ioapic_eoi(chip.ioapic, vector);
    }
    if (chip.ioapic2) {
        ioapic_eoi(chip.ioapic2, vector);
    }
}

static void apic_ipi(void *opaque, const struct lapic_ipi *ipi)
{
    const struct tcg_apic *a = opaque;

    bus_send((int)a->index, ipi);
}

static void apic_timer_expired(void *opaque)
{
    struct tcg_apic *a = opaque;

    lapic_timer_update(a->apic, apic_clock());
    apic_rearm(a);
}

/* The APIC page reaches the APIC of the vCPU that accesses it. */
static struct lapic *apic_here(void)
{
    return apic_of(tcg_current_cpu());
}

static uint64_t apic_page_read(void *opaque, uint64_t offset, unsigned size)
{
    struct lapic *a = apic_here();

    return a ? lapic_mmio_ops.read(a, offset, size) : 0;
}

static void apic_page_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct lapic *a = apic_here();

    if (a) {
        lapic_mmio_ops.write(a, offset, value, size);
    }
}

static const struct io_ops apic_page_ops = {
    .read = apic_page_read,
    .write = apic_page_write,
};

/*
 * Maps the APIC page where a's IA32_APIC_BASE says, or nowhere while it is
 * globally disabled (SDM vol. 3, "Local APIC Status and Location").  All
 * vCPUs share the one region: the base of the APIC written last wins.  A
 * base over another device's range leaves the page unmapped.
 */
static void apic_map(struct lapic *a)
{
    uint64_t want = 0;
    GError *err = NULL;

    if (lapic_enabled(a)) {
        want = lapic_get_base(a) & ~0xfffull;
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
    if (io_register_mmio(want, LAPIC_SIZE, "lapic", &apic_page_ops, NULL, &err) < 0) {
        log_mask(LOG_GUEST_ERROR, "lapic: cannot move to 0x%" G_GINT64_MODIFIER "x: %s\n",
                 want, err->message);
        g_clear_error(&err);
        return;
    }
    chip.apic_mapped = want;
}

static int apic_init(unsigned n, GError **errp)
{
    chip.napics = MAX(n, 1u);
    chip.apics = g_new0(struct tcg_apic, chip.napics);
    for (unsigned i = 0; i < chip.napics; i++) {
        struct tcg_apic *a = &chip.apics[i];
        const struct lapic_hooks hooks = {
            .changed = apic_changed, .nmi = apic_nmi, .timer_changed = apic_rearm,
            .eoi = apic_eoi, .ipi = apic_ipi, .opaque = a,
        };

        a->index = i;
        a->timer = vtimer_new(VCLOCK_VIRTUAL, "lapic", apic_timer_expired, a);
        /* vCPU i has APIC ID i (CPUID.1:EBX[31:24], tcg-cpuid.c); 0 is the BSP. */
        a->apic = lapic_create(i, i == 0, apic_clock, &hooks);
    }
    if (io_register_mmio(LAPIC_DEFAULT_BASE, LAPIC_SIZE, "lapic", &apic_page_ops, NULL,
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
    apic_map(apic);
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
    static const struct ioapic_hooks ioapic_hooks = { .deliver = ioapic_deliver };

    chip.m = m;
    /* -M microvm,pic=off leaves the i8259 out: interrupts come through the IOAPIC. */
    if (!m || machine_pic_enabled(m)) {
        chip.pic = i8259_create(intr_changed, NULL, errp);
        if (!chip.pic) {
            return -1;
        }
    }
    chip.ioapic = ioapic_create(0, &ioapic_hooks);
    if (io_register_mmio(IOAPIC_DEFAULT_BASE, IOAPIC_SIZE, "ioapic", &ioapic_mmio_ops,
                         chip.ioapic, errp) < 0) {
        return -1;
    }
    if (m && machine_ioapic2_enabled(m)) {
        chip.ioapic2 = ioapic_create(1, &ioapic_hooks);
        if (io_register_mmio(IOAPIC2_BASE, IOAPIC_SIZE, "ioapic2", &ioapic_mmio_ops,
                             chip.ioapic2, errp) < 0) {
            return -1;
        }
    }
    /* -machine pit=off leaves the PIT out, as KVM's in-kernel one. */
    if (machine_pit_enabled(m)) {
        chip.pit_timer = vtimer_new(VCLOCK_VIRTUAL, "i8254", pit_timer_expired, NULL);
        chip.pit = i8254_create(vclock_virtual_ns, pit_irq, NULL, errp);
        if (!chip.pit) {
            return -1;
        }
        i8254_set_change_hook(chip.pit, pit_rearm, NULL);
        pit_rearm(NULL);
    }
    msi_set_route(msi_deliver, NULL);
    return apic_init(m ? m->ncpus : 1, errp);
}

void tcg_irqchip_set_irq(unsigned gsi, int level)
{
    irq_line(gsi, level);
}

void tcg_irqchip_pit_gate(bool hpet_legacy)
{
    chip.pit_gated = hpet_legacy;
    if (!hpet_legacy) {
        irq_line(0, chip.pit_level);
    }
}

/*
 * The acknowledge cycle of cpu's INTR: ExtINT first, as it ignores
 * priorities (the i8259 answers), then the APIC's highest vector above
 * the PPR.
 */
int tcg_irqchip_ack(struct tcg_cpu *cpu)
{
    struct lapic *a;
    int vec = -1;

    bql_lock();
    a = apic_of(cpu);
    if (a && pic_asks() && lapic_pic_passes(a)) {
        vec = i8259_ack(chip.pic);
    } else if (a) {
        vec = lapic_ack(a);
    }
    update_all();
    bql_unlock();
    return vec;
}

void tcg_irqchip_reset(void)
{
    if (chip.pic) {
        i8259_reset(chip.pic);
    }
    if (chip.ioapic) {
        ioapic_reset(chip.ioapic);
    }
    if (chip.ioapic2) {
        ioapic_reset(chip.ioapic2);
    }
    chip.pit_gated = false;
    for (unsigned i = 0; i < chip.napics; i++) {
        lapic_reset(chip.apics[i].apic);
    }
    if (chip.napics) {
        apic_map(chip.apics[0].apic);
    }
    update_all();
}

void tcg_irqchip_set_clock(int64_t (*clock_ns)(void))
{
    chip.clock_ns = clock_ns;
}
