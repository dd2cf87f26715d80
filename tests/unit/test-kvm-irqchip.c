/*
 * The KVM backend's in-kernel chips as a guest sees them: the edge/level
 * control registers the machine hands to accel_ops.pic_set_level_triggered
 * (read by real-mode code through ports 0x4d0/0x4d1, which the in-kernel
 * PIC owns), and -global kvm-pit.lost_tick_policy applied when the PIT is
 * created.  Skipped where /dev/kvm cannot be opened or has no irqchip.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>
#include <linux/kvm.h>

#include "accel/accel.h"
#include "arch/x86/cpu-models.h"
#include "arch/x86/cpu.h"
#include "hw/device.h"
#include "machine/machine.h"
#include "system/cpus.h"
#include "system/memory.h"

#define RAM_SIZE 0x100000
#define CODE_GPA 0x1000
#define REPORT_PORT 0x99

static struct vcpu the_cpu;
static bool reported;
static uint16_t reported_value;

/* The guest's OUT to REPORT_PORT: keep the value, stop the vCPU loop. */
static void report_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    reported = true;
    reported_value = value;
    accel_kvm_ops.vcpu_kick(&the_cpu);
}

static const struct io_ops report_ops = { .write = report_write };

static bool kvm_irqchip_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) > 0;
    close(fd);
    return ok;
}

static struct machine *new_machine(void)
{
    g_autoptr(GError) err = NULL;
    struct machine *m = g_new0(struct machine, 1);

    m->cpu_def = x86_cpu_parse("qemu64", &err);
    g_assert_no_error(err);
    m->accel = &accel_kvm_ops;
    m->ncpus = 1;
    return m;
}

static void free_machine(struct machine *m)
{
    x86_cpu_def_free((struct x86_cpu_def *)m->cpu_def);
    g_free(m);
}

/*
 * Real-mode code: ELCR2 into AH, ELCR1 into AL, OUT AX to REPORT_PORT, then
 * spin until the kick.
 */
static const uint8_t read_elcr_code[] = {
    0xba, 0xd1, 0x04,           /* mov dx, 0x4d1 */
    0xec,                       /* in al, dx */
    0x88, 0xc4,                 /* mov ah, al */
    0x4a,                       /* dec dx */
    0xec,                       /* in al, dx */
    0xe7, REPORT_PORT,          /* out REPORT_PORT, ax */
    0xeb, 0xfe,                 /* jmp $ */
};

/* Runs the code in a fresh KVM VM; set_bits >= 0 goes through the hook. */
static uint16_t guest_elcr(int set_bits)
{
    g_autoptr(GError) err = NULL;
    struct machine *m = new_machine();
    struct x86_cpu_state st;
    uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert_true(ram != MAP_FAILED);
    memcpy(ram + CODE_GPA, read_elcr_code, sizeof(read_elcr_code));
    g_assert_cmpint(accel_kvm_ops.init(m, &err), ==, 0);
    g_assert_cmpint(accel_kvm_ops.add_ram(0, RAM_SIZE, ram, &err), ==, 0);
    if (set_bits >= 0) {
        g_assert_nonnull(accel_kvm_ops.pic_set_level_triggered);
        accel_kvm_ops.pic_set_level_triggered(set_bits);
    }
    memset(&the_cpu, 0, sizeof(the_cpu));
    the_cpu.m = m;
    g_assert_cmpint(accel_kvm_ops.vcpu_init(&the_cpu, &err), ==, 0);
    x86_cpu_state_reset(&st, true);
    st.seg[S_CS].selector = 0;
    st.seg[S_CS].base = 0;
    st.rip = CODE_GPA;
    g_assert_cmpint(accel_kvm_ops.set_state(&the_cpu, &st), ==, 0);
    reported = false;
    for (unsigned i = 0; i < 100 && !reported; i++) {
        enum vcpu_exit why = accel_kvm_ops.vcpu_run(&the_cpu);

        g_assert_cmpint(why, ==, VCPU_EXIT_KICKED);
    }
    g_assert_true(reported);
    accel_kvm_ops.vcpu_destroy(&the_cpu);
    accel_kvm_ops.cleanup();
    munmap(ram, RAM_SIZE);
    free_machine(m);
    return reported_value;
}

static void test_elcr(void)
{
    if (!kvm_irqchip_usable()) {
        g_test_skip("/dev/kvm cannot be opened or has no in-kernel irqchip");
        return;
    }
    /* A fresh in-kernel PIC has every line edge-triggered. */
    g_assert_cmphex(guest_elcr(-1), ==, 0);
    /* PCI's IRQ 10 and 11 become level; IRQ 0 and 1 cannot (elcr_mask). */
    g_assert_cmphex(guest_elcr(0x0c03), ==, 0x0c00);
    /* Bits of the slave only, and of the master only. */
    g_assert_cmphex(guest_elcr(0x8000), ==, 0x8000);
    g_assert_cmphex(guest_elcr(0x0020), ==, 0x0020);
}

/* init with the given -global (NULL: none); returns its result. */
static int init_with_global(const char *global, char **msg)
{
    g_autoptr(GError) err = NULL;
    struct machine *m = new_machine();
    int ret;

    device_globals_clear();
    if (global) {
        g_assert_cmpint(device_global_add(global, &err), ==, 0);
    }
    ret = accel_kvm_ops.init(m, &err);
    *msg = err ? g_strdup(err->message) : NULL;
    accel_kvm_ops.cleanup();
    device_globals_clear();
    free_machine(m);
    return ret;
}

static void test_lost_tick_policy(void)
{
    g_autofree char *msg_delay = NULL, *msg_discard = NULL, *msg_slew = NULL;
    g_autofree char *msg_none = NULL;

    if (!kvm_irqchip_usable()) {
        g_test_skip("/dev/kvm cannot be opened or has no in-kernel irqchip");
        return;
    }
    g_assert_cmpint(init_with_global(NULL, &msg_none), ==, 0);
    g_assert_cmpint(init_with_global("kvm-pit.lost_tick_policy=delay", &msg_delay), ==, 0);
    /* kvm-unit-tests' run script: KVM_REINJECT_CONTROL turns replay off. */
    g_assert_cmpint(init_with_global("kvm-pit.lost_tick_policy=discard", &msg_discard), ==, 0);
    g_assert_null(msg_discard);
    /* QEMU's kvm-pit refuses slew. */
    g_assert_cmpint(init_with_global("kvm-pit.lost_tick_policy=slew", &msg_slew), <, 0);
    g_assert_nonnull(msg_slew);
    g_assert_nonnull(strstr(msg_slew, "Lost tick policy not supported"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_assert_cmpint(io_register_pio(REPORT_PORT, 2, "report", &report_ops, NULL, NULL), ==, 0);
    g_test_add_func("/kvm-irqchip/elcr", test_elcr);
    g_test_add_func("/kvm-irqchip/lost-tick-policy", test_lost_tick_policy);
    return g_test_run();
}
