#!/usr/bin/env python3
"""virtio-blk throughput inside the Linux guest, hyvm beside QEMU in one run
(never part of meson test).

  tests/bench/virtio-blk.py [--builddir build] [--runs 3] [--machines pc,microvm]
                            [--accel tcg] [--mib 256] [--timeout 600]

Boots Debian's cloud kernel with the busybox initrd with the virtio
modules of tests/functional/fixtures.py (initrd-virtio.cpio, built or
reused in BUILDDIR/tests/functional/fixtures) under `hyvm` and
`qemu-system-x86_64`, with the same command line and a fresh sparse
512 MiB raw image on virtio-blk (virtio-blk-pci on pc, virtio-blk-device
on microvm), alternating the two so both see the same host load.  The
guest's /init (hyvm.test=ddbench) runs
  dd if=/dev/zero of=/dev/vda bs=1M count=MIB oflag=direct   (write)
  dd if=/dev/vda of=/dev/null bs=1M count=MIB iflag=direct   (read)
between console markers, and powers off.  Each figure is MB/s (10^6 bytes
a second), timed on the host from the START marker to the END marker
as they reach the serial console; the guest's own figure (its
/proc/uptime around dd) is printed beside it.  For each machine it prints
the median over --runs per binary and the ratio hyvm/QEMU (above 1: hyvm
is faster).  A run that does not reach a marker is reported and left out;
a guest that halts or panics is given up on after 2 s.
"""
import os
import sys
import tempfile

from benchlib import (arg_parser, fixtures, fmt_mbs, in_turns, marker_value, median,
                      note_markers, peers, run_console)

IMAGE_BYTES = 512 << 20
DEVICE = {'pc': 'virtio-blk-pci', 'microvm': 'virtio-blk-device'}
PHASES = ('WRITE', 'READ')
# The lines around each dd, in the order the guest prints them.
MARKERS = [f'HYVM-DD-{phase}-{edge}' for phase in PHASES for edge in ('START', 'END')]


def command(binary, machine, accel, kernel, initrd, image, mib):
    # microvm resets only by the triple fault (not needed here: the guest
    # powers off), and has no ACPI-less poweroff: keep its ACPI on.
    append = f'console=ttyS0 hyvm.test=ddbench hyvm.ddmb={mib}'
    return [binary, '-M', machine, '-accel', accel, '-m', '256M', '-nodefaults',
            '-display', 'none', '-serial', 'stdio', '-kernel', kernel, '-initrd', initrd,
            '-append', append, '-drive', f'file={image},if=none,id=d0,format=raw',
            '-device', f'{DEVICE[machine]},drive=d0']


def run_once(cmd, mib, timeout):
    """({phase: (host MB/s, guest MB/s)}, problem)."""
    seen = {}           # marker -> seconds from exec to its arrival

    def on_output(out, t):
        note_markers(seen, MARKERS, out, t)

    out, _, problem = run_console(cmd, timeout, on_output)
    mb = mib * (1 << 20) / 1e6
    results = {}
    for phase in PHASES:
        start, end = (f'HYVM-DD-{phase}-{e}' for e in ('START', 'END'))
        if start not in seen or end not in seen:
            problem = (problem or 'exit') + f' without the {phase} markers'
            continue
        host = mb / max(seen[end] - seen[start], 1e-6)
        g0 = marker_value(out, start)
        g1 = marker_value(out, end)
        guest = mb / max(float(g1) - float(g0), 0.01)
        dd = marker_value(out, f'HYVM-DD-{phase}') or ''
        # The guest's line: dd's exit status, then what dd printed.
        if not dd.startswith('0 '):
            problem = (problem or 'dd') + f' {phase.lower()}: "{dd}"'
            continue
        results[phase] = (host, guest)
    if problem:
        problem += f'; console tail: {out[-400:]!r}'
    return results, problem


def main():
    ap = arg_parser(runs=3, machines='pc,microvm', timeout=600.0)
    ap.add_argument('--mib', type=int, default=256, help='MiB each dd moves (image: 512 MiB)')
    a = ap.parse_args()
    if not 0 < a.mib <= IMAGE_BYTES >> 20:
        sys.exit(f'virtio-blk.py: --mib must be 1..{IMAGE_BYTES >> 20}')

    kernel, initrd = fixtures(a.builddir, 'initrd-virtio.cpio', 'virtio-blk.py')
    binaries = peers(a.builddir)

    print(f'-accel {a.accel} -m 256M, 512 MiB raw image on virtio-blk, dd of {a.mib} MiB '
          f'bs=1M O_DIRECT; MB/s timed by the host (guest\'s own in brackets), '
          f'median of {a.runs} runs')
    with tempfile.TemporaryDirectory(prefix='hyvm-bench-blk-') as tmp:
        image = os.path.join(tmp, 'disk.raw')

        def run_one(binary, machine):
            # A fresh sparse image: both write into holes.
            with open(image, 'wb') as f:
                f.truncate(IMAGE_BYTES)
            return run_once(command(binary, machine, a.accel, kernel, initrd, image, a.mib),
                            a.mib, a.timeout)

        for machine in a.machines.split(','):
            runs = in_turns(binaries, machine, a.runs,
                            lambda binary: run_one(binary, machine))
            med = {}
            for name, _ in binaries:
                med[name] = {ph: [median([r[ph][k] for r in runs[name] if ph in r])
                                  for k in (0, 1)] for ph in PHASES}
                print(f'{machine:8} {name}: ' + '  '.join(
                    f'{ph.lower()} {fmt_mbs(host)} MB/s [{fmt_mbs(guest)}]'
                    for ph, (host, guest) in med[name].items()))
            if 'qemu' in med:
                ratios = []
                for ph in PHASES:
                    h, q = med['hyvm'][ph][0], med['qemu'][ph][0]
                    ratios.append(f'{ph.lower()} {h / q:.2f}' if h and q else f'{ph.lower()} -')
                print(f'{machine:8} ratio hyvm/qemu: ' + ', '.join(ratios))
    return 0


if __name__ == '__main__':
    sys.exit(main())
