#!/usr/bin/env python3
"""
Images QEMU writes are read exactly by hyvm-img (issue 8, "Tests" 2).

qemu-img and qemu-io make every variant (each -o option, backing chains of raw
and qcow2 two and three deep, compressed zlib and zstd clusters, internal
snapshots, zero clusters, discards, extended L2 subclusters, a dirty lazy-refcount
image, leaked clusters); then for each image, with qemu-img as the oracle:

  hyvm-img convert -O raw      byte for byte what qemu-img convert -O raw writes
  hyvm-img info [--output=json] [--backing-chain]
                               qemu-img's output, every field (none is exempt: both
                               read the same file; a difference is listed by name)
  hyvm-img map --output=json   qemu-img's list of extents
  hyvm-img check [--output=json]
                               qemu-img's counters, text and exit code
  hyvm-img compare             "Images are identical." against qemu's raw copy
"""
import os
import shutil
import struct

from imgtest import (HYVM_IMG, QEMU_IMG, QEMU_IO, Tap, TempDir, dict_diff, files_equal,
                     first_difference, hyvm_img, json_or_none, must, need, qemu_img,
                     qemu_io, write_raw_source)

MIB = 1024 * 1024


def io_ops(cluster, size, compressed=True, v2=False):
    """qemu-io commands that leave every kind of L2 entry: data, partial data, zero
    (allocated and not), unmapped, discarded, compressed, and the last sector."""
    u = cluster
    ops = ['write -P 0x11 0 %d' % (2 * u + 1000),
           'write -P 0x22 %d 4096' % (5 * u + 512),
           'write -z %d %d' % (8 * u, 2 * u),
           'write -P 0x33 %d %d' % (11 * u, u),
           'write -z -u %d %d' % (11 * u, u),
           'write -P 0x44 %d %d' % (13 * u, 3 * u),
           'discard %d %d' % (14 * u, u),
           'write -z %d 1536' % (15 * u + 1024),
           'write -P 0x66 %d 512' % (size - 512)]
    if compressed:
        # Compressed writes go to unallocated clusters only.
        ops += ['discard %d %d' % (17 * u, u), 'write -c -P 0x55 %d %d' % (17 * u, u)]
    return ops


def qio(path, ops, fmt='qcow2'):
    args = ['-f', fmt]
    for op in ops:
        args += ['-c', op]
    res = must(qemu_io(*(args + [path])))
    if 'failed' in res.out:
        raise RuntimeError('qemu-io: %s' % res)


