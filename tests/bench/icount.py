#!/usr/bin/env python3
"""Deterministic mode against normal mode, hyvm beside QEMU (never part of meson test).

  tests/bench/icount.py [--builddir build] [--runs 5] [--machines microvm,pc]
                        [--smp 1] [--icount shift=0,sleep=off] [--timeout 300]

Boots the functional guest of tests/functional/fixtures.py
("console=ttyS0 hyvm.test=poweroff": /init prints its marker and powers off)
with -accel tcg, once as is and once with `-icount ICOUNT -rtc
clock=vm,base=2020-01-01T00:00:00`, under `hyvm` and `qemu-system-x86_64`,
all four taken in turns so they see the same host load.  For each machine it
prints the median wall time from exec to the VM's exit, the ratio
deterministic/normal for each binary, and hyvm/QEMU for each mode.  It also
says whether the two deterministic runs of each binary it compares printed
the same console (the first two runs).
"""
import sys

from benchlib import arg_parser, fixtures, fmt_s, guest_cmd, median, peers, run_console

APPEND = 'console=ttyS0 hyvm.test=poweroff'
RTC = ['-rtc', 'clock=vm,base=2020-01-01T00:00:00']


def main():
    ap = arg_parser(runs=5, machines='microvm,pc', timeout=300.0)
    ap.add_argument('--smp', type=int, default=1)
    ap.add_argument('--icount', default='shift=0,sleep=off')
    a = ap.parse_args()

    kernel, initrd = fixtures(a.builddir, 'initrd.gz', 'icount.py')
    binaries = peers(a.builddir)
    modes = [('normal', []), ('icount', ['-icount', a.icount] + RTC)]
    print(f'-accel {a.accel} -smp {a.smp} -m 256M, -append "{APPEND}", '
          f'deterministic: -icount {a.icount} {" ".join(RTC)}; median of {a.runs} runs, '
          'exec to exit')

    for machine in a.machines.split(','):
        times = {(n, m): [] for n, _ in binaries for m, _ in modes}
        consoles = {n: [] for n, _ in binaries}
        for i in range(a.runs):
            for name, binary in binaries:
                for mode, extra in modes:
                    cmd = guest_cmd(binary, machine, a, '256M', kernel, initrd, APPEND) + extra
                    out, t_exit, problem = run_console(cmd, a.timeout, lambda out, t: None)
                    if problem:
                        print(f'{machine} {name} {mode} run {i + 1}: {problem}')
                    times[(name, mode)].append(t_exit)
                    if mode == 'icount' and len(consoles[name]) < 2:
                        consoles[name].append(out)
        med = {k: median(v) for k, v in times.items()}
        for name, _ in binaries:
            n, d = med[(name, 'normal')], med[(name, 'icount')]
            same = consoles[name][0] == consoles[name][1] if len(consoles[name]) == 2 else None
            print(f'{machine:8} {name:5}: normal {fmt_s(n)}  icount {fmt_s(d)}  '
                  f'ratio icount/normal {d / n:.2f}' if n and d else
                  f'{machine:8} {name:5}: normal {fmt_s(n)}  icount {fmt_s(d)}',
                  f' (deterministic runs {"identical" if same else "DIFFER" if same is not None else "-"})')
        if len(binaries) > 1:
            for mode, _ in modes:
                h, q = med[('hyvm', mode)], med[('qemu', mode)]
                print(f'{machine:8} {mode:6} hyvm/qemu: {h / q:.2f}' if h and q else
                      f'{machine:8} {mode:6} hyvm/qemu: -')
    return 0


if __name__ == '__main__':
    sys.exit(main())
