#!/usr/bin/env python3
"""CPU work inside the Linux guest, hyvm beside QEMU in one run (never part
of meson test).

  tests/bench/guest-work.py [--builddir build] [--runs 3] [--machines microvm,pc]
                            [--accel tcg] [--smp 1] [--timeout 900]

Boots Debian's cloud kernel with the busybox initrd of
tests/functional/fixtures.py (built or reused in BUILDDIR/tests/functional/
fixtures) under `hyvm` and `qemu-system-x86_64`, same kernel, initrd and
command line ("console=ttyS0 hyvm.test=cpubench", -m 512M: the guest's
files are in RAM), alternating the two so both see the same host load.
The guest makes its inputs (untimed, the same bytes on every run), then
times with its /proc/uptime (10 ms steps)
  sha256  sha256sum of 32 MiB
  shloop  a busybox sh loop of 20000 iterations
  gzip    gzip -1 of 16 MiB (incompressible; busybox's gzip has one level)
For each machine it prints the median over --runs of each workload's guest
seconds for each binary, and the ratios hyvm/QEMU; below them the same from
the host's clock (the wall time between the guest's lines before and after
the workload, on the console), a check on the guest's.  A run that fails,
times out, or misses a figure is reported and left out.  The guest's
checks of the results (the sha256 digest, the size and md5 of gzip's
output) must be the same for every run: a difference is reported.
"""
import re
import sys

from benchlib import (arg_parser, fixtures, fmt_s, guest_cmd, in_turns, median, peers,
                      run_console)

APPEND = 'console=ttyS0 hyvm.test=cpubench'
MEM = '512M'
WORKLOADS = ('sha256', 'shloop', 'gzip')
DONE = b'HYVM-CPUBENCH-DONE'


def work_once(cmd, timeout):
    """({workload: (guest s, host s)} and (sha256 check, gzip check)), or
    None and the problem."""
    start, end = {}, {}

    def on_output(out, t):
        for w in WORKLOADS:
            if w not in start and b'\nHYVM-CPUBENCH-START: %s' % w.encode() in out:
                start[w] = t
            if w not in end and re.search(rb'\nHYVM-CPUBENCH(-FAILED)?: %s ' % w.encode(), out):
                end[w] = t

    out, t_exit, problem = run_console(cmd, timeout, on_output)
    guest = {m.group(1).decode(): float(m.group(2))
             for m in re.finditer(rb'^HYVM-CPUBENCH: (\w+) ([0-9.]+)\r?$', out, re.M)}
    failed = [m.group(1).decode().strip()
              for m in re.finditer(rb'^HYVM-CPUBENCH-FAILED: (.*)$', out, re.M)]
    checks = tuple((m.group(1).decode().strip() if m else None)
                   for m in (re.search(rb'^HYVM-CPUBENCH-%s: (.*)$' % k, out, re.M)
                             for k in (b'SHA256', b'GZIP')))
    if failed:
        problem = 'failed in the guest (workload, exit status): ' + ', '.join(failed)
    elif DONE not in out or any(w not in guest or w not in start or w not in end
                                for w in WORKLOADS):
        problem = (problem or 'exit') + f' without all the figures; console tail: {out[-300:]!r}'
    elif t_exit is None and problem is None:
        problem = 'no exit'
    if problem:
        return None, problem
    return ({w: (guest[w], end[w] - start[w]) for w in WORKLOADS}, checks), None


def main():
    ap = arg_parser(runs=3, machines='microvm,pc', timeout=900.0)
    ap.add_argument('--smp', type=int, default=1)
    a = ap.parse_args()

    kernel, initrd = fixtures(a.builddir, 'initrd.gz', 'guest-work.py')
    binaries = peers(a.builddir)

    print(f'-accel {a.accel} -smp {a.smp} -m {MEM}, -append "{APPEND}", '
          f'median of {a.runs} runs')

    def run_one(binary, machine):
        cmd = guest_cmd(binary, machine, a, MEM, kernel, initrd, APPEND)
        return work_once(cmd, a.timeout)

    for machine in a.machines.split(','):
        results = in_turns(binaries, machine, a.runs, lambda binary: run_one(binary, machine))
        # med[name][clock] = [median of each workload]; clock 0 guest, 1 host
        med = {}
        for name, _ in binaries:
            runs = [r for r in results[name] if r is not None]
            med[name] = [[median([r[0][w][clock] for r in runs]) for w in WORKLOADS]
                         for clock in (0, 1)]
            for clock, label in ((0, 'guest'), (1, 'host ')):
                print(f'{machine:8} {name:4} {label}: '
                      + '  '.join(f'{w} {fmt_s(v)}' for w, v in zip(WORKLOADS, med[name][clock]))
                      + (f'  ({len(runs)} of {a.runs} runs)' if clock == 0 else ''))
        if 'qemu' in med:
            for clock, label in ((0, 'guest'), (1, 'host ')):
                h, q = med['hyvm'][clock], med['qemu'][clock]
                print(f'{machine:8} ratio hyvm/qemu {label}: ' + ', '.join(
                    f'{w} {hv / qv:.2f}' if hv and qv else f'{w} -'
                    for w, hv, qv in zip(WORKLOADS, h, q)))
        seen = {}
        for name, _ in binaries:
            for i, r in enumerate(results[name]):
                if r is not None:
                    seen.setdefault(r[1], []).append(f'{name} run {i + 1}')
        if len(seen) > 1:
            print(f'{machine:8} the guest computed different results:')
        for (sha, gz), who in seen.items():
            print(f'{machine:8} sha256 {sha}, gzip {gz}: {", ".join(who)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
