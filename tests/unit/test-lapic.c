/*
 * The local APIC (hw/lapic.c) as a guest kernel programs it: registers
 * through io_mmio() at FEE00000h as a vCPU's loads and stores reach them,
 * on a fake clock the test moves by hand.  Then the software CPU's
 * interrupt controllers around it (accel/tcg/interrupts.c): the
 * acknowledge cycle choosing between the i8259 (ExtINT) and the APIC, and
 * what MOV CR8, IA32_APIC_BASE and IA32_TSC_DEADLINE do.
 *
 * Threads: the single test thread; it takes the big lock where a vCPU
 * would hold it (MMIO), and leaves it free where interrupts.c takes it.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "accel/tcg/interrupts.h"
#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"
#include "arch/x86/cpu-models.h"
#include "hw/lapic.h"
#include "machine/machine.h"
#include "system/main-loop.h"
#include "system/memory.h"

#define BASE LAPIC_DEFAULT_BASE

static int64_t fake_now;
static struct lapic *apic;
static unsigned changes, nmis, timer_changes, eois;
static unsigned last_eoi;

static int64_t fake_clock(void)
{
    return fake_now;
}

static uint64_t fake_clock_u64(void)
{
    return (uint64_t)fake_now;
}

static void on_changed(void *opaque) { changes++; }
static void on_nmi(void *opaque) { nmis++; }
static void on_timer_changed(void *opaque) { timer_changes++; }
static void on_eoi(void *opaque, unsigned v) { eois++; last_eoi = v; }

static const struct lapic_hooks hooks = {
    .changed = on_changed,
    .nmi = on_nmi,
    .timer_changed = on_timer_changed,
    .eoi = on_eoi,
};

static uint32_t rd(unsigned off)
{
    uint32_t v = 0xdeadbeef;

    io_mmio(BASE + off, &v, 4, false);
    return v;
}

static void wr(unsigned off, uint32_t v)
{
    io_mmio(BASE + off, &v, 4, true);
}

static bool vec_bit(unsigned reg, unsigned vec)
{
    return (rd(reg + (vec / 32) * 0x10) >> (vec % 32)) & 1;
}

/* A fresh APIC at FEE00000h, time 0; bsp as for vCPU 0. */
static void fresh_apic(bool bsp)
{
    GError *err = NULL;

    io_unregister_all();
    if (apic) {
        lapic_free(apic);
    }
    fake_now = 0;
    changes = nmis = timer_changes = eois = 0;
    apic = lapic_create(bsp ? 0 : 3, bsp, fake_clock, &hooks);
    g_assert_cmpint(io_register_mmio(BASE, LAPIC_SIZE, "lapic", &lapic_mmio_ops, apic, &err),
                    ==, 0);
    g_assert_no_error(err);
}

