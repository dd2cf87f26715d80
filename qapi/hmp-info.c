/*
 * The "info" subcommands of the human monitor, with QEMU 7.2's output.
 *
 * Threads: main thread, big lock held (called from hmp.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block-backend.h"
#include "chardev/chardev.h"
#include "hw/ide.h"
#include "hw/virtio/virtio-blk.h"
#include "hyvm-version.h"
#include "machine/machine.h"
#include "qapi/hmp-internal.h"
#include "qapi/qmp-balloon.h"
#include "qapi/qmp-net.h"
#include "system/cpus.h"
#include "system/runstate.h"

static void hmp_info_status(struct hmp_ctx *x, const char *args)
{
    enum run_state s;

    if (!hmp_no_args(x, args)) {
        return;
    }
    /* QEMU's wording: "paused" plus the state when it is not plain paused. */
    s = runstate_get();
    if (s == RUN_STATE_RUNNING) {
        hmp_puts(x, "VM status: running\n");
    } else if (s == RUN_STATE_PAUSED) {
        hmp_puts(x, "VM status: paused\n");
    } else {
        hmp_printf(x, "VM status: paused (%s)\n", runstate_name(s));
    }
}

static void hmp_info_version(struct hmp_ctx *x, const char *args)
{
    /* QEMU prints the version and its package string with nothing between. */
    if (hmp_no_args(x, args)) {
        hmp_puts(x, HYVM_QEMU_VERSION " (hyvm " HYVM_VERSION ")\n");
    }
}

static void hmp_dump_cpu(struct hmp_ctx *x, unsigned index)
{
    struct x86_cpu_state st;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (!hmp_cpu_state(index, &st)) {
        hmp_printf(x, "CPU#%u not available\n", index);
        return;
    }
    f = open_memstream(&buf, &len);
    if (!f) {
        hmp_puts(x, "Error: out of memory\n");
        return;
    }
    x86_cpu_state_dump(&st, f);
    fclose(f);
    hmp_printf(x, "\nCPU#%u\n", index);
    hmp_puts(x, buf);
    free(buf);
}

static void hmp_info_registers(struct hmp_ctx *x, const char *args)
{
    g_autofree char *arg = NULL;
    const char *p = args;
    char *end;
    unsigned long v;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p) {
        const char *e = p;

        while (*e && *e != ' ' && *e != '\t') {
            e++;
        }
        arg = g_strndup(p, e - p);
        if (!hmp_no_args(x, e)) {
            return;
        }
    }
    if (!hmp_cpu_count()) {
        hmp_puts(x, "No CPU available\n");
        return;
    }
    if (!arg) {
        hmp_dump_cpu(x, 0);    /* the monitor's current CPU is the first */
        return;
    }
    if (!strcmp(arg, "-a")) {
        for (unsigned i = 0; i < hmp_cpu_count(); i++) {
            hmp_dump_cpu(x, i);
        }
        return;
    }
    v = strtoul(arg, &end, 0);
    if (end == arg || *end || arg[0] == '-') {
        hmp_printf(x, "invalid char '%c' in expression\n", *end ? *end : arg[0]);
        hmp_try_help(x);
        return;
    }
    if (v >= hmp_cpu_count()) {
        hmp_printf(x, "CPU#%lu not available\n", v);
        return;
    }
    hmp_dump_cpu(x, v);
}

static void hmp_info_cpus(struct hmp_ctx *x, const char *args)
{
    struct machine *m = machine_current();

    if (!hmp_no_args(x, args)) {
        return;
    }
    for (unsigned i = 0; i < hmp_cpu_count(); i++) {
        struct vcpu *cpu = m->cpus[i];
        /* A thread that has not run yet has no TID; QEMU's single-threaded
         * TCG reports the process then, which is where it would run. */
        int tid = cpu && cpu->thread_id ? cpu->thread_id : (int)getpid();

        /* '*' marks the monitor's current CPU, the first. */
        hmp_printf(x, "%c CPU #%u: thread_id=%d\n", i == 0 ? '*' : ' ', i, tid);
    }
}

static void hmp_chardev_line(struct chardev *chr, void *opaque)
{
    g_autofree char *filename = chardev_filename(chr);

    hmp_printf(opaque, "%s: filename=%s\n", chardev_label(chr), filename);
}

static void hmp_info_chardev(struct hmp_ctx *x, const char *args)
{
    if (hmp_no_args(x, args)) {
        chardev_foreach(hmp_chardev_line, x);
    }
}

/* One drive as QEMU 7.2's "info block" shows it: the guest device that
 * holds it, and whether its medium can be removed (a free drive, or a
 * CD-ROM) with the tray's state. */
