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
    { "-foo", "-foo: invalid option" },
    { "--foo", "--foo: invalid option" },
    { "-m", "-m: requires an argument" },
    { "-m foo", "-m foo: Parameter 'size' expects a non-negative number below 2^64" },
    { "-m -5", "-m -5: Parameter 'size' expects a non-negative number below 2^64" },
    { "-m 1Q", "-m 1Q: Parameter 'size' expects a non-negative number below 2^64" },
    { "-smp foo", "-smp foo: Parameter 'smp.cpus' expects integer" },
    { "-smp 0", "-smp 0: Invalid CPU topology: CPU topology parameters must be greater" },
    { "-smp 4,sockets=3,cores=1,threads=1",
      "-smp 4,sockets=3,cores=1,threads=1: Invalid CPU topology: product of the hierarchy" },
    { "-M nosuch", "-M nosuch: unsupported machine type 'nosuch'" },
    { "-M pc,nosuchprop=1", "Property 'pc-i440fx-7.2-machine.nosuchprop' not found" },
    { "-accel nosuch", "-accel nosuch: invalid accelerator nosuch" },
    { "-accel kvm,nosuchprop=on", "Property 'kvm-accel.nosuchprop' not found" },
    { "-cpu nosuch", "-cpu nosuch: unable to find CPU model 'nosuch'" },
    { "-device nosuch", "-device nosuch: 'nosuch' is not a valid device model name" },
    { "-device isa-debug-exit,nosuchprop=1", "Property 'isa-debug-exit.nosuchprop' not found" },
    { "-device isa-debug-exit,iobase=zz", "Parameter 'iobase' expects integer" },
    { "-device '{\"driver\": \"isa-debug-exit\", \"iobase\": }'",
      "-device {\"driver\": \"isa-debug-exit\", \"iobase\": }: JSON parse error" },
    /* Devices are made after the accelerator is chosen: -accel tcg keeps
     * auto's notice about a KVM without hardware off stderr, -nodefaults
     * the one about the default NIC's model. */
    { "-accel tcg -nodefaults -device virtio-blk-pci", "-device virtio-blk-pci: drive property not set" },
    { "-accel tcg -nodefaults -device virtio-rng-pci,bus=pci.7",
      "-device virtio-rng-pci,bus=pci.7: Bus 'pci.7' not found" },
    { "-accel tcg -M microvm -device virtio-rng-pci",
      "-device virtio-rng-pci: No 'PCI' bus found for device 'virtio-rng-pci'" },
    { "-accel tcg -nodefaults -device isa-debugcon,bus=pci.0",
      "-device isa-debugcon,bus=pci.0: Device 'isa-debugcon' can't go on PCI bus" },
    { "-drive file=/nonexistent.img,if=virtio",
      "-drive file=/nonexistent.img,if=virtio: Could not open '/nonexistent.img'" },
    { "-drive file=x.img,if=bogus", "unsupported bus type 'bogus'" },
    { "-hda x.img", "-hda x.img: Could not open 'x.img': No such file or directory" },
    { "-cdrom x.iso", "-cdrom x.iso: Could not open 'x.iso': No such file or directory" },
    { "x.img", "x.img: Could not open 'x.img': No such file or directory" },
    { "-accel tcg -drive if=ide,file=/dev/null,format=raw,index=4",
      "machine type does not support if=ide,bus=2,unit=0" },
    { "-accel tcg -nodefaults -device ide-hd", "-device ide-hd: No drive specified" },
    { "-accel tcg -M microvm -device ide-cd",
      "-device ide-cd: No 'IDE' bus found for device 'ide-cd'" },
    { "-drive file=/nonexistent.img,if=none",
      "-drive file=/nonexistent.img,if=none: Could not open '/nonexistent.img': No such file" },
    { "-drive file=/dev/null,if=none,format=qcow2", "-drive file=/dev/null,if=none,format=qcow2: " },
    { "-drive if=none,id=a -drive if=none,id=a",
      "Duplicate ID 'a' for drive" },
    { "-blockdev driver=qcow2,node-name=q,file=nope",
      "-blockdev driver=qcow2,node-name=q,file=nope: Cannot find device=nope nor node-name=nope" },
    { "-blockdev driver=raw,file=x", "'node-name' must be specified for the root node" },
    { "-blockdev driver=file,node-name=f,filename=/nonexistent.img",
      "Could not open '/nonexistent.img': No such file or directory" },
    { "-netdev vde,id=n0", "-netdev vde,id=n0: network backend 'vde' is not supported yet" },
    { "-netdev user,id=n0,net=bogus", "-netdev user,id=n0,net=bogus: Failed to parse netmask" },
    { "-netdev user,id=n0,hostfwd=tcp::99999-:22",
      "-netdev user,id=n0,hostfwd=tcp::99999-:22: Invalid host forwarding rule" },
    { "-netdev bogus,id=n0", "Parameter 'type' does not accept value 'bogus'" },
    { "-accel tcg -nic user,model=e1000", "Unsupported NIC model: e1000 (hyvm's is virtio-net-pci)" },
    { "-nic user,mac=zz", "-nic user,mac=zz: invalid syntax for ethernet address" },
    { "-accel tcg -net nic,netdev=zz", "-net nic,netdev=zz: netdev 'zz' not found" },
    { "-chardev nosuch,id=c0", "'nosuch' is not a valid char driver name" },
    { "-chardev socket,id=c0", "-chardev socket,id=c0: chardev: socket needs path=" },
    { "-chardev null", "-chardev null: chardev: no id specified" },
    { "-serial bogus", "-serial bogus: 'bogus' is not a valid char driver" },
    { "-vga qxl", "-vga qxl: graphic card 'qxl' is not supported yet" },
    { "-vga bogus", "-vga bogus: unknown vga type: bogus" },
    { "-display bogus", "-display bogus: Parameter 'type' does not accept value 'bogus'" },
    { "-d nosuchitem", "-d nosuchitem: Unknown log item 'nosuchitem'" },
    { "-global nosuchdev.prop=1", "'nosuchdev' is not a valid device model name" },
    { "-global isa-debug-exit.nosuchprop=1", "Property 'isa-debug-exit.nosuchprop' not found" },
    { "-object nosuchtype,id=o0", "Parameter 'qom-type' does not accept value 'nosuchtype'" },
    { "-boot order=zz", "-boot order=zz: Invalid boot device 'z'" },
    { "-rtc base=yesterday", "-rtc base=yesterday: invalid datetime format" },
    { "-nographic -daemonize", "-nographic cannot be used with -daemonize" },
    { "-kernel", "-kernel: requires an argument" },
    { "-kernel /nonexistent/kernel -accel kvm",
      "-kernel /nonexistent/kernel: could not open kernel file '/nonexistent/kernel'" },
    { "-enable-kvm -accel tcg", "The -accel and \"-machine accel=\" options are incompatible" },
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
        { "-L help", "/usr/share/seabios\n" },
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
