/*
 * hyvm-img: one function per qemu-img subcommand, each taking the
 * subcommand's own argv (argv[0] is the subcommand name) and returning the
 * process exit code qemu-img would.  img-common.c holds what several share.
 *
 * Threads: the main thread; convert and bench may start workers of their own.
 */
#ifndef HYVM_IMG_H
#define HYVM_IMG_H

int img_amend(int argc, char **argv);
int img_bench(int argc, char **argv);
int img_check(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_create(int argc, char **argv);
int img_dd(int argc, char **argv);
int img_info(int argc, char **argv);
int img_map(int argc, char **argv);
int img_measure(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_snapshot(int argc, char **argv);

#endif