/* Software-enabled with spurious vector FFh, TPR 0, LINT0/1 masked. */
static void fresh_enabled(void)
{
    fresh_apic(true);
    wr(LAPIC_SVR, 0x1ff);
    wr(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    wr(LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
}

static void self_ipi(unsigned vec)
{
    wr(LAPIC_ICR_LO, vec | (1u << 18));
}

/* ---- registers ---- */

static void test_reset_state(void)
{
    fresh_apic(true);
    g_assert_cmphex(lapic_get_base(apic), ==, 0xfee00900);
    g_assert_cmphex(rd(LAPIC_ID), ==, 0);
    g_assert_cmphex(rd(LAPIC_VER), ==, 0x50014);
    g_assert_cmphex(rd(LAPIC_SVR), ==, 0xff);
    g_assert_cmphex(rd(LAPIC_DFR), ==, 0xffffffff);
    g_assert_cmphex(rd(LAPIC_TPR), ==, 0);
    g_assert_cmphex(rd(LAPIC_TDCR), ==, 0);
    g_assert_cmphex(rd(LAPIC_LVT_TIMER), ==, LAPIC_LVT_MASKED);
    g_assert_cmphex(rd(LAPIC_LVT_ERROR), ==, LAPIC_LVT_MASKED);
    /* The BSP's LINT0 is ExtINT, unmasked: the i8259 passes (virtual wire). */
    g_assert_cmphex(rd(LAPIC_LVT_LINT0), ==, 0x700);
    g_assert_true(lapic_pic_passes(apic));
    g_assert_false(lapic_sw_enabled(apic));

    fresh_apic(false);
    g_assert_cmphex(lapic_get_base(apic), ==, 0xfee00800);
    g_assert_cmphex(rd(LAPIC_ID), ==, 3u << 24);
    g_assert_cmphex(rd(LAPIC_LVT_LINT0), ==, LAPIC_LVT_MASKED);
    g_assert_false(lapic_pic_passes(apic));
}

static void test_access_sizes(void)
{
    uint8_t b = 0x5a;
    uint16_t w = 0x5a5a;
    uint64_t q = 0;

    fresh_enabled();
    /* As QEMU: narrow reads give 0, narrow writes do nothing. */
    io_mmio(BASE + LAPIC_VER, &b, 1, false);
    io_mmio(BASE + LAPIC_VER, &w, 2, false);
    g_assert_cmphex(b, ==, 0);
    g_assert_cmphex(w, ==, 0);
    b = 0x70;
    io_mmio(BASE + LAPIC_TPR, &b, 1, true);
    g_assert_cmphex(rd(LAPIC_TPR), ==, 0);
    /* Any dword of the 16-byte slot is the register. */
    wr(LAPIC_TPR + 4, 0x30);
    g_assert_cmphex(rd(LAPIC_TPR), ==, 0x30);
    g_assert_cmphex(rd(LAPIC_VER + 8), ==, 0x50014);
    /* A qword is two dwords. */
    io_mmio(BASE + LAPIC_VER, &q, 8, false);
    g_assert_cmphex(q, ==, 0x0005001400050014ull);
    wr(LAPIC_ESR, 0);
    g_assert_cmphex(rd(LAPIC_ESR), ==, 0);
}

static void test_writable_bits(void)
{
    fresh_enabled();
    wr(LAPIC_ID, 0x07123456);
    g_assert_cmphex(rd(LAPIC_ID), ==, 0x07000000);
    wr(LAPIC_LDR, 0x12345678);
    g_assert_cmphex(rd(LAPIC_LDR), ==, 0x12000000);
    wr(LAPIC_DFR, 0x0);
    g_assert_cmphex(rd(LAPIC_DFR), ==, 0x0fffffff);
    wr(LAPIC_TDCR, 0xffffffff);
    g_assert_cmphex(rd(LAPIC_TDCR), ==, 0xb);
    wr(LAPIC_ICR_HI, 0xffffffff);
    g_assert_cmphex(rd(LAPIC_ICR_HI), ==, 0xff000000);
    /* LVT entries keep their defined fields only; delivery status reads 0. */
    wr(LAPIC_LVT_ERROR, 0xffffffff);
    g_assert_cmphex(rd(LAPIC_LVT_ERROR), ==, 0x000100ff);
    wr(LAPIC_LVT_LINT1, 0xffffffff);
    g_assert_cmphex(rd(LAPIC_LVT_LINT1), ==, 0x0001a7ff);
    wr(LAPIC_LVT_TIMER, 0xffffffff);
    g_assert_cmphex(rd(LAPIC_LVT_TIMER), ==, 0x000700ff);
    /* Read-only registers ignore writes. */
    wr(LAPIC_VER, 0);
    wr(LAPIC_PPR, 0xff);
    wr(LAPIC_IRR, 0xffffffff);
    g_assert_cmphex(rd(LAPIC_VER), ==, 0x50014);
    g_assert_cmphex(rd(LAPIC_PPR), ==, 0);
    g_assert_cmphex(rd(LAPIC_IRR), ==, 0);
    wr(LAPIC_ESR, 0);
    g_assert_cmphex(rd(LAPIC_ESR), ==, 0);
}

/* Reserved offsets set "illegal register address", latched by an ESR write. */
static void test_esr(void)
{
    fresh_enabled();
    wr(LAPIC_LVT_ERROR, 0xee);
    g_assert_cmphex(rd(0x2f0), ==, 0);     /* CMCI: not one of the 6 LVTs */
    g_assert_cmphex(rd(LAPIC_ESR), ==, 0); /* not latched yet */
    g_assert_true(lapic_pending(apic) == 0xee);  /* the error LVT fired */
    wr(LAPIC_ESR, 0);
    g_assert_cmphex(rd(LAPIC_ESR), ==, LAPIC_ESR_ILLEGAL_REGISTER);
    wr(LAPIC_ESR, 0);
    g_assert_cmphex(rd(LAPIC_ESR), ==, 0);
    wr(0x3f0, 1);                           /* SELF IPI: x2APIC only */
    wr(LAPIC_ESR, 0);
    g_assert_cmphex(rd(LAPIC_ESR), ==, LAPIC_ESR_ILLEGAL_REGISTER);
}

/* ---- priorities ---- */

static void test_priority(void)
{
    fresh_enabled();
    lapic_accept(apic, 0x31, false);
    lapic_accept(apic, 0x45, false);
    lapic_accept(apic, 0x52, false);
    g_assert_true(vec_bit(LAPIC_IRR, 0x31) && vec_bit(LAPIC_IRR, 0x45) &&
                  vec_bit(LAPIC_IRR, 0x52));
    wr(LAPIC_TPR, 0x40);
    g_assert_cmpint(lapic_pending(apic), ==, 0x52);
    g_assert_cmpint(lapic_ack(apic), ==, 0x52);
    g_assert_true(vec_bit(LAPIC_ISR, 0x52) && !vec_bit(LAPIC_IRR, 0x52));
    /* PPR: the in-service class 5 is above TPR class 4. */
    g_assert_cmphex(rd(LAPIC_PPR), ==, 0x50);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    g_assert_cmpint(lapic_ack(apic), ==, -1);
    wr(LAPIC_EOI, 0);
    g_assert_false(vec_bit(LAPIC_ISR, 0x52));
    g_assert_cmphex(rd(LAPIC_PPR), ==, 0x40);
    /* Class 4 is not above TPR class 4; the low bits of TPR do not matter. */
    wr(LAPIC_TPR, 0x4f);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    g_assert_cmphex(rd(LAPIC_PPR), ==, 0x4f);
    wr(LAPIC_TPR, 0x3f);
    g_assert_cmpint(lapic_ack(apic), ==, 0x45);
    g_assert_cmphex(rd(LAPIC_PPR), ==, 0x40);
    /* 31h is held back by 45h in service until its EOI. */
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    wr(LAPIC_EOI, 0);
    wr(LAPIC_TPR, 0);
    g_assert_cmpint(lapic_ack(apic), ==, 0x31);
    wr(LAPIC_EOI, 0);
    g_assert_cmphex(rd(LAPIC_ISR + 0x10), ==, 0);
    g_assert_cmpint(eois, ==, 0);           /* edge-triggered: no EOI message */
}

/* A higher class nests over one in service; EOI retires the highest first. */
static void test_nesting_eoi(void)
{
    fresh_enabled();
    lapic_accept(apic, 0x60, false);
    g_assert_cmpint(lapic_ack(apic), ==, 0x60);
    lapic_accept(apic, 0x65, false);
    g_assert_cmpint(lapic_pending(apic), ==, -1);   /* same class */
    lapic_accept(apic, 0x71, false);
    g_assert_cmpint(lapic_ack(apic), ==, 0x71);
    g_assert_true(vec_bit(LAPIC_ISR, 0x60) && vec_bit(LAPIC_ISR, 0x71));
    wr(LAPIC_EOI, 0);
    g_assert_true(vec_bit(LAPIC_ISR, 0x60) && !vec_bit(LAPIC_ISR, 0x71));
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    wr(LAPIC_EOI, 0);
    g_assert_cmpint(lapic_ack(apic), ==, 0x65);
    /* An EOI with nothing in service does nothing. */
    wr(LAPIC_EOI, 0);
    wr(LAPIC_EOI, 0);
    g_assert_cmphex(rd(LAPIC_ISR + 0x30), ==, 0);
}

static void test_cr8(void)
{
    fresh_enabled();
    lapic_set_cr8(apic, 6);
    g_assert_cmphex(rd(LAPIC_TPR), ==, 0x60);
    wr(LAPIC_TPR, 0x9c);
    g_assert_cmpint(lapic_get_cr8(apic), ==, 9);
    lapic_accept(apic, 0x95, false);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    lapic_set_cr8(apic, 8);
    g_assert_cmpint(lapic_pending(apic), ==, 0x95);
}

/* ---- IPIs ---- */

static void test_self_ipi(void)
{
    fresh_enabled();
    changes = 0;
    self_ipi(0x40);
    g_assert_true(vec_bit(LAPIC_IRR, 0x40));
    g_assert_cmpuint(changes, >, 0);
    g_assert_cmphex(rd(LAPIC_ICR_LO), ==, 0x40040);     /* delivery status idle */
    g_assert_cmpint(lapic_ack(apic), ==, 0x40);
    wr(LAPIC_EOI, 0);
    /* Physical destination = own ID, all-including-self, broadcast. */
    wr(LAPIC_ICR_HI, 0);
    wr(LAPIC_ICR_LO, 0x41);
    wr(LAPIC_ICR_LO, 0x42 | (2u << 18));
    wr(LAPIC_ICR_HI, 0xffu << 24);
    wr(LAPIC_ICR_LO, 0x43);
    g_assert_true(vec_bit(LAPIC_IRR, 0x41) && vec_bit(LAPIC_IRR, 0x42) &&
                  vec_bit(LAPIC_IRR, 0x43));
    /* Another physical ID, all-excluding-self: not this APIC. */
    wr(LAPIC_ICR_HI, 5u << 24);
    wr(LAPIC_ICR_LO, 0x44);
    wr(LAPIC_ICR_LO, 0x45 | (3u << 18));
    g_assert_false(vec_bit(LAPIC_IRR, 0x44) || vec_bit(LAPIC_IRR, 0x45));
    /* Logical, flat model: LDR bit 2 matches destination 0x04. */
    wr(LAPIC_LDR, 0x04u << 24);
    wr(LAPIC_ICR_HI, 0x04u << 24);
    wr(LAPIC_ICR_LO, 0x46 | (1u << 11));
    wr(LAPIC_ICR_HI, 0x08u << 24);
    wr(LAPIC_ICR_LO, 0x47 | (1u << 11));
    g_assert_true(vec_bit(LAPIC_IRR, 0x46));
    g_assert_false(vec_bit(LAPIC_IRR, 0x47));
    /* Cluster model: cluster 1, member bit 0. */
    wr(LAPIC_DFR, 0x0fffffff);
    wr(LAPIC_LDR, 0x11u << 24);
    wr(LAPIC_ICR_HI, 0x13u << 24);
    wr(LAPIC_ICR_LO, 0x48 | (1u << 11));
    wr(LAPIC_ICR_HI, 0x21u << 24);
    wr(LAPIC_ICR_LO, 0x49 | (1u << 11));
    g_assert_true(vec_bit(LAPIC_IRR, 0x48));
    g_assert_false(vec_bit(LAPIC_IRR, 0x49));
    /* NMI to self. */
    wr(LAPIC_ICR_LO, (LAPIC_DM_NMI << 8) | (1u << 18));
    g_assert_cmpuint(nmis, ==, 1);
    /* An illegal vector is not sent: ESR "send illegal vector". */
    wr(LAPIC_ESR, 0);
    self_ipi(0x05);
    g_assert_cmphex(rd(LAPIC_IRR), ==, 0);
    wr(LAPIC_ESR, 0);
    g_assert_cmphex(rd(LAPIC_ESR), ==, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
}

/* Software disable: LVTs masked and kept masked, nothing accepted or delivered. */
static void test_software_disable(void)
{
    fresh_enabled();
    self_ipi(0x50);
    wr(LAPIC_LVT_TIMER, 0x51);
    wr(LAPIC_SVR, 0xff);
    g_assert_false(lapic_sw_enabled(apic));
    g_assert_cmphex(rd(LAPIC_LVT_TIMER), ==, 0x10051);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    g_assert_cmpint(lapic_ack(apic), ==, -1);
    self_ipi(0x60);
    g_assert_false(vec_bit(LAPIC_IRR, 0x60));
    wr(LAPIC_LVT_TIMER, 0x51);
    g_assert_cmphex(rd(LAPIC_LVT_TIMER), ==, 0x10051);
    /* Enabled again: what was pending is delivered. */
    wr(LAPIC_SVR, 0x1ff);
    g_assert_cmpint(lapic_ack(apic), ==, 0x50);
}

/* ---- LINT pins ---- */

static void test_lint(void)
{
    fresh_apic(true);
    /* ExtINT pass-through needs LINT0 unmasked; a masked pin stops it. */
    g_assert_true(lapic_pic_passes(apic));
    wr(LAPIC_SVR, 0x1ff);
    wr(LAPIC_LVT_LINT0, 0x700 | LAPIC_LVT_MASKED);
    g_assert_false(lapic_pic_passes(apic));
    wr(LAPIC_LVT_LINT0, 0x700);
    g_assert_true(lapic_pic_passes(apic));
    /* ExtINT vectors come from the i8259, never the IRR. */
    lapic_set_lint(apic, 0, true);
    g_assert_cmphex(rd(LAPIC_IRR + 0x10), ==, 0);
    lapic_set_lint(apic, 0, false);
    /* Fixed, edge: one interrupt per rising edge. */
    wr(LAPIC_LVT_LINT0, 0x33);
    g_assert_false(lapic_pic_passes(apic));
    lapic_set_lint(apic, 0, true);
    lapic_set_lint(apic, 0, true);
    g_assert_cmpint(lapic_ack(apic), ==, 0x33);
    g_assert_false(vec_bit(LAPIC_TMR, 0x33));
    wr(LAPIC_EOI, 0);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    lapic_set_lint(apic, 0, false);
    /* Fixed, level: remote IRR until EOI, then again while the pin is high. */
    wr(LAPIC_LVT_LINT0, 0x34 | LAPIC_LVT_LEVEL);
    lapic_set_lint(apic, 0, true);
    g_assert_true(vec_bit(LAPIC_TMR, 0x34));
    g_assert_true(rd(LAPIC_LVT_LINT0) & LAPIC_LVT_REMOTE_IRR);
    g_assert_cmpint(lapic_ack(apic), ==, 0x34);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    wr(LAPIC_EOI, 0);
    g_assert_cmpuint(eois, ==, 1);
    g_assert_cmpuint(last_eoi, ==, 0x34);
    g_assert_cmpint(lapic_ack(apic), ==, 0x34);     /* still high: again */
    lapic_set_lint(apic, 0, false);
    wr(LAPIC_EOI, 0);
    g_assert_false(rd(LAPIC_LVT_LINT0) & LAPIC_LVT_REMOTE_IRR);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    /* LINT1 as NMI: one per rising edge; masked: none. */
    wr(LAPIC_LVT_LINT1, LAPIC_DM_NMI << 8);
    lapic_set_lint(apic, 1, true);
    lapic_set_lint(apic, 1, false);
    lapic_set_lint(apic, 1, true);
    g_assert_cmpuint(nmis, ==, 2);
    lapic_set_lint(apic, 1, false);
    wr(LAPIC_LVT_LINT1, (LAPIC_DM_NMI << 8) | LAPIC_LVT_MASKED);
    lapic_set_lint(apic, 1, true);
    g_assert_cmpuint(nmis, ==, 2);
}

/* ---- IA32_APIC_BASE ---- */

static void test_global_disable(void)
{
    fresh_enabled();
    wr(LAPIC_TPR, 0x20);
    self_ipi(0x77);
    g_assert_false(lapic_pic_passes(apic));     /* LINT0 masked */
    lapic_set_base(apic, 0xfee00000);           /* BSP stays */
    g_assert_cmphex(lapic_get_base(apic), ==, 0xfee00100);
    g_assert_false(lapic_enabled(apic));
    /* "Functionally equivalent to a processor without an APIC": the i8259
     * goes straight to INTR, and the earlier set-up is gone. */
    g_assert_true(lapic_pic_passes(apic));
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    lapic_accept(apic, 0x78, false);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    lapic_set_base(apic, 0xfee00800);
    g_assert_true(lapic_enabled(apic));
    g_assert_cmphex(rd(LAPIC_TPR), ==, 0);
    g_assert_cmphex(rd(LAPIC_SVR), ==, 0xff);
    g_assert_cmphex(rd(LAPIC_IRR + 0x30), ==, 0);
    /* Relocation keeps the state. */
    wr(LAPIC_TPR, 0x30);
    lapic_set_base(apic, 0xfed00800);
    g_assert_cmphex(lapic_get_base(apic), ==, 0xfed00900);
    g_assert_cmphex(rd(LAPIC_TPR), ==, 0x30);
}

/* ---- the timer ---- */

static void test_timer_oneshot(void)
{
    fresh_enabled();
    wr(LAPIC_TDCR, 0xb);                    /* divide by 1: 1 count per ns */
    wr(LAPIC_LVT_TIMER, 0x51);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, -1);
    timer_changes = 0;
    wr(LAPIC_TMICT, 1000);
    g_assert_cmpuint(timer_changes, >, 0);
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 1000);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, 1000);
    fake_now = 400;
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 600);
    lapic_timer_update(apic, 999);
    g_assert_false(vec_bit(LAPIC_IRR, 0x51));
    fake_now = 1000;
    lapic_timer_update(apic, 1000);
    g_assert_true(vec_bit(LAPIC_IRR, 0x51));
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 0);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, -1);
    g_assert_cmpint(lapic_ack(apic), ==, 0x51);
    wr(LAPIC_EOI, 0);
    fake_now = 5000;
    lapic_timer_update(apic, 5000);
    g_assert_cmpint(lapic_pending(apic), ==, -1);   /* once only */
    /* Divide by 16 (0011b): 16 ns per count; an MMIO access brings the
     * timer up to date by itself. */
    wr(LAPIC_TDCR, 0x3);
    wr(LAPIC_TMICT, 100);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, 5000 + 1600);
    fake_now = 5000 + 160;
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 90);
    /* A new divider keeps the count where it is. */
    wr(LAPIC_TDCR, 0xb);
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 90);
    fake_now += 90;
    g_assert_true(vec_bit(LAPIC_IRR, 0x51));
    /* TMICT 0 stops the timer. */
    wr(LAPIC_TMICT, 50);
    wr(LAPIC_TMICT, 0);
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 0);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, -1);
}

