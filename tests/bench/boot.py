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
import sys

from benchlib import (arg_parser, fixtures, fmt_s, guest_cmd, in_turns, median, peers,
                      run_console)

MARKER = b'HYVM-BOOT-OK'
APPEND = 'console=ttyS0 hyvm.test=poweroff'


def boot_once(cmd, timeout):
    """(marker s, exit s, guest uptime s, problem): a figure the run did not
    reach is None and problem says why."""
    t_marker = None

    def on_output(out, t):
        nonlocal t_marker
        if t_marker is None and MARKER in out:
            t_marker = t

    out, t_exit, problem = run_console(cmd, timeout, on_output)
    uptime = None
    for line in out.splitlines():
        if line.startswith(b'HYVM-UPTIME: '):
            uptime = float(line.split()[1])
            break
    if t_marker is None:
        problem = (problem or 'exit') + f' without the marker; console tail: {out[-300:]!r}'
    return t_marker, t_exit, uptime, problem


def main():
    ap = arg_parser(runs=5, machines='microvm,pc', timeout=300.0)
    ap.add_argument('--smp', type=int, default=1)
    a = ap.parse_args()

    kernel, initrd = fixtures(a.builddir, 'initrd.gz', 'boot.py')
    binaries = peers(a.builddir)

    print(f'-accel {a.accel} -smp {a.smp} -m 256M, -append "{APPEND}", '
          f'median of {a.runs} runs')

    def run_one(binary, machine):
        cmd = guest_cmd(binary, machine, a, '256M', kernel, initrd, APPEND)
        r = boot_once(cmd, a.timeout)
        return r, r[3]

    for machine in a.machines.split(','):
        results = in_turns(binaries, machine, a.runs, lambda binary: run_one(binary, machine))
        med = {}
        for name, _ in binaries:
            runs = results[name]
            med[name] = [median([r[k] for r in runs]) for k in range(3)]
            exits = sum(r[1] is not None for r in runs)
            print(f'{machine:8} {name}: marker {fmt_s(med[name][0])}  exit {fmt_s(med[name][1])}'
                  f'  guest uptime at marker {fmt_s(med[name][2])}'
                  f'  ({exits} of {a.runs} runs exited 0)')
        if 'qemu' in med:
            h, q = med['hyvm'], med['qemu']
            ratios = [f'{label} {h[k] / q[k]:.2f}' if h[k] and q[k] else f'{label} -'
                      for k, label in enumerate(('marker', 'exit', 'guest uptime'))]
            print(f'{machine:8} ratio hyvm/qemu: ' + ', '.join(ratios))
    return 0


if __name__ == '__main__':
    sys.exit(main())
