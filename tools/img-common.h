/*
 * hyvm-img: what the subcommands share.  Messages go out with the program's
 * name as prefix ("hyvm-img: ...", or "qemu-img: ..." when installed under
 * that name), worded as qemu-img 7.2 words them.
 *
 * Threads: the main thread only (the progress printer included: workers
 * report to the main thread, which prints).
 */
#ifndef HYVM_IMG_COMMON_H
#define HYVM_IMG_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "block/block.h"

/* Long options qemu-img gives numbers (getopt_long's val) above 255. */
enum {
    IMG_OPT_OUTPUT = 256,
    IMG_OPT_BACKING_CHAIN,
    IMG_OPT_OBJECT,
    IMG_OPT_IMAGE_OPTS,
    IMG_OPT_PATTERN,
    IMG_OPT_FLUSH_INTERVAL,
    IMG_OPT_NO_DRAIN,
    IMG_OPT_TARGET_IMAGE_OPTS,
    IMG_OPT_SIZE,
    IMG_OPT_PREALLOCATION,
    IMG_OPT_SHRINK,
    IMG_OPT_SALVAGE,
    IMG_OPT_TARGET_IS_ZERO,
    IMG_OPT_ADD,
    IMG_OPT_REMOVE,
    IMG_OPT_CLEAR,
    IMG_OPT_ENABLE,
    IMG_OPT_DISABLE,
    IMG_OPT_MERGE,
    IMG_OPT_BITMAPS,
    IMG_OPT_FORCE,
    IMG_OPT_SKIP_BROKEN,
    IMG_OPT_START_OFFSET,
    IMG_OPT_MAX_LENGTH,
};

/* main() sets the name messages carry, from argv[0]. */
void img_set_progname(const char *argv0);
const char *img_progname(void);

