#!/usr/bin/env python3
"""
Crash safety (issue 8, "Build" 2 and "Tests" 4): kill -9 at random moments.

img-writer (tests/img/img-writer.c) writes random data through the block layer
into a qcow2 overlay over a qcow2 backing (allocation, copy-on-write of partial
clusters, zero writes, discards, compressed clusters, flushes) and is killed with
SIGKILL after a random 20-700 ms.  Then:

  qemu-img check      exits 0 or 3 (leaked clusters are allowed, corruption is not)
  durable canaries    every region the writer flushed and logged reads back intact
                      (qemu-img convert -O raw of the image)

The writer also runs with O_DIRECT (cache.direct=on).  The same image goes
through every run of a variant, so each run starts from what the previous kill
left (leaks included).  With lazy_refcounts the kill
leaves the dirty bit: every other kill the next writer (hyvm) opens the dirty
image and must repair it; otherwise QEMU repairs it on its read-write open
(qemu-io), and then it must check clean.  At the end hyvm-img check must agree with
qemu-img check.  HYVM_CRASH_RUNS=N changes the number of kills (default 30).
"""
import os
import random
import signal
import subprocess
import time

from imgtest import (HYVM_IMG, QEMU_IMG, QEMU_IO, WRITER, Tap, TempDir, json_or_none, must,
                     need, qemu_img, qemu_io, run, write_raw_source)

MIB = 1024 * 1024
SIZE = 16 * MIB
SLOT = 65536


def parse_log(path, durable):
    """Applies the writer's log to durable: slot -> (offset, length, byte)."""
    started = False
    with open(path) as f:
        for line in f:
            w = line.split()
            if not line.endswith('\n'):
                break                         # a line cut by the kill (never expected)
            if w[0] == 'started':
                started = True
            elif w[0] == 'begin':
                durable.pop(int(w[1]), None)
            elif w[0] == 'durable':
                durable[int(w[1])] = (int(w[2]), int(w[3]), int(w[4]))
    return started


def verify_canaries(d, img, durable):
    raw = os.path.join(d, 'after.raw')
    must(qemu_img('convert', '-O', 'raw', img, raw))
    bad = []
    with open(raw, 'rb') as f:
        for slot, (off, length, byte) in sorted(durable.items()):
            f.seek(off)
            data = f.read(length)
            if data != bytes([byte]) * length:
                first = next(i for i in range(length) if data[i] != byte)
                bad.append('slot %d: %d bytes of 0x%02x at %d: byte %d reads 0x%02x'
                           % (slot, length, byte, off, off + first, data[first]))
    os.unlink(raw)
    return bad


def one_run(tap, d, name, img, run, runs, rnd, durable, lazy, direct):
    log = os.path.join(d, 'writer.log')
    if os.path.exists(log):
        os.unlink(log)
    seed = rnd.randrange(1, 1 << 31)
    p = subprocess.Popen([WRITER, 'write', img, 'qcow2', str(seed), log] +
                         (['direct'] if direct else []),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    delay = rnd.uniform(0.02, 0.7)
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    _, err = p.communicate()
    label = '%s run %d (seed %d, killed after %d ms)' % (name, run, seed, delay * 1000)
    if p.returncode != -signal.SIGKILL:
        tap.ok(False, label + ': the writer was still writing when killed',
               'exit %s: %s' % (p.returncode, err.decode(errors='replace')))
        return False
    started = os.path.exists(log) and parse_log(log, durable)
    if lazy and run % 2 == 0 and run + 1 < runs:
        # Left dirty: the next writer (hyvm) must repair it when it opens it.
        return True
    if lazy and QEMU_IO:
        # The dirty bit: QEMU repairs the refcounts when it opens the image read-write.
        res = qemu_io('-f', 'qcow2', '-c', 'read 0 512', img)
        if not tap.ok(res.rc == 0, label + ': qemu-io opens the dirty image (repair)',
                      str(res)):
            return False
    res = qemu_img('check', '--output=json', img)
    chk = json_or_none(res.out) or {}
    if not tap.ok(res.rc in (0, 3), label + ': qemu-img check finds no corruption',
                  '%s\nwriter opened the image: %s' % (res, started)):
        return False
    bad = verify_canaries(d, img, durable)
    tap.ok(not bad, label + ': %d flushed canaries read back' % len(durable),
           '\n'.join(bad[:10]))
    if chk.get('leaks'):
        tap.diag('%s: %d leaked clusters' % (label, chk['leaks']))
    return not bad


def variant(tap, d, name, opts, runs, rnd, lazy=False, direct=False):
    base_raw = os.path.join(d, 'base.raw')
    if not os.path.exists(base_raw):
        write_raw_source(base_raw, SIZE, 77)
    base = os.path.join(d, 'base.qcow2')
    if os.path.exists(base):
        os.unlink(base)
    must(qemu_img('convert', '-f', 'raw', '-O', 'qcow2', base_raw, base))
    img = os.path.join(d, 'crash.qcow2')
    if os.path.exists(img):
        os.unlink(img)
    args = ['create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2']
    if opts:
        args += ['-o', opts]
    must(qemu_img(*(args + [img])))
    durable = {}
    for run in range(runs):
        if not one_run(tap, d, name, img, run, runs, rnd, durable, lazy, direct):
            break
    if HYVM_IMG and not lazy:
        h = run_check(HYVM_IMG, img)
        q = run_check(QEMU_IMG, img)
        tap.ok(h.rc == q.rc and h.out == q.out,
               '%s: hyvm-img check agrees with qemu-img check after the kills' % name,
               '%s\n%s' % (h, q))


def run_check(prog, img):
    return run([prog, 'check', img])


def main():
    tap = Tap()
    need(tap, 'kill -9 test', img_writer=WRITER, qemu_img=QEMU_IMG)
    runs = int(os.environ.get('HYVM_CRASH_RUNS', '30'))
    rnd = random.Random(int(os.environ.get('HYVM_CRASH_SEED', '4242')))
    # name, -o options, share of the runs
    variants = [('64k clusters', '', 0.35), ('4k clusters', 'cluster_size=4k', 0.2),
                ('512 B clusters', 'cluster_size=512', 0.15),
                ('compat=0.10', 'compat=0.10', 0.1),
                ('refcount_bits=1', 'refcount_bits=1', 0.05)]
    with TempDir() as d:
        for name, opts, share in variants:
            tap.case(name, variant, tap, d, name, opts, max(1, round(runs * share)), rnd)
        tap.case('cache.direct=on', variant, tap, d, '64k clusters, O_DIRECT', '',
                 max(1, round(runs * 0.1)), rnd, False, True)
        tap.case('lazy_refcounts', variant, tap, d, 'lazy_refcounts=on', 'lazy_refcounts=on',
                 max(1, round(runs * 0.1)), rnd, True)
    tap.done()


if __name__ == '__main__':
    main()
