/*
 * The VM harness of the functional tests (test-boot, test-virtio,
 * test-net): hyvm (or QEMU, the oracle) started as a user starts it with
 * Debian's kernel from fixtures.py, its serial console, stderr and QMP
 * socket read by one poll loop, waits for console lines and QMP replies
 * with a deadline, and a case run with one more boot when the host's load
 * broke the kernel's TSC calibration.
 *
 * One thread.  The VM (and a helper process beside it, test-virtio's net
 * peer or test-net's HTTP server) dies with the test (PR_SET_PDEATHSIG)
 * and at its deadline (SIGKILL); a failing case prints the tail of the
 * console and stderr.
 * The environment it reads (vm_env_init, vm_fixtures_ready):
 *   HYVM_BINARY           the binary under test
 *   HYVM_BOOT_BINARY      overrides it: qemu-system-x86_64 is the oracle
 *   HYVM_FIXTURES_SCRIPT  tests/functional/fixtures.py, run once first
 *   HYVM_FIXTURES_DIR     where it builds vmlinuz and the initrds
 *   HYVM_PYTHON           the python3 to run scripts with (default: python3)
 *   HYVM_BOOT_TIMEOUT     seconds one VM may live
 *   BOOT_TEST_TRACE       set: QMP lines received go to stderr
 */
#ifndef TESTS_FUNCTIONAL_VM_H
#define TESTS_FUNCTIONAL_VM_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#define VM_MARKER "HYVM-BOOT-OK"

struct vm {
    GPid pid;
    GPid helper_pid;                /* a process beside the VM, or 0 */
    bool helper_exited;
    int out_fd, err_fd, qmp_fd;     /* -1 once closed or absent */
    GString *console, *err, *qmp_in;
    GPtrArray *qmp_msgs;            /* JsonNode *, every message received */
    unsigned qmp_next_id;
    size_t from;                    /* console lines are looked for after this */
    char *dir, *qmp_path;           /* a temporary directory, emptied by vm_free */
    gint64 deadline;
    gint64 dead_end_seen;           /* when the console first showed one */
    bool exited;
    int wait_status;
    bool failed;                    /* vm_report() said why; the case fails */
};

/* A console line that explains a failure better than its tail does. */
struct vm_hint {
    const char *line, *hint;
};

/* What differs between the test programs. */
struct vm_config {
    const char *tmp_template;       /* g_dir_make_tmp's, for vm->dir */
    const char *initrd;             /* its file name in HYVM_FIXTURES_DIR */
    int timeout_s;                  /* default of HYVM_BOOT_TIMEOUT */
    int tail_chars;                 /* of console and stderr in a report */
    const struct vm_hint *hints;    /* besides the TSC calibration's */
    unsigned n_hints;
    bool trace_console;             /* the console is copied to stderr as it comes */
    /* An environment variable naming one more script that builds fixtures
     * from fixtures.py's (run after it, with the same directory), or NULL. */
    const char *more_fixtures_env;
};

/* Set by vm_env_init and vm_fixtures_ready. */
extern const char *vm_bin;          /* NULL when HYVM_BINARY is not set */
extern const char *vm_python;
extern int vm_timeout_s;
extern char *vm_kernel_path, *vm_initrd_path;

typedef bool (*vm_pred)(struct vm *vm, const void *arg);
typedef void (*vm_case_fn)(struct vm *vm, const void *arg);

/* Reads the environment; ignores SIGPIPE (a VM gone mid-write to QMP). */
void vm_env_init(const struct vm_config *cfg);
/* A test program's start: g_test_init, vm_env_init, and exit status 1
 * with a message when neither HYVM_BINARY nor HYVM_BOOT_BINARY is set. */
void vm_test_init(int *argc, char ***argv, const struct vm_config *cfg);
/* The fixtures, built once; false with the case skipped or failed. */
bool vm_fixtures_ready(void);
/* Why -accel kvm cannot boot Linux here, or NULL. */
const char *vm_kvm_missing(void);

/* For g_spawn_*: the child dies with the test. */
void vm_child_setup(gpointer data);
void vm_add_args(GPtrArray *argv, ...) G_GNUC_NULL_TERMINATED;

/* An empty VM with its temporary directory, exited until vm_spawn. */
void vm_init(struct vm *vm);
/* Runs argv (NULL-terminated, freed here) with the console on a pipe;
 * false with a message when it cannot start. */
bool vm_spawn(struct vm *vm, GPtrArray *argv);
void vm_free(struct vm *vm);

void vm_report(struct vm *vm, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void vm_pump(struct vm *vm, gint64 max_us);
bool vm_wait(struct vm *vm, vm_pred done, const void *arg, const char *what);
/* The VM's exit with this status (waited for); false with the case failed. */
bool vm_expect_exit(struct vm *vm, int status);
bool vm_expect_exit0(struct vm *vm);
bool vm_console_has(struct vm *vm, const void *needle);

/* A file in the VM's directory (vm_free removes it). */
char *vm_file(struct vm *vm, const char *name);
/* -qmp on a unix socket in the VM's directory (vm->qmp_path), for
 * vm_qmp_connect. */
void vm_add_qmp(struct vm *vm, GPtrArray *argv);

/*
 * The guest's /init prints "KEY: value" lines and lines of one word.  A
 * line counts from a line start after vm->from, once its end has come.
 */
/* The value of the first line "key: ...", or NULL. */
char *vm_line_value(struct vm *vm, const char *key);
/* A vm_pred: the line "key: ..." is there (key is a const char *). */
bool vm_has_line(struct vm *vm, const void *key);
/* The value of the line "key: ..." (waited for); NULL with the case failed. */
char *vm_expect_line(struct vm *vm, const char *key);
/* The line "key: want" (waited for); false with the case failed, saying
 * what came instead. */
bool vm_expect_value(struct vm *vm, const char *key, const char *want);
/* Waits for a line that is only word; with next, vm->from moves past it
 * (later lines are looked for after it). */
bool vm_expect_word(struct vm *vm, const char *word, bool next);

/* Runs cmd with args (a JSON object's text, or NULL); its "return" member
 * (owned by the VM), or NULL with the case failed. */
JsonNode *vm_qmp_call(struct vm *vm, const char *cmd, const char *args);
const char *vm_qmp_msg_str(JsonNode *n, const char *member);
/* The first event name received (owned by the VM), or NULL; its "data"
 * member, or NULL.  vm_qmp_has_event is a vm_pred (name: const char *). */
JsonNode *vm_qmp_event(struct vm *vm, const char *name);
JsonObject *vm_qmp_event_data(struct vm *vm, const char *name);
bool vm_qmp_has_event(struct vm *vm, const void *name);
/* Waits for SHUTDOWN and checks its data is {"guest": true, "reason": reason}. */
bool vm_expect_shutdown(struct vm *vm, const char *reason);
/* Connects to vm->qmp_path, reads the greeting and negotiates. */
bool vm_qmp_connect(struct vm *vm);

/* One case on accel: skipped without KVM or fixtures, run_case run (once
 * more after a TSC calibration failure), failed when vm->failed. */
void vm_run_case(const char *accel, vm_case_fn run_case, const void *arg);

#endif
