/*
 * Runs the test guests in the real hyvm binary, once per accelerator, and
 * checks what each prints on the serial port and its exit status.
 *
 *   HYVM_BINARY     the hyvm executable
 *   HYVM_GUEST_DIR  where NAME.elf of each guest was built
 *
 * A guest's exit code c reaches us as status (c << 1) | 1 through
 * isa-debug-exit, so a guest can never fake a clean 0; the table below
 * holds the status each case must end with.
 *
 * "@DISK@" in an argument stands for a 1 MiB raw image made once per run in
 * a temporary directory, whose byte at offset o is disk_byte(o).
 *
 * KVM cases are skipped (never passed) where /dev/kvm cannot be opened.
 * The software CPU ("tcg") cases are skipped only by a build that refuses
 * tcg as not supported yet; otherwise they run unchanged and must print
 * what KVM prints.  They run twice: "tcg" is the translator (the default),
 * "tcg-interp" the same with -accel tcg,jit=off (the interpreter alone).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#define RUN_TIMEOUT_S 60

/* The -initrd file of tests/guests/initrd.c: five pages and a partial one. */
#define INITRD_SIZE 21714u
#define INITRD_SIZE_STR "21714"

struct guest_case {
    const char *name;       /* test path component */
    const char *guest;      /* NAME.elf */
    const char *args[10];   /* extra hyvm arguments, NULL-terminated */
    int status;             /* expected exit status */
    const char *expect[4];  /* strings the serial output must contain */
    const char *expect_err; /* a string stderr must contain, or NULL */
    bool kvm_needs_hw;      /* KVM runs it only with hardware virtualization */
};

