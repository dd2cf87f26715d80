/*
 * hyvm-img: qemu-img's command line.  main() finds the subcommand and hands
 * it its arguments; each lives in img-NAME.c.
 *
 * Threads: main thread.
 */
#include <stdio.h>
#include <string.h>

#include "hyvm-version.h"
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

static void img_usage(FILE *f)
{
    fprintf(f, "hyvm-img version " HYVM_VERSION " (qemu-img " HYVM_QEMU_VERSION
               " command line)\n"
               "usage: hyvm-img [standard options] command [command options]\n"
               "QEMU disk image utility\n\n"
               "    '-h', '--help'       display this help and exit\n"
               "    '-V', '--version'    output version information and exit\n\n"
               "Command syntax: as qemu-img's; commands:\n");
    for (size_t i = 0; i < sizeof(img_cmds) / sizeof(img_cmds[0]); i++) {
        fprintf(f, "  %s\n", img_cmds[i].name);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "hyvm-img: Not enough arguments\n"
                        "Try 'hyvm-img --help' for more information\n");
        return 1;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        img_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("hyvm-img version " HYVM_VERSION "\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof(img_cmds) / sizeof(img_cmds[0]); i++) {
        if (!strcmp(argv[1], img_cmds[i].name)) {
            return img_cmds[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "hyvm-img: Command not found: %s\n"
                    "Try 'hyvm-img --help' for more information\n", argv[1]);
    return 1;
}