static void test_timer_divider(void)
{
    static const struct { uint32_t tdcr; unsigned div; } t[] = {
        { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
        { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(t); i++) {
        fresh_enabled();
        wr(LAPIC_LVT_TIMER, 0x51);
        wr(LAPIC_TDCR, t[i].tdcr);
        wr(LAPIC_TMICT, 1000);
        g_assert_cmpint(lapic_next_event_ns(apic), ==, 1000 * t[i].div);
        fake_now = 100 * t[i].div;
        g_assert_cmphex(rd(LAPIC_TMCCT), ==, 900);
    }
}

static void test_timer_periodic(void)
{
    fresh_enabled();
    wr(LAPIC_TDCR, 0xb);
    wr(LAPIC_LVT_TIMER, 0x52 | LAPIC_TIMER_PERIODIC);
    wr(LAPIC_TMICT, 100000);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, 100000);
    fake_now = 100000;
    lapic_timer_update(apic, fake_now);
    g_assert_cmpint(lapic_ack(apic), ==, 0x52);
    wr(LAPIC_EOI, 0);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, 200000);
    fake_now = 250000;
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 50000);
    g_assert_cmpint(lapic_ack(apic), ==, 0x52);     /* the read delivered tick 2 */
    wr(LAPIC_EOI, 0);
    /* Missed ticks collapse into one interrupt. */
    fake_now = 1000000 + 1;
    lapic_timer_update(apic, fake_now);
    g_assert_cmpint(lapic_ack(apic), ==, 0x52);
    wr(LAPIC_EOI, 0);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, 1100000);
    /* Masked: it keeps counting, delivers nothing and needs no wake-up;
     * unmasked again, the next period boundary interrupts. */
    wr(LAPIC_LVT_TIMER, 0x52 | LAPIC_TIMER_PERIODIC | LAPIC_LVT_MASKED);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, -1);
    fake_now = 1150000;
    lapic_timer_update(apic, fake_now);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 50000);
    wr(LAPIC_LVT_TIMER, 0x52 | LAPIC_TIMER_PERIODIC);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, 1200000);
    /* A tiny period is not served more often than LAPIC_MIN_PERIOD_NS. */
    wr(LAPIC_TMICT, 10);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, fake_now + LAPIC_MIN_PERIOD_NS);
}