class Images:
    """Builds the images; each entry is (name, path, extra info args)."""

    def __init__(self, d):
        self.d = d
        self.list = []
        self.src = os.path.join(d, 'src.raw')
        write_raw_source(self.src, 6 * MIB, 11)

    def path(self, name):
        return os.path.join(self.d, name)

    def add(self, name, path):
        self.list.append((name, path))

    def variant(self, name, opts, cluster=65536, compressed=True):
        size = max(6 * MIB, 20 * cluster)
        p = self.path(name.replace(' ', '_').replace('=', '-').replace(',', '_') + '.qcow2')
        src = self.src
        if size != 6 * MIB:
            src = self.path('src-%d.raw' % size)
            if not os.path.exists(src):
                write_raw_source(src, size, 12)
        args = ['convert', '-f', 'raw', '-O', 'qcow2'] + (['-o', opts] if opts else [])
        must(qemu_img(*(args + [src, p])))
        if QEMU_IO:
            qio(p, io_ops(cluster, size, compressed))
        self.add(name, p)

    def build(self, tap):
        v = lambda *a: tap.case('build ' + a[0], self.variant, *a)
        v('v3 default', '')
        v('v2 compat=0.10', 'compat=0.10')
        v('v2 cluster_size=512', 'compat=0.10,cluster_size=512', 512)
        v('cluster_size=512', 'cluster_size=512', 512)
        v('cluster_size=2M', 'cluster_size=2M', 2 * MIB)
        v('cluster_size=4k', 'cluster_size=4k', 4096)
        v('refcount_bits=1', 'refcount_bits=1')
        v('refcount_bits=2', 'refcount_bits=2')
        v('refcount_bits=8', 'refcount_bits=8')
        v('refcount_bits=32', 'refcount_bits=32')
        v('refcount_bits=64', 'refcount_bits=64')
        v('lazy_refcounts=on', 'lazy_refcounts=on')
        v('preallocation=metadata', 'preallocation=metadata')
        v('preallocation=falloc', 'preallocation=falloc')
        v('compression_type=zstd', 'compression_type=zstd')
        v('extended_l2=on', 'extended_l2=on')
        v('extended_l2=on cluster_size=2M', 'extended_l2=on,cluster_size=2M', 2 * MIB)
        v('extended_l2=on cluster_size=16k', 'extended_l2=on,cluster_size=16k', 16384)
        tap.case('build subclusters', self.subclusters)
        tap.case('build compressed', self.compressed)
        tap.case('build chains', self.chains)
        tap.case('build snapshots', self.snapshots)
        tap.case('build dirty', self.dirty)
        tap.case('build bitmaps', self.bitmaps)
        tap.case('build subdir_chain', self.subdir_chain)
        self.add('raw file with holes (SEEK_DATA/SEEK_HOLE)', self.src)
        tap.case('build leaks', self.leaks)

    def subclusters(self):
        """Extended L2: 32 subclusters per cluster, each allocated/zero/unallocated."""
        if not QEMU_IO:
            return
        p = self.path('subclusters.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-o', 'extended_l2=on', p, '4M'))
        ops = []
        for c in range(8):
            base = c * 65536
            for s in range(32):
                k = (c * 7 + s * 3) % 5
                if k == 1:
                    ops.append('write -P %d %d 2048' % (s + 1, base + s * 2048))
                elif k == 2:
                    ops.append('write -z %d 2048' % (base + s * 2048))
                elif k == 3:
                    ops.append('write -P 0x%x %d 700' % (0x80 + s, base + s * 2048 + 100))
        qio(p, ops)
        self.add('extended_l2 subclusters', p)
        back = self.path('sub-back.qcow2')
        must(qemu_img('convert', '-O', 'qcow2', self.src, back))
        top = self.path('sub-top.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-o', 'extended_l2=on', '-b', 'sub-back.qcow2',
                      '-F', 'qcow2', top))
        qio(top, ['write -P 9 %d 2048' % (65536 * 3 + 2048 * 5),
                  'write -z %d 4096' % (65536 * 4 + 2048 * 7),
                  'write -P 8 %d 100' % (65536 * 6 + 31 * 2048 + 10),
                  'discard %d 65536' % (65536 * 9)])
        self.add('extended_l2 subclusters over a backing', top)

    def compressed(self):
        for ctype in ('zlib', 'zstd'):
            for cl in (65536, 512, 2 * MIB):
                p = self.path('c-%s-%d.qcow2' % (ctype, cl))
                must(qemu_img('convert', '-c', '-f', 'raw', '-O', 'qcow2', '-o',
                              'compression_type=%s,cluster_size=%d' % (ctype, cl),
                              self.src, p))
                self.add('convert -c %s cluster_size=%d' % (ctype, cl), p)
        p = self.path('c-v2.qcow2')
        must(qemu_img('convert', '-c', '-f', 'raw', '-O', 'qcow2', '-o', 'compat=0.10',
                      self.src, p))
        self.add('convert -c compat=0.10', p)

    def chains(self):
        base_raw = self.path('base.raw')
        write_raw_source(base_raw, 4 * MIB, 21)
        # raw <- qcow2 <- qcow2 (three deep); the top is larger than the base.
        mid = self.path('mid-on-raw.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', mid, '5M'))
        top = self.path('top3.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-b', 'mid-on-raw.qcow2', '-F', 'qcow2', top,
                      '6M'))
        if QEMU_IO:
            qio(mid, ['write -P 0x71 100000 300000', 'write -z 1M 128k',
                      'discard 2M 64k', 'write -P 0x72 4194304 70000'])
            qio(top, ['write -P 0x81 200000 50000', 'write -z 1100000 64k',
                      'write -P 0x82 3000000 10', 'discard 3145728 65536',
                      'write -P 0x83 5500000 4096'])
        self.add('raw <- qcow2 (two deep, overlay larger)', mid)
        self.add('raw <- qcow2 <- qcow2 (three deep)', top)
        # qcow2 <- qcow2 <- qcow2, the base compressed, the middle v2.
        b = self.path('cbase.qcow2')
        must(qemu_img('convert', '-c', '-O', 'qcow2', base_raw, b))
        m = self.path('cmid.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-o', 'compat=0.10', '-b', 'cbase.qcow2',
                      '-F', 'qcow2', m))
        t = self.path('ctop.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-o', 'cluster_size=4k', '-b', 'cmid.qcow2',
                      '-F', 'qcow2', t))
        if QEMU_IO:
            # v2: write -z and discard deallocate, so the base shows through again.
            qio(m, ['write -P 0x91 65536 65536', 'discard 0 65536', 'write -z 196608 65536',
                    'write -P 0x92 1000 10'])
            qio(t, ['write -P 0xa1 1000 5000', 'write -z 65536 4096', 'discard 131072 8192',
                    'write -P 0xa2 4190000 4000'])
        self.add('qcow2(v2) over compressed qcow2 (two deep)', m)
        self.add('qcow2 4k <- v2 <- compressed (three deep)', t)
        # A backing recorded without its format: hyvm probes it as QEMU does.
        nf = self.path('nofmt.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-b', 'cbase.qcow2', '-F', 'qcow2', nf))
        # qemu-img 7.2 insists on a format: hide the backing format extension
        # (qcow2 spec: 0xe2792aca) under an unknown magic, which readers skip.
        with open(nf, 'r+b') as f:
            hdr = f.read(4096)
            at = hdr.find(struct.pack('>I', 0xe2792aca), 72)
            if at < 0:
                raise RuntimeError('no backing format extension')
            f.seek(at)
            f.write(struct.pack('>I', 0x0badf0f0))
        self.add('backing without backing_fmt (probed)', nf)

    def snapshots(self):
        p = self.path('snap.qcow2')
        must(qemu_img('convert', '-O', 'qcow2', self.src, p))
        if QEMU_IO:
            qio(p, ['write -P 1 0 128k'])
        must(qemu_img('snapshot', '-c', 'first', p))
        if QEMU_IO:
            qio(p, ['write -P 2 64k 128k', 'discard 1M 1M', 'write -z 3M 64k'])
        must(qemu_img('snapshot', '-c', 'second snapshot', p))
        if QEMU_IO:
            qio(p, ['write -P 3 100000 300000'])
        self.add('internal snapshots', p)
        self.snap = p

    def bitmaps(self):
        """A persistent dirty bitmap (bitmaps extension, autoclear bit 0): info lists it."""
        p = self.path('bitmap.qcow2')
        must(qemu_img('convert', '-O', 'qcow2', self.src, p))
        must(qemu_img('bitmap', '--add', '-g', '128k', p, 'b0'))
        must(qemu_img('bitmap', '--add', '--disable', p, 'b1'))
        if QEMU_IO:
            qio(p, ['write -P 0x12 1M 300k'])
        self.add('persistent dirty bitmaps', p)

    def subdir_chain(self):
        """A backing named relative to the overlay's own directory, through '..'."""
        sub = self.path('sub')
        os.mkdir(sub)
        must(qemu_img('convert', '-O', 'qcow2', self.src, self.path('up.qcow2')))
        top = os.path.join(sub, 'down.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-b', '../up.qcow2', '-F', 'qcow2', top))
        if QEMU_IO:
            qio(top, ['write -P 0x13 2M 4k'])
        self.add('backing ../up.qcow2 from a subdirectory', top)

    def dirty(self):
        """lazy_refcounts: a crash (qemu-io abort) leaves the dirty bit and stale refcounts."""
        if not QEMU_IO:
            return
        p = self.path('dirty.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-o', 'lazy_refcounts=on', p, '4M'))
        qemu_io('-f', 'qcow2', '-c', 'write -P 0x5 0 300k', '-c', 'flush', '-c', 'abort', p)
        self.add('dirty (lazy refcounts, crashed)', p)

    def leaks(self):
        """An L2 entry cleared by hand: its cluster keeps refcount 1 (a leak, exit 3)."""
        p = self.path('leaks.qcow2')
        must(qemu_img('convert', '-O', 'qcow2', self.src, p))
        with open(p, 'r+b') as f:
            hdr = f.read(104)
            l1_off = struct.unpack('>Q', hdr[40:48])[0]
            f.seek(l1_off)
            l2_off = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
            for i in (1, 2, 7):
                f.seek(l2_off + 8 * i)
                f.write(bytes(8))
        self.add('leaked clusters', p)


