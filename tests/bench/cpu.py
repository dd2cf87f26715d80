#!/usr/bin/env python3
"""Software CPU benchmark, hyvm beside QEMU in one run (never part of meson test).

  tests/bench/cpu.py [--builddir build] [--runs 5] [--iters 30] [--count]
                     [--hyvm-accel tcg]

Runs the workload guest (tests/guests/workload.c: CRC-32 over 64 KiB and a
quick sort of 4096 words, --iters times) from its Multiboot entry under
`hyvm -accel tcg -M microvm` and `qemu-system-x86_64 -accel tcg -M pc`
(QEMU's microvm has no Multiboot loader), alternating the two, and prints
the median wall time of each and their ratio.  Both must print the same
checksums.  With --count it also reports host instructions per guest
instruction for hyvm: the guest count from HYVM_TCG_STATS=1, the host count
from `perf stat` where the host has a PMU, else from valgrind (slow: it
then runs --iters 1 and 10): for the whole process at --iters 1, and the
marginal cost of the 9 iterations more (start-up and translation left out).
--hyvm-accel gives hyvm's -accel (tcg,jit=off: the interpreter alone).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

EXIT_DEV = ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def commands(builddir, iters, hyvm_accel="tcg"):
    guest = os.path.join(builddir, "tests", "guests", "workload.elf")
    append = ["-append", "iters=%d" % iters]
    hyvm = [os.path.join(builddir, "hyvm"), "-accel", hyvm_accel, "-M", "microvm",
            "-nographic"] + EXIT_DEV + ["-kernel", guest] + append
    qemu_bin = shutil.which("qemu-system-x86_64")
    qemu = None
    if qemu_bin:
        qemu = [qemu_bin, "-accel", "tcg", "-M", "pc", "-nodefaults", "-display", "none",
                "-serial", "stdio"] + EXIT_DEV + ["-kernel", guest] + append
    return hyvm, qemu


def run(cmd, env=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       env=env)
    dt = time.perf_counter() - t0
    m = re.search(r"workload: \d+ iterations, crc32 \w+, sort \w+", p.stdout)
    if not m or p.returncode != 1:
        sys.exit("%s failed (status %d):\n%s%s" % (cmd[0], p.returncode, p.stdout, p.stderr))
    return dt, m.group(0), p.stderr


def host_instructions(cmd):
    env = dict(os.environ, HYVM_TCG_STATS="1")
    perf = shutil.which("perf")
    if perf:
        p = subprocess.run([perf, "stat", "-x,", "-e", "instructions:u"] + cmd,
                           capture_output=True, text=True, env=env)
        m = re.search(r"^(\d+),,instructions", p.stderr, re.M)
        g = re.search(r"retired (\d+) instructions", p.stderr)
        if m and g:
            return int(m.group(1)), int(g.group(1))
    vg = shutil.which("valgrind")
    if not vg:
        return None
    p = subprocess.run([vg, "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
                       capture_output=True, text=True, env=env)
    m = re.search(r"Collected : (\d+)", p.stderr)
    g = re.search(r"retired (\d+) instructions", p.stderr)
    if m and g:
        return int(m.group(1)), int(g.group(1))
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--count", action="store_true")
    ap.add_argument("--hyvm-accel", default="tcg")
    args = ap.parse_args()

    hyvm, qemu = commands(args.builddir, args.iters, args.hyvm_accel)
    times = {"hyvm": [], "qemu": []}
    outputs = {}
    for _ in range(args.runs):
        for name, cmd in (("hyvm", hyvm), ("qemu", qemu)):
            if cmd:
                dt, out, _ = run(cmd)
                times[name].append(dt)
                outputs[name] = out
    for name in ("hyvm", "qemu"):
        if times[name]:
            print("%s: %.3f s (median of %d), %s"
                  % (name, statistics.median(times[name]), args.runs, outputs[name]))
    if qemu:
        if outputs["hyvm"] != outputs["qemu"]:
            sys.exit("the checksums differ")
        print("ratio hyvm/qemu: %.2f" % (statistics.median(times["hyvm"]) /
                                        statistics.median(times["qemu"])))
    if args.count:
        small, _ = commands(args.builddir, 1, args.hyvm_accel)
        big, _ = commands(args.builddir, 10, args.hyvm_accel)
        counted, counted10 = host_instructions(small), host_instructions(big)
        if counted and counted10:
            host, guest = counted
            host10, guest10 = counted10
            print("hyvm: %d host instructions for %d guest instructions (iters=1, whole "
                  "process): %.1f per guest instruction" % (host, guest, host / guest))
            print("hyvm: iters=10 against iters=1: %d host instructions for %d guest "
                  "instructions more: %.1f per guest instruction"
                  % (host10 - host, guest10 - guest, (host10 - host) / (guest10 - guest)))
        else:
            print("no instruction counter (perf without a PMU, no valgrind)")


if __name__ == "__main__":
    main()