/* "<prog>: <message>\n" on stderr (QEMU's error_report). */
void img_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* "<prog>: warning: <message>\n" on stderr. */
void img_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* img_error plus "Try '<prog> --help' for more information" and exit(1)
 * (qemu-img's error_exit, for command-line mistakes). */
G_NORETURN void img_error_exit(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* printf to stdout unless quiet. */
void img_qprintf(bool quiet, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* The global help on stdout, exit(0) (every subcommand's -h). */
G_NORETURN void img_help(void);

/* getopt_long's '?' and ':' answers: qemu-img's messages, exit(1).  Call with
 * argv[optind - 1] after an optstring that starts with ':'. */
G_NORETURN void img_unrecognized_option(const char *option);
G_NORETURN void img_missing_argument(const char *option);

/* getopt_long with the answers every subcommand shares handled here: ':' and '?'
 * (messages above, exit(1)), 'h' (img_help), --object and --image-opts (refused,
 * exit(refused): the subcommand's status for an image it cannot open).
 * optstring must start with ':'.  Returns the other options' values, -1 at the end. */
int img_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
               int refused);
/* After the options: the single image name, or "Expecting one image file name"
 * via img_error_exit. */
const char *img_one_filename(int argc, char **argv);

/* --object: refused (hyvm-img has no QOM objects: secrets, throttle groups).
 * Prints the message; returns 1 for the caller to exit with. */
int img_refuse_object(const char *arg);
/* --image-opts / --target-image-opts: refused, same contract. */
int img_refuse_image_opts(void);

/* --output=ARG: true for json, false for human; any other value prints
 * "--output must be used with human or json as argument." and returns -1. */
int img_parse_output(const char *arg, bool *json);

/*
 * qemu-img's -t / -T cache modes (bdrv_parse_cache_mode): none/off, writeback,
 * writethrough, directsync, unsafe.  Adds BDRV_O_NOCACHE / BDRV_O_NO_FLUSH to
 * *flags (clearing both first); *writethrough says the caller must flush after
 * each write (QEMU's write-cache=off).  -1 for an unknown mode, nothing printed.
 */
int img_parse_cache(const char *mode, int *flags, bool *writethrough);

/*
 * A size as qemu-img reads one (qemu_strtosz): decimal or 0x hex, an optional
 * fraction with a suffix, suffixes b/B k/K m/M g/G t/T p/P e/E (case-blind,
 * powers of 1024).  0 ok, -EINVAL bad syntax, -ERANGE over INT64_MAX.
 */
int img_parse_size(const char *s, int64_t *out);
/* qemu-img's cvtnum: a size for the option called name, between min and max,
 * with "Invalid NAME specified. ..." printed on failure; returns the value or
 * a negative errno. */
int64_t img_cvtnum(const char *name, const char *value, int64_t min, int64_t max);
/* The same with create/resize's messages printed on failure ("Invalid image
 * size specified. ..."); returns 0 or -1. */
int img_parse_image_size(const char *s, int64_t *out);

/* qemu's size_to_str: "1 GiB", "196 KiB", "1.5 KiB", "0 B" (3 significant
 * digits).  g_free the result. */
char *img_size_to_str(uint64_t bytes);

/*
 * Opens filename as qemu-img's img_open does: fmt NULL probes; flags are
 * BDRV_O_*; force_share (-U) adds BDRV_O_FORCE_SHARE and is refused for a
 * writable open.  On failure prints "Could not open 'x': why" and returns
 * NULL.  The caller bdrv_unref()s.
 */
struct bdrv *img_open(const char *filename, const char *fmt, int flags, bool force_share);

/*
 * "-o help" / "-o ?": whether the comma-separated list asks for help, and
 * the printer.  With a filename the protocol's ("file") options are merged
 * in and the heading is "Supported options:"; without, "Supported FMT
 * options:" and a hint about the protocol level.  Returns the exit code.
 */
bool img_opts_want_help(const char *opts);
int img_print_opts_help(const char *fmt, const char *filename);
/* Appends -o's argument to *accum with a comma, as qemu-img accumulates,
 * when it is a well-formed list (not empty, no leading comma, no trailing
 * lone comma); otherwise prints qemu-img's "Invalid option list: %s" and
 * returns false after freeing *accum (set to NULL), so the caller only
 * has to exit. */
bool img_opts_add(char **accum, const char *arg);

/* The create option called name of drv, or of the "file" protocol under it. */
const struct create_opt_desc *img_create_opt_find(const struct block_driver *drv,
                                                  const char *name);
/*
 * -o's list checked as QEMU checks create/amend/measure options: every name
 * one of drv's create options (or the protocol's), every value of its type
 * ("Invalid parameter 'x'", "Parameter 'x' expects ...").  The result has
 * sizes and numbers as plain decimal and booleans as on/off; shown, when not
 * NULL, gets name -> value as the "Formatting" line prints it (g_strdup'd).
 * options NULL gives an empty list.  NULL with *errp set on error.
 */
struct kv_list *img_create_opts_parse(const struct block_driver *drv, const char *options,
                                      GHashTable *shown, GError **errp);
/* Sets key to value in l, replacing an earlier value. */
void img_kv_set(struct kv_list *l, const char *key, const char *value);

/*
 * Progress as qemu-img -p prints it (QEMU's qemu-progress.c): init prints
 * nothing; print(delta, max) moves to delta percent when max is 0, else by
 * delta / 100 * max percent, and prints "    (xx.xx/100%)\r" when it moved
 * by more than min_skip or is 0 or 100; end prints "\n".  Disabled = silent.
 * qemu-img convert uses min_skip 1.0 and print(0, 100) right after init.
 */
void img_progress_init(bool enabled, float min_skip);
void img_progress_print(float delta, int max);
void img_progress_end(void);

/* One row of "Snapshot list:" as QEMU's bdrv_snapshot_dump prints it, without
 * the newline; NULL prints the header row. */
void img_snapshot_dump(const struct bdrv_snapshot *sn);

/*
 * JSON as qemu-img prints it (qobject_to_json_pretty): 4-space indents,
 * "key": value, and object members in QEMU's QDict order, which is its hash
 * table's bucket order (the order users see; byte-for-byte with qemu-img).
 * Build the node with json-glib in QAPI field order, then print.
 */
void img_json_print(JsonNode *node);
/* obj's member names in QDict order; g_free the array only. */
const char **img_json_members(JsonObject *obj, guint *n);

#endif
