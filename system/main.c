/*
 * hyvm: start-up in one function, top to bottom.
 *
 * Threads: main() runs on the main thread and holds the big lock from the
 * start; it is released only while the main loop sleeps.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accel/accel.h"
#include "arch/x86/cpu-models.h"
#include "block/drive.h"
#include "chardev/chardev.h"
#include "hw/virtio/rng-backend.h"
#include "hw/virtio/virtio.h"
#include "net/net.h"
#include "machine/machine.h"
#include "machine/machine-internal.h"
#include "qapi/monitor.h"
#include "qapi/qmp.h"
#include "system/config.h"
#include "system/cpus.h"
#include "system/daemon.h"
#include "system/error.h"
#include "system/keyval.h"
#include "system/log.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/runstate.h"

static struct machine the_machine;

static void on_exit_signal(int signo, siginfo_t *si, void *ctx)
{
    vm_request_signal_exit(signo, si ? si->si_pid : 0);
}

/* A crash must not leave the user's terminal raw: restore it, then die as before. */
static void on_fatal_signal(int signo)
{
    chardev_restore_terminal();
    signal(signo, SIG_DFL);
    raise(signo);
}

static void setup_signals(void)
{
    struct sigaction sa = { .sa_sigaction = on_exit_signal, .sa_flags = SA_SIGINFO };
    static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* A socket client that goes away must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    for (unsigned i = 0; i < G_N_ELEMENTS(fatal); i++) {
        signal(fatal[i], on_fatal_signal);
    }
}

/* QEMU's defaults: the serial port and monitor land on stdio with
 * -nographic; without a display they go nowhere ("vc"). */
static void apply_default_chardevs(struct hyvm_config *cfg)
{
    if (cfg->nographic) {
        if (cfg->default_serial && cfg->default_monitor) {
            g_ptr_array_add(cfg->serials, g_strdup("mon:stdio"));
        } else {
            if (cfg->default_serial) {
                g_ptr_array_add(cfg->serials, g_strdup("stdio"));
            }
            if (cfg->default_monitor) {
                g_ptr_array_add(cfg->monitors, g_strdup("stdio"));
            }
        }
        return;
    }
    if (cfg->default_serial) {
        g_ptr_array_add(cfg->serials, g_strdup("vc"));
    }
}

/* -monitor SPEC, -qmp SPEC and -mon chardev=ID[,mode=readline|control]. */
static int create_monitors(const struct hyvm_config *cfg, GError **errp)
{
    for (unsigned i = 0; i < cfg->monitors->len; i++) {
        const char *spec = g_ptr_array_index(cfg->monitors, i);
        g_autofree char *label = g_strdup_printf("compat_monitor%u", i);
        struct chardev *chr;

        if (!strcmp(spec, "none")) {
            continue;
        }
        chr = chardev_new_from_cli(spec, label, errp);
        if (!chr || monitor_new_hmp(chr, errp) < 0) {
            return -1;
        }
    }
    for (unsigned i = 0; i < cfg->qmps->len; i++) {
        const char *spec = g_ptr_array_index(cfg->qmps, i);
        g_autofree char *label = g_strdup_printf("compat_monitor%u",
                                                 cfg->monitors->len + i);
        struct chardev *chr;

        if (!strcmp(spec, "none")) {
            continue;
        }
        chr = chardev_new_from_cli(spec, label, errp);
        if (!chr || monitor_new_qmp(chr, errp) < 0) {
            return -1;
        }
    }
    for (unsigned i = 0; i < cfg->mons->len; i++) {
        const char *arg = g_ptr_array_index(cfg->mons, i);
        struct kv_list *kv = kv_parse(arg, "chardev", errp);
        const char *id, *mode;
        struct chardev *chr;
        int ret = -1;

        if (!kv) {
            return -1;
        }
        id = kv_get(kv, "chardev");
        mode = kv_get(kv, "mode");
        if (!id) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "-mon %s: Parameter 'chardev' is missing", arg);
        } else if (mode && strcmp(mode, "readline") && strcmp(mode, "control")) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "-mon %s: Parameter 'mode' does not accept value '%s'", arg, mode);
        } else if (!(chr = chardev_find(id))) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "-mon %s: chardev \"%s\" not found", arg, id);
        } else if (mode && !strcmp(mode, "control")) {
            ret = monitor_new_qmp(chr, errp);
        } else {
            ret = monitor_new_hmp(chr, errp);
        }
        kv_free(kv);
        if (ret < 0) {
            return -1;
        }
    }
    /* "mon:" serial ports share their back end with a monitor. */
    for (unsigned i = 0; i < cfg->serials->len; i++) {
        g_autofree char *label = g_strdup_printf("serial%u", i);
        struct chardev *chr = chardev_find(label);

        if (chr && chardev_is_mux(chr) && monitor_new_hmp(chr, errp) < 0) {
            return -1;
        }
    }
    return 0;
}

static void cpus_pause_cb(void) { cpus_pause_all(); }
static void cpus_resume_cb(void) { cpus_resume_all(); }

/* A reset resets the board and loads the boot state again, then starts
 * the BSP at its entry and puts the APs back to waiting for a SIPI: with
 * firmware (-M pc without -kernel) that entry is the reset vector and
 * SeaBIOS runs its POST again; with -kernel the kernel starts again. */
static void cpus_reset_cb(void)
{
    struct machine *m = &the_machine;

    if (m->accel->reset) {
        m->accel->reset();
    }
    machine_reset(m);
    for (unsigned i = 0; i < m->ncpus; i++) {
        struct x86_cpu_state st;

        if (i == 0 && m->has_boot_state) {
            m->accel->set_state(m->cpus[0], &m->boot_state);
            continue;
        }
        x86_cpu_state_reset(&st, i == 0);
        m->accel->set_state(m->cpus[i], &st);
    }
}

