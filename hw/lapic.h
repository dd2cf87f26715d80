/*
 * The local APIC of one software vCPU in xAPIC mode (Intel SDM vol. 3,
 * chapter 11 "Advanced Programmable Interrupt Controller (APIC)"; chapter
 * 10 in older editions): the registers of its 4 KiB page, interrupt
 * acceptance and priority (IRR/ISR/TMR, TPR/PPR, EOI), self IPIs, the local
 * vector table and the timer in one-shot, periodic and TSC-deadline modes.
 * Under KVM the in-kernel irqchip plays this part instead.
 *
 * The device is a state machine: it does not know the vCPU, the i8259 or
 * the main loop.  Its owner (accel/tcg/interrupts.c) maps lapic_mmio_ops
 * at the APIC base, asks lapic_pending()/lapic_pic_passes() what the CPU's
 * INTR pin is after every change (the `changed` hook), runs the acknowledge
 * cycle with lapic_ack(), and arms a timer for lapic_next_event_ns().
 * There is one struct lapic per vCPU; delivery between APICs goes through
 * the owner: the ipi hook hands it IPIs for other APICs, and it calls
 * lapic_match_dest()/lapic_ipi_matches() and lapic_deliver() on the targets.
 *
 * Time is nanoseconds of the clock given at creation (the virtual clock,
 * system/vclock.h, in hyvm; a fake one in tests).  The timer counts a 1 GHz
 * bus clock through the divide configuration register, as QEMU's does.
 *
 * Threads: every function here and the MMIO handlers run with the big lock
 * held (system/main-loop.h); the hooks run under it too.
 */
#ifndef HYVM_LAPIC_H
#define HYVM_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "system/memory.h"

#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define LAPIC_SIZE 0x1000u
/* Version 14h (an integrated APIC) with 6 LVT entries, QEMU's value. */
#define LAPIC_VERSION 0x50014u

/* IA32_APIC_BASE (MSR 1Bh) bits (SDM vol. 3, "Local APIC Status and Location"). */
#define LAPIC_BASE_BSP (1ull << 8)
#define LAPIC_BASE_ENABLE (1ull << 11)

/* Register offsets in the APIC page (SDM vol. 3, table "Local APIC Register Address Map"). */
enum {
    LAPIC_ID = 0x20, LAPIC_VER = 0x30, LAPIC_TPR = 0x80, LAPIC_APR = 0x90, LAPIC_PPR = 0xa0,
    LAPIC_EOI = 0xb0, LAPIC_RRD = 0xc0, LAPIC_LDR = 0xd0, LAPIC_DFR = 0xe0, LAPIC_SVR = 0xf0,
    LAPIC_ISR = 0x100, LAPIC_TMR = 0x180, LAPIC_IRR = 0x200, LAPIC_ESR = 0x280,
    LAPIC_ICR_LO = 0x300, LAPIC_ICR_HI = 0x310, LAPIC_LVT_TIMER = 0x320,
    LAPIC_LVT_THERMAL = 0x330, LAPIC_LVT_PERF = 0x340, LAPIC_LVT_LINT0 = 0x350,
    LAPIC_LVT_LINT1 = 0x360, LAPIC_LVT_ERROR = 0x370, LAPIC_TMICT = 0x380,
    LAPIC_TMCCT = 0x390, LAPIC_TDCR = 0x3e0,
};

/* LVT and ICR fields. */
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_LVT_LEVEL (1u << 15)
#define LAPIC_LVT_REMOTE_IRR (1u << 14)
#define LAPIC_DM_FIXED 0u
#define LAPIC_DM_LOWEST 1u
#define LAPIC_DM_SMI 2u
#define LAPIC_DM_NMI 4u
#define LAPIC_DM_INIT 5u
#define LAPIC_DM_SIPI 6u
#define LAPIC_DM_EXTINT 7u
#define LAPIC_TIMER_ONESHOT (0u << 17)
#define LAPIC_TIMER_PERIODIC (1u << 17)
#define LAPIC_TIMER_TSC_DEADLINE (2u << 17)
#define LAPIC_SVR_ENABLE (1u << 8)

/* ESR bits (SDM vol. 3, "Error Handling"). */
#define LAPIC_ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define LAPIC_ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define LAPIC_ESR_ILLEGAL_REGISTER (1u << 7)

