#!/usr/bin/env python3
"""Boot matrix benchmark: hyvm-matrix beside a shell loop of QEMU (never
part of meson test).

  tests/bench/matrix.py [--builddir build] [--jobs 2] [--accel tcg]
                        [--timeout 300] [--no-hyvm-loop]

A 16-case matrix of the functional guest of tests/functional/fixtures.py
(built or reused in BUILDDIR/tests/functional/fixtures): -M microvm and pc
x -smp 1 and 2 x 4 extra option variants (none, -cpu max, -name bench,
-rtc base=utc), -m 256M, -append "console=ttyS0 hyvm.test=poweroff
tsc_early_khz=2000000" (/init prints its marker and powers off; the TSC
rate given skips the kernel's calibration against the PIT, which two
loaded VMs at once can break on microvm, under QEMU as under hyvm).

It times, wall clock, one after the other:
  hyvm-matrix   hyvm-matrix -j JOBS over the matrix file: the cases, their
                logs and verdicts (marker seen, exit status 0)
  qemu loop     the same 16 command lines (as hyvm-matrix --list -v prints
                them) with qemu-system-x86_64 in hyvm's place, run JOBS at
                a time by xargs -P, each script writing its console to a log
                and judging it as a CI loop would (timeout, exit status,
                grep for the marker)
  hyvm loop     the same shell loop with hyvm (unless --no-hyvm-loop): the
                runner's own cost is the difference to hyvm-matrix
and prints each with the number of cases that passed, and the ratios.
The three run one after the other: on a shared host, run it more than
once.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import fixtures

MARKER = 'HYVM-BOOT-OK'
APPEND = 'console=ttyS0 hyvm.test=poweroff tsc_early_khz=2000000'
EXTRAS = ['', '-cpu max', '-name bench', '-rtc base=utc']


def matrix_text(kernel, initrd, accel, timeout):
    return '\n'.join([
        '# tests/bench/matrix.py: 2 machines x 2 smp x 4 extra = 16 cases',
        '[matrix]',
        f'kernels={kernel}',
        f'initrds={initrd}',
        'machines=microvm;pc',
        f'accels={accel}',
        'smp=1;2',
        'extra=' + ';'.join(EXTRAS),
        'memory=256M',
        f'append={APPEND}',
        f'timeout={int(timeout)}',
        f'expect=^{MARKER}\\r?$',
        '',
    ])


def run_matrix(matrix, hyvm, mfile, workdir, jobs):
    """(seconds, passed, total) of hyvm-matrix over mfile."""
    t0 = time.perf_counter()
    r = subprocess.run([matrix, f'-j{jobs}', '--hyvm', hyvm, '--logs',
                        os.path.join(workdir, 'matrix-logs'), mfile],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    secs = time.perf_counter() - t0
    oks = len(re.findall(r'^ok \d+ ', r.stdout, re.M))
    total = re.search(r'^1\.\.(\d+)$', r.stdout, re.M)
    if r.returncode != 0:
        print(f'hyvm-matrix exit status {r.returncode}:\n{r.stdout[-2000:]}{r.stderr[-500:]}')
    return secs, oks, int(total.group(1)) if total else 0


def listed_commands(matrix, mfile):
    """The cases' command lines, shell-quoted, as hyvm-matrix runs them."""
    out = subprocess.run([matrix, '--list', '-v', '--hyvm', 'HYVM', mfile], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return [line[len('  command: '):] for line in out.splitlines()
            if line.startswith('  command: ')]


def run_loop(binary, commands, workdir, name, jobs, timeout):
    """(seconds, passed) of a shell loop: one script per case, xargs -P."""
    d = os.path.join(workdir, name)
    os.makedirs(d)
    for i, cmd in enumerate(commands):
        assert cmd.startswith('HYVM ')
        log = os.path.join(d, f'{i:02}.log')
        with open(os.path.join(d, f'{i:02}.sh'), 'w') as f:
            f.write(f'timeout -k 3 {int(timeout)} {binary} {cmd[len("HYVM "):]} '
                    f'</dev/null >{log} 2>&1 && grep -q "^{MARKER}" {log} && '
                    f'touch {log}.pass\n')
    scripts = sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith('.sh'))
    t0 = time.perf_counter()
    subprocess.run(['xargs', '-P', str(jobs), '-n', '1', 'sh'], input='\n'.join(scripts),
                   text=True, check=False)
    secs = time.perf_counter() - t0
    passed = sum(n.endswith('.pass') for n in os.listdir(d))
    return secs, passed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--builddir', default='build')
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--accel', default='tcg')
    ap.add_argument('--timeout', type=float, default=300.0)
    ap.add_argument('--no-hyvm-loop', action='store_true')
    a = ap.parse_args()

    hyvm = os.path.abspath(os.path.join(a.builddir, 'hyvm'))
    matrix = os.path.abspath(os.path.join(a.builddir, 'tools', 'hyvm-matrix'))
    qemu = shutil.which('qemu-system-x86_64')
    for p in (hyvm, matrix):
        if not os.access(p, os.X_OK):
            sys.exit(f'matrix.py: {p} is not built')
    kernel, initrd = fixtures(a.builddir, 'initrd.gz', 'matrix.py')

    with tempfile.TemporaryDirectory(prefix='hyvm-bench-matrix-') as work:
        mfile = os.path.join(work, 'bench.matrix')
        with open(mfile, 'w') as f:
            f.write(matrix_text(os.path.abspath(kernel), os.path.abspath(initrd), a.accel,
                                a.timeout))
        commands = listed_commands(matrix, mfile)
        print(f'{len(commands)} cases (microvm, pc x smp 1, 2 x {len(EXTRAS)} extra), '
              f'-accel {a.accel}, {a.jobs} at a time; -append "{APPEND}"')

        m_secs, m_ok, m_total = run_matrix(matrix, hyvm, mfile, work, a.jobs)
        print(f'hyvm-matrix -j{a.jobs}:       {m_secs:7.2f} s  ({m_ok} of {m_total} ok)')
        h_secs = None
        if not a.no_hyvm_loop:
            h_secs, h_ok = run_loop(hyvm, commands, work, 'hyvm-loop', a.jobs, a.timeout)
            print(f'hyvm, xargs -P{a.jobs} loop:   {h_secs:7.2f} s  ({h_ok} of '
                  f'{len(commands)} passed)')
        if not qemu:
            print('qemu-system-x86_64 not found: hyvm figures only')
            return
        q_secs, q_ok = run_loop(qemu, commands, work, 'qemu-loop', a.jobs, a.timeout)
        print(f'qemu, xargs -P{a.jobs} loop:   {q_secs:7.2f} s  ({q_ok} of {len(commands)} '
              f'passed)')
        print(f'ratio hyvm-matrix / qemu loop: {m_secs / q_secs:.2f}')
        if h_secs:
            # Same VMs: what is left is the runner against xargs and sh (and
            # the host's load, which moves between the runs).
            print(f'ratio hyvm-matrix / hyvm loop: {m_secs / h_secs:.2f}')


if __name__ == '__main__':
    main()