static const struct guest_case cases[] = {
    { "hello", "hello", { NULL }, 1, { "Hello from the hello guest" } },
    { "exit-code-21", "exit-code", { "-append", "code=21", NULL }, 43,
      { "exit-code: exiting with 21" } },
    { "exit-code-0", "exit-code", { "-append", "verbose code=0", NULL }, 1,
      { "exit-code: exiting with 0" } },
    { "exit-code-none", "exit-code", { NULL }, (0x55 << 1) | 1, { "no code=N" } },
    /* -m 256M: all of it below 3 GiB, minus the 384 KiB of 640K-1M. */
    { "memsize-256M", "memsize", { "-m", "256M", NULL }, 1,
      { "memsize: 261760 KiB available in 2 entries", "mem_lower 640 KiB",
        "mem_upper 261120 KiB" } },
    /* microvm keeps 3 GiB below 4 GiB; the other 128 MiB sit above it. */
    { "memsize-3200M", "memsize", { "-m", "3200M", NULL }, 1,
      { "memsize: 3276416 KiB available in 3 entries", "[0x100000000-0x107ffffff] type 1" } },
    { "io", "io", { "-device", "pc-testdev", NULL }, 1, { "io: all 14 checks passed" } },
    /* The -initrd file as the guest's module, byte for byte; the guest's
     * writes to it must not reach the file (test_guest checks it after). */
    { "initrd", "initrd", { "-initrd", "@INITRD@", "-append", "size=" INITRD_SIZE_STR, NULL },
      1, { "initrd: " INITRD_SIZE_STR " bytes match the file on boot 1",
           "initrd: wrote all " INITRD_SIZE_STR " bytes" } },
    /* A reset loads it again: the second boot sees the file, not the writes. */
    { "initrd-reset-pc", "initrd",
      { "-M", "pc", "-initrd", "@INITRD@", "-append", "size=" INITRD_SIZE_STR " reset=1",
        NULL }, 1,
      { "initrd: " INITRD_SIZE_STR " bytes match the file on boot 1", "initrd: resetting",
        "initrd: " INITRD_SIZE_STR " bytes match the file on boot 2" } },
    /* The write that resets the machine is the last instruction run (the
     * vCPU waits for the reset, it does not go on), twice in a row: boot 3
     * exits 0. */
    { "reset-write-cf9", "reset-write", { "-M", "pc", "-append", "via=cf9", NULL }, 1,
      { "reset-write: resetting through cf9", "reset-write: boot 3" } },
    { "reset-write-kbc", "reset-write", { "-M", "pc", "-append", "via=kbc", NULL }, 1,
      { "reset-write: resetting through kbc", "reset-write: boot 3" } },
    { "reset-write-92", "reset-write", { "-M", "pc", "-append", "via=92", NULL }, 1,
      { "reset-write: resetting through 92", "reset-write: boot 3" } },
    { "longmode", "longmode", { NULL }, 1,
      { "longmode: switching to long mode", "Hello from 64-bit long mode" } },
    /* A triple fault is reported with the registers; -no-reboot then exits 0. */
    { "triple-fault", "triple-fault", { "-no-reboot", NULL }, 0,
      { "triple-fault: faulting now" }, "triple fault" },
    /* Self-modifying code, with paging off and through a paging alias. */
    { "smc", "smc", { NULL }, 1,
      { "smc: all 8 checks passed", "smc: 64-bit alias checks passed" } },
    /* 16-bit protected mode and real mode, there and back. */
    { "modes", "modes", { NULL }, 1,
      { "modes: back in 32-bit protected mode, all 7 results right" } },
    /* Faults through the IDT; then INT3, INT n and INTO, which a KVM without
     * hardware virtualization (kvm_pvm) cannot emulate in 32-bit guests. */
    { "exceptions", "exceptions", { NULL }, 1, { "exceptions: all 5 checks passed" } },
    { "exceptions-traps", "exceptions", { "-append", "traps=1", NULL }, 1,
      { "exceptions: all 8 checks passed" }, NULL, true },
    /* The benchmark's integer workload (tests/bench/cpu.py): the same
     * checksums as on hardware and on QEMU. */
    { "workload", "workload", { NULL }, 1,
      { "workload: 1 iterations, crc32 c90cb56c, sort 7dff7675" } },
    /* The architecture guests (runtime/x86.h), each in 32-bit protected mode
     * and in 64-bit mode: a line "NAME: PASS/FAIL/SKIP: ..." per check and a
     * summary.  Besides "0 failed", a few PASS lines (or the exact counts,
     * where no check depends on CPUID) must be there, so that a check
     * skipped for a missing feature cannot pass unnoticed.  They
     * use INT3, ICEBP, CPL 3, task switches and the like, which KVM without
     * hardware virtualization cannot emulate. */
    { "vectors32", "vectors32", { NULL }, 1,
      { " 0 failed", "vectors32: PASS: #DF through a task gate", "vectors32: PASS: #XM divss",
        "vectors32: PASS: #AC misaligned" }, NULL, true },
    { "vectors64", "vectors64", { NULL }, 1,
      { " 0 failed", "vectors64: PASS: #XM divss", "vectors64: PASS: #AC misaligned",
        "vectors64: PASS: #SS non-canonical" }, NULL, true },
    { "privilege32", "privilege32", { NULL }, 1,
      { " 0 failed", "privilege32: PASS: call gate from CPL 3",
        "privilege32: PASS: lcall to a TSS", "privilege32: PASS: virtual-8086 mode: segment" },
      NULL, true },
    { "privilege64", "privilege64", { NULL }, 1,
      { " 0 failed", "privilege64: PASS: 64-bit call gate from CPL 3",
        "privilege64: PASS: int 84h at CPL 0 through IST2",
        "privilege64: PASS: iretq to CPL 3 compatibility mode" }, NULL, true },
    { "paging32", "paging32", { NULL }, 1,
      { " 0 failed", "paging32: PASS: 2-level user read of a supervisor page",
        "paging32: PASS: PAE fetch from an NX page" }, NULL, true },
    { "paging64", "paging64", { NULL }, 1,
      { " 0 failed", "paging64: PASS: 4-level fetch from an NX page",
        "paging64: PASS: 4-level CR4.PGE write flushes" }, NULL, true },
    /* SMEP and SMAP with the CPU model that has them. */
    { "paging64-max", "paging64", { "-cpu", "max", NULL }, 1,
      { " 0 failed", "paging64: PASS: 4-level CPL 0 fetch from a user page with SMEP",
        "paging64: PASS: 4-level CPL 0 read of a user page with SMAP" }, NULL, true },
    { "syscall32", "syscall32", { NULL }, 1,
      { "syscall32: 7 passed, 0 failed, 0 skipped" }, NULL, true },
    { "syscall64", "syscall64", { NULL }, 1,
      { "syscall64: 10 passed, 0 failed, 0 skipped" }, NULL, true },
    { "fpu-state32", "fpu-state32", { NULL }, 1,
      { " 0 failed", "fpu-state32: PASS: x87 fsqrt(2)",
        "fpu-state32: PASS: fxrstor after a scramble", "fpu-state32: PASS: divss 1/3 to nearest" },
      NULL, true },
    { "fpu-state64", "fpu-state64", { NULL }, 1,
      { " 0 failed", "fpu-state64: PASS: x87 fsqrt(2)",
        "fpu-state64: PASS: fxrstor after a scramble", "fpu-state64: PASS: cvtsd2si" },
      NULL, true },
    /* XSAVE with the CPU model that has it. */
    { "fpu-state64-max", "fpu-state64", { "-cpu", "max", NULL }, 1,
      { " 0 failed", "fpu-state64: PASS: xrstor with XSTATE_BV = 1" }, NULL, true },
    { "debug32", "debug32", { NULL }, 1,
      { "debug32: 12 passed, 0 failed, 0 skipped" }, NULL, true },
    { "debug64", "debug64", { NULL }, 1,
      { "debug64: 13 passed, 0 failed, 0 skipped" }, NULL, true },
    { "msr32", "msr32", { NULL }, 1,
      { " 0 failed", "msr32: PASS: wrmsr 10h sets the TSC",
        "msr32: PASS: rdmsr of an MSR that does not exist" }, NULL, true },
    { "msr64", "msr64", { NULL }, 1,
      { " 0 failed", "msr64: PASS: wrmsr 10h sets the TSC",
        "msr64: PASS: swapgs exchanges" }, NULL, true },
    /* IRQ 0 from the i8254 through the i8259: STI and POPF, HLT, the IMR. */
    { "interrupts32", "interrupts32", { NULL }, 1,
      { "interrupts32: 6 passed, 0 failed, 0 skipped" }, NULL, true },
    { "interrupts64", "interrupts64", { NULL }, 1,
      { "interrupts64: 6 passed, 0 failed, 0 skipped" }, NULL, true },
    { "segments32", "segments32", { NULL }, 1,
      { " 0 failed", "segments32: PASS: expand-down segment: offset 8000h",
        "segments32: PASS: far call from CPL 3 to a DPL-0 conforming" }, NULL, true },
    /* UMIP with the CPU model that has it. */
    { "segments64", "segments64", { "-cpu", "max", NULL }, 1,
      { " 0 failed", "segments64: PASS: sgdt at CPL 3 with CR4.UMIP",
        "segments64: PASS: lldt/sldt" }, NULL, true },
    /* The same guests on -M pc, the way QEMU test suites start theirs (the
     * later -M wins over the -M microvm every case has). */
    { "paging64-pc", "paging64", { "-M", "pc", "-device", "pc-testdev", NULL }, 1,
      { " 0 failed", "paging64: PASS: 4-level fetch from an NX page" }, NULL, true },
    { "interrupts32-pc", "interrupts32", { "-M", "pc", "-device", "pc-testdev", NULL }, 1,
      { "interrupts32: 6 passed, 0 failed, 0 skipped" }, NULL, true },
    /* The i8254 and i8259 of -M pc: HLT woken by ticks that follow the
     * host clock (against the ACPI PM timer), IMR, EOI, STI shadow. */
    { "timer-irq", "timer-irq", { "-M", "pc", NULL }, 1, { "timer-irq: all passed" }, NULL,
      true },
    /* -machine pit=off: the board comes up without the i8254. */
    { "pit-off", "hello", { "-M", "pc,pit=off", NULL }, 1, { "Hello from the hello guest" } },
    { "nmi-held", "timer-irq", { "-M", "pc", "-append", "mode=nmi2", NULL }, (0x2b << 1) | 1,
      { "timer-irq: second NMI taken after IRET" }, NULL, true },
    /* PCI configuration mechanism #1, BARs and pci-testdev's protocol. */
    { "pci", "pci", { "-M", "pc", "-device", "pci-testdev", NULL }, 1,
      { "pci: all 32 checks passed" } },
    /* virtio-blk-pci fed malformed descriptor chains through the legacy I/O
     * BAR and through the modern capabilities: each must stop the device
     * (NEEDS_RESET for the modern driver) without writing outside the
     * buffers, and a reset must bring it back to read sector 0 right.  The
     * disk is read-only: a device that took a bad chain for a write cannot
     * spoil the pattern for the cases after it. */
    { "virtio-bad-legacy", "virtio-bad",
      { "-M", "pc", "-device", "virtio-blk-pci,drive=d0,disable-modern=on",
        "-drive", "if=none,id=d0,file=@DISK@,format=raw,readonly=on", NULL }, 1,
      { "virtio-bad: legacy: 27 passed, 0 failed, 0 skipped" } },
    { "virtio-bad-modern", "virtio-bad",
      { "-M", "pc", "-device", "virtio-blk-pci,drive=d0,disable-legacy=on",
        "-drive", "if=none,id=d0,file=@DISK@,format=raw,readonly=on", NULL }, 1,
      { "virtio-bad: modern: 27 passed, 0 failed, 0 skipped" } },
    /* fw_cfg by DMA as SeaBIOS reads it; each line as qemu-system-x86_64
     * -M pc -kernel fwcfg.elf prints it (QEMU 7.2, -cpu qemu64): SMBIOS
     * byte for byte, the RAM map with AMD's HyperTransport hole, the sleep
     * states (fwcfg-pc passes with HYVM_BINARY=qemu-system-x86_64 too);
     * then the -boot items and a bootindex's path; then -boot once= in the
     * CMOS until the first reset puts order= back, as under QEMU. */
    { "fwcfg-pc", "fwcfg", { "-M", "pc", NULL }, 1,
      { "fwcfg: dma register reads QEMU CFG",
        "file etc/smbios/smbios-tables size 321 fnv fb4a9514",
        "file etc/e820 size 40 fnv f3a0d180",
        "file etc/system-states size 6 fnv bbad1d80 : 800000818280" } },
    { "fwcfg-boot", "fwcfg", { "-M", "pc", "-boot",
      "menu=on,splash-time=300,reboot-timeout=1000,strict=on", "-device",
      "virtio-net-pci,bootindex=3,addr=5", "-append", "dump=bootorder", NULL }, 1,
      { "dump bootorder: 2f7063694069306366382f65746865726e657440352f65746865726e65742d7068"
        "7940300a48414c5400",
        "file etc/boot-fail-wait size 4 fnv f49c691c : e8030000",
        "file etc/boot-menu-wait size 2 fnv 68cfccfe : 2c01",
        "fwcfg: read outside RAM status 0x1" } },
    { "fwcfg-boot-once", "fwcfg", { "-M", "pc", "-boot", "order=dn,once=c", "-append",
      "cmos-boot=1", NULL }, 1,
      { "fwcfg: boot 1 cmos 0x3d=0x02 0x38=0x00", "fwcfg: boot 2 cmos 0x3d=0x43 0x38=0x00" } },
    /* pvpanic-pci and pvpanic-mmio: the register reads the events, a
     * crash kernel report lets the guest run on and a panic ends the VM
     * as -action panic= says (the guest exits 0x33, status 0x67, when
     * nothing happened). */
    { "pvpanic-fw-cfg", "panic", { "-M", "pc", "-device", "pvpanic,ioport=0x534", "-action",
      "panic=exit-failure", "-append", "mode=fwcfg", NULL }, 1,
      { "panic: fw_cfg names port 0x534", "panic: device offers events 0x3",
        "panic: crash kernel reported, still running" } },
    { "pvpanic-pci", "panic", { "-M", "pc", "-device", "pvpanic-pci", "-action",
      "panic=exit-failure", "-append", "mode=pci", NULL }, 1,
      { "panic: pvpanic-pci at 2.0", "panic: device offers events 0x3",
        "panic: crash kernel reported, still running" } },
    { "pvpanic-pci-poweroff", "panic", { "-M", "pc", "-device", "pvpanic-pci", "-append",
      "mode=pci", NULL }, 0, { "panic: device offers events 0x3" } },
    { "pvpanic-pci-none", "panic", { "-M", "pc", "-device", "pvpanic-pci", "-action",
      "panic=none", "-append", "mode=pci", NULL }, (0x33 << 1) | 1,
      { "panic: still running after the panic" } },
    { "pvpanic-mmio", "panic", { "-device", "pvpanic-mmio", "-action", "panic=exit-failure",
      "-append", "mode=mmio", NULL }, 1,
      { "panic: device offers events 0x3", "panic: crash kernel reported, still running" } },
    { "pvpanic-mmio-props", "panic", { "-device", "pvpanic-mmio,addr=0xfea02000,events=1",
      "-action", "panic=exit-failure", "-append", "mode=mmio addr=0xfea02000 events=1",
      NULL }, 1, { "panic: device offers events 0x1" } },
    /* i6300esb: reloads keep the VM alive past both stages; once they stop,
     * the watchdog's action ends it (poweroff: status 0, no SHUTDOWN), or
     * resets it, and the guest, started again, finds the previous-timeout
     * flag.  The guest exits 0x77 (status 0xef) if nothing happened.  Under
     * KVM the reset case also checks that nothing queued for injection before
     * the reset reaches the guest after it.  Under kvm_pvm it still fails
     * about half the runs on a loaded host (an emulation failure at
     * 0xf000ff53 right after the reset, the IDT at its reset value), with
     * or without that check: it runs on KVM with hardware virtualization
     * only. */
    { "watchdog-poweroff", "watchdog", { "-M", "pc", "-device", "i6300esb", "-action",
      "watchdog=poweroff", NULL }, 0,
      { "watchdog: i6300esb at 2.0", "reloads over 2500 ms, still running",
        "watchdog: locked; no more reloads, waiting" } },
    { "watchdog-reset", "watchdog", { "-M", "pc", "-device", "i6300esb", "-watchdog-action",
      "reset", NULL }, 1,
      { "reloads over 2500 ms, still running", "watchdog: previous timeout flag set (0x1200)",
        "watchdog: flag cleared after the reset" }, NULL, true },
    /* The local APIC: self IPI, TPR (CR8), one-shot timer. */
    { "apic32", "apic32", { NULL }, 1, { "apic32: 12 passed, 0 failed, 0 skipped" }, NULL, true },
    { "apic64", "apic64", { NULL }, 1, { "apic64: 13 passed, 0 failed, 0 skipped" }, NULL, true },
    /* SMP: INIT and two SIPIs start the APs through a real-mode trampoline
     * (each sees its own APIC ID), then fixed IPIs by physical ID, the
     * all-excluding-self shorthand, an IPI from each AP to the BSP, the
     * logical flat model, lowest priority, INIT stopping a running AP
     * that a new SIPI restarts.  The 32-bit build's IRET is more than KVM
     * without hardware virtualization emulates. */
    { "smp32", "smp32", { "-smp", "4", "-append", "cpus=4", NULL }, 1,
      { "smp32: 16 passed, 0 failed, 0 skipped" }, NULL, true },
    { "smp64", "smp64", { "-smp", "4", "-append", "cpus=4", NULL }, 1,
      { "smp64: 16 passed, 0 failed, 0 skipped" } },
    { "smp64-pc", "smp64", { "-M", "pc", "-smp", "4", "-append", "cpus=4", NULL }, 1,
      { "smp64: 16 passed, 0 failed, 0 skipped" } },
    { "smp32-pc-8", "smp32", { "-M", "pc", "-smp", "8", "-append", "cpus=8", NULL }, 1,
      { "smp32: 16 passed, 0 failed, 0 skipped", "smp32: AP 6: APIC ID" }, NULL, true },
    /* One AP: no peer to watch while INIT stops it, so that check is skipped. */
    { "smp64-2", "smp64", { "-smp", "2", "-append", "cpus=2", NULL }, 1,
      { "smp64: 12 passed, 0 failed, 1 skipped" } },
    /* together=1: then every CPU at once, locked instructions on shared counters and bits
     * (none may lose an update) and cross-modifying code (patches the APs must run once
     * signalled).  KVM without hardware virtualization emulates the locked instructions and
     * has no CMPXCHG16B. */
    { "smp64-together", "smp64", { "-smp", "4", "-append", "cpus=4 together=1", NULL }, 1,
      { "smp64: 20 passed, 0 failed, 0 skipped" }, NULL, true },
    { "smp32-together", "smp32", { "-smp", "4", "-append", "cpus=4 together=1", NULL }, 1,
      { "smp32: 20 passed, 0 failed, 0 skipped" }, NULL, true },
    { "smp64-pc-together-2", "smp64",
      { "-M", "pc", "-smp", "2", "-append", "cpus=2 together=1", NULL }, 1,
      { "smp64: 16 passed, 0 failed, 1 skipped" }, NULL, true },
};

