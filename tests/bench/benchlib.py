"""What the Linux guest benchmarks share (boot.py, virtio-blk.py): the
fixtures of tests/functional/fixtures.py, the binaries compared, a VM run
with its serial console read until it exits, and medians.  Not a
benchmark itself."""
import os
import select
import shutil
import statistics
import subprocess
import sys
import time

# Kernel lines after which the guest does nothing more.
DEAD_ENDS = [b'reboot: System halted', b'Kernel panic - not syncing']


def fixtures(builddir, initrd, prog):
    """(vmlinuz, initrd) of fixtures.py, built or reused in
    BUILDDIR/tests/functional/fixtures; prog names the caller in errors."""
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(here, '..', 'functional', 'fixtures.py')
    outdir = os.path.join(builddir, 'tests', 'functional', 'fixtures')
    r = subprocess.run([sys.executable, script, outdir])
    if r.returncode != 0:
        sys.exit(f'{prog}: {script} failed (status {r.returncode})')
    return os.path.join(outdir, 'vmlinuz'), os.path.join(outdir, initrd)


def peers(builddir):
    """[(name, binary)]: hyvm, and qemu-system-x86_64 where it is installed."""
    found = [('hyvm', os.path.join(builddir, 'hyvm'))]
    qemu = shutil.which('qemu-system-x86_64')
    if qemu:
        found.append(('qemu', qemu))
    else:
        print('qemu-system-x86_64 not found: hyvm figures only')
    return found


def run_console(cmd, timeout, on_output):
    """Runs cmd with stdout and stderr (the serial console) on one pipe until
    it exits, calling on_output(out, seconds since exec) with the whole
    console after each read.  A guest at a dead end never exits: it gets
    2 s of grace, then is given up on.  Returns (console, seconds to an exit
    with status 0 or None, problem or None)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = b''
    t_exit = t_dead = None
    problem = None
    try:
        while True:
            now = time.perf_counter()
            if now - t0 >= timeout:
                problem = f'no exit within {timeout} s'
                break
            if t_dead is not None and now - t_dead > 2:
                problem = 'the guest stopped: ' + next(d.decode() for d in DEAD_ENDS if d in out)
                break
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if not r:
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                status = p.wait()
                if status != 0:
                    problem = f'exit status {status}'
                else:
                    t_exit = time.perf_counter() - t0
                break
            out += chunk
            on_output(out, time.perf_counter() - t0)
            if t_dead is None and any(d in out for d in DEAD_ENDS):
                t_dead = time.perf_counter()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return out, t_exit, problem


def median(values):
    """The median of the figures that are not None, or None."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