def compare_output(tap, name, hargs, qargs=None, parse=None, same_rc=True):
    h = hyvm_img(*hargs)
    q = qemu_img(*(qargs or hargs))
    if h.crashed():
        tap.ok(False, name, 'hyvm-img crashed:\n%s' % h)
        return
    if same_rc and h.rc != q.rc:
        tap.ok(False, name, 'exit %s, qemu-img exits %s\n%s\n%s' % (h.rc, q.rc, h, q))
        return
    if parse:
        hj, qj = parse(h.out), parse(q.out)
        if hj is None and qj is None:
            tap.ok(h.out == q.out, name, 'hyvm-img:\n%s\nqemu-img:\n%s' % (h.out, q.out))
            return
        if hj is None:
            tap.ok(False, name, 'hyvm-img printed no JSON:\n%s' % h)
            return
        diff = dict_diff(hj, qj)
        tap.ok(not diff, name, 'differs from qemu-img (hyvm != qemu):\n' + '\n'.join(diff[:40]))
    else:
        tap.ok(h.out == q.out, name, 'hyvm-img:\n%s\nqemu-img:\n%s' % (h.out, q.out))


def one_image(tap, d, name, path):
    hraw, qraw = os.path.join(d, 'h.raw'), os.path.join(d, 'q.raw')
    for f in (hraw, qraw):
        if os.path.exists(f):
            os.unlink(f)
    must(qemu_img('convert', '-O', 'raw', path, qraw))
    res = hyvm_img('convert', '-O', 'raw', path, hraw)
    if tap.ok(res.rc == 0, name + ': hyvm-img convert -O raw', str(res)):
        tap.ok(files_equal(hraw, qraw), name + ': raw output equals qemu-img convert\'s',
               first_difference(hraw, qraw))
    res = hyvm_img('compare', '-F', 'raw', path, qraw)
    tap.ok(res.rc == 0 and 'Images are identical.' in res.out,
           name + ': hyvm-img compare with qemu-img\'s raw copy', str(res))
    compare_output(tap, name + ': info --output=json',
                   ['info', '--output=json', path], parse=json_or_none)
    compare_output(tap, name + ': info --output=json --backing-chain',
                   ['info', '--output=json', '--backing-chain', path], parse=json_or_none)
    compare_output(tap, name + ': info (human)', ['info', path])
    compare_output(tap, name + ': map --output=json', ['map', '--output=json', path],
                   parse=json_or_none)
    compare_output(tap, name + ': map (human)', ['map', path])
    compare_output(tap, name + ': check --output=json (counts, exit code)',
                   ['check', '--output=json', path], parse=json_or_none)
    compare_output(tap, name + ': check (human)', ['check', path])