#define DISK_SIZE (1u << 20)

static char *disk_dir, *disk_path;

/* The pattern tests/guests/virtio-bad.c reads back (img_byte()). */
static uint8_t disk_byte(uint32_t off)
{
    return (uint8_t)(off * 7 + (off >> 9) * 31 + 0x5a);
}

static const char *disk_image(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *buf = NULL;

    if (disk_path) {
        return disk_path;
    }
    disk_dir = g_dir_make_tmp("hyvm-guests-XXXXXX", &err);
    g_assert_no_error(err);
    buf = g_malloc(DISK_SIZE);
    for (uint32_t o = 0; o < DISK_SIZE; o++) {
        buf[o] = disk_byte(o);
    }
    disk_path = g_build_filename(disk_dir, "disk.raw", NULL);
    g_file_set_contents(disk_path, (const char *)buf, DISK_SIZE, &err);
    g_assert_no_error(err);
    return disk_path;
}

/* The pattern tests/guests/initrd.c checks (its initrd_byte()). */
static uint8_t initrd_byte(uint32_t off)
{
    return (uint8_t)(off * 13 + (off >> 12) * 7 + 1);
}

static char *initrd_path;

static const char *initrd_file(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *buf = NULL;

    if (initrd_path) {
        return initrd_path;
    }
    disk_image();                   /* the temporary directory */
    buf = g_malloc(INITRD_SIZE);
    for (uint32_t o = 0; o < INITRD_SIZE; o++) {
        buf[o] = initrd_byte(o);
    }
    initrd_path = g_build_filename(disk_dir, "initrd.img", NULL);
    g_file_set_contents(initrd_path, (const char *)buf, INITRD_SIZE, &err);
    g_assert_no_error(err);
    return initrd_path;
}

