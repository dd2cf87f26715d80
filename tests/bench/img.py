#!/usr/bin/env python3
"""hyvm-img beside qemu-img in one run (never part of meson test).

  tests/bench/img.py [--builddir build] [--runs 3] [--size-mib 1024]
                     [--bench-count 200000] [--keep DIR] [--only NAME,...]

Makes a raw image of --size-mib MiB with mixed content in 1 MiB stripes:
random data, compressible data (repeated text), zero-filled (allocated)
regions and holes, in a fixed pseudo-random order.  Then times, for hyvm-img
and qemu-img alternately (same machine, same run, best of --runs):

  convert raw->qcow2       convert -O qcow2 src.raw
  convert qcow2->raw       convert -O raw src.qcow2 (the qcow2 made by qemu-img)
  convert -c               convert -c -O qcow2 src.raw
  convert -c -W            the same with out-of-order writes (parallel compression)
  bench read 4k            bench -c N -d 64 -S 4k*prime random-ish 4k reads on a qcow2
  bench write 4k           bench -w ... 4k writes on a fresh preallocated qcow2

and prints each pair and the ratio qemu/hyvm (above 1: hyvm-img is faster).
Every hyvm-img output is checked with `qemu-img compare` against the source,
and qcow2 outputs with `qemu-img check`; a failure is reported and the
script exits 1.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

MIB = 1 << 20


def make_source(path, size_mib, seed=8):
    rng = random.Random(seed)
    text = (b'hyvm-img benchmark: compressible text line %08d\n' * 1)
    comp = b''.join(text.replace(b'%08d', b'%08d' % i) for i in range(MIB // len(text) + 1))
    comp = comp[:MIB]
    kinds = ['random', 'text', 'zero', 'hole']
    with open(path, 'wb') as f:
        f.truncate(size_mib * MIB)
        for i in range(size_mib):
            kind = kinds[rng.randrange(4)]
            if kind == 'random':
                f.seek(i * MIB)
                f.write(os.urandom(MIB))
            elif kind == 'text':
                f.seek(i * MIB)
                f.write(comp)
            elif kind == 'zero':
                f.seek(i * MIB)
                f.write(bytes(MIB))
            # holes: nothing written
        f.flush()
        os.fsync(f.fileno())


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(cmd), r.returncode,
                                                    r.stderr.decode(errors='replace')))
    return r.stdout.decode(errors='replace')


def timed(cmd, prepare=None):
    if prepare:
        prepare()
    # Write back what earlier runs left dirty, so that it does not land in this run's time.
    os.sync()
    t0 = time.monotonic()
    out = run(cmd)
    return time.monotonic() - t0, out


def bench_seconds(out):
    for line in out.splitlines():
        if line.startswith('Run completed in '):
            return float(line.split()[3])
    raise RuntimeError('no "Run completed" line in: ' + out)


def verify(src, out, fmt):
    run(['qemu-img', 'compare', '-q', src, out])
    if fmt == 'qcow2':
        run(['qemu-img', 'check', '-q', out])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--builddir', default='build')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--size-mib', type=int, default=1024)
    ap.add_argument('--bench-count', type=int, default=200000)
    ap.add_argument('--keep', help='work in DIR and leave the files there')
    ap.add_argument('--only', help='comma-separated names of the measurements to run')
    args = ap.parse_args()

    hyvm = os.path.join(args.builddir, 'tools', 'hyvm-img')
    if not os.access(hyvm, os.X_OK):
        sys.exit('no %s: build it first' % hyvm)
    if not shutil.which('qemu-img'):
        sys.exit('qemu-img is not installed')
    hyvm = os.path.abspath(hyvm)
    work = args.keep or tempfile.mkdtemp(prefix='hyvm-img-bench-')
    os.makedirs(work, exist_ok=True)
    src = os.path.join(work, 'src.raw')
    srcq = os.path.join(work, 'src.qcow2')
    print('making a %d MiB source in %s ...' % (args.size_mib, work), flush=True)
    make_source(src, args.size_mib)
    run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', src, srcq])
    du = run(['du', '-k', src]).split()[0]
    print('source: %s KiB allocated of %d MiB' % (du, args.size_mib))

    n = args.bench_count
    bq = os.path.join(work, 'bench.qcow2')

    def fresh_bench_image():
        # Same starting point for each write run: a fully allocated qcow2.
        if os.path.exists(bq):
            os.unlink(bq)
        run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'preallocation=metadata', bq,
             '%dM' % args.size_mib])

    # step 4k * 7919 (prime) over the image: requests spread over the whole image.
    step = str(4096 * 7919)
    cases = [
        ('convert raw->qcow2', 'convert', ['-f', 'raw', '-O', 'qcow2', src], 'qcow2', src),
        ('convert qcow2->raw', 'convert', ['-f', 'qcow2', '-O', 'raw', srcq], 'raw', src),
        ('convert -c', 'convert', ['-f', 'raw', '-c', '-O', 'qcow2', src], 'qcow2', src),
        ('convert -c -W', 'convert', ['-f', 'raw', '-W', '-c', '-O', 'qcow2', src], 'qcow2',
         src),
        ('bench read 4k', 'bench', ['-f', 'qcow2', '-c', str(n), '-d', '64', '-S', step, srcq],
         None, None),
        ('bench write 4k', 'bench', ['-f', 'qcow2', '-w', '-c', str(n), '-d', '64', '-S', step,
                                     bq], None, None),
    ]
    only = set(args.only.split(',')) if args.only else None
    failed = False
    print('%-20s %10s %10s %8s' % ('', 'qemu-img', 'hyvm-img', 'q/h'))
    for name, sub, cargs, ofmt, ref in cases:
        if only and name not in only:
            continue
        best = {}
        for _ in range(args.runs):
            for tool, exe in (('qemu', 'qemu-img'), ('hyvm', hyvm)):
                if sub == 'convert':
                    out = os.path.join(work, 'out-%s.%s' % (tool, ofmt))
                    if os.path.exists(out):
                        os.unlink(out)
                    t, _ = timed([exe, sub] + cargs + [out])
                    if tool == 'hyvm':
                        try:
                            verify(ref, out, ofmt)
                        except RuntimeError as e:
                            print('  %s: %s' % (name, e))
                            failed = True
                else:
                    prep = fresh_bench_image if '-w' in cargs else None
                    _, o = timed([exe, sub] + cargs, prep)
                    t = bench_seconds(o)
                best[tool] = min(best.get(tool, 1e9), t)
        print('%-20s %9.3fs %9.3fs %8.2f' % (name, best['qemu'], best['hyvm'],
                                            best['qemu'] / best['hyvm']), flush=True)
    if not args.keep:
        shutil.rmtree(work)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