/* Switching between one-shot and periodic keeps the count going (the
 * sequence of kvm-unit-tests' test_apic_change_mode). */
static void test_timer_mode_change(void)
{
    fresh_enabled();
    wr(LAPIC_TDCR, 0xb);
    wr(LAPIC_LVT_TIMER, 0x55);
    wr(LAPIC_TMICT, 1000);
    wr(LAPIC_LVT_TIMER, 0x55 | LAPIC_TIMER_PERIODIC);
    g_assert_cmphex(rd(LAPIC_TMICT), ==, 1000);
    /* One-shot halfway, then periodic: it goes on from 400 and wraps. */
    wr(LAPIC_LVT_TIMER, 0x55);
    wr(LAPIC_TMICT, 1000);
    fake_now = 600;
    wr(LAPIC_LVT_TIMER, 0x55 | LAPIC_TIMER_PERIODIC);
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 400);
    fake_now = 1000;
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 1000);
    g_assert_cmpint(lapic_ack(apic), ==, 0x55);
    wr(LAPIC_EOI, 0);
    /* Periodic, second period at 700, then one-shot: 300 to go, then 0. */
    fake_now = 1700;
    wr(LAPIC_LVT_TIMER, 0x55);
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 300);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, 2000);
    fake_now = 2000;
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 0);
    g_assert_cmpint(lapic_ack(apic), ==, 0x55);
    wr(LAPIC_EOI, 0);
    /* A one-shot that ran out stays at 0 as periodic, until TMICT is written. */
    fake_now = 2500;
    wr(LAPIC_LVT_TIMER, 0x55 | LAPIC_TIMER_PERIODIC);
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 0);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, -1);
    fake_now = 5000;
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    wr(LAPIC_TMICT, 1000);
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 1000);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, 5000 + LAPIC_MIN_PERIOD_NS);
}

/* A one-shot that expires while masked never interrupts. */
static void test_timer_masked_oneshot(void)
{
    fresh_enabled();
    wr(LAPIC_TDCR, 0xb);
    wr(LAPIC_LVT_TIMER, 0x53 | LAPIC_LVT_MASKED);
    wr(LAPIC_TMICT, 1000);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, -1);
    fake_now = 2000;
    lapic_timer_update(apic, fake_now);
    wr(LAPIC_LVT_TIMER, 0x53);
    fake_now = 3000;
    lapic_timer_update(apic, fake_now);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 0);
}

static void test_timer_tsc_deadline(void)
{
    fresh_enabled();
    /* Not in TSC-deadline mode: the MSR reads 0 and ignores writes. */
    wr(LAPIC_LVT_TIMER, 0x54);
    lapic_set_tsc_deadline(apic, 1234, 500);
    g_assert_cmphex(lapic_get_tsc_deadline(apic), ==, 0);
    wr(LAPIC_TMICT, 1000);
    wr(LAPIC_LVT_TIMER, 0x54 | LAPIC_TIMER_TSC_DEADLINE);
    /* Entering the mode disarmed the count-down; TMICT writes are ignored. */
    g_assert_cmphex(rd(LAPIC_TMICT), ==, 0);
    wr(LAPIC_TMICT, 1000);
    g_assert_cmphex(rd(LAPIC_TMICT), ==, 0);
    g_assert_cmphex(rd(LAPIC_TMCCT), ==, 0);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, -1);
    lapic_set_tsc_deadline(apic, 1234, 500);
    g_assert_cmphex(lapic_get_tsc_deadline(apic), ==, 1234);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, 500);
    fake_now = 499;
    g_assert_cmphex(lapic_get_tsc_deadline(apic), ==, 1234);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    fake_now = 500;
    lapic_timer_update(apic, fake_now);
    g_assert_cmpint(lapic_ack(apic), ==, 0x54);
    wr(LAPIC_EOI, 0);
    /* Firing disarms: the MSR reads 0. */
    g_assert_cmphex(lapic_get_tsc_deadline(apic), ==, 0);
    g_assert_cmpint(lapic_next_event_ns(apic), ==, -1);
    /* A deadline in the past fires at once; 0 disarms. */
    lapic_set_tsc_deadline(apic, 99, 100);
    g_assert_cmpint(lapic_pending(apic), ==, 0x54);
    g_assert_cmpint(lapic_ack(apic), ==, 0x54);
    wr(LAPIC_EOI, 0);
    lapic_set_tsc_deadline(apic, 5000, 5000);
    lapic_set_tsc_deadline(apic, 0, 0);
    fake_now = 6000;
    lapic_timer_update(apic, fake_now);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    /* Leaving the mode disarms too. */
    lapic_set_tsc_deadline(apic, 7000, 7000);
    wr(LAPIC_LVT_TIMER, 0x54);
    wr(LAPIC_LVT_TIMER, 0x54 | LAPIC_TIMER_TSC_DEADLINE);
    g_assert_cmphex(lapic_get_tsc_deadline(apic), ==, 0);
}