/* watchdog=inject-nmi: every vCPU, as QMP's inject-nmi. */
static void cpus_nmi_cb(void)
{
    struct machine *m = &the_machine;

    for (unsigned i = 0; m->accel && m->accel->vcpu_nmi && i < m->ncpus && m->cpus; i++) {
        m->accel->vcpu_nmi(m->cpus[i]);
    }
}

static const struct vm_cpu_control cpu_control = {
    .pause_all = cpus_pause_cb,
    .resume_all = cpus_resume_cb,
    .reset_all = cpus_reset_cb,
    .nmi_all = cpus_nmi_cb,
};

static int create_vm(struct hyvm_config *cfg, GError **errp)
{
    struct machine *m = &the_machine;
    const struct machine_type *type;

    machine_set_current(m);
    m->cfg = cfg;
    m->ram_size = cfg->ram_size;
    m->ncpus = cfg->smp_cpus;
    m->opts = cfg->machine_opts;

    /* 1. The board type and its -M properties. */
    type = machine_type_find(cfg->machine);
    if (!type) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "unsupported machine type '%s'; use -machine help to list them",
                    cfg->machine);
        return -1;
    }
    m->type = machine_type_resolve(type);
    if (machine_check_props(m, errp) < 0) {
        return -1;
    }
    /* 2. The CPU model, checked before anything is opened. */
    m->cpu_def = x86_cpu_parse(cfg->cpu, errp);
    if (!m->cpu_def) {
        return -1;
    }
    /* 3. Back ends the devices will name, before anything prints about
     *    accelerators: a bad -chardev is the only line the user sees. */
    for (unsigned i = 0; i < cfg->chardevs->len; i++) {
        if (!chardev_new_from_opts(g_ptr_array_index(cfg->chardevs, i), errp)) {
            return -1;
        }
    }
    /*    Disks too: -blockdev nodes, then -drive backends, images opened
     *    and locked before the guest can run. */
    if (drives_init(cfg, errp) < 0) {
        return -1;
    }
    /*    Network back ends (-netdev, then -nic and -net with their NICs
     *    put first in the -device list), before the NICs that name them;
     *    -object filter-dump on them. */
    if (net_init_clients(errp) < 0 ||
        net_nic_init(m->type->default_nic, cfg->nodefaults, cfg->devices, errp) < 0 ||
        net_filters_init(errp) < 0) {
        return -1;
    }
    /*    -object entropy sources, opened at start-up as QEMU does. */
    if (rng_backends_open_all(errp) < 0) {
        return -1;
    }
    /* 4. The accelerator: -accel list, or auto. */
    m->accel = accel_choose((const char *const *)cfg->accels->pdata, cfg->accels->len,
                            &accel_default_host, errp);
    if (!m->accel) {
        return -1;
    }
    if (cfg->icount && m->accel != &accel_tcg_ops) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "-icount is not allowed with hardware virtualization");
        return -1;
    }
    if (m->accel->init(m, errp) < 0) {
        return -1;
    }
    /* 5. RAM, interrupt routing, serial ports, -device list. */
    if (m->type->init(m, errp) < 0) {
        return -1;
    }
    /*    QEMU's warnings for NICs and netdevs left without a peer. */
    net_check_clients();
    /* 6. The kernel into RAM, then the vCPUs with its entry state. */
    if (machine_load_kernel(m, errp) < 0) {
        return -1;
    }
    if (cpus_create(m, errp) < 0) {
        return -1;
    }
    runstate_set_cpu_control(&cpu_control);
    if (cpus_start_threads(m, errp) < 0) {
        return -1;
    }
    /* 7. Monitors last: they may name any chardev. */
    return create_monitors(cfg, errp);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    struct hyvm_config *cfg;
    int status = 1;

    error_set_progname(argv[0]);
    bql_lock();

    cfg = config_parse(argc, argv, &err);
    if (!cfg) {
        error_report("%s", err->message);
        return 1;
    }
    if (cfg->action == CONFIG_EXIT_OK) {
        config_free(cfg);
        return 0;
    }
    log_set_mask(cfg->log_mask);
    if (cfg->logfile && log_set_file(cfg->logfile, &err) < 0) {
        goto fail;
    }
    runstate_set_actions(&cfg->actions);
    apply_default_chardevs(cfg);

    if (cfg->daemonize && daemon_start(&err) < 0) {
        goto fail;
    }
    if (cfg->pidfile && pidfile_create(cfg->pidfile, &err) < 0) {
        goto fail;
    }
    main_loop_init();
    setup_signals();

    if (create_vm(cfg, &err) < 0) {
        goto fail;
    }
    /* Said once the VM is sure to run, so an error stays the only line. */
    if (cfg->default_serial && !cfg->nographic && !cfg->display && !cfg->daemonize) {
        info_report("no graphical console: the serial port's output is discarded; "
                    "use -nographic or -serial stdio to see it");
    }
    if (!cfg->start_paused) {
        vm_start();
    }
    daemon_ready();
    status = main_loop_run();
    goto out;

fail:
    error_report("%s", err->message);
    status = 1;
out:
    cpus_destroy_all(&the_machine);
    /* Devices first: their in-flight requests end before the images close. */
    virtio_cleanup_all();
    /* After the NICs: the back ends they sent to. */
    net_cleanup();
    rng_backends_clear();
    /* After the vCPUs stop: images are flushed and closed clean. */
    drives_close();
    qmp_cleanup_all();
    monitor_cleanup_all();
    chardev_cleanup_all();
    pidfile_remove();
    config_free(cfg);
    return status;
}
