/*
 * The KVM backend: one VM, its memory slots, one vCPU per thread.
 *
 * The vCPU loop (kvm_vcpu_run) is a switch on why the guest stopped.  Port
 * and MMIO exits go to the one dispatch of system/memory.c with the big
 * lock held; anything the backend cannot continue from ends with a report
 * and the guest's registers, never a hang or an assert.
 *
 * A kick sets run->immediate_exit and sends KVM_KICK_SIGNAL to the vCPU
 * thread: a thread inside KVM_RUN leaves with EINTR, and one about to
 * enter it returns at once (KVM_CAP_IMMEDIATE_EXIT), so no kick is lost.
 *
 * Threads: init, add_ram and vcpu_init on the main thread at start-up;
 * vcpu_run on the vCPU's thread without the big lock; set_irq with the
 * big lock held; vcpu_kick from any thread.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/kvm/kvm-internal.h"
#include "hw/device.h"
#include "hw/irq.h"
#include "machine/machine.h"
#include "system/cpus.h"
#include "system/error.h"
#include "system/log.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/runstate.h"

/* Where QEMU puts KVM's TSS and identity page on a PC: just below the BIOS. */
#define KVM_TSS_ADDR 0xfeffd000ull
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ull

struct kvm_vcpu_priv {
    int fd;
    struct kvm_run *run;
    bool nmi_pending;       /* inject-nmi: KVM_NMI before the next KVM_RUN */
};

static struct {
    int kvm_fd, vm_fd;
    int vcpu_mmap_size;
    unsigned max_slots;
    bool irqchip;
    bool pit;                   /* the in-kernel PIT exists */
    bool ioeventfd;             /* KVM_CAP_IOEVENTFD */
    bool ioeventfd_any_length;  /* KVM_CAP_IOEVENTFD_ANY_LENGTH */
    const struct x86_cpu_def *cpu_def;
    struct x86_cpuid_entry *cpuid;
    unsigned ncpuid;
} kvm = { .kvm_fd = -1, .vm_fd = -1 };

static void kvm_kick_handler(int sig)
{
    /* Only here to turn the signal into EINTR out of KVM_RUN. */
}

/*
 * -global kvm-pit.lost_tick_policy, as QEMU's kvm-pit applies it: "delay"
 * is KVM's own behaviour (ticks the guest missed are replayed), "discard"
 * turns the replay off (KVM_REINJECT_CONTROL), and "slew" is refused.
 */
static int kvm_pit_apply_tick_policy(GError **errp)
{
    struct dev_config c = { .type = device_type_find("kvm-pit") };
    const char *policy = c.type ? dev_config_str(&c, "lost_tick_policy") : NULL;
    int ret;

    if (!policy || !strcmp(policy, "delay")) {
        return 0;
    }
    if (strcmp(policy, "discard")) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "kvm-pit: Lost tick policy not supported.");
        return -EINVAL;
    }
    if (!kvm_check_extension(kvm.kvm_fd, KVM_CAP_REINJECT_CONTROL)) {
        return 0;       /* as QEMU: an old kernel keeps replaying ticks */
    }
    ret = kvm_vm_reinject_control(kvm.vm_fd, false);
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "kvm-pit: Can't disable in-kernel PIT reinjection: %s", g_strerror(-ret));
    }
    return ret;
}

/* hw/irq.c's MSI route: the in-kernel LAPICs take the message as it is. */
static void kvm_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
    int ret = kvm_vm_signal_msi(kvm.vm_fd, addr, data);

    if (ret < 0) {
        log_mask(LOG_GUEST_ERROR, "KVM: MSI 0x%" G_GINT64_MODIFIER "x/0x%x not delivered: "
                 "%s\n", addr, data, g_strerror(-ret));
    }
}

/* accel_ops.ioeventfd: the kick then reaches the eventfd's reader on the
 * main loop while the vCPU goes on running the guest. */