/* The guest wrote into every byte of its module: the file must not have
 * changed (the VMM maps it copy-on-write). */
static void initrd_check_file(void)
{
    g_autofree char *buf = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(initrd_path, &buf, &len, NULL));
    g_assert_cmpuint(len, ==, INITRD_SIZE);
    for (uint32_t o = 0; o < INITRD_SIZE; o++) {
        if ((uint8_t)buf[o] != initrd_byte(o)) {
            g_test_message("the -initrd file changed at byte %u: 0x%02x", o, (uint8_t)buf[o]);
            g_test_fail();
            return;
        }
    }
}

static void disk_remove(void)
{
    if (initrd_path) {
        g_unlink(initrd_path);
    }
    if (disk_path) {
        g_unlink(disk_path);
        g_rmdir(disk_dir);
    }
    g_free(initrd_path);
    g_free(disk_path);
    g_free(disk_dir);
}

/* An argument with "@DISK@" replaced by the image's path, "@INITRD@" by
 * the initrd file's. */
static char *expand_arg(const char *arg)
{
    g_auto(GStrv) parts = NULL;

    if (!strcmp(arg, "@INITRD@")) {
        return g_strdup(initrd_file());
    }
    if (!strstr(arg, "@DISK@")) {
        return g_strdup(arg);
    }
    parts = g_strsplit(arg, "@DISK@", -1);
    return g_strjoinv(disk_image(), parts);
}

