"""What the Linux guest benchmarks share (boot.py, virtio-blk.py,
net-slirp.py): their common options, the fixtures of
tests/functional/fixtures.py, the binaries compared and their runs taken
in turns, a VM run with its serial console read until it exits, the
guest's marker lines on it, and medians.  Not a benchmark itself."""
import argparse
import os
import select
import shutil
import statistics
import subprocess
import sys
import time

# Kernel lines after which the guest does nothing more.
DEAD_ENDS = [b'reboot: System halted', b'Kernel panic - not syncing']


def arg_parser(runs, machines, timeout):
    """The options every guest benchmark takes, with its defaults; the
    caller adds its own."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--builddir', default='build')
    ap.add_argument('--runs', type=int, default=runs)
    ap.add_argument('--machines', default=machines)
    ap.add_argument('--accel', default='tcg')
    ap.add_argument('--timeout', type=float, default=timeout)
    return ap


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


def in_turns(binaries, machine, runs, run_one):
    """run_one(binary) -> (result, problem), runs times for each of binaries
    ([(name, binary)]), taking them in turns so that all see the same host
    load; each problem is printed.  {name: [result of each run]}."""
    results = {name: [] for name, _ in binaries}
    for i in range(runs):
        for name, binary in binaries:
            result, problem = run_one(binary)
            if problem:
                print(f'{machine} {name} run {i + 1}: {problem}')
            results[name].append(result)
    return results


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


def marker_key(key):
    """The bytes that begin the guest's console line 'key: value'."""
    return b'\n' + key.encode() + b': '


def marker_value(out, key):
    """The value of the first console line 'key: value' in out (the key at
    a line's start), or None."""
    k = marker_key(key)
    i = out.find(k)
    if i < 0:
        return None
    end = out.find(b'\n', i + 1)
    return out[i + len(k):end if end >= 0 else len(out)].decode(errors='replace').strip()


def note_markers(seen, keys, out, t):
    """Notes in seen[key] the time t at which each of keys first began a
    console line in out (on_output of run_console calls it)."""
    for key in keys:
        if key not in seen and marker_key(key) in out:
            seen[key] = t


def fmt_s(v):
    """A figure of seconds, or a dash for none, in 9 columns."""
    return f'{v:7.2f} s' if v is not None else '      -  '


def guest_cmd(binary, machine, a, mem, kernel, initrd, append):
    """The command line of a benchmark guest: the test fixtures' kernel and initrd on the
    serial console, -accel, -smp from the arguments a (arg_parser's, with --smp).  hyvm's own
    jit= property goes to hyvm only."""
    accel = a.accel
    if os.path.basename(binary) != 'hyvm':
        accel = ','.join(p for p in accel.split(',') if not p.startswith('jit='))
    return [binary, '-M', machine, '-accel', accel, '-m', mem, '-smp', str(a.smp),
            '-nodefaults', '-display', 'none', '-serial', 'stdio', '-kernel', kernel,
            '-initrd', initrd, '-append', append]


def fmt_mbs(v):
    """A figure of MB/s, or a dash for none, in 8 columns."""
    return f'{v:8.1f}' if v is not None else '       -'


def median(values):
    """The median of the figures that are not None, or None."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