static void hmp_block_entry(struct hmp_ctx *x, struct blk *blk)
{
    struct bdrv *bs = blk_bs(blk);
    const char *qdev = virtio_blk_qdev(blk) ? virtio_blk_qdev(blk) : ide_qdev(blk);
    bool tray_open = false, locked = false, cd = ide_is_cd(blk, &tray_open, &locked);
    unsigned depth = 0;

    if (!bs) {
        hmp_printf(x, "%s: [not inserted]\n", blk_name(blk));
    } else {
        hmp_printf(x, "%s (%s): %s (%s%s)\n", blk_name(blk), bs->node_name, bs->filename,
                   bs->drv->name, blk_is_read_only(blk) ? ", read-only" : "");
    }
    if (qdev) {
        hmp_printf(x, "    Attached to:      %s\n", qdev);
    }
    if (!qdev || cd) {
        hmp_printf(x, "    Removable device: %slocked, tray %s\n", locked ? "" : "not ",
                   tray_open ? "open" : "closed");
    }
    if (!bs) {
        return;
    }
    hmp_printf(x, "    Cache mode:       %s%s%s\n",
               blk_enable_write_cache(blk) ? "writeback" : "writethrough",
               (bs->flags & BDRV_O_NOCACHE) ? ", direct" : "",
               (bs->flags & BDRV_O_NO_FLUSH) ? ", ignore flushes" : "");
    if (bs->backing_file[0]) {
        g_autofree char *full = bdrv_backing_path(bs);

        for (struct bdrv *b = bs->backing; b; b = b->backing) {
            depth++;
        }
        hmp_printf(x, "    Backing file:     %s (chain depth: %u)\n", full, depth);
    }
}

static void hmp_info_block(struct hmp_ctx *x, const char *args)
{
    const char *want = args && *args ? args : NULL;
    bool first = true;

    for (struct blk *blk = blk_next(NULL); blk; blk = blk_next(blk)) {
        if (want && strcmp(want, blk_name(blk))) {
            continue;
        }
        if (!first) {
            hmp_printf(x, "\n");
        }
        first = false;
        hmp_block_entry(x, blk);
    }
    if (want && first) {
        hmp_printf(x, "Device '%s' not found\n", want);
    }
}

static void hmp_info_blockstats(struct hmp_ctx *x, const char *args)
{
    if (!hmp_no_args(x, args)) {
        return;
    }
    for (struct blk *blk = blk_next(NULL); blk; blk = blk_next(blk)) {
        const struct blk_stats *st = blk_get_stats(blk);
        int64_t idle = blk_idle_time_ns(blk);

        hmp_printf(x, "%s: rd_bytes=%" PRIu64 " wr_bytes=%" PRIu64 " rd_operations=%" PRIu64
                   " wr_operations=%" PRIu64 " flush_operations=%" PRIu64
                   " wr_total_time_ns=%" PRIu64 " rd_total_time_ns=%" PRIu64
                   " flush_total_time_ns=%" PRIu64 " rd_merged=%" PRIu64
                   " wr_merged=%" PRIu64 " idle_time_ns=%" PRId64 "\n",
                   blk_name(blk), st->nr_bytes[BLK_ACCT_READ], st->nr_bytes[BLK_ACCT_WRITE],
                   st->nr_ops[BLK_ACCT_READ], st->nr_ops[BLK_ACCT_WRITE],
                   st->nr_ops[BLK_ACCT_FLUSH], st->total_time_ns[BLK_ACCT_WRITE],
                   st->total_time_ns[BLK_ACCT_READ], st->total_time_ns[BLK_ACCT_FLUSH],
                   st->merged[BLK_ACCT_READ], st->merged[BLK_ACCT_WRITE],
                   idle < 0 ? 0 : idle);
    }
}

/* The root bus QEMU shows for a machine with no devices on it yet. */
static void hmp_info_qtree(struct hmp_ctx *x, const char *args)
{
    if (hmp_no_args(x, args)) {
        hmp_puts(x, "bus: main-system-bus\n  type System\n");
    }
}

/* Sorted by name as QEMU's help lists them; texts are QEMU's. */
const struct hmp_cmd hmp_info_cmds[] = {
    { "balloon", "", "show balloon information", hmp_info_balloon },
    { "block", "[-n] [-v] [device]",
      "show info of one block device or all block devices "
      "(-n: show named nodes; -v: show details)", hmp_info_block },
    { "blockstats", "", "show block device statistics", hmp_info_blockstats },
    { "chardev", "", "show the character devices", hmp_info_chardev },
    { "cpus", "", "show infos for each CPU", hmp_info_cpus },
    { "network", "", "show the network state", hmp_info_network },
    { "qtree", "", "show device tree", hmp_info_qtree },
    { "registers", "[-a|vcpu]",
      "show the cpu registers (-a: show register info for all cpus; "
      "vcpu: specific vCPU to query; show the current CPU's registers if "
      "no argument is specified)", hmp_info_registers },
    { "status", "", "show the current VM status (running|paused)", hmp_info_status },
    { "usernet", "", "show user network stack connection states", hmp_info_usernet },
    { "version", "", "show the version of QEMU", hmp_info_version },
    { NULL },
};