struct run_result {
    bool done, timed_out;
    int status;             /* exit status, or 128 + signal */
    GBytes *out, *err;
};

static const char *hyvm_binary(void)
{
    const char *p = g_getenv("HYVM_BINARY");

    g_assert_nonnull(p);
    return p;
}

static char *guest_path(const char *name)
{
    const char *dir = g_getenv("HYVM_GUEST_DIR");

    g_assert_nonnull(dir);
    return g_strdup_printf("%s/%s.elf", dir, name);
}

static void on_communicate(GObject *src, GAsyncResult *res, gpointer opaque)
{
    struct run_result *r = opaque;
    g_autoptr(GError) err = NULL;

    if (!g_subprocess_communicate_finish(G_SUBPROCESS(src), res, &r->out, &r->err, &err)) {
        g_printerr("# communicate: %s\n", err->message);
    }
    r->done = true;
}

static gboolean on_timeout(gpointer opaque)
{
    struct run_result *r = opaque;

    r->timed_out = true;
    return G_SOURCE_REMOVE;
}

/* Runs hyvm with argv (NULL-terminated) with stdin on /dev/null. */
static void run_hyvm(GPtrArray *argv, struct run_result *r)
{
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *cmd = NULL;
    guint timer;

    memset(r, 0, sizeof(*r));
    g_ptr_array_add(argv, NULL);
    cmd = g_strjoinv(" ", (char **)argv->pdata);
    g_test_message("running %s", cmd);
    p = g_subprocess_newv((const char *const *)argv->pdata,
                          G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &err);
    if (!p) {
        g_test_message("cannot run %s: %s", cmd, err->message);
        g_test_fail();
        r->status = -1;
        return;
    }
    g_subprocess_communicate_async(p, NULL, NULL, on_communicate, r);
    timer = g_timeout_add_seconds(RUN_TIMEOUT_S, on_timeout, r);
    while (!r->done && !r->timed_out) {
        g_main_context_iteration(NULL, TRUE);
    }
    if (r->timed_out) {
        g_subprocess_force_exit(p);
        while (!r->done) {
            g_main_context_iteration(NULL, TRUE);
        }
    } else {
        g_source_remove(timer);
    }
    g_subprocess_wait(p, NULL, NULL);
    if (g_subprocess_get_if_exited(p)) {
        r->status = g_subprocess_get_exit_status(p);
    } else {
        r->status = 128 + g_subprocess_get_term_sig(p);
    }
}