def repairs(tap, d, images):
    """check -r leaks / -r all on copies: the hyvm-repaired image is clean for QEMU."""
    for name, path in images.list:
        if name not in ('leaked clusters', 'dirty (lazy refcounts, crashed)'):
            continue
        for mode in ('leaks', 'all'):
            h = os.path.join(d, 'repair-h.qcow2')
            q = os.path.join(d, 'repair-q.qcow2')
            shutil.copyfile(path, h)
            shutil.copyfile(path, q)
            hr = hyvm_img('check', '-r', mode, h)
            qr = qemu_img('check', '-r', mode, q)
            tap.ok(hr.rc == qr.rc and hr.out.replace(h, q) == qr.out,
                   '%s: check -r %s prints and exits as qemu-img' % (name, mode),
                   '%s\n%s' % (hr, qr))
            res = qemu_img('check', h)
            want = qemu_img('check', q)
            tap.ok(res.rc == want.rc,
                   '%s: after hyvm-img check -r %s, qemu-img check exits %d as after its own'
                   % (name, mode, want.rc), str(res))
            hraw, qraw = os.path.join(d, 'h.raw'), os.path.join(d, 'q.raw')
            must(qemu_img('convert', '-O', 'raw', h, hraw))
            must(qemu_img('convert', '-O', 'raw', q, qraw))
            tap.ok(files_equal(hraw, qraw), '%s: check -r %s keeps the data' % (name, mode),
                   first_difference(hraw, qraw))


