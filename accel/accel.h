/*
 * The one accelerator interface (DESIGN.md, "Accelerator").  Each backend
 * provides a const struct accel_ops; accel.c chooses one, once.
 *
 * Threads: init, add_ram and vcpu_init run on the main thread before the
 * vCPUs start.  vcpu_run runs on the vCPU's own thread without the big lock;
 * the backend takes the lock around device dispatch.  vcpu_kick may be
 * called from any thread.  set_irq is called with the big lock held.
 */
#ifndef HYVM_ACCEL_H
#define HYVM_ACCEL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct machine;
struct vcpu;
struct x86_cpu_state;
struct x86_cpu_def;

/*
 * Where the probe reads its facts.  Tests point these at prepared files so
 * the decision can be checked on any host.
 */
struct accel_host_facts {
    const char *dev_kvm;       /* "/dev/kvm" */
    const char *cpuinfo;       /* "/proc/cpuinfo" */
    const char *sys_module;    /* "/sys/module" */
};
extern const struct accel_host_facts accel_default_host;

/* What vcpu_run reports when it returns to the generic vCPU thread. */
enum vcpu_exit {
    VCPU_EXIT_KICKED,     /* asked to stop (pause, exit): look at requests */
    VCPU_EXIT_HALTED,     /* HLT with nothing to wake it: wait for a kick */
    VCPU_EXIT_SHUTDOWN,   /* triple fault: reset or -no-reboot exit */
    VCPU_EXIT_ERROR,      /* fatal, already reported with the registers */
};

/*
 * An ioeventfd (KVM_IOEVENTFD): a guest write of len bytes (0: any
 * length) at addr, in port space when pio, and equal to data when
 * datamatch, signals the eventfd fd without leaving the guest for the
 * I/O dispatch.
 */
struct accel_ioeventfd {
    uint64_t addr;
    unsigned len;
    bool pio;
    bool datamatch;
    uint64_t data;
    int fd;
};

struct accel_ops {
    const char *name;           /* "kvm", "tcg": the -accel spelling */
    const char *desc;           /* one line for -accel help */
    /* required: decide whether this backend is usable here.  "strict" is
     * the auto mode's test (hardware behind it); non-strict only asks
     * whether it opens.  Returns 0, or -errno with *why set to one line. */
    int (*probe)(const struct accel_host_facts *host, bool strict, char **why);
    /* required */
    int (*init)(struct machine *m, GError **errp);
    int (*add_ram)(uint64_t gpa, uint64_t size, void *hva, GError **errp);
    int (*vcpu_init)(struct vcpu *cpu, GError **errp);
    enum vcpu_exit (*vcpu_run)(struct vcpu *cpu);
    void (*vcpu_kick)(struct vcpu *cpu);
    int (*get_state)(struct vcpu *cpu, struct x86_cpu_state *st);
    int (*set_state)(struct vcpu *cpu, const struct x86_cpu_state *st);
    void (*set_irq)(unsigned gsi, int level);
    /* optional */
    /* ORs irqs (bit n: IRQ n) into the edge/level control registers of a
     * PIC the accelerator models itself (KVM's in-kernel irqchip owns ports
     * 0x4d0/0x4d1); main thread, while the machine is built. */
    void (*pic_set_level_triggered)(uint16_t irqs);
    /* The HPET's legacy replacement route takes IRQ 0 from the PIT the
     * accelerator models (on) or gives it back (off); big lock held. */
    void (*hpet_legacy)(bool on);
    void (*vcpu_destroy)(struct vcpu *cpu);
    /* Raises the vCPU's NMI pin (monitor "inject-nmi"); any thread. */
    void (*vcpu_nmi)(struct vcpu *cpu);
    /* System reset of what the accelerator models besides the vCPUs (its
     * interrupt controllers); main thread, vCPUs parked. */
    void (*reset)(void);
    void (*cleanup)(void);
    /* Adds (assign) or removes the ioeventfd e; -ENOTSUP when the backend
     * cannot (len 0 without KVM_CAP_IOEVENTFD_ANY_LENGTH).  Big lock held. */
    int (*ioeventfd)(const struct accel_ioeventfd *e, bool assign);
};

/* Every backend hyvm knows, in the order "-accel help" lists them. */
extern const struct accel_ops accel_kvm_ops;
extern const struct accel_ops accel_tcg_ops;

/*
 * Chooses the accelerator.  names is the -accel list in order (empty for
 * auto).  Prints one line on stderr for each backend passed over.  On a host
 * with none usable, fails with a message saying so.
 */
const struct accel_ops *accel_choose(const char *const *names, unsigned n,
                                     const struct accel_host_facts *host,
                                     GError **errp);
/* Known names, including ones not built yet (tcg). */
bool accel_name_known(const char *name);
void accel_print_help(void);

#endif
