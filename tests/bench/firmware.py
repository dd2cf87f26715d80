#!/usr/bin/env python3
"""Firmware boot benchmark, hyvm beside QEMU in one run (never part of meson test).

  tests/bench/firmware.py [--builddir build] [--runs 5] [--accel tcg] [--smp 1]
                          [--no-syslinux]

1. Time from exec to SeaBIOS's "No bootable device." on the serial console of
   `-M pc -nographic -nic none` with no disk (QEMU 7.2 probes its IDE
   CD-ROM and floppy on the way, hyvm has neither yet).
2. Time from exec to the initrd's HYVM-BOOT-OK marker of a SYSLINUX disk on
   virtio-blk-pci (made with mtools and syslinux from tests/functional's
   fixtures, as test-firmware makes it): SeaBIOS, SYSLINUX's INT 13h loads,
   then Linux.
Medians of --runs, taken in turns; each figure for hyvm and
qemu-system-x86_64 and their ratio.
"""
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

import benchlib

NO_BOOT = b'No bootable device.'
MARKER = b'HYVM-BOOT-OK'
DISK_MIB = 40
PART_LBA = 2048
SYSLINUX_MBR = '/usr/lib/syslinux/mbr/mbr.bin'


def time_to(cmd, needle, timeout):
    """Seconds from exec to needle on stdout, or None; the VM is killed then."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    out = b''
    try:
        while needle not in out:
            left = timeout - (time.perf_counter() - t0)
            if left <= 0:
                return None
            r, _, _ = select.select([p.stdout], [], [], left)
            chunk = os.read(p.stdout.fileno(), 65536) if r else b''
            if not chunk:
                return None
            out += chunk
        return time.perf_counter() - t0
    finally:
        p.kill()
        p.wait()


def make_disk(path, kernel, initrd):
    """An MBR with SYSLINUX's boot code, one FAT partition from sector 2048
    with the kernel, the initrd and syslinux.cfg, SYSLINUX installed."""
    nsect = DISK_MIB * 2048 - PART_LBA
    with open(SYSLINUX_MBR, 'rb') as f:
        head = bytearray(f.read(440).ljust(512, b'\0'))
    head[446:462] = bytes([0x80, 0, 0, 0, 0x0c, 0, 0, 0]) + PART_LBA.to_bytes(4, 'little') + \
        nsect.to_bytes(4, 'little')
    head[510:512] = b'\x55\xaa'
    with open(path, 'wb') as f:
        f.write(head)
        f.truncate(DISK_MIB << 20)
    cfg = os.path.join(os.path.dirname(path), 'syslinux.cfg')
    with open(cfg, 'w') as f:
        f.write('DEFAULT linux\nPROMPT 0\nLABEL linux\n  KERNEL vmlinuz\n'
                '  APPEND console=ttyS0 initrd=initrd.gz\n')
    img = f'{path}@@{PART_LBA * 512}'
    for cmd in (['mformat', '-i', img, '-T', str(nsect), '-h', '64', '-s', '32',
                 '-H', str(PART_LBA * 512), '::'],
                ['mcopy', '-i', img, kernel, initrd, cfg, '::'],
                ['syslinux', '--install', '--offset', str(PART_LBA * 512), path]):
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def report(title, results):
    h = benchlib.median(results.get('hyvm', []))
    q = benchlib.median(results.get('qemu', []))
    ratio = f'{h / q:5.2f}x' if h and q else '    -'
    print(f'{title:44} hyvm {benchlib.fmt_s(h)}  qemu {benchlib.fmt_s(q)}  hyvm/qemu {ratio}')


def main():
    ap = benchlib.arg_parser(runs=5, machines='pc', timeout=120.0)
    ap.add_argument('--smp', type=int, default=1)
    ap.add_argument('--no-syslinux', action='store_true')
    a = ap.parse_args()
    binaries = benchlib.peers(a.builddir)
    base = ['-M', 'pc', '-accel', a.accel, '-m', '512M', '-smp', str(a.smp),
            '-nographic', '-nic', 'none']

    results = benchlib.in_turns(
        binaries, 'pc', a.runs,
        lambda b: (lambda t: (t, None if t else 'no "No bootable device."'))(
            time_to([b] + base, NO_BOOT, a.timeout)))
    report('exec to "No bootable device." (no disk)', results)

    if a.no_syslinux:
        return
    if not all(shutil.which(t) for t in ('mformat', 'mcopy', 'syslinux')) or \
            not os.path.exists(SYSLINUX_MBR):
        print('mtools or syslinux missing: no SYSLINUX figure')
        return
    kernel, initrd = benchlib.fixtures(a.builddir, 'initrd.gz', sys.argv[0])
    with tempfile.TemporaryDirectory(prefix='hyvm-bench-fw-') as d:
        disk = os.path.join(d, 'disk.img')
        make_disk(disk, kernel, initrd)
        extra = ['-drive', f'if=none,id=d0,format=raw,file={disk},snapshot=on',
                 '-device', 'virtio-blk-pci,drive=d0']
        results = benchlib.in_turns(
            binaries, 'pc', a.runs,
            lambda b: (lambda t: (t, None if t else 'no marker'))(
                time_to([b] + base + extra, MARKER, a.timeout)))
        report('exec to the marker (SYSLINUX, virtio-blk)', results)


if __name__ == '__main__':
    main()
