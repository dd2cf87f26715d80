/*
 * The human monitor through hmp_execute(), as QMP's human-monitor-command
 * calls it.  Expected texts are what qemu-system-x86_64 7.2 prints for the
 * same command lines (its monitor ends lines with "\r\n").
 */
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "accel/accel.h"
#include "machine/machine.h"
#include "net/net.h"
#include "qapi/monitor.h"
#include "system/cpus.h"
#include "system/memory.h"

static void check(const char *line, const char *want)
{
    g_autofree char *got = hmp_execute(line);

    g_assert_cmpstr(got, ==, want);
}

static void test_help(void)
{
    g_autofree char *all = hmp_execute("help");

    g_assert_true(g_str_has_prefix(all, "balloon target -- request VM to change its memory "
                                          "allocation (in MB)\r\ncont|c  -- resume emulation\r\n"));
    g_assert_nonnull(strstr(all, "\r\nhelp|? [cmd] -- show the help\r\n"));
    g_assert_nonnull(strstr(all, "\r\nxp /fmt addr -- physical memory dump starting at 'addr'\r\n"));
    check("help xp", "xp /fmt addr -- physical memory dump starting at 'addr'\r\n");
    check("help cont", "cont|c  -- resume emulation\r\n");
    check("? help", "help|? [cmd] -- show the help\r\n");
    check("help info status", "info status  -- show the current VM status (running|paused)\r\n");
    check("help info foo", "unknown command: 'info foo'\r\n");
    check("help foo", "unknown command: 'foo'\r\n");
    g_autofree char *info = hmp_execute("info");
    g_assert_nonnull(strstr(info, "info version  -- show the version of QEMU\r\n"));
    g_assert_true(g_str_has_prefix(info, "info balloon  -- show balloon information\r\ninfo block "));
}

static void test_info(void)
{
    check("info version", "7.2.0 (hyvm 0.1.0)\r\n");
    check("info status", "VM status: paused (prelaunch)\r\n");
    check("info status x", "status: extraneous characters at the end of line\r\n"
                           "Try \"help info status\" for more information\r\n");
    check("info foo", "unknown command: 'info foo'\r\n");
    check("info block", "");
    check("info network", "");
    check("info qtree", "bus: main-system-bus\r\n  type System\r\n");
    /* No machine: nothing to show, and x has no page tables to walk. */
    check("info cpus", "");
    check("info registers", "No CPU available\r\n");
    check("x /x 0", "Can not dump without CPU\r\n");
}

static void test_errors(void)
{
    check("foo", "unknown command: 'foo'\r\n");
    check("", "");
    check("   ", "");
    check("stop foo", "stop|s: extraneous characters at the end of line\r\n"
                      "Try \"help stop\" for more information\r\n");
    check("gdbserver", "Could not open gdbserver on device 'tcp::1234': "
                       "gdbserver is not supported yet\r\n");
    check("gdbserver none", "Disabled gdbserver\r\n");
    check("system_powerdown", "Error: The machine 'none' has no ACPI power button "
                              "in hyvm yet\r\n");
}

#define DATA_GPA 0x1000

static const uint8_t data[32] = {
    0x41, 0x27, 0x5c, 0x0a, 0x0d, 0x7f, 0x80, 0xff, 0xfe, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x80,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
};