/*
 * The periodic timer never fires more often than this: a guest's tiny
 * initial count would otherwise keep the main loop busy.  Ticks in
 * between collapse into one edge, as with the PIT.
 */
#define LAPIC_MIN_PERIOD_NS 50000

struct lapic;

/* The ICR's destination shorthand, bits 18-19 ("Interrupt Command Register (ICR)"). */
enum {
    LAPIC_SHORTHAND_NONE = 0, LAPIC_SHORTHAND_SELF = 1, LAPIC_SHORTHAND_ALL = 2,
    LAPIC_SHORTHAND_OTHERS = 3,     /* all excluding self */
};

/* An IPI as the ICR describes it, for the bus between the APICs. */
struct lapic_ipi {
    uint8_t source;             /* the sender's APIC ID */
    uint8_t dest;               /* ICR[63:56]; only with LAPIC_SHORTHAND_NONE */
    bool logical;               /* destination mode */
    uint8_t shorthand;          /* LAPIC_SHORTHAND_* */
    uint8_t delivery_mode;      /* LAPIC_DM_*: fixed, lowest, SMI, NMI, INIT, SIPI */
    uint8_t vector;             /* SIPI: the start page */
    bool level;                 /* ICR[14]: assert (INIT de-assert never reaches the bus) */
    bool trigger_level;         /* ICR[15]: level-triggered */
};

struct lapic_hooks {
    /* Any change that may move lapic_pending() or lapic_pic_passes(). */
    void (*changed)(void *opaque);
    /* An NMI for the vCPU (LINT1 or LVT in NMI mode, NMI IPI to self). */
    void (*nmi)(void *opaque);
    /* lapic_next_event_ns() may have moved: re-arm the timer. */
    void (*timer_changed)(void *opaque);
    /* EOI of a level-triggered vector (for the IOAPIC's remote IRR); may be NULL. */
    void (*eoi)(void *opaque, unsigned vector);
    /*
     * An IPI that may reach another APIC: shorthand all-including-self or
     * all-excluding-self, or no shorthand and a logical destination or a
     * physical one other than this APIC's ID (FFh is the broadcast).  The
     * bus delivers it to every APIC lapic_ipi_matches() names, this one
     * included (lowest priority arbitrates among all of them), with
     * lapic_deliver() and, for INIT and SIPI, on the vCPU.  Self IPIs and
     * this APIC's own physical ID stay here; illegal vectors are refused
     * here (ESR) and never reach the bus.  NULL: only this APIC is
     * modelled, IPIs to others are logged as not implemented.
     */
    void (*ipi)(void *opaque, const struct lapic_ipi *ipi);
    void *opaque;
};

/*
 * A local APIC with the given xAPIC ID in its reset state; bsp sets the BSP
 * flag of IA32_APIC_BASE and puts LINT0 in ExtINT mode, unmasked, so the
 * i8259 reaches the CPU from power-on (virtual-wire mode, as QEMU and KVM
 * reset it).  clock_ns NULL: the virtual clock (vclock.h).  Any hook may be
 * NULL.
 */
struct lapic *lapic_create(uint8_t id, bool bsp, int64_t (*clock_ns)(void),
                           const struct lapic_hooks *hooks);
void lapic_free(struct lapic *s);
/* Power-on / RESET state (SDM vol. 3, "Local APIC State After Power-Up or Reset"). */
void lapic_reset(struct lapic *s);

/*
 * The 4 KiB register page for io_register_mmio() (opaque: the struct
 * lapic).  As in QEMU, reads narrower than 32 bits return 0 and such
 * writes are dropped; any 32-bit access within a 16-byte slot reaches its
 * register, and a 64-bit one is two 32-bit ones.
 */
extern const struct io_ops lapic_mmio_ops;
/* One 32-bit register by offset (as the MMIO handlers see it). */
uint32_t lapic_read(struct lapic *s, unsigned offset);
void lapic_write(struct lapic *s, unsigned offset, uint32_t val);

/* IA32_APIC_BASE.  lapic_set_base() takes a value the caller checked for
 * reserved bits; the BSP flag stays.  Clearing the enable bit puts the
 * APIC in its reset state (SDM vol. 3, "Enabling or Disabling the Local
 * APIC"); the owner moves or removes the MMIO mapping. */