static int kvm_ioeventfd(const struct accel_ioeventfd *e, bool assign)
{
    struct kvm_ioeventfd k = {
        .datamatch = e->data, .addr = e->addr, .len = e->len, .fd = e->fd,
        .flags = (e->pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
                 (e->datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };

    if (!kvm.ioeventfd || (!e->len && !kvm.ioeventfd_any_length)) {
        return -ENOTSUP;
    }
    return kvm_vm_ioeventfd(kvm.vm_fd, &k);
}

static int kvm_init(struct machine *m, GError **errp)
{
    struct sigaction sa = { .sa_handler = kvm_kick_handler };
    const char *path = accel_default_host.dev_kvm;
    int ret;

    kvm.kvm_fd = kvm_open_dev(path);
    if (kvm.kvm_fd < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "failed to initialize kvm: %s: %s", path, g_strerror(-kvm.kvm_fd));
        return kvm.kvm_fd;
    }
    kvm.vcpu_mmap_size = kvm_get_vcpu_mmap_size(kvm.kvm_fd);
    if (kvm.vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "failed to initialize kvm: KVM_GET_VCPU_MMAP_SIZE: %s",
                    g_strerror(kvm.vcpu_mmap_size < 0 ? -kvm.vcpu_mmap_size : EINVAL));
        return -EINVAL;
    }
    kvm.max_slots = kvm_check_extension(kvm.kvm_fd, KVM_CAP_NR_MEMSLOTS);
    if (!kvm.max_slots) {
        kvm.max_slots = 32;
    }
    ret = kvm_create_vm(kvm.kvm_fd);
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "failed to initialize kvm: KVM_CREATE_VM: %s", g_strerror(-ret));
        return ret;
    }
    kvm.vm_fd = ret;
    kvm_slots_init(kvm.kvm_fd, kvm.vm_fd, kvm.max_slots);
    mem_set_map_hook(kvm_slots_sync);
    /* VMX needs a TSS and an identity-mapped page table for real mode. */
    ret = kvm_vm_set_tss_addr(kvm.vm_fd, KVM_TSS_ADDR);
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "KVM_SET_TSS_ADDR: %s",
                    g_strerror(-ret));
        return ret;
    }
    if (kvm_check_extension(kvm.kvm_fd, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
        kvm_vm_set_identity_map_addr(kvm.vm_fd, KVM_IDENTITY_MAP_ADDR);
    }
    /* The in-kernel PIC, IOAPIC and LAPICs, and the PIT, where offered. */
    if (kvm_check_extension(kvm.kvm_fd, KVM_CAP_IRQCHIP) &&
        kvm_vm_create_irqchip(kvm.vm_fd) == 0) {
        kvm.irqchip = true;
        if (kvm_check_extension(kvm.kvm_fd, KVM_CAP_SIGNAL_MSI)) {
            msi_set_route(kvm_send_msi, NULL);
        }
        if (machine_pit_enabled(m) && kvm_check_extension(kvm.kvm_fd, KVM_CAP_PIT2)) {
            if (kvm_vm_create_pit2(kvm.vm_fd) < 0) {
                warn_report("KVM: the in-kernel PIT could not be created");
            } else {
                kvm.pit = true;
                if (kvm_pit_apply_tick_policy(errp) < 0) {
                    return -EINVAL;
                }
            }
        }
    }
    kvm.ioeventfd = kvm_check_extension(kvm.kvm_fd, KVM_CAP_IOEVENTFD) > 0;
    kvm.ioeventfd_any_length = kvm_check_extension(kvm.kvm_fd,
                                                   KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
    kvm.cpuid = kvm_supported_cpuid(kvm.kvm_fd, &kvm.ncpuid, errp);
    if (!kvm.cpuid) {
        return -EINVAL;
    }
    kvm.cpu_def = m->cpu_def;
    sigemptyset(&sa.sa_mask);
    sigaction(KVM_KICK_SIGNAL, &sa, NULL);
    return 0;
}

/* RAM at start-up; the windows over it come through kvm_slots_sync (kvm-slots.c). */
static int kvm_add_ram(uint64_t gpa, uint64_t size, void *hva, GError **errp)
{
    const struct mem_range r = { .gpa = gpa, .size = size, .hva = hva };

    return kvm_slots_add(&r, errp);
}

static int kvm_vcpu_init(struct vcpu *cpu, GError **errp)
{
    struct kvm_vcpu_priv *p = g_new0(struct kvm_vcpu_priv, 1);
    struct x86_cpu_state st;
    int ret;

    p->fd = -1;
    cpu->accel_priv = p;
    ret = kvm_create_vcpu(kvm.vm_fd, cpu->index);
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "KVM_CREATE_VCPU %u: %s",
                    cpu->index, g_strerror(-ret));
        return ret;
    }
    p->fd = ret;
    p->run = mmap(NULL, kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
    if (p->run == MAP_FAILED) {
        p->run = NULL;
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "mmap of vCPU %u: %s", cpu->index,
                    g_strerror(errno));
        return -errno;
    }
    ret = kvm_vcpu_load_cpuid(p->fd, cpu->index, kvm.cpu_def, kvm.cpuid, kvm.ncpuid, errp);
    if (ret < 0) {
        return ret;
    }
    x86_cpu_state_reset(&st, cpu->index == 0);
    ret = kvm_vcpu_put_state(p->fd, &st);
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "vCPU %u: setting registers: %s",
                    cpu->index, g_strerror(-ret));
    }
    return ret;
}

