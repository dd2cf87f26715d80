#!/usr/bin/env python3
"""Start-up benchmark, hyvm beside QEMU in one run (never part of meson test).

  tests/bench/startup.py [--builddir build] [--runs 10] [--accel kvm]
                         [--kernel vmlinuz --initrd initrd.gz] [--parallel 2]

1. Time from exec to the hello guest's first serial byte, median of --runs.
2. Idle RSS of `-S -M microvm -m 512` after one second.
3. With --kernel and --initrd (tests/functional's fixtures): the start-up
   cost of a Linux boot, 1 and --parallel VMs at once: exec to the monitor's
   banner under -S (the machine built, kernel and initrd loaded, no guest
   instruction run), and exec to the kernel's "Linux version" line on the
   serial port; the process's RSS (anonymous and file-backed) and minor
   faults at each point.
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


def proc_figures(pid):
    """RssAnon, RssFile (KiB) and minor faults of a running process."""
    d = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('RssAnon', 'RssFile'):
                d[k] = int(v.split()[0])
    with open(f'/proc/{pid}/stat') as f:
        d['minflt'] = int(f.read().rsplit(')', 1)[1].split()[7])
    return d


def until_output(cmds, marker, timeout=120.0):
    """Starts cmds at once; for each, seconds from exec until marker is in
    its stdout, with proc_figures() then.  None for one that never said it."""
    t0 = time.perf_counter()
    ps = [subprocess.Popen(c, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL) for c in cmds]
    res, buf = [None] * len(ps), [b''] * len(ps)
    left = set(range(len(ps)))
    try:
        while left and time.perf_counter() - t0 < timeout:
            fds = {ps[i].stdout.fileno(): i for i in left}
            r, _, _ = select.select(list(fds), [], [], 1.0)
            for fd in r:
                i = fds[fd]
                data = os.read(fd, 65536)
                if not data:
                    left.discard(i)
                    continue
                buf[i] += data
                if marker in buf[i]:
                    res[i] = dict(seconds=time.perf_counter() - t0, **proc_figures(ps[i].pid))
                    left.discard(i)
    finally:
        for p in ps:
            p.kill()
            p.wait()
    return res


def linux_startup(peers, kernel, initrd, runs, parallel):
    common = ['-M', 'microvm', '-m', '256M', '-display', 'none', '-nic', 'none',
              '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0']
    points = [('built (-S, monitor banner)', ['-S', '-monitor', 'stdio'], b'(qemu)'),
              ('kernel\'s first line', ['-serial', 'stdio'], b'Linux version')]
    for what, extra, marker in points:
        for n in sorted({1, parallel}):
            for name, base in peers:
                got = []
                for _ in range(runs):
                    got += [r for r in until_output([base + common + extra] * n, marker) if r]
                if not got:
                    print(f'{name}: {what}, {n} VM(s): no output')
                    continue
                med = {k: statistics.median(r[k] for r in got) for k in got[0]}
                print(f'{name}: {what}, {n} VM(s) at once: {med["seconds"] * 1000:.1f} ms, '
                      f'RSS anon {med["RssAnon"]:.0f} KiB + file {med["RssFile"]:.0f} KiB, '
                      f'{med["minflt"]:.0f} minor faults (median of {len(got)})')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--builddir', default='build')
    ap.add_argument('--runs', type=int, default=10)
    ap.add_argument('--accel', default='kvm')
    ap.add_argument('--kernel', help='a bzImage (tests/functional/fixtures/vmlinuz)')
    ap.add_argument('--initrd', help='its initrd (tests/functional/fixtures/initrd.gz)')
    ap.add_argument('--parallel', type=int, default=2)
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

    if a.kernel and a.initrd:
        # QEMU's microvm boots a bzImage through its firmware (qboot or SeaBIOS).
        linux_peers = [('hyvm', [hyvm, '-accel', a.accel])]
        if qemu:
            linux_peers.append(('qemu', [qemu, '-accel', a.accel]))
        linux_startup(linux_peers, a.kernel, a.initrd, a.runs, a.parallel)
    return 0


if __name__ == '__main__':
    sys.exit(main())
