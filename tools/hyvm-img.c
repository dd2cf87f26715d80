/*
 * hyvm-img: qemu-img's command line.  main() finds the subcommand and hands
 * it its arguments; each lives in img-NAME.c, and what they share in
 * img-common.c.
 *
 * Threads: main thread.
 */
#include <stdio.h>
#include <string.h>

#include "hyvm-version.h"
#include "tools/img-common.h"
#include "tools/img.h"

struct img_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct img_cmd img_cmds[] = {
    { "amend", img_amend },     { "bench", img_bench },   { "check", img_check },
    { "commit", img_commit },   { "compare", img_compare }, { "convert", img_convert },
    { "create", img_create },   { "dd", img_dd },         { "info", img_info },
    { "map", img_map },         { "measure", img_measure }, { "snapshot", img_snapshot },
    { "rebase", img_rebase },   { "resize", img_resize },
};

int main(int argc, char **argv)
{
    int i = 1;

    img_set_progname(argv[0]);
    /* Standard options before the command: -h, -V; -T/--trace takes an
     * argument and is accepted and ignored (no trace events here). */
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            img_help();
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("%s version " HYVM_VERSION " (qemu-img " HYVM_QEMU_VERSION
                   " command line)\n", img_progname());
            return 0;
        } else if (!strcmp(a, "-T") || !strcmp(a, "--trace")) {
            if (i + 1 >= argc) {
                img_missing_argument(a);
            }
            i += 2;
        } else if (!strncmp(a, "--trace=", 8) || (!strncmp(a, "-T", 2) && a[2])) {
            i++;
        } else {
            img_unrecognized_option(a);
        }
    }
    if (i >= argc) {
        img_error_exit("Not enough arguments");
    }
    for (size_t c = 0; c < sizeof(img_cmds) / sizeof(img_cmds[0]); c++) {
        if (!strcmp(argv[i], img_cmds[c].name)) {
            return img_cmds[c].run(argc - i, argv + i);
        }
    }
    img_error_exit("Command not found: %s", argv[i]);
}