/* Reports a stop the backend cannot continue from, with the registers. */
static void kvm_report(struct vcpu *cpu, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void kvm_report(struct vcpu *cpu, const char *fmt, ...)
{
    struct kvm_vcpu_priv *p = cpu->accel_priv;
    g_autofree char *msg = NULL;
    struct x86_cpu_state st;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    bql_lock();
    error_report("vCPU %u: %s", cpu->index, msg);
    if (kvm_vcpu_fetch_state(p->fd, &st) == 0) {
        x86_cpu_state_dump(&st, stderr);
    }
    bql_unlock();
}

static void kvm_handle_io(struct kvm_run *run)
{
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

    /* A REP INS/OUTS exit carries count items of size bytes each. */
    bql_lock();
    for (uint32_t i = 0; i < run->io.count; i++) {
        io_pio(run->io.port, data + i * run->io.size, run->io.size, is_write);
    }
    bql_unlock();
}

static void kvm_handle_mmio(struct kvm_run *run)
{
    bql_lock();
    io_mmio(run->mmio.phys_addr, run->mmio.data, run->mmio.len, run->mmio.is_write);
    bql_unlock();
}

static enum vcpu_exit kvm_system_event(struct vcpu *cpu, struct kvm_run *run)
{
    switch (run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        vm_request_shutdown(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        return VCPU_EXIT_KICKED;
    case KVM_SYSTEM_EVENT_RESET:
        vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
        return VCPU_EXIT_KICKED;
    case KVM_SYSTEM_EVENT_CRASH:
        kvm_report(cpu, "guest crashed (KVM_SYSTEM_EVENT_CRASH)");
        return VCPU_EXIT_ERROR;
    default:
        kvm_report(cpu, "unknown KVM system event %u", run->system_event.type);
        return VCPU_EXIT_ERROR;
    }
}

static enum vcpu_exit kvm_run_vcpu(struct vcpu *cpu)
{
    struct kvm_vcpu_priv *p = cpu->accel_priv;
    struct kvm_run *run = p->run;

    for (;;) {
        int ret;

        /* KVM_NMI is a vCPU ioctl: issued here, on the vCPU's thread. */
        if (__atomic_exchange_n(&p->nmi_pending, false, __ATOMIC_ACQ_REL)) {
            ret = kvm_vcpu_nmi(p->fd);
            if (ret < 0) {
                kvm_report(cpu, "KVM_NMI failed: %s", g_strerror(-ret));
                return VCPU_EXIT_ERROR;
            }
        }
        ret = kvm_vcpu_run(p->fd);

        if (ret == -EINTR || ret == -EAGAIN) {
            atomic_store((_Atomic uint8_t *)&run->immediate_exit, 0);
            return VCPU_EXIT_KICKED;
        }
        if (ret < 0) {
            kvm_report(cpu, "KVM_RUN failed: %s", g_strerror(-ret));
            return VCPU_EXIT_ERROR;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            kvm_handle_io(run);
            if (vm_exit_requested() || vm_pause_pending() || vm_reset_pending()) {
                return VCPU_EXIT_KICKED;    /* the guest powered off or reset: stop here */
            }
            break;
        case KVM_EXIT_MMIO:
            kvm_handle_mmio(run);
            if (vm_exit_requested() || vm_pause_pending() || vm_reset_pending()) {
                return VCPU_EXIT_KICKED;
            }
            break;
        case KVM_EXIT_IRQ_WINDOW_OPEN:
        case KVM_EXIT_INTR:
            break;
        case KVM_EXIT_HLT:
            return VCPU_EXIT_HALTED;
        case KVM_EXIT_SHUTDOWN:
            /* A triple fault resets the machine, as on hardware and in QEMU;
             * the registers say where the guest went wrong. */
            kvm_report(cpu, "guest triple fault (KVM_EXIT_SHUTDOWN)");
            return VCPU_EXIT_SHUTDOWN;
        case KVM_EXIT_SYSTEM_EVENT:
            return kvm_system_event(cpu, run);
        case KVM_EXIT_INTERNAL_ERROR:
            kvm_report(cpu, "KVM internal error. Suberror: %u%s", run->internal.suberror,
                       run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                           ? " (emulation failure)" : "");
            return VCPU_EXIT_ERROR;
        case KVM_EXIT_FAIL_ENTRY:
            kvm_report(cpu, "KVM: entry failed, hardware error 0x%llx",
                       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            return VCPU_EXIT_ERROR;
        default:
            kvm_report(cpu, "KVM: unexpected exit reason %u", run->exit_reason);
            return VCPU_EXIT_ERROR;
        }
    }
}

static void kvm_vcpu_kick(struct vcpu *cpu);

static void kvm_vcpu_nmi_request(struct vcpu *cpu)
{
    struct kvm_vcpu_priv *p = cpu->accel_priv;

    if (p) {
        __atomic_store_n(&p->nmi_pending, true, __ATOMIC_RELEASE);
        kvm_vcpu_kick(cpu);
        cpus_wake(cpu);
    }
}

static void kvm_vcpu_kick(struct vcpu *cpu)
{
    struct kvm_vcpu_priv *p = cpu->accel_priv;

    if (!p || !p->run) {
        return;
    }
    atomic_store((_Atomic uint8_t *)&p->run->immediate_exit, 1);
    if (cpu->thread_started) {
        pthread_kill(cpu->thread, KVM_KICK_SIGNAL);
    }
}

static int kvm_get_state(struct vcpu *cpu, struct x86_cpu_state *st)
{
    struct kvm_vcpu_priv *p = cpu->accel_priv;

    return kvm_vcpu_fetch_state(p->fd, st);
}

static int kvm_set_state(struct vcpu *cpu, const struct x86_cpu_state *st)
{
    struct kvm_vcpu_priv *p = cpu->accel_priv;
    /* A loaded state (boot, reset) starts with no exception, interrupt or NMI
     * queued for injection, outside any shadow and NMI handler, as
     * tcg_set_state does: one queued before a reset must not reach the
     * state after it. */
    struct kvm_vcpu_events ev = {
        .flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW,
    };
    int ret = kvm_vcpu_put_state(p->fd, st);

    if (ret == 0 && kvm_vcpu_set_events(p->fd, &ev) < 0) {
        return -1;
    }
    /* With the in-kernel APIC, KVM runs INIT/SIPI itself: an AP after a
     * reset waits for them again, the BSP runs. */
    if (ret == 0 && kvm.irqchip) {
        struct kvm_mp_state mp = {
            .mp_state = st->wait_for_sipi ? KVM_MP_STATE_UNINITIALIZED : KVM_MP_STATE_RUNNABLE,
        };

        if (kvm_vcpu_set_mp_state(p->fd, &mp) < 0) {
            return -1;
        }
    }
    return ret;
}

/* The HPET's legacy replacement route: the in-kernel PIT stops driving IRQ 0
 * (KVM_PIT_FLAGS_HPET_LEGACY), as QEMU's kvm-pit does. */
static void kvm_hpet_legacy(bool on)
{
    if (kvm.pit && kvm_vm_set_pit_hpet_legacy(kvm.vm_fd, on) < 0) {
        log_mask(LOG_UNIMP, "KVM: cannot %s the PIT for the HPET's legacy route\n",
                 on ? "silence" : "restore");
    }
}

static void kvm_set_irq(unsigned gsi, int level)
{
    if (!kvm.irqchip) {
        log_mask(LOG_UNIMP, "KVM: no in-kernel irqchip; GSI %u dropped\n", gsi);
        return;
    }
    kvm_vm_irq_line(kvm.vm_fd, gsi, level);
}

/*
 * The PIC pair's edge/level control registers (ports 0x4d0/0x4d1) live in
 * the kernel with its irqchip, so the PIRQ lines the machine's PCI set-up
 * marks level-triggered are ORed in here.  Bits the ELCR cannot hold
 * (IRQ 0, 1, 2, 8, 13: elcr_mask) stay clear, as a port write leaves them.
 */
static void kvm_pic_set_level_triggered(uint16_t irqs)
{
    if (!kvm.irqchip) {
        return;
    }
    for (unsigned chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_PIC_SLAVE; chip++) {
        struct kvm_irqchip c = { .chip_id = chip };
        uint8_t bits = irqs >> (8 * chip);
        int ret;

        if (!bits) {
            continue;
        }
        ret = kvm_vm_get_irqchip(kvm.vm_fd, &c);
        if (ret == 0) {
            c.chip.pic.elcr |= bits & c.chip.pic.elcr_mask;
            ret = kvm_vm_set_irqchip(kvm.vm_fd, &c);
        }
        if (ret < 0) {
            warn_report("KVM: setting the %s PIC's ELCR: %s",
                        chip == KVM_IRQCHIP_PIC_MASTER ? "master" : "slave", g_strerror(-ret));
        }
    }
}

static void kvm_vcpu_destroy(struct vcpu *cpu)
{
    struct kvm_vcpu_priv *p = cpu->accel_priv;

    if (!p) {
        return;
    }
    if (p->run) {
        munmap(p->run, kvm.vcpu_mmap_size);
    }
    if (p->fd >= 0) {
        close(p->fd);
    }
    g_free(p);
    cpu->accel_priv = NULL;
}

static void kvm_cleanup(void)
{
    if (kvm.vm_fd >= 0) {
        close(kvm.vm_fd);
    }
    if (kvm.kvm_fd >= 0) {
        close(kvm.kvm_fd);
    }
    kvm.vm_fd = kvm.kvm_fd = -1;
    g_clear_pointer(&kvm.cpuid, g_free);
}

const struct accel_ops accel_kvm_ops = {
    .name = "kvm",
    .desc = "Linux KVM (hardware virtualization)",
    .probe = kvm_probe,
    .init = kvm_init,
    .add_ram = kvm_add_ram,
    .vcpu_init = kvm_vcpu_init,
    .vcpu_run = kvm_run_vcpu,
    .vcpu_kick = kvm_vcpu_kick,
    .vcpu_nmi = kvm_vcpu_nmi_request,
    .get_state = kvm_get_state,
    .set_state = kvm_set_state,
    .hpet_legacy = kvm_hpet_legacy,
    .set_irq = kvm_set_irq,
    .pic_set_level_triggered = kvm_pic_set_level_triggered,
    .ioeventfd = kvm_ioeventfd,
    .vcpu_destroy = kvm_vcpu_destroy,
    .cleanup = kvm_cleanup,
};