static char *bytes_str(GBytes *b)
{
    gsize n = 0;
    const char *d = b ? g_bytes_get_data(b, &n) : NULL;

    return g_strndup(d ? d : "", n);
}

static void run_result_clear(struct run_result *r)
{
    g_clear_pointer(&r->out, g_bytes_unref);
    g_clear_pointer(&r->err, g_bytes_unref);
}

/* /dev/kvm opens read-write: hyvm's "-accel kvm" will try it. */
static bool host_has_dev_kvm(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

/*
 * The facts of hyvm's strict (auto) KVM probe: /dev/kvm, a vmx or svm flag
 * in /proc/cpuinfo, and no software KVM module (kvm_pvm) loaded.
 */
static bool host_has_hardware_kvm(void)
{
    g_autofree char *cpuinfo = NULL;
    g_auto(GStrv) lines = NULL;
    bool virt = false;

    if (!host_has_dev_kvm() || g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_IS_DIR) ||
        !g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL)) {
        return false;
    }
    lines = g_strsplit(cpuinfo, "\n", -1);
    for (unsigned i = 0; lines[i] && !virt; i++) {
        g_auto(GStrv) words = NULL;

        if (strncmp(lines[i], "flags", 5)) {
            continue;
        }
        words = g_strsplit_set(lines[i], " \t", -1);
        for (unsigned w = 0; words[w]; w++) {
            if (!strcmp(words[w], "vmx") || !strcmp(words[w], "svm")) {
                virt = true;
            }
        }
    }
    return virt;
}