uint64_t lapic_get_base(const struct lapic *s);
void lapic_set_base(struct lapic *s, uint64_t val);
/* Globally enabled (IA32_APIC_BASE[11]) / software enabled (SVR[8]). */
bool lapic_enabled(const struct lapic *s);
bool lapic_sw_enabled(const struct lapic *s);

/* CR8 is TPR[7:4] (SDM vol. 3, "Task Priority in IA-32e Mode"). */
uint8_t lapic_get_cr8(struct lapic *s);
void lapic_set_cr8(struct lapic *s, uint8_t cr8);

/*
 * The highest vector the APIC would deliver now (its class above the
 * PPR's), or -1.  lapic_ack() is the acknowledge: it moves that vector from
 * the IRR to the ISR and returns it, or -1.
 */
int lapic_pending(struct lapic *s);
int lapic_ack(struct lapic *s);
/*
 * The i8259's INTR reaches the CPU directly: the APIC is globally disabled
 * or LINT0 is unmasked in ExtINT mode (the PIC then answers the
 * acknowledge cycle, ahead of the APIC's vectors, as ExtINT ignores
 * priority).
 */
bool lapic_pic_passes(const struct lapic *s);

/* The LINT0/LINT1 input pins (pin 0 or 1) are at level. */
void lapic_set_lint(struct lapic *s, unsigned pin, bool level);
/* A fixed interrupt for vector arrives from the bus (IOAPIC, MSI, later IPIs). */
void lapic_accept(struct lapic *s, unsigned vector, bool level_triggered);

/* ---- the APIC bus (SMP): what the owner of several APICs needs ---- */

/* The xAPIC ID register (bits 31:24), as the guest last wrote it. */
uint8_t lapic_id(const struct lapic *s);
/*
 * dest names this APIC (SDM vol. 3, "Determining IPI Destination"; the
 * IOAPIC's and MSIs' destinations too): physical, its APIC ID; logical,
 * the LDR under the DFR's model (flat: LDR[31:24] & dest != 0; cluster:
 * same cluster in the high nibble, intersecting members in the low one);
 * FFh is the broadcast in both modes.
 */
bool lapic_match_dest(const struct lapic *s, uint8_t dest, bool logical);
/* The APIC s is a target of ipi; is_sender: s is the APIC that sent it. */
bool lapic_ipi_matches(const struct lapic *s, const struct lapic_ipi *ipi, bool is_sender);
/*
 * The priority lowest-priority delivery arbitrates on: the PPR (0-255),
 * lower wins ("Lowest Priority Delivery Mode"; QEMU and KVM use a
 * priority of their own too, the SDM leaves the choice to the chipset).
 */
int lapic_priority(const struct lapic *s);
/*
 * A message from the bus (an IPI, the IOAPIC, an MSI) arrives in
 * delivery_mode: fixed and lowest priority set vector in the IRR (TMR per
 * level_triggered), NMI calls the nmi hook.  False for the modes the
 * owner carries out itself: SMI, INIT, SIPI (the vCPU) and ExtINT (the
 * i8259 answers the acknowledge).
 */
bool lapic_deliver(struct lapic *s, unsigned delivery_mode, unsigned vector,
                   bool level_triggered);
/*
 * An INIT: the state of "Local APIC State After an INIT Reset
 * ("Wait-for-SIPI" State)": as after power-up but the APIC ID and
 * IA32_APIC_BASE stay, and no LVT entry is left unmasked.
 */
void lapic_init_reset(struct lapic *s);

/*
 * The timer.  lapic_next_event_ns(): the clock time of its next interrupt,
 * or -1.  lapic_timer_update(): delivers what fell due by now.
 */
int64_t lapic_next_event_ns(struct lapic *s);
void lapic_timer_update(struct lapic *s, int64_t now_ns);

/*
 * IA32_TSC_DEADLINE (MSR 6E0h, SDM vol. 3, "TSC-Deadline Mode"): the value
 * is kept as the guest wrote it and reads back until the timer fires;
 * deadline_ns is the clock time the caller computed for it from the guest
 * TSC.  Outside TSC-deadline mode writes are ignored and reads give 0.
 */
uint64_t lapic_get_tsc_deadline(struct lapic *s);
void lapic_set_tsc_deadline(struct lapic *s, uint64_t tsc, int64_t deadline_ns);

#endif