static void setup_ram(void)
{
    GError *err = NULL;

    ram_free_all();
    g_assert_cmpint(ram_add_region(0, 16 << 20, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(ram_write(DATA_GPA, data, sizeof(data)), ==, 0);
}

static void test_xp(void)
{
    setup_ram();
    /* Same sequence as against QEMU: format and size carry over. */
    check("xp /16c 0x1000",
          "0000000000001000: 'A' '\\'' '\\\\' '\\n' '\\r' '\\x7f' '\\x80' '\\xff' '\\xfe' '\\xff' "
          "'\\xff' '\\xff' '\\x00' '\\x00' '\\x00' '\\x80'\r\n"
          "0000000000001010: '\\x00' '\\x01' '\\x02' '\\x03' '\\x04' '\\x05' '\\x06' '\\x07' "
          "'\\x08' '\\x09' '\\n' '\\x0b' '\\x0c' '\\r' '\\x0e' '\\x0f'\r\n"
          "0000000000001020: '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' "
          "'\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00'\r\n"
          "0000000000001030: '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' "
          "'\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00'\r\n");
    check("xp /4d 0x1000", "0000000000001000:  173811521 4286611213 4294967294 2147483648\r\n");
    check("xp /4u 0x1000", "0000000000001000:  173811521 4286611213 4294967294 2147483648\r\n");
    check("xp /4o 0x1000",
          "0000000000001000: 01227023501 037740077415 037777777776 020000000000\r\n");
    check("xp /2xg 0x1000", "0000000000001000: 0xff807f0d0a5c2741 0x80000000fffffffe\r\n");
    check("xp /8dh 0x1000",
          "0000000000001000: 10049  2652 32525 65408 65534 65535     0 32768\r\n");
    check("xp /3x 0x1000+4*2", "0000000000001008: 0xfffe 0xffff 0x0000\r\n");
    check("xp /x 0x1000 & 0xff00", "0000000000001000: 0x2741\r\n");
    check("xp /2xg 0x1000", "0000000000001000: 0xff807f0d0a5c2741 0x80000000fffffffe\r\n");
    check("xp /4 0x1000", "0000000000001000: 0xff807f0d0a5c2741 0x80000000fffffffe\r\n"
                          "0000000000001010: 0x0706050403020100 0x0f0e0d0c0b0a0908\r\n");
    check("xp /2dg 0x1000", "0000000000001000:   -35889103033850047 -9223372032559808514\r\n");
    check("xp /b 0x1000", "0000000000001000:  65\r\n");  /* "d" sticks */
    check("xp /3bx 0x1000", "0000000000001000: 0x41 0x27 0x5c\r\n");
    check("xp/x 0x1000", "0000000000001000: 0x41\r\n");
    check("xp 0x1001", "0000000000001001: 0x27\r\n");
    check("xp /5db 0x1000", "0000000000001000:  65  39  92  10  13\r\n");
    check("xp /0x 0", "");
    check("xp /x 'A'", "0000000000000041: 0x00\r\n");
    check("xp /xw 0x1000", "0000000000001000: 0x0a5c2741\r\n");
    /* Outside RAM, and a line that runs off its end. */
    check("xp /4xw 0x10000000", "0000000010000000: Cannot access memory\r\n");
    check("xp /x -1", "ffffffffffffffff: Cannot access memory\r\n");
    check("xp /3xg 0xfffff0", "0000000000fffff0: 0x0000000000000000 0x0000000000000000\r\n"
                              "0000000001000000: Cannot access memory\r\n");
    check("xp /2xg 0xfffff8", "0000000000fffff8: Cannot access memory\r\n");
    check("xp /4xw 0xfffff8", "0000000000fffff8: Cannot access memory\r\n");
    ram_free_all();
}

static void test_xp_errors(void)
{
    check("xp", "unexpected end of expression\r\nTry \"help xp\" for more information\r\n");
    check("x", "unexpected end of expression\r\nTry \"help x\" for more information\r\n");
    check("xp /4x", "unexpected end of expression\r\nTry \"help xp\" for more information\r\n");
    check("xp /z 0", "invalid char in format: 'z'\r\nTry \"help xp\" for more information\r\n");
    check("xp /4q 0", "invalid char in format: 'q'\r\nTry \"help xp\" for more information\r\n");
    check("xp /x abc", "invalid char 'a' in expression\r\nTry \"help xp\" for more information\r\n");
    check("xp /x 12zz", "xp: extraneous characters at the end of line\r\n"
                        "Try \"help xp\" for more information\r\n");
    check("xp /x (0x1000", "')' expected\r\nTry \"help xp\" for more information\r\n");
    check("xp /x 0x1000/0", "division by zero\r\nTry \"help xp\" for more information\r\n");
    check("xp /x 99999999999999999999999",
          "number too large\r\nTry \"help xp\" for more information\r\n");
    check("xp /x $foo", "unknown register\r\nTry \"help xp\" for more information\r\n");
}

/* ---- with a machine: a fake accelerator hands out one vCPU state ---- */

static struct x86_cpu_state fake_state;

static int fake_get_state(struct vcpu *cpu, struct x86_cpu_state *st)
{
    *st = fake_state;
    return 0;
}

static const struct accel_ops fake_accel = { .name = "fake", .get_state = fake_get_state };

static void test_with_cpu(void)
{
    struct vcpu cpu0 = { .index = 0, .thread_id = 4242 };
    struct vcpu cpu1 = { .index = 1, .thread_id = 4243 };
    struct vcpu *cpus[] = { &cpu0, &cpu1 };
    struct machine m = { .accel = &fake_accel, .ncpus = 2, .cpus = cpus };
    uint64_t pml4 = 0x10000, pdpt = 0x11000, pd = 0x12000, pt = 0x13000, e;

    setup_ram();
    cpu0.m = cpu1.m = &m;
    machine_set_current(&m);
    x86_cpu_state_reset(&fake_state, true);
    fake_state.regs[R_EAX] = DATA_GPA;

    check("info cpus", "* CPU #0: thread_id=4242\r\n  CPU #1: thread_id=4243\r\n");
    check("info registers 3", "CPU#3 not available\r\n");
    g_autofree char *regs = hmp_execute("info registers");
    g_assert_true(g_str_has_prefix(regs, "\r\nCPU#0\r\n"));
    /* Not 64-bit code: QEMU's 32-bit layout, eight XMM registers. */
    g_assert_nonnull(strstr(regs, "\r\nEAX=00001000 EBX=00000000 ECX=00000000 EDX=00000000\r\n"));
    g_assert_nonnull(strstr(regs, "\r\nEIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 "
                                  "SMM=0 HLT=0\r\n"));
    g_assert_nonnull(strstr(regs, "\r\nCS =f000 ffff0000 0000ffff 00009b00\r\n"));
    g_assert_nonnull(strstr(regs, "\r\nFCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80\r\n"));
    g_assert_nonnull(strstr(regs, "XMM07=0000000000000000 0000000000000000\r\n"));
    g_assert_null(strstr(regs, "XMM08"));
    g_autofree char *all = hmp_execute("info registers -a");
    g_assert_nonnull(strstr(all, "\r\nCPU#1\r\n"));

    /* x /i in the vCPU's mode (real mode: 16-bit code), QEMU's layout. */
    ram_write(0x3000, "\xb8\x34\x12\x90\x66\xc7\x84\x10\x00\x78\x56\x34\x12", 13);
    check("xp /3i 0x3000", "0x00003000:  b8 34 12                 movw     $0x1234, %ax\r\n"
                           "0x00003003:  90                       nop      \r\n"
                           "0x00003004:  66 c7 84 10 00 78 56 34  movl     $0x12345678, "
                           "0x10(%si)\r\n"
                           "0x0000300c:  12\r\n");

    /* Registers in expressions; paging off: x reads physical memory. */
    check("xp /xb $eax+1", "0000000000001001: 0x27\r\n");
    check("x /xb 0x1000", "0000000000001000: 0x41\r\n");

    /*
     * 4-level paging: 0x7f0000201000 -> 4 KiB page at 0x1000; and a 2 MiB
     * page at va 0x400000 -> pa 0x200000.
     */
    e = pdpt | 3; ram_write(pml4 + 0xfe * 8, &e, 8);
    ram_write(pml4, &e, 8);
    e = pd | 3; ram_write(pdpt + 0 * 8, &e, 8);
    e = pt | 3; ram_write(pd + 1 * 8, &e, 8);
    e = 0x1000 | 3; ram_write(pt + 1 * 8, &e, 8);
    e = 0x200000 | 0x83; ram_write(pd + 2 * 8, &e, 8);
    ram_write(0x200010, "hyvm", 4);
    fake_state.cr0 |= CR0_PE | CR0_PG;
    fake_state.cr4 |= CR4_PAE;
    fake_state.efer |= EFER_LME | EFER_LMA;
    fake_state.cr3 = pml4;
    check("x /xb 0x7f0000201000", "00007f0000201000: 0x41\r\n");
    check("x /4c 0x400010", "0000000000400010: 'h' 'y' 'v' 'm'\r\n");
    check("x /xb 0x7f0000202000", "00007f0000202000: Cannot access memory\r\n");
    /* 64-bit code: x /i through the page tables in 64-bit mode, and the
     * 64-bit register layout with sixteen XMM registers. */
    fake_state.seg[S_CS].l = true;
    ram_write(0x1ffd, "\x48\x89\xe5", 3);
    check("x /2i 0x7f0000201ffd", "0x7f0000201ffd:  48 89 e5                 movq     %rsp, %rbp\r\n"
                                  "0x7f0000202000: unable to read memory\r\n");
    {
        g_autofree char *regs64 = hmp_execute("info registers");

        g_assert_nonnull(strstr(regs64, "\r\nR8 =0000000000000000 R9 =0000000000000000 "));
        g_assert_nonnull(strstr(regs64, "\r\nCS =f000 00000000ffff0000 0000ffff 00209b00 "
                                        "DPL=0 CS64 [-RA]\r\n"));
        g_assert_nonnull(strstr(regs64, "XMM15="));
    }
    fake_state.seg[S_CS].l = false;
    /* Non-canonical. */
    check("x /xb 0x8000000000000000", "8000000000000000: Cannot access memory\r\n");
    /* A page table entry pointing outside RAM is refused, not followed. */
    e = 0x7fff0000000ull | 3; ram_write(pml4, &e, 8);
    check("x /xb 0x1000", "0000000000001000: Cannot access memory\r\n");

    /* 32-bit paging with a 4 MiB page: va 0x400000 -> pa 0. */
    fake_state.cr4 = CR4_PSE;
    fake_state.efer = 0;
    e = 0x83; ram_write(pml4 + 4, &e, 4);
    check("x /xb 0x401000", "0000000000401000: 0x41\r\n");

    machine_set_current(NULL);
    ram_free_all();
}

/* ---- networking: the monitor's commands on a fake NIC and a socket netdev ---- */

static unsigned nic_link_changes;

static ssize_t fake_nic_receive(struct net_client *nc, const struct iovec *iov, unsigned cnt)
{
    ssize_t n = 0;

    for (unsigned i = 0; i < cnt; i++) {
        n += iov[i].iov_len;
    }
    return n;
}

static void fake_nic_link(struct net_client *nc)
{
    nic_link_changes++;
}

static const struct net_client_ops fake_nic_ops = {
    .type = NET_CLIENT_NIC, .type_name = "nic", .receive = fake_nic_receive,
    .link_status_changed = fake_nic_link,
};

/* set_link as QEMU's: a netdev's link is its NIC's too, a NIC's only its own. */
static void test_network(void)
{
    struct net_client nic = { 0 };
    struct net_client *n0;
    GError *err = NULL;

    net_client_init(&nic, &fake_nic_ops, "virtio-net-pci", "virtio-net-pci.0", NULL);
    net_client_set_info(&nic, "model=virtio-net-pci,macaddr=52:54:00:12:34:56");
    check("netdev_add socket,id=n0,listen=127.0.0.1:0", "");
    n0 = net_netdev_find("n0");
    g_assert_nonnull(n0);
    g_assert_cmpint(net_nic_attach(&nic, "virtio-net-pci", "n0", &err), ==, 0);
    g_assert_no_error(err);
    check("info network", "virtio-net-pci.0: index=0,type=nic,model=virtio-net-pci,"
                          "macaddr=52:54:00:12:34:56\r\n \\ n0: index=0,type=socket,\r\n");

    check("set_link n0 off", "");
    g_assert_true(n0->link_down);
    g_assert_true(nic.link_down);
    g_assert_cmpuint(nic_link_changes, ==, 1);
    check("set_link virtio-net-pci.0 on", "");
    g_assert_false(nic.link_down);
    g_assert_true(n0->link_down);
    check("set_link \"n0\" on", "");
    g_assert_false(n0->link_down);
    g_assert_cmpuint(nic_link_changes, ==, 3);
    check("set_link n0", "Expected 'on' or 'off'\r\n"
                         "Try \"help set_link\" for more information\r\n");
    check("set_link n0 on x", "set_link: extraneous characters at the end of line\r\n"
                              "Try \"help set_link\" for more information\r\n");
    check("set_link", "set_link: string expected\r\n"
                      "Try \"help set_link\" for more information\r\n");
    /* A broken quote is no argument (QEMU says why on stderr). */
    check("set_link \"n0 on", "set_link: string expected\r\n"
                              "Try \"help set_link\" for more information\r\n");
    g_assert_false(n0->link_down);

    /* No user back end: nothing to show or forward. */
    check("info usernet", "");
    check("netdev_add help", "Available netdev backend types:\r\nsocket\r\n"
                             "stream (not supported yet)\r\ndgram (not supported yet)\r\n"
                             "hubport\r\ntap\r\nuser\r\nl2tpv3 (not supported yet)\r\n"
                             "vde (not supported yet)\r\nbridge (not supported yet)\r\n"
                             "vhost-user (not supported yet)\r\n"
                             "vhost-vdpa (not supported yet)\r\n");
    check("netdev_add nic,id=x", "Error: network backend 'nic' is not compiled into this "
                                 "binary\r\n");
    check("netdev_add id=x", "Error: Parameter 'type' is missing\r\n");
    check("netdev_add", "Error: Parameter 'id' is missing\r\n");
    check("netdev_add socket,id=1x", "Try \"help netdev_add\" for more information\r\n");
    check("object_add", "object_add: string expected\r\n"
                        "Try \"help object_add\" for more information\r\n");
    check("object_add id=f", "Error: Parameter 'qom-type' is missing\r\n");
    check("object_add ,id=f", "Error: Invalid parameter ''\r\n");
    check("object_add bogus,id=f", "Error: Parameter 'qom-type' does not accept value "
                                   "'bogus'\r\n");

    /* The netdev goes; its NIC stays with its cable pulled. */
    check("netdev_del n0", "");
    g_assert_null(net_netdev_find("n0"));
    g_assert_true(nic.link_down);
    check("netdev_del n0", "Error: Device 'n0' not found\r\n");
    net_client_uninit(&nic);
    check("info network", "");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hmp/help", test_help);
    g_test_add_func("/hmp/info", test_info);
    g_test_add_func("/hmp/errors", test_errors);
    g_test_add_func("/hmp/xp", test_xp);
    g_test_add_func("/hmp/xp-errors", test_xp_errors);
    g_test_add_func("/hmp/with-cpu", test_with_cpu);
    g_test_add_func("/hmp/network", test_network);
    return g_test_run();
}