/* ---- interrupts.c: the acknowledge cycle and the vCPU's calls ---- */

static struct machine machine;

/* The i8259 pair as Linux programs it: vectors 20h-2Fh, all lines open. */
static void pic_init(void)
{
    static const uint8_t seq[][2] = {
        { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 },
        { 0xa0, 0x11 }, { 0xa1, 0x28 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
        { 0x21, 0x00 }, { 0xa1, 0x00 },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(seq); i++) {
        uint8_t v = seq[i][1];

        io_pio(seq[i][0], &v, 1, true);
    }
}

static void outb_pic(uint16_t port, uint8_t v)
{
    io_pio(port, &v, 1, true);
}

static void pic_eoi(void)
{
    outb_pic(0x20, 0x20);
}

/* One machine-wide set-up for the rest of the process: the chips at their
 * usual places, the fake clock under the APIC and the TSC. */
static void irqchip_fresh(void)
{
    static bool done;

    if (!done) {
        GError *err = NULL;

        if (apic) {
            lapic_free(apic);
            apic = NULL;
        }
        io_unregister_all();
        g_assert_cmpint(tcg_irqchip_init(&machine, &err), ==, 0);
        g_assert_no_error(err);
        tcg_irqchip_set_clock(fake_clock);
        tcg_tsc_set_clock(fake_clock_u64);
        done = true;
    }
    fake_now = 1000000;
    tcg_irqchip_reset();
    pic_init();
}

static void test_irqchip_extint(void)
{
    irqchip_fresh();
    /* Reset: LINT0 ExtINT, so the i8259 answers the acknowledge. */
    tcg_irqchip_set_irq(1, 1);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, 0x21);
    tcg_irqchip_set_irq(1, 0);
    pic_eoi();
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, -1);
    /* ExtINT goes first, ignoring the APIC's priorities. */
    wr(LAPIC_SVR, 0x1ff);
    self_ipi(0xe0);
    tcg_irqchip_set_irq(3, 1);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, 0x23);
    tcg_irqchip_set_irq(3, 0);
    pic_eoi();
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, 0xe0);
    wr(LAPIC_EOI, 0);
    /* LINT0 masked: the i8259 no longer reaches the CPU. */
    wr(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED | 0x700);
    tcg_irqchip_set_irq(4, 1);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, -1);
    /* LINT0 in fixed mode: a rising INTR (IRQ 4 masked and unmasked in
     * the i8259) becomes an APIC vector. */
    wr(LAPIC_LVT_LINT0, 0x66);
    outb_pic(0x21, 0x10);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, -1);
    outb_pic(0x21, 0x00);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, 0x66);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, -1);
    tcg_irqchip_set_irq(4, 0);
}

static void test_irqchip_apic_base(void)
{
    struct tcg_cpu cpu;

    memset(&cpu, 0, sizeof(cpu));
    irqchip_fresh();
    wr(LAPIC_SVR, 0x1ff);
    wr(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    tcg_irqchip_set_irq(5, 1);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, -1);
    /* Globally disabled: the page is gone and the i8259 goes straight in. */
    tcg_apic_set_base(&cpu, 0xfee00100);
    g_assert_cmphex(rd(LAPIC_VER), ==, 0);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, 0x25);
    tcg_irqchip_set_irq(5, 0);
    pic_eoi();
    /* Enabled at another base: the page moves. */
    tcg_apic_set_base(&cpu, 0xfed00900);
    g_assert_cmphex(rd(LAPIC_VER), ==, 0);
    {
        uint32_t v = 0;

        io_mmio(0xfed00000 + LAPIC_VER, &v, 4, false);
        g_assert_cmphex(v, ==, LAPIC_VERSION);
    }
    /* A reset puts it back. */
    tcg_irqchip_reset();
    g_assert_cmphex(rd(LAPIC_VER), ==, LAPIC_VERSION);
}

static void test_irqchip_cr8(void)
{
    struct tcg_cpu cpu;

    memset(&cpu, 0, sizeof(cpu));
    irqchip_fresh();
    wr(LAPIC_SVR, 0x1ff);
    wr(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    tcg_apic_set_cr8(&cpu, 7);
    g_assert_cmphex(rd(LAPIC_TPR), ==, 0x70);
    g_assert_cmpint(cpu.st.cr8, ==, 7);
    self_ipi(0x71);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, -1);
    wr(LAPIC_TPR, 0x20);
    g_assert_cmpint(tcg_apic_get_cr8(&cpu), ==, 2);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, 0x71);
    wr(LAPIC_EOI, 0);
}

static void test_irqchip_tsc_deadline(void)
{
    struct tcg_cpu cpu;
    uint64_t tsc;

    memset(&cpu, 0, sizeof(cpu));
    irqchip_fresh();
    wr(LAPIC_SVR, 0x1ff);
    wr(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    wr(LAPIC_LVT_TIMER, 0x58 | LAPIC_TIMER_TSC_DEADLINE);
    tsc = tcg_guest_tsc(&cpu);
    /* 2000 TSC ticks at TCG_TSC_HZ (2 GHz) are 1000 ns. */
    tcg_apic_set_tsc_deadline(&cpu, tsc + 2000);
    g_assert_cmphex(tcg_apic_get_tsc_deadline(&cpu), ==, tsc + 2000);
    fake_now += 999;
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, -1);
    g_assert_cmphex(tcg_apic_get_tsc_deadline(&cpu), ==, tsc + 2000);
    fake_now += 1;
    g_assert_cmphex(tcg_apic_get_tsc_deadline(&cpu), ==, 0);
    g_assert_cmpuint(tcg_guest_tsc(&cpu), >=, tsc + 2000);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, 0x58);
    wr(LAPIC_EOI, 0);
    /* A TSC that was moved back still counts from where it reads. */
    tcg_set_guest_tsc(&cpu, 100);
    tcg_apic_set_tsc_deadline(&cpu, 100 + 4000);
    fake_now += 1999;
    g_assert_cmphex(tcg_apic_get_tsc_deadline(&cpu), ==, 4100);
    fake_now += 1;
    g_assert_cmphex(tcg_apic_get_tsc_deadline(&cpu), ==, 0);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, 0x58);
    wr(LAPIC_EOI, 0);
    /* The farthest deadline is armed and stays so (no overflow on the way). */
    tcg_apic_set_tsc_deadline(&cpu, UINT64_MAX);
    fake_now += 1000000000000ll;
    g_assert_cmphex(tcg_apic_get_tsc_deadline(&cpu), ==, UINT64_MAX);
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, -1);
    tcg_apic_set_tsc_deadline(&cpu, 0);
}