def snapshot_ops(tap, d, images):
    p = images.snap
    compare_output(tap, 'snapshot -l', ['snapshot', '-l', p])
    for sn in ('first', 'second snapshot', '1'):
        h = os.path.join(d, 'snap-h.qcow2')
        q = os.path.join(d, 'snap-q.qcow2')
        shutil.copyfile(p, h)
        shutil.copyfile(p, q)
        res = hyvm_img('snapshot', '-a', sn, h)
        must(qemu_img('snapshot', '-a', sn, q))
        if not tap.ok(res.rc == 0, 'snapshot -a %r' % sn, str(res)):
            continue
        hraw, qraw = os.path.join(d, 'h.raw'), os.path.join(d, 'q.raw')
        must(qemu_img('convert', '-O', 'raw', h, hraw))
        must(qemu_img('convert', '-O', 'raw', q, qraw))
        tap.ok(files_equal(hraw, qraw), 'snapshot -a %r: contents as qemu-img\'s' % sn,
               first_difference(hraw, qraw))
        res = qemu_img('check', h)
        tap.ok(res.rc == 0, 'snapshot -a %r: qemu-img check exit 0' % sn, str(res))
    res = hyvm_img('snapshot', '-a', 'no such snapshot', p)
    want = qemu_img('snapshot', '-a', 'no such snapshot', p)
    tap.ok(res.rc == want.rc and res.err.replace('hyvm-img:', 'qemu-img:') == want.err,
           'snapshot -a of a missing snapshot: qemu-img\'s message and exit code',
           '%s\n%s' % (res, want))


def mismatch(tap, d, images):
    q = os.path.join(d, 'mm.raw')
    must(qemu_img('convert', '-O', 'raw', images.src, q))
    with open(q, 'r+b') as f:
        f.seek(3 * MIB + 12345)
        f.write(b'\x5c')
    compare_output(tap, 'compare: content mismatch message and exit code',
                   ['compare', '-f', 'raw', '-F', 'raw', images.src, q])


def main():
    tap = Tap()
    need(tap, 'qemu-img -> hyvm-img interop', hyvm_img=HYVM_IMG, qemu_img=QEMU_IMG)
    if not QEMU_IO:
        tap.diag('qemu-io missing: the images hold no zero clusters, discards or subclusters')
    with TempDir() as d:
        images = Images(d)
        images.build(tap)
        for name, path in images.list:
            tap.case(name, one_image, tap, d, name, path)
        tap.case('snapshots', snapshot_ops, tap, d, images)
        tap.case('repairs', repairs, tap, d, images)
        tap.case('compare mismatch', mismatch, tap, d, images)
    tap.done()


if __name__ == '__main__':
    main()