static GPtrArray *guest_argv(const char *accel, const char *guest)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(argv, g_strdup(hyvm_binary()));
    if (accel) {
        g_ptr_array_add(argv, g_strdup("-accel"));
        g_ptr_array_add(argv, g_strdup(accel));
    }
    g_ptr_array_add(argv, g_strdup("-M"));
    g_ptr_array_add(argv, g_strdup("microvm"));
    g_ptr_array_add(argv, g_strdup("-nographic"));
    /* The guests lay out the PCI bus themselves (pci.elf expects its
     * device in the first free slot): no default NIC or VGA in the way. */
    g_ptr_array_add(argv, g_strdup("-nic"));
    g_ptr_array_add(argv, g_strdup("none"));
    g_ptr_array_add(argv, g_strdup("-vga"));
    g_ptr_array_add(argv, g_strdup("none"));
    g_ptr_array_add(argv, g_strdup("-device"));
    g_ptr_array_add(argv, g_strdup("isa-debug-exit,iobase=0xf4,iosize=0x04"));
    g_ptr_array_add(argv, g_strdup("-kernel"));
    g_ptr_array_add(argv, guest_path(guest));
    return argv;
}

struct accel_case {
    const char *accel;      /* "kvm", "tcg", "tcg-interp", "tcg-icount": the test path's name */
    const char *arg;        /* what -accel gets */
    const char *icount;     /* what -icount gets, or NULL */
    const struct guest_case *gc;
};

static void test_guest(gconstpointer opaque)
{
    const struct accel_case *ac = opaque;
    const struct guest_case *gc = ac->gc;
    g_autoptr(GPtrArray) argv = NULL;
    g_autofree char *out = NULL, *err = NULL;
    struct run_result r;

    if (!strcmp(ac->accel, "kvm") && !host_has_dev_kvm()) {
        g_test_skip("/dev/kvm cannot be opened on this host");
        return;
    }
    if (!strcmp(ac->accel, "kvm") && gc->kvm_needs_hw && !host_has_hardware_kvm()) {
        g_test_skip("KVM here has no hardware virtualization behind it");
        return;
    }
    argv = guest_argv(ac->arg, gc->guest);
    if (ac->icount) {
        g_ptr_array_add(argv, g_strdup("-icount"));
        g_ptr_array_add(argv, g_strdup(ac->icount));
    }
    for (unsigned i = 0; gc->args[i]; i++) {
        g_ptr_array_add(argv, expand_arg(gc->args[i]));
    }
    run_hyvm(argv, &r);
    out = bytes_str(r.out);
    err = bytes_str(r.err);
    run_result_clear(&r);

    if (g_str_has_prefix(ac->accel, "tcg") && r.status == 1 &&
        strstr(err, "not supported yet")) {
        g_test_skip("the software CPU (tcg) is not built yet");
        return;
    }
    g_test_message("status %d\nstdout:\n%s\nstderr:\n%s", r.status, out, err);
    g_assert_false(r.timed_out);
    g_assert_cmpint(r.status, ==, gc->status);
    /* The registers in either of QEMU's layouts (64-bit or 32-bit code). */
    if (gc->expect_err && (!strstr(err, gc->expect_err) ||
                           (!strstr(err, "RIP=") && !strstr(err, "EIP=")))) {
        g_test_message("stderr lacks '%s' and the registers", gc->expect_err);
        g_test_fail();
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(gc->expect) && gc->expect[i]; i++) {
        if (!strstr(out, gc->expect[i])) {
            g_test_message("the serial output lacks '%s'", gc->expect[i]);
            g_test_fail();
        }
    }
    for (unsigned i = 0; gc->args[i]; i++) {
        if (!strcmp(gc->args[i], "@INITRD@")) {
            initrd_check_file();
        }
    }
}

