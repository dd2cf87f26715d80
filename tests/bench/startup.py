#!/usr/bin/env python3
"""Start-up benchmark, hyvm beside QEMU in one run (never part of meson test).

  tests/bench/startup.py [--builddir build] [--runs 10] [--accel kvm]

1. Time from exec to the hello guest's first serial byte, median of --runs.
2. Idle RSS of `-S -M microvm -m 512` after one second.
Prints each figure for hyvm and qemu-system-x86_64 and their ratio.
"""
import argparse
import os
import select
import shutil
import statistics
import subprocess
import sys
import time


def first_byte_seconds(cmd, timeout=30.0):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        r, _, _ = select.select([p.stdout], [], [], timeout)
        if not r or not os.read(p.stdout.fileno(), 1):
            return None
        return time.perf_counter() - t0
    finally:
        p.kill()
        p.wait()


def idle_rss_kib(cmd, settle=1.0):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        time.sleep(settle)
        with open(f'/proc/{p.pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        return None
    finally:
        p.kill()
        p.wait()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--builddir', default='build')
    ap.add_argument('--runs', type=int, default=10)
    ap.add_argument('--accel', default='kvm')
    a = ap.parse_args()

    hyvm = os.path.join(a.builddir, 'hyvm')
    guest = os.path.join(a.builddir, 'tests/guests/hello.elf')
    qemu = shutil.which('qemu-system-x86_64')
    common = ['-accel', a.accel, '-m', '64', '-display', 'none', '-serial', 'stdio',
              '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-kernel', guest]
    peers = [('hyvm', [hyvm, '-M', 'microvm'] + common)]
    if qemu:
        # QEMU's microvm cannot load Multiboot images; its pc machine can.
        peers.append(('qemu', [qemu, '-M', 'pc', '-nodefaults'] + common))
    else:
        print('qemu-system-x86_64 not found: hyvm figures only')

    results = {}
    for name, cmd in peers:
        times = [first_byte_seconds(cmd) for _ in range(a.runs)]
        times = [t for t in times if t is not None]
        results[name] = statistics.median(times) if times else None
        print(f'{name}: exec to first serial byte: '
              + (f'{results[name] * 1000:.1f} ms (median of {len(times)})'
                 if times else 'no output'))
    if results.get('hyvm') and results.get('qemu'):
        print(f'ratio hyvm/qemu: {results["hyvm"] / results["qemu"]:.3f}')

    rss = {}
    idle = [('hyvm', [hyvm, '-S', '-M', 'microvm', '-m', '512', '-accel', a.accel,
                      '-display', 'none'])]
    if qemu:
        idle.append(('qemu', [qemu, '-S', '-M', 'microvm', '-m', '512', '-accel', a.accel,
                              '-display', 'none']))
    for name, cmd in idle:
        rss[name] = idle_rss_kib(cmd)
        print(f'{name}: idle RSS of -S -M microvm -m 512: {rss[name]} KiB')
    if rss.get('hyvm') and rss.get('qemu'):
        print(f'ratio hyvm/qemu: {rss["hyvm"] / rss["qemu"]:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
