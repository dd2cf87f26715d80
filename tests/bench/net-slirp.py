#!/usr/bin/env python3
"""Guest-to-host TCP throughput over -netdev user (slirp), hyvm beside QEMU
in one run (never part of meson test).

  tests/bench/net-slirp.py [--builddir build] [--runs 3] [--machines pc,microvm]
                           [--accel tcg] [--mib 64] [--timeout 600]

Serves a file of MIB MiB on 127.0.0.1 (tests/functional/http-serve.py, on
a port the kernel picks) and boots Debian's cloud kernel with the busybox
initrd with the virtio modules of tests/functional/fixtures.py
(initrd-virtio.cpio, built or reused in BUILDDIR/tests/functional/fixtures)
under `hyvm` and `qemu-system-x86_64`, with the same command line and
virtio-net on slirp (-nic user,model=virtio-net-pci on pc, -netdev user
and virtio-net-device on microvm), alternating the two so both see the
same host load.  The guest's /init (hyvm.test=net, hyvm.netmb=MIB) takes
its address by DHCP and runs
  wget -q -O /dev/null http://10.0.2.2:PORT/FILE
between console markers, and powers off.  Each figure is MB/s (10^6 bytes
a second), timed on the host from the START marker to the END marker as
they reach the serial console; the guest's own figure (its /proc/uptime
around wget) is printed beside it.  For each machine it prints the median
over --runs per binary and the ratio hyvm/QEMU (above 1: hyvm is faster).
A run that does not reach a marker, or whose wget fails, is reported and
left out; a boot whose kernel could not calibrate its TSC (a loaded host)
is tried again.
"""
import os
import subprocess
import sys
import tempfile

from benchlib import (arg_parser, fixtures, fmt_mbs, in_turns, marker_value, median,
                      note_markers, peers, run_console)

FILE = 'big.bin'
START, END, RESULT = 'HYVM-NET-BENCH-START', 'HYVM-NET-BENCH-END', 'HYVM-NET-BENCH'
# On a loaded host the kernel may fail to calibrate the TSC against the PIT;
# microvm (no HPET, no PM timer) then stalls, under QEMU too.  Such a boot
# is given up at once and tried again (as tests/functional/vm.c does).
TSC_FAILURE = b'tsc: Unable to calibrate against PIT'
BOOT_TRIES = 3


class TscFailure(Exception):
    pass


def net_args(machine):
    if machine == 'pc':
        return ['-nic', 'user,model=virtio-net-pci']
    return ['-netdev', 'user,id=n0', '-device', 'virtio-net-device,netdev=n0']


def command(binary, machine, accel, kernel, initrd, port, mib):
    append = (f'console=ttyS0 hyvm.test=net hyvm.netport={port} hyvm.netfile={FILE} '
              f'hyvm.netmb={mib}')
    return [binary, '-M', machine, '-accel', accel, '-m', '256M', '-nodefaults',
            '-display', 'none', '-serial', 'stdio', '-kernel', kernel, '-initrd', initrd,
            '-append', append] + net_args(machine)


def run_console_tsc(cmd, timeout, on_output):
    """run_console, once more (up to BOOT_TRIES boots) after a TSC failure."""
    def watch(out, t):
        if TSC_FAILURE in out:
            raise TscFailure()
        on_output(out, t)

    for i in range(BOOT_TRIES):
        try:
            return run_console(cmd, timeout, watch if i < BOOT_TRIES - 1 else on_output)
        except TscFailure:
            print(f'  (the guest could not calibrate its TSC: boot {i + 2})')


def run_once(cmd, mib, timeout):
    """((host MB/s, guest MB/s) or None, problem or None)."""
    seen = {}           # marker -> seconds from exec to its arrival

    def on_output(out, t):
        note_markers(seen, (START, END), out, t)

    out, _, problem = run_console_tsc(cmd, timeout, on_output)
    result = None
    if START not in seen or END not in seen:
        problem = (problem or 'exit') + ' without the bench markers'
    else:
        # The guest's line: wget's exit status, its MiB/s, what wget printed.
        status = marker_value(out, RESULT) or ''
        if not status.startswith('0 '):
            problem = (problem or 'wget') + f' failed: "{status}"'
        else:
            mb = mib * (1 << 20) / 1e6
            host = mb / max(seen[END] - seen[START], 1e-6)
            guest = mb / max(float(marker_value(out, END)) - float(marker_value(out, START)),
                             0.01)
            result = (host, guest)
    if problem:
        problem += f'; console tail: {out[-400:]!r}'
    return result, problem


def serve(directory):
    """http-serve.py on 127.0.0.1: (process, port)."""
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(here, '..', 'functional', 'http-serve.py')
    p = subprocess.Popen([sys.executable, script, '--dir', directory], stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    line = p.stdout.readline()
    if not line.strip().isdigit():
        p.kill()
        sys.exit(f'net-slirp.py: {script} printed no port')
    return p, int(line)


def main():
    ap = arg_parser(runs=3, machines='pc,microvm', timeout=600.0)
    ap.add_argument('--mib', type=int, default=64, help='MiB the guest fetches')
    a = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if a.mib <= 0:
        sys.exit('net-slirp.py: --mib must be positive')

    kernel, initrd = fixtures(a.builddir, 'initrd-virtio.cpio', 'net-slirp.py')
    binaries = peers(a.builddir)

    print(f'-accel {a.accel} -m 256M, virtio-net on -netdev user, wget of {a.mib} MiB from '
          f'127.0.0.1 to /dev/null; MB/s timed by the host (guest\'s own in brackets), '
          f'median of {a.runs} runs')
    with tempfile.TemporaryDirectory(prefix='hyvm-bench-net-') as tmp:
        with open(os.path.join(tmp, FILE), 'wb') as f:
            # Random, so that nothing on the way gains from zeros.
            for _ in range(a.mib):
                f.write(os.urandom(1 << 20))
        server, port = serve(tmp)
        try:
            for machine in a.machines.split(','):
                runs = in_turns(binaries, machine, a.runs, lambda binary: run_once(
                    command(binary, machine, a.accel, kernel, initrd, port, a.mib), a.mib,
                    a.timeout))
                med = {}
                for name, _ in binaries:
                    med[name] = [median([r[k] for r in runs[name] if r]) for k in (0, 1)]
                    host, guest = (fmt_mbs(v) for v in med[name])
                    print(f'{machine:8} {name}: {host} MB/s [{guest}]')
                if 'qemu' in med:
                    h, q = med['hyvm'][0], med['qemu'][0]
                    print(f'{machine:8} ratio hyvm/qemu: ' + (f'{h / q:.2f}' if h and q else '-'))
        finally:
            server.kill()
            server.wait()
    return 0


if __name__ == '__main__':
    sys.exit(main())
