#!/usr/bin/env python3
"""Firmware boot benchmark, hyvm beside QEMU in one run (never part of meson test).

  tests/bench/firmware.py [--builddir build] [--runs 5] [--accel tcg]
                          [--disks none,ide,virtio,cdrom] [--timeout 300]

Boots the images of tests/functional/bootdisk.py (built or reused in
BUILDDIR/tests/functional/fixtures/boot) the way people start QEMU, with no
-kernel: SeaBIOS, syslinux (isolinux for the CD) loading Debian's kernel and
the busybox initrd from the disk, then Linux, whose /init prints its marker
and powers off.  Same command line for both binaries:
  qemu-system-x86_64 -M pc -m 256M -nographic -net none -accel tcg DRIVE
with DRIVE one of
  none     -boot reboot-timeout=0 -no-reboot with no disk: SeaBIOS's POST
           to its "No bootable device." line, then the exit
  ide      -drive file=disk-a.img,format=raw          (IDE, the default if=)
  virtio   -drive file=disk-a.img,format=raw,if=virtio
  cdrom    -cdrom cd.iso
alternating the two binaries so both see the same host load.  For each it
prints the median over --runs of
  loader  exec to the boot loader's first line (SeaBIOS done), or with
          no disk to "No bootable device."
  marker  exec to the guest's HYVM-BOOT-OK line
  exit    exec to the VM's exit after the guest's poweroff
and the ratios hyvm/QEMU.
"""
import os
import subprocess
import sys

from benchlib import arg_parser, fixtures, fmt_s, in_turns, median, peers, run_console

DRIVES = {
    'none': (['-boot', 'reboot-timeout=0', '-no-reboot'], b'No bootable device.'),
    'ide': (['-drive', 'file={boot}/disk-a.img,format=raw'], b'HYVM-LOADER-a'),
    'virtio': (['-drive', 'file={boot}/disk-a.img,format=raw,if=virtio'], b'HYVM-LOADER-a'),
    'cdrom': (['-cdrom', '{boot}/cd.iso'], b'HYVM-LOADER-cd'),
}
MARKER = b'HYVM-BOOT-OK'


def boot_once(cmd, loader, timeout):
    """(loader s, marker s, exit s, problem)."""
    seen = {}

    def on_output(out, t):
        for key in (loader, MARKER):
            if key not in seen and key in out:
                seen[key] = t

    out, t_exit, problem = run_console(cmd, timeout, on_output)
    if MARKER not in seen and not loader.startswith(b'No bootable'):
        problem = (problem or 'exit') + f' without the marker; console tail: {out[-300:]!r}'
    return seen.get(loader), seen.get(MARKER), t_exit, problem


def main():
    ap = arg_parser(runs=5, machines='pc', timeout=300.0)
    ap.add_argument('--disks', default='none,ide,virtio,cdrom')
    a = ap.parse_args()

    kernel, _ = fixtures(a.builddir, 'initrd.gz', 'firmware.py')
    fixdir = os.path.dirname(kernel)
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run([sys.executable, os.path.join(here, '..', 'functional', 'bootdisk.py'),
                        fixdir])
    if r.returncode != 0:
        sys.exit(f'firmware.py: bootdisk.py failed (status {r.returncode})')
    boot = os.path.join(fixdir, 'boot')
    binaries = peers(a.builddir)
    print(f'-M pc -m 256M -nographic -net none -accel {a.accel}, no -kernel, '
          f'median of {a.runs} runs')

    for disk in a.disks.split(','):
        drive, loader = DRIVES[disk]

        def run_one(binary):
            cmd = [binary, '-M', 'pc', '-m', '256M', '-nographic', '-net', 'none',
                   '-accel', a.accel] + [d.format(boot=boot) for d in drive]
            res = boot_once(cmd, loader, a.timeout)
            return res, res[3]

        results = in_turns(binaries, disk, a.runs, run_one)
        med = {}
        for name, _ in binaries:
            runs = results[name]
            med[name] = [median([r[k] for r in runs]) for k in range(3)]
            print(f'{disk:7} {name}: loader {fmt_s(med[name][0])}  marker {fmt_s(med[name][1])}'
                  f'  exit {fmt_s(med[name][2])}')
        if 'qemu' in med:
            h, q = med['hyvm'], med['qemu']
            ratios = [f'{label} {h[k] / q[k]:.2f}' if h[k] and q[k] else f'{label} -'
                      for k, label in enumerate(('loader', 'marker', 'exit'))]
            print(f'{disk:7} ratio hyvm/qemu: ' + ', '.join(ratios))
    return 0


if __name__ == '__main__':
    sys.exit(main())