static enum tcg_status msr(struct tcg_cpu *cpu, bool write, uint32_t idx, uint64_t *v)
{
    struct insn in;
    enum tcg_status st;

    memset(&in, 0, sizeof(in));
    cpu->st.regs[R_ECX] = idx;
    cpu->st.regs[R_EAX] = (uint32_t)*v;
    cpu->st.regs[R_EDX] = *v >> 32;
    st = tcg_exec_table[write ? OP_WRMSR : OP_RDMSR](cpu, &in);
    *v = (cpu->st.regs[R_EDX] << 32) | (uint32_t)cpu->st.regs[R_EAX];
    return st;
}

/* RDMSR/WRMSR and MOV CR8 as exec-system.c runs them for vCPU 0. */
static void test_irqchip_instructions(void)
{
    /* A model with TSC-deadline (CPUID.01H:ECX[24]), and one without. */
    static const struct x86_cpuid_entry with[] = {
        { .function = 0, .eax = 1, .ebx = 0x756e6547, .edx = 0x49656e69, .ecx = 0x6c65746e },
        { .function = 1, .ecx = 1u << 24, .edx = 1u << 9 },
    };
    static const struct x86_cpuid_entry without[] = {
        { .function = 0, .eax = 1, .ebx = 0x756e6547, .edx = 0x49656e69, .ecx = 0x6c65746e },
        { .function = 1, .edx = 1u << 9 },
    };
    struct tcg_cpu cpu;
    uint64_t v, tsc;

    memset(&cpu, 0, sizeof(cpu));
    cpu.cpuid = with;
    cpu.ncpuid = G_N_ELEMENTS(with);
    cpu.st.apic_base = 0xfee00900;
    irqchip_fresh();
    wr(LAPIC_SVR, 0x1ff);
    wr(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    /* MOV CR8 reaches the TPR and back. */
    g_assert_cmpint(tcg_write_cr(&cpu, 8, 0xb), ==, TCG_OK);
    g_assert_cmphex(rd(LAPIC_TPR), ==, 0xb0);
    wr(LAPIC_TPR, 0x30);
    g_assert_cmpint(tcg_read_cr(&cpu, 8, &v), ==, TCG_OK);
    g_assert_cmphex(v, ==, 3);
    wr(LAPIC_TPR, 0);
    /* IA32_TSC_DEADLINE through WRMSR/RDMSR. */
    wr(LAPIC_LVT_TIMER, 0x59 | LAPIC_TIMER_TSC_DEADLINE);
    tsc = tcg_guest_tsc(&cpu);
    v = tsc + 20000;                        /* 10 us */
    g_assert_cmpint(msr(&cpu, true, 0x6e0, &v), ==, TCG_OK);
    v = 0;
    g_assert_cmpint(msr(&cpu, false, 0x6e0, &v), ==, TCG_OK);
    g_assert_cmphex(v, ==, tsc + 20000);
    fake_now += 10000;
    g_assert_true(vec_bit(LAPIC_IRR, 0x59));
    g_assert_cmpint(tcg_irqchip_ack(NULL), ==, 0x59);
    wr(LAPIC_EOI, 0);
    v = 1;
    g_assert_cmpint(msr(&cpu, false, 0x6e0, &v), ==, TCG_OK);
    g_assert_cmphex(v, ==, 0);
    /* Not offered by the model: #GP(0). */
    cpu.cpuid = without;
    cpu.ncpuid = G_N_ELEMENTS(without);
    g_assert_cmpint(msr(&cpu, false, 0x6e0, &v), ==, TCG_EXCEPTION);
    g_assert_cmpint(cpu.exc.vector, ==, EXC_GP);
    /* IA32_APIC_BASE: disable unmaps the page, enable maps it again. */
    v = 0xfee00000;
    g_assert_cmpint(msr(&cpu, true, 0x1b, &v), ==, TCG_OK);
    g_assert_cmphex(rd(LAPIC_VER), ==, 0);
    v = 0;
    g_assert_cmpint(msr(&cpu, false, 0x1b, &v), ==, TCG_OK);
    g_assert_cmphex(v, ==, 0xfee00100);
    v = 0xfee00800;
    g_assert_cmpint(msr(&cpu, true, 0x1b, &v), ==, TCG_OK);
    g_assert_cmphex(rd(LAPIC_VER), ==, LAPIC_VERSION);
    /* Reserved bit 10 (x2APIC mode, not offered): #GP(0). */
    v = 0xfee00c00;
    g_assert_cmpint(msr(&cpu, true, 0x1b, &v), ==, TCG_EXCEPTION);
    g_assert_cmphex(rd(LAPIC_VER), ==, LAPIC_VERSION);
}

/* ---- the APIC bus (SMP) ---- */

static struct lapic_ipi ipis[16];
static unsigned nipis;

static void on_ipi(void *opaque, const struct lapic_ipi *ipi)
{
    if (nipis < G_N_ELEMENTS(ipis)) {
        ipis[nipis] = *ipi;
    }
    nipis++;
}

static const struct lapic_hooks bus_hooks = {
    .changed = on_changed,
    .nmi = on_nmi,
    .timer_changed = on_timer_changed,
    .eoi = on_eoi,
    .ipi = on_ipi,
};

/* An AP's APIC, ID 2, software-enabled, whose IPIs to others go to on_ipi. */
static void fresh_on_bus(void)
{
    GError *err = NULL;

    io_unregister_all();
    if (apic) {
        lapic_free(apic);
    }
    fake_now = 0;
    changes = nmis = timer_changes = eois = nipis = 0;
    memset(ipis, 0, sizeof(ipis));
    apic = lapic_create(2, false, fake_clock, &bus_hooks);
    g_assert_cmpint(io_register_mmio(BASE, LAPIC_SIZE, "lapic", &lapic_mmio_ops, apic, &err),
                    ==, 0);
    g_assert_no_error(err);
    wr(LAPIC_SVR, 0x1ff);
}

/* Destinations ("Determining IPI Destination"), as the IOAPIC and IPIs use them. */
static void test_match_dest(void)
{
    fresh_enabled();
    wr(LAPIC_ID, 0x05u << 24);
    g_assert_cmpuint(lapic_id(apic), ==, 5);
    /* Physical: the APIC ID, or FFh for all. */
    g_assert_true(lapic_match_dest(apic, 5, false));
    g_assert_false(lapic_match_dest(apic, 6, false));
    g_assert_false(lapic_match_dest(apic, 0, false));
    g_assert_true(lapic_match_dest(apic, 0xff, false));
    /* Logical with LDR 0 (as at reset): only the broadcast. */
    g_assert_false(lapic_match_dest(apic, 0x01, true));
    g_assert_false(lapic_match_dest(apic, 0x05, true));
    g_assert_true(lapic_match_dest(apic, 0xff, true));
    /* Flat model: any common bit of the 8-bit logical ID. */
    wr(LAPIC_LDR, 0x24u << 24);
    g_assert_true(lapic_match_dest(apic, 0x04, true));
    g_assert_true(lapic_match_dest(apic, 0x21, true));
    g_assert_false(lapic_match_dest(apic, 0x01, true));
    g_assert_false(lapic_match_dest(apic, 0x24, false));
    /* Cluster model: cluster 3, member bit 1. */
    wr(LAPIC_DFR, 0x0fffffff);
    wr(LAPIC_LDR, 0x32u << 24);
    g_assert_true(lapic_match_dest(apic, 0x32, true));
    g_assert_true(lapic_match_dest(apic, 0x3e, true));
    g_assert_false(lapic_match_dest(apic, 0x31, true));
    g_assert_false(lapic_match_dest(apic, 0x22, true));
    g_assert_true(lapic_match_dest(apic, 0xff, true));
}

/* Every IPI that may reach another APIC goes whole to the ipi hook. */
static void test_ipi_bus(void)
{
    fresh_on_bus();
    g_assert_cmpuint(lapic_id(apic), ==, 2);
    /* Self shorthand and the own physical ID stay here. */
    self_ipi(0x50);
    wr(LAPIC_ICR_HI, 2u << 24);
    wr(LAPIC_ICR_LO, 0x51);
    g_assert_cmpuint(nipis, ==, 0);
    g_assert_true(vec_bit(LAPIC_IRR, 0x50) && vec_bit(LAPIC_IRR, 0x51));
    /* Another physical ID: the bus, with every field of the ICR. */
    wr(LAPIC_ICR_HI, 3u << 24);
    wr(LAPIC_ICR_LO, 0x52 | (LAPIC_DM_LOWEST << 8));
    g_assert_cmpuint(nipis, ==, 1);
    g_assert_cmpuint(ipis[0].source, ==, 2);
    g_assert_cmpuint(ipis[0].dest, ==, 3);
    g_assert_false(ipis[0].logical);
    g_assert_cmpuint(ipis[0].shorthand, ==, LAPIC_SHORTHAND_NONE);
    g_assert_cmpuint(ipis[0].delivery_mode, ==, LAPIC_DM_LOWEST);
    g_assert_cmpuint(ipis[0].vector, ==, 0x52);
    g_assert_false(ipis[0].trigger_level);
    g_assert_false(vec_bit(LAPIC_IRR, 0x52));
    /* Delivery status reads idle: the bus took it at once. */
    g_assert_cmphex(rd(LAPIC_ICR_LO), ==, 0x152);
    /* Broadcast, all-including-self, all-excluding-self, a logical
     * destination (even one naming only this APIC, equal to its ID): the
     * bus delivers, this APIC's share included. */
    wr(LAPIC_LDR, 0x02u << 24);
    wr(LAPIC_ICR_HI, 0xffu << 24);
    wr(LAPIC_ICR_LO, 0x53);
    wr(LAPIC_ICR_LO, 0x54 | (LAPIC_SHORTHAND_ALL << 18));
    wr(LAPIC_ICR_LO, 0x55 | (LAPIC_SHORTHAND_OTHERS << 18));
    wr(LAPIC_ICR_HI, 0x02u << 24);
    wr(LAPIC_ICR_LO, 0x56 | (1u << 11));
    g_assert_cmpuint(nipis, ==, 5);
    g_assert_cmpuint(ipis[1].dest, ==, 0xff);
    g_assert_cmpuint(ipis[2].shorthand, ==, LAPIC_SHORTHAND_ALL);
    g_assert_cmpuint(ipis[3].shorthand, ==, LAPIC_SHORTHAND_OTHERS);
    g_assert_true(ipis[4].logical);
    g_assert_cmpuint(ipis[4].dest, ==, 0x02);
    g_assert_cmphex(rd(LAPIC_IRR + 0x20), ==, (1u << 0x10) | (1u << 0x11));    /* 50h, 51h */
    /* INIT assert, SIPI: the AP start-up Linux sends (level, assert; then
     * the start page); INIT de-assert resyncs arbitration only. */
    wr(LAPIC_ICR_HI, 3u << 24);
    wr(LAPIC_ICR_LO, 0xc500);
    wr(LAPIC_ICR_LO, 0x8500);
    wr(LAPIC_ICR_LO, 0x0609);
    g_assert_cmpuint(nipis, ==, 7);
    g_assert_cmpuint(ipis[5].delivery_mode, ==, LAPIC_DM_INIT);
    g_assert_true(ipis[5].level && ipis[5].trigger_level);
    g_assert_cmpuint(ipis[6].delivery_mode, ==, LAPIC_DM_SIPI);
    g_assert_cmpuint(ipis[6].vector, ==, 0x09);
    /* An NMI IPI to another APIC. */
    wr(LAPIC_ICR_LO, LAPIC_DM_NMI << 8);
    g_assert_cmpuint(nipis, ==, 8);
    g_assert_cmpuint(ipis[7].delivery_mode, ==, LAPIC_DM_NMI);
    g_assert_cmpuint(nmis, ==, 0);
    /* An illegal vector never leaves: ESR "send illegal vector". */
    wr(LAPIC_ESR, 0);
    wr(LAPIC_ICR_LO, 0x05);
    g_assert_cmpuint(nipis, ==, 8);
    wr(LAPIC_ESR, 0);
    g_assert_cmphex(rd(LAPIC_ESR), ==, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
}

/* What the bus asks of each APIC: is it a target? */
static void test_ipi_matches(void)
{
    struct lapic_ipi ipi = { .source = 2, .dest = 2 };

    fresh_on_bus();
    wr(LAPIC_LDR, 0x02u << 24);
    g_assert_true(lapic_ipi_matches(apic, &ipi, true));
    ipi.dest = 3;
    g_assert_false(lapic_ipi_matches(apic, &ipi, false));
    ipi.dest = 0x02;
    ipi.logical = true;
    g_assert_true(lapic_ipi_matches(apic, &ipi, false));
    ipi.dest = 0x05;
    g_assert_false(lapic_ipi_matches(apic, &ipi, false));
    /* Shorthands ignore the destination field. */
    ipi.shorthand = LAPIC_SHORTHAND_SELF;
    g_assert_true(lapic_ipi_matches(apic, &ipi, true));
    g_assert_false(lapic_ipi_matches(apic, &ipi, false));
    ipi.shorthand = LAPIC_SHORTHAND_ALL;
    g_assert_true(lapic_ipi_matches(apic, &ipi, true));
    g_assert_true(lapic_ipi_matches(apic, &ipi, false));
    ipi.shorthand = LAPIC_SHORTHAND_OTHERS;
    g_assert_false(lapic_ipi_matches(apic, &ipi, true));
    g_assert_true(lapic_ipi_matches(apic, &ipi, false));
}

/* Messages from the bus arriving at a target APIC. */
static void test_bus_deliver(void)
{
    fresh_enabled();
    g_assert_true(lapic_deliver(apic, LAPIC_DM_FIXED, 0x61, false));
    g_assert_true(lapic_deliver(apic, LAPIC_DM_LOWEST, 0x62, true));
    g_assert_true(vec_bit(LAPIC_IRR, 0x61) && vec_bit(LAPIC_IRR, 0x62));
    g_assert_false(vec_bit(LAPIC_TMR, 0x61));
    g_assert_true(vec_bit(LAPIC_TMR, 0x62));
    /* The level-triggered one's EOI goes out (to the IOAPIC). */
    g_assert_cmpint(lapic_ack(apic), ==, 0x62);
    wr(LAPIC_EOI, 0);
    g_assert_cmpuint(eois, ==, 1);
    g_assert_cmpuint(last_eoi, ==, 0x62);
    g_assert_true(lapic_deliver(apic, LAPIC_DM_NMI, 0, false));
    g_assert_cmpuint(nmis, ==, 1);
    /* The owner's own: SMI, INIT, SIPI, ExtINT leave the APIC alone. */
    g_assert_false(lapic_deliver(apic, LAPIC_DM_SMI, 0x63, false));
    g_assert_false(lapic_deliver(apic, LAPIC_DM_INIT, 0x63, false));
    g_assert_false(lapic_deliver(apic, LAPIC_DM_SIPI, 0x63, false));
    g_assert_false(lapic_deliver(apic, LAPIC_DM_EXTINT, 0x63, false));
    g_assert_false(vec_bit(LAPIC_IRR, 0x63));
    g_assert_cmpuint(nmis, ==, 1);
    /* An illegal vector is refused: ESR "receive illegal vector". */
    wr(LAPIC_ESR, 0);
    lapic_deliver(apic, LAPIC_DM_FIXED, 0x07, false);
    g_assert_false(vec_bit(LAPIC_IRR, 0x07));
    wr(LAPIC_ESR, 0);
    g_assert_cmphex(rd(LAPIC_ESR), ==, LAPIC_ESR_RECV_ILLEGAL_VECTOR);
    /* Software disabled: fixed interrupts are not accepted. */
    wr(LAPIC_SVR, 0xff);
    lapic_deliver(apic, LAPIC_DM_FIXED, 0x64, false);
    g_assert_false(vec_bit(LAPIC_IRR, 0x64));
}

/* Lowest-priority arbitration's number: the PPR. */
static void test_bus_priority(void)
{
    fresh_enabled();
    g_assert_cmpint(lapic_priority(apic), ==, 0);
    wr(LAPIC_TPR, 0x30);
    g_assert_cmpint(lapic_priority(apic), ==, 0x30);
    lapic_accept(apic, 0x52, false);
    g_assert_cmpint(lapic_ack(apic), ==, 0x52);
    g_assert_cmpint(lapic_priority(apic), ==, 0x50);
    g_assert_cmpint(lapic_priority(apic), ==, (int)rd(LAPIC_PPR));
    wr(LAPIC_EOI, 0);
    g_assert_cmpint(lapic_priority(apic), ==, 0x30);
}

/* INIT ("Local APIC State After an INIT Reset"): as at power-up, but the
 * ID and IA32_APIC_BASE stay. */
static void test_init_reset(void)
{
    fresh_enabled();
    wr(LAPIC_ID, 0x04u << 24);
    wr(LAPIC_TPR, 0x20);
    wr(LAPIC_LDR, 0x08u << 24);
    wr(LAPIC_DFR, 0x0fffffff);
    wr(LAPIC_LVT_TIMER, 0x40 | LAPIC_TIMER_PERIODIC);
    wr(LAPIC_TMICT, 1000);
    wr(LAPIC_LVT_LINT0, LAPIC_DM_EXTINT << 8);
    lapic_accept(apic, 0x70, true);
    lapic_set_base(apic, 0xfed00900);
    changes = 0;
    lapic_init_reset(apic);
    g_assert_cmpuint(changes, >, 0);
    g_assert_cmpuint(lapic_id(apic), ==, 4);
    g_assert_cmphex(lapic_get_base(apic), ==, 0xfed00900);
    /* The test's mapping is still at the old base: read through the API. */
    g_assert_cmphex(lapic_read(apic, LAPIC_ID), ==, 0x04000000);
    g_assert_cmphex(lapic_read(apic, LAPIC_TPR), ==, 0);
    g_assert_cmphex(lapic_read(apic, LAPIC_LDR), ==, 0);
    g_assert_cmphex(lapic_read(apic, LAPIC_DFR), ==, 0xffffffff);
    g_assert_cmphex(lapic_read(apic, LAPIC_SVR), ==, 0xff);
    g_assert_cmphex(lapic_read(apic, LAPIC_IRR + 0x30), ==, 0);
    g_assert_cmphex(lapic_read(apic, LAPIC_TMICT), ==, 0);
    for (unsigned off = LAPIC_LVT_TIMER; off <= LAPIC_LVT_ERROR; off += 0x10) {
        g_assert_cmphex(lapic_read(apic, off), ==, LAPIC_LVT_MASKED);
    }
    g_assert_cmpint(lapic_next_event_ns(apic), ==, -1);
    g_assert_cmpint(lapic_pending(apic), ==, -1);
    /* Not the BSP's power-on virtual wire: the i8259 no longer passes. */
    g_assert_false(lapic_pic_passes(apic));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/lapic/reset-state", test_reset_state);
    g_test_add_func("/lapic/access-sizes", test_access_sizes);
    g_test_add_func("/lapic/writable-bits", test_writable_bits);
    g_test_add_func("/lapic/esr", test_esr);
    g_test_add_func("/lapic/priority", test_priority);
    g_test_add_func("/lapic/nesting-eoi", test_nesting_eoi);
    g_test_add_func("/lapic/cr8", test_cr8);
    g_test_add_func("/lapic/self-ipi", test_self_ipi);
    g_test_add_func("/lapic/software-disable", test_software_disable);
    g_test_add_func("/lapic/lint", test_lint);
    g_test_add_func("/lapic/global-disable", test_global_disable);
    g_test_add_func("/lapic/timer-oneshot", test_timer_oneshot);
    g_test_add_func("/lapic/timer-divider", test_timer_divider);
    g_test_add_func("/lapic/timer-periodic", test_timer_periodic);
    g_test_add_func("/lapic/timer-mode-change", test_timer_mode_change);
    g_test_add_func("/lapic/timer-masked-oneshot", test_timer_masked_oneshot);
    g_test_add_func("/lapic/timer-tsc-deadline", test_timer_tsc_deadline);
    g_test_add_func("/lapic/bus/match-dest", test_match_dest);
    g_test_add_func("/lapic/bus/ipi", test_ipi_bus);
    g_test_add_func("/lapic/bus/ipi-matches", test_ipi_matches);
    g_test_add_func("/lapic/bus/deliver", test_bus_deliver);
    g_test_add_func("/lapic/bus/priority", test_bus_priority);
    g_test_add_func("/lapic/bus/init-reset", test_init_reset);
    /* interrupts.c: these share one set of chips, created by the first. */
    g_test_add_func("/lapic/irqchip/extint", test_irqchip_extint);
    g_test_add_func("/lapic/irqchip/apic-base", test_irqchip_apic_base);
    g_test_add_func("/lapic/irqchip/cr8", test_irqchip_cr8);
    g_test_add_func("/lapic/irqchip/tsc-deadline", test_irqchip_tsc_deadline);
    g_test_add_func("/lapic/irqchip/instructions", test_irqchip_instructions);
    return g_test_run();
}
