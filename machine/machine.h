/*
 * A machine: the board hyvm emulates (-M pc, -M microvm).  It owns guest
 * RAM, the vCPUs and the devices, and is created once by main() in the
 * order written out there.
 */
#ifndef HYVM_MACHINE_H
#define HYVM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "arch/x86/cpu.h"

struct accel_ops;
struct fw_cfg;
struct hyvm_config;
struct machine;
struct kv_list;
struct vcpu;
struct x86_cpu_def;

struct machine_prop {
    const char *name;
    const char *type;      /* as "-M NAME,help" prints it: "bool", "OnOffAuto" */
    const char *desc;
    bool supported;        /* false: accepted by name, refused as not built yet */
};

struct machine_type {
    const char *name;
    const char *alias;     /* "pc" for "pc-i440fx-7.2"; NULL */
    const char *desc;
    bool is_default;
    const struct machine_prop *props;  /* NULL-name terminated */
    unsigned max_cpus;     /* -smp's upper bound (QEMU's MachineClass max_cpus) */
    bool hotpluggable_cpus;
    const char *ram_id;    /* "pc.ram": the default RAM backend's id */
    /* The model of the NICs -nic and -net ask for without model= (QEMU's
     * board NIC init); NULL: the board makes none (microvm). */
    const char *default_nic;
    /* Lays out RAM and devices; main() has created nothing else yet. */
    int (*init)(struct machine *m, GError **errp);
    /* Optional: -kernel is in RAM and boot_state set; last changes to both. */
    void (*kernel_loaded)(struct machine *m);
};

struct machine {
    const struct machine_type *type;
    const struct hyvm_config *cfg;
    struct kv_list *opts;            /* the parsed -M list */
    const struct accel_ops *accel;
    const struct x86_cpu_def *cpu_def;
    uint64_t ram_size;
    unsigned ncpus;
    struct vcpu **cpus;
    /* pc without -kernel: the BIOS ROM runs from the reset vector (pc-firmware.c). */
    bool firmware;
    /* The BSP's state after loading the kernel (Multiboot entry). */
    struct x86_cpu_state boot_state;
    bool has_boot_state;
    /* Where the machine wrote the ACPI RSDP for a firmware-less boot; 0: none. */
    uint64_t acpi_rsdp;
    GArray *reset_hooks;             /* machine_add_reset(), in order */
    /* pc: the fw_cfg device, for the files devices add (NULL on microvm). */
    struct fw_cfg *fw_cfg;
    /* The pvpanic devices made (hw/pvpanic*.c), which the DSDT describes. */
    bool pvpanic_isa;
    uint16_t pvpanic_ioport;
    uint64_t pvpanic_mmio;           /* pvpanic-mmio's register; 0: none */
};


const struct machine_type *machine_type_find(const char *name);
/* Row i of the table (aliases included, in -M help order), NULL past it. */
const struct machine_type *machine_type_at(unsigned i);
void machine_print_help(void);                 /* -M help */
void machine_print_props(const struct machine_type *t);  /* -M NAME,help */

/*
 * The machine main() created, for the monitors (info registers, x);
 * NULL until main() sets it and in tests that create none.  Main thread.
 */
struct machine *machine_current(void);
void machine_set_current(struct machine *m);

/* -M pit=on|off|auto: whether the board has its i8254 (auto: yes).  The
 * accelerator that models the PIT itself (KVM's in-kernel one) asks. */
bool machine_pit_enabled(const struct machine *m);
/* -M microvm,pic=on|off|auto: the board has its i8259 pair (auto: yes). */
bool machine_pic_enabled(const struct machine *m);
/* -M microvm,ioapic2=...: a second IOAPIC at IOAPIC2_BASE for GSI 24-47
 * (auto: with the software CPU's irqchip, as QEMU's split irqchip). */
bool machine_ioapic2_enabled(const struct machine *m);
#define IOAPIC2_BASE 0xfec10000ull

/* Loads -kernel/-initrd/-append into RAM and sets m->boot_state. */
int machine_load_kernel(struct machine *m, GError **errp);

/* fn(opaque) runs at every system reset, in the order added (main thread,
 * vCPUs parked, big lock held).  Devices with state a reset clears add one. */
void machine_add_reset(struct machine *m, void (*fn)(void *opaque), void *opaque);
/*
 * A system reset of the board: the devices' reset hooks, then -kernel and
 * -initrd loaded again (the machine has no firmware to do it) and
 * m->boot_state set anew.  The caller loads the vCPUs.
 */
void machine_reset(struct machine *m);

/* E820-style RAM layout below 4 GiB as a PC has it. */
#define PC_LOW_RAM_END 0xa0000ull       /* end of conventional memory */
#define PC_HIGH_RAM_START 0x100000ull   /* 1 MiB */

#endif