/*
 * No -accel: auto takes KVM only with hardware virtualization behind it,
 * else the software CPU, saying why KVM was passed over.  A build whose
 * accel.c does not offer tcg yet must say that nothing can run instead.
 */
static void test_auto(void)
{
    g_autoptr(GPtrArray) argv = guest_argv(NULL, "hello");
    g_autofree char *out = NULL, *err = NULL;
    struct run_result r;

    run_hyvm(argv, &r);
    out = bytes_str(r.out);
    err = bytes_str(r.err);
    run_result_clear(&r);
    g_test_message("status %d\nstdout:\n%s\nstderr:\n%s", r.status, out, err);
    g_assert_false(r.timed_out);
    if (host_has_hardware_kvm()) {
        g_assert_cmpint(r.status, ==, 1);
        g_assert_nonnull(strstr(out, "Hello from the hello guest"));
    } else if (strstr(err, "not supported yet")) {
        g_assert_cmpint(r.status, ==, 1);
        g_assert_nonnull(strstr(err, "no accelerator"));
        g_assert_null(strstr(out, "Hello"));
    } else {
        g_assert_cmpint(r.status, ==, 1);
        g_assert_nonnull(strstr(out, "Hello from the hello guest"));
        g_assert_nonnull(strstr(err, "KVM is not used"));
    }
}

/*
 * -accel tcg (jit=on, the default) runs blocks through the translator:
 * HYVM_TCG_STATS says how many blocks it translated and how many translated
 * blocks ran, which must not be none (the guests above pass either way,
 * since every block not translated runs in the interpreter).  With jit=off
 * there is no code buffer, so no such line.
 */
static void test_jit_used(void)
{
    static const char *const args[] = { "tcg,jit=on", "tcg,jit=off", "tcg" };

    g_setenv("HYVM_TCG_STATS", "1", TRUE);
    for (unsigned a = 0; a < G_N_ELEMENTS(args); a++) {
        g_autoptr(GPtrArray) argv = guest_argv(args[a], "hello");
        g_autofree char *out = NULL, *err = NULL;
        unsigned long long translated = 0, ran = 0;
        const char *line;
        struct run_result r;

        run_hyvm(argv, &r);
        out = bytes_str(r.out);
        err = bytes_str(r.err);
        run_result_clear(&r);
        g_test_message("%s: status %d\nstdout:\n%s\nstderr:\n%s", args[a], r.status, out,
                       err);
        g_assert_false(r.timed_out);
        g_assert_cmpint(r.status, ==, 1);
        g_assert_nonnull(strstr(out, "Hello from the hello guest"));
        g_assert_nonnull(strstr(err, "retired"));
        line = strstr(err, "jit translated ");
        if (a == 1) {
            g_assert_null(line);
            continue;
        }
        g_assert_nonnull(line);
        if (line) {
            g_assert_cmpint(sscanf(line, "jit translated %llu blocks, ran %llu", &translated,
                                   &ran), ==, 2);
        }
        g_assert_cmpuint(translated, >, 0);
        g_assert_cmpuint(ran, >=, translated);
    }
    g_unsetenv("HYVM_TCG_STATS");
}

int main(int argc, char **argv)
{
    /* tcg-interp: the software CPU without its translator (jit=off); tcg-icount: the
     * translator in deterministic mode, where the guests' timers count instructions. */
    static const struct { const char *name, *arg, *icount; } accels[] = {
        { "kvm", "kvm" }, { "tcg", "tcg" }, { "tcg-interp", "tcg,jit=off" },
        { "tcg-icount", "tcg", "shift=0,sleep=off" },
    };
    int rc;

    g_test_init(&argc, &argv, NULL);
    /* One broken guest must not hide the results of the others. */
    g_test_set_nonfatal_assertions();
    for (unsigned a = 0; a < G_N_ELEMENTS(accels); a++) {
        for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
            struct accel_case *ac = g_new(struct accel_case, 1);
            g_autofree char *path = g_strdup_printf("/guests/%s/%s", accels[a].name,
                                                    cases[i].name);

            ac->accel = accels[a].name;
            ac->arg = accels[a].arg;
            ac->icount = accels[a].icount;
            ac->gc = &cases[i];
            g_test_add_data_func_full(path, ac, test_guest, g_free);
        }
    }
    g_test_add_func("/guests/auto/no-hardware-kvm", test_auto);
    g_test_add_func("/guests/tcg/translated", test_jit_used);
    rc = g_test_run();
    disk_remove();
    return rc;
}
