/*
 * The command line as a user meets it: run the real hyvm binary and check
 * exit status and output.  Every bad command line gets one line on stderr,
 * "hyvm: ...", naming the option, and exit status 1.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <glib.h>

static const char *hyvm_bin;

struct run {
    int status;
    char *out, *err;
};

static void run_free(struct run *r)
{
    g_free(r->out);
    g_free(r->err);
}

static void run_hyvm(struct run *r, const char *args)
{
    g_autofree char *cmd = g_strdup_printf("'%s' %s", hyvm_bin, args);
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) err = NULL;
    int wait_status;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &err));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                               &r->out, &r->err, &wait_status, &err));
    g_assert_true(WIFEXITED(wait_status));
    r->status = WEXITSTATUS(wait_status);
}

/* Bad command lines: each must name what is wrong in one line. */
static const struct {
    const char *args;
    const char *needle;     /* must appear in the message */
} bad_lines[] = {
    { "-foo", "-foo" },
    { "--foo", "-foo" },
    { "-m", "-m" },
    { "-m foo", "-m foo" },
    { "-m -5", "-m" },
    { "-m 1Q", "-m" },
    { "-smp foo", "-smp" },
    { "-smp 0", "-smp" },
    { "-smp 4,sockets=3,cores=1,threads=1", "-smp" },
    { "-M nosuch", "machine" },
    { "-M pc,nosuchprop=1", "nosuchprop" },
    { "-accel nosuch", "nosuch" },
    { "-accel kvm,nosuchprop=on", "nosuchprop" },
    { "-cpu nosuch", "nosuch" },
    { "-device nosuch", "nosuch" },
    { "-device isa-debug-exit,nosuchprop=1", "nosuchprop" },
    { "-device isa-debug-exit,iobase=zz", "iobase" },
    { "-device '{\"driver\": \"isa-debug-exit\", \"iobase\": }'", "-device" },
    { "-device virtio-blk-pci", "virtio-blk-pci" },
    { "-drive file=/nonexistent.img,if=virtio", "-drive" },
    { "-drive file=x.img,if=bogus", "bogus" },
    { "-hda x.img", "-hda" },
    { "-cdrom x.iso", "-cdrom" },
    { "-netdev user,id=n0", "-netdev" },
    { "-netdev bogus,id=n0", "bogus" },
    { "-nic user", "-nic" },
    { "-chardev nosuch,id=c0", "nosuch" },
    { "-chardev socket,id=c0", "c0" },
    { "-chardev null", "id" },
    { "-serial bogus", "bogus" },
    { "-qmp unix:/tmp/hyvm-test-qmp.sock,server=on,wait=off", "-qmp" },
    { "-vga std", "std" },
    { "-vga bogus", "bogus" },
    { "-display bogus", "bogus" },
    { "-d nosuchitem", "nosuchitem" },
    { "-global nosuchdev.prop=1", "nosuchdev" },
    { "-global isa-debug-exit.nosuchprop=1", "nosuchprop" },
    { "-object nosuchtype,id=o0", "nosuchtype" },
    { "-boot order=zz", "-boot" },
    { "-rtc base=yesterday", "-rtc" },
    { "-nographic -daemonize", "daemonize" },
    { "-kernel", "-kernel" },
    { "-kernel /nonexistent/kernel -accel kvm", "/nonexistent/kernel" },
};

static void test_bad_lines(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_lines); i++) {
        struct run r;
        const char *nl;

        run_hyvm(&r, bad_lines[i].args);
        if (r.status != 1 || !g_str_has_prefix(r.err, "hyvm: ") ||
            !strstr(r.err, bad_lines[i].needle) ||
            !(nl = strchr(r.err, '\n')) || nl[1] != '\0') {
            g_test_message("hyvm %s: status %d, stderr:\n%s", bad_lines[i].args,
                           r.status, r.err);
            g_test_fail();
        }
        run_free(&r);
    }
}

static void test_version(void)
{
    struct run r;
    unsigned major, minor, micro;

    run_hyvm(&r, "--version");
    g_assert_cmpint(r.status, ==, 0);
    /* Tools parse QEMU's first line with a pattern like this one. */
    g_assert_cmpint(sscanf(r.out, "QEMU emulator version %u.%u.%u", &major, &minor, &micro),
                    ==, 3);
    g_assert_true(strstr(r.out, "hyvm") != NULL);
    run_free(&r);
    run_hyvm(&r, "-version");
    g_assert_cmpint(r.status, ==, 0);
    g_assert_true(g_str_has_prefix(r.out, "QEMU emulator version "));
    run_free(&r);
}

static void test_help_outputs(void)
{
    static const struct {
        const char *args, *needle;
    } helps[] = {
        { "-h", "-machine" },
        { "-help", "-accel" },
        { "-M help", "microvm" },
        { "-machine help", "pc-i440fx-7.2" },
        { "-M microvm,help", "isa-serial" },
        { "-accel help", "kvm" },
        { "-cpu help", "qemu64" },
        { "-device help", "isa-debug-exit" },
        { "-device isa-debug-exit,help", "iobase" },
        { "-d help", "guest_errors" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(helps); i++) {
        struct run r;

        run_hyvm(&r, helps[i].args);
        if (r.status != 0 || !strstr(r.out, helps[i].needle)) {
            g_test_message("hyvm %s: status %d, stdout:\n%s\nstderr:\n%s", helps[i].args,
                           r.status, r.out, r.err);
            g_test_fail();
        }
        run_free(&r);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    hyvm_bin = g_getenv("HYVM_BINARY");
    g_assert_nonnull(hyvm_bin);
    g_test_add_func("/cli/bad-lines", test_bad_lines);
    g_test_add_func("/cli/version", test_version);
    g_test_add_func("/cli/help", test_help_outputs);
    return g_test_run();
}
