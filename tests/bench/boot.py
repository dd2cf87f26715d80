#!/usr/bin/env python3
"""Linux boot benchmark, hyvm beside QEMU in one run (never part of meson test).

  tests/bench/boot.py [--builddir build] [--runs 5] [--machines microvm,pc]
                      [--accel tcg] [--smp 1] [--timeout 300]

Boots Debian's cloud kernel with the busybox initrd of
tests/functional/fixtures.py (built or reused in BUILDDIR/tests/functional/
fixtures) under `hyvm` and `qemu-system-x86_64`, same kernel, initrd and
command line ("console=ttyS0 hyvm.test=poweroff": /init prints its marker
and powers off), alternating the two so both see the same host load.
For each machine it prints the median over --runs of
  marker  wall time from exec to the guest's HYVM-BOOT-OK line
  exit    wall time from exec to the VM's exit after the guest's poweroff
  uptime  the guest's /proc/uptime at the marker (its own idea of the boot)
for each binary, and the ratios hyvm/QEMU.  A run that does not reach the
marker, or does not exit with status 0, is reported and the figure it did
not reach is left out of the medians; a guest that halts or panics is
given up on after 2 s.
"""
import argparse
import os
import select
import shutil
import statistics
import subprocess
import sys
import time

MARKER = b'HYVM-BOOT-OK'
APPEND = 'console=ttyS0 hyvm.test=poweroff'
# Kernel lines after which the guest does nothing more.
DEAD_ENDS = [b'reboot: System halted', b'Kernel panic - not syncing']


def fixtures(builddir):
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(here, '..', 'functional', 'fixtures.py')
    outdir = os.path.join(builddir, 'tests', 'functional', 'fixtures')
    r = subprocess.run([sys.executable, script, outdir])
    if r.returncode != 0:
        sys.exit(f'boot.py: {script} failed (status {r.returncode})')
    return os.path.join(outdir, 'vmlinuz'), os.path.join(outdir, 'initrd.gz')


def boot_once(cmd, timeout):
    """(marker s, exit s, guest uptime s, problem): a figure the run did not
    reach is None and problem says why."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = b''
    t_marker = t_exit = t_dead = None
    problem = None
    try:
        while True:
            now = time.perf_counter()
            if now - t0 >= timeout:
                problem = f'no exit within {timeout} s'
                break
            # A guest at a dead end never exits: 2 s of grace, then give up.
            if t_dead is not None and now - t_dead > 2:
                problem = 'the guest stopped: ' + next(d.decode() for d in DEAD_ENDS if d in out)
                break
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if not r:
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                status = p.wait()
                t_exit = time.perf_counter() - t0
                if status != 0:
                    problem = f'exit status {status}'
                    t_exit = None
                break
            out += chunk
            if t_marker is None and MARKER in out:
                t_marker = time.perf_counter() - t0
            if t_dead is None and any(d in out for d in DEAD_ENDS):
                t_dead = time.perf_counter()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    uptime = None
    for line in out.splitlines():
        if line.startswith(b'HYVM-UPTIME: '):
            uptime = float(line.split()[1])
            break
    if t_marker is None:
        problem = (problem or 'exit') + f' without the marker; console tail: {out[-300:]!r}'
    return t_marker, t_exit, uptime, problem


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v):
    return f'{v:7.2f} s' if v is not None else '      -  '


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--builddir', default='build')
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--machines', default='microvm,pc')
    ap.add_argument('--accel', default='tcg')
    ap.add_argument('--smp', type=int, default=1)
    ap.add_argument('--timeout', type=float, default=300.0)
    a = ap.parse_args()

    kernel, initrd = fixtures(a.builddir)
    peers = [('hyvm', os.path.join(a.builddir, 'hyvm'))]
    qemu = shutil.which('qemu-system-x86_64')
    if qemu:
        peers.append(('qemu', qemu))
    else:
        print('qemu-system-x86_64 not found: hyvm figures only')

    print(f'-accel {a.accel} -smp {a.smp} -m 256M, -append "{APPEND}", '
          f'median of {a.runs} runs')
    for machine in a.machines.split(','):
        results = {name: [] for name, _ in peers}
        for i in range(a.runs):
            for name, binary in peers:
                cmd = [binary, '-M', machine, '-accel', a.accel, '-m', '256M',
                       '-smp', str(a.smp), '-nodefaults', '-display', 'none',
                       '-serial', 'stdio', '-kernel', kernel, '-initrd', initrd,
                       '-append', APPEND]
                r = boot_once(cmd, a.timeout)
                if r[3]:
                    print(f'{machine} {name} run {i + 1}: {r[3]}')
                results[name].append(r)
        med = {}
        for name, _ in peers:
            runs = results[name]
            med[name] = [median([r[k] for r in runs]) for k in range(3)]
            exits = sum(r[1] is not None for r in runs)
            print(f'{machine:8} {name}: marker {fmt(med[name][0])}  exit {fmt(med[name][1])}'
                  f'  guest uptime at marker {fmt(med[name][2])}'
                  f'  ({exits} of {a.runs} runs exited 0)')
        if 'qemu' in med:
            h, q = med['hyvm'], med['qemu']
            ratios = [f'{label} {h[k] / q[k]:.2f}' if h[k] and q[k] else f'{label} -'
                      for k, label in enumerate(('marker', 'exit', 'guest uptime'))]
            print(f'{machine:8} ratio hyvm/qemu: ' + ', '.join(ratios))
    return 0


if __name__ == '__main__':
    sys.exit(main())
