#!/usr/bin/env python3
"""
Malformed qcow2 images (issue 8, "Tests" 6): a clear error, never a crash.

Valid images made by qemu-img/qemu-io are damaged field by field (qcow2 spec,
docs/interop/qcow2.txt: header, L1/L2 entries, refcount table and blocks,
snapshot table, header extensions) or cut short; backing chains are made to
loop.  Every image goes through hyvm-img and qemu-img alike: info (probed and
-f qcow2, --output=json, --backing-chain), check, map, convert -O raw and, on
copies, the writing commands resize, snapshot -c and check -r all.  For each command:

  - hyvm-img is never killed by a signal, never hangs, never trips ASan/UBSan
    (run the test with HYVM_IMG pointing at the build-asan binary to check);
  - where qemu-img refuses, hyvm-img refuses too, non-zero with a
    "hyvm-img: ..." message; any failure of hyvm-img carries such a message;
  - check exits as qemu-img check does (0, 1 errors, 2 corruptions, 3 leaks);
  - where both convert the image, the raw outputs are equal;
  - where both write a copy and QEMU's copy checks clean, hyvm's copy does too;
  - a write never lands in the header cluster's extension area where QEMU's
    copy keeps the original bytes (QEMU's metadata overlap checks).
"""
import os
import shutil
import struct

from imgtest import (HYVM_IMG, QEMU_IMG, QEMU_IO, Tap, TempDir, files_equal, first_difference,
                     hyvm_img, must, need, qemu_img, qemu_io, write_raw_source)

MIB = 1024 * 1024
TIMEOUT = 30

H_VERSION, H_BACKING_OFF, H_BACKING_LEN, H_CLUSTER_BITS, H_SIZE = 4, 8, 16, 20, 24
H_CRYPT, H_L1_SIZE, H_L1_OFF, H_RT_OFF, H_RT_CLUSTERS = 32, 36, 40, 48, 56
H_NB_SNAP, H_SNAP_OFF, H_INCOMPAT, H_COMPAT, H_AUTOCLEAR = 60, 64, 72, 80, 88
H_REFCOUNT_ORDER, H_HEADER_LEN, H_COMPRESSION = 96, 100, 104
OFFSET_MASK = 0x00fffffffffffe00


def u32(b, off):
    return struct.unpack_from('>I', b, off)[0]


def u64(b, off):
    return struct.unpack_from('>Q', b, off)[0]


def p32(b, off, v):
    struct.pack_into('>I', b, off, v & 0xffffffff)


def p64(b, off, v):
    struct.pack_into('>Q', b, off, v & 0xffffffffffffffff)


class Image:
    """A qcow2 file's bytes and where its tables are."""

    def __init__(self, path):
        with open(path, 'rb') as f:
            self.b = bytearray(f.read())
        b = self.b
        self.cluster = 1 << u32(b, H_CLUSTER_BITS)
        self.l1 = u64(b, H_L1_OFF)
        self.rt = u64(b, H_RT_OFF)
        self.l2 = u64(b, self.l1) & OFFSET_MASK
        self.rb = u64(b, self.rt) & OFFSET_MASK

    def l2_entry(self, i):
        return u64(self.b, self.l2 + 8 * i)

    def set_l2_entry(self, i, v):
        p64(self.b, self.l2 + 8 * i, v)

    def find_ext(self, magic):
        # Extensions follow the header: at 72 in v2, at header_length in v3.
        off = 72 if u32(self.b, H_VERSION) == 2 else u32(self.b, H_HEADER_LEN)
        while off + 8 <= self.cluster:
            m, n = u32(self.b, off), u32(self.b, off + 4)
            if m == magic:
                return off
            if m == 0:
                return None
            off += 8 + (n + 7) // 8 * 8
        return None


class Maker:
    def __init__(self, d):
        self.d = d
        self.cases = []
        self.raw = os.path.join(d, 'src.raw')
        write_raw_source(self.raw, 4 * MIB, 5)
        self.plain = self.base('plain.qcow2', [])
        self.v2 = self.base('v2.qcow2', ['-o', 'compat=0.10'])
        self.rc1 = self.base('rc1.qcow2', ['-o', 'refcount_bits=1'])
        self.comp = self.base('comp.qcow2', ['-c'])
        self.ext = self.base('ext.qcow2', ['-o', 'extended_l2=on'])
        self.snap = self.base('snap.qcow2', [])
        must(qemu_img('snapshot', '-c', 'sn', self.snap))
        if QEMU_IO:
            must(qemu_io('-f', 'qcow2', '-c', 'write -P 7 0 64k', self.snap))

    def base(self, name, args):
        path = os.path.join(self.d, 'base-' + name)
        must(qemu_img(*(['convert', '-f', 'raw', '-O', 'qcow2'] + args + [self.raw, path])))
        return path

    def add(self, name, src, fn, cut=None):
        img = Image(src)
        fn(img)
        data = img.b if cut is None else img.b[:cut(img)]
        path = os.path.join(self.d, 'm%02d.qcow2' % len(self.cases))
        with open(path, 'wb') as f:
            f.write(data)
        self.cases.append((name, path))

    def build(self):
        a, P = self.add, self.plain

        def setf(off, v, width=64):
            return lambda i: (p64 if width == 64 else p32)(i.b, off, v)

        a('file of 40 bytes (truncated header)', P, lambda i: None, lambda i: 40)
        a('v3 header cut at 90 bytes', P, lambda i: None, lambda i: 90)
        a('file ends before the L1 table', P, lambda i: None, lambda i: i.l1)
        a('file ends inside the L1 table', P, lambda i: None, lambda i: i.l1 + 4)
        a('file ends inside the refcount table', P, lambda i: None, lambda i: i.rt + 8)
        a('file ends inside an L2 table', P, lambda i: None, lambda i: i.l2 + 100)
        a('file ends inside a data cluster', P, lambda i: None,
          lambda i: (i.l2_entry(3) & OFFSET_MASK) + 1000)
        a('bad magic (-f qcow2)', P, setf(0, 0x51464900, 32))
        a('version 1', P, setf(H_VERSION, 1, 32))
        a('version 4', P, setf(H_VERSION, 4, 32))
        for bits in (0, 8, 22, 31, 63, 0xffffffff):
            a('cluster_bits %d' % bits, P, setf(H_CLUSTER_BITS, bits, 32))
        a('L1 table past the end of the file', P, setf(H_L1_OFF, 1 << 40))
        a('L1 table offset unaligned', P, lambda i: p64(i.b, H_L1_OFF, i.l1 + 8))
        a('L1 table offset 0 (overlaps the header)', P, setf(H_L1_OFF, 0))
        a('L1 table on the refcount table', P, lambda i: p64(i.b, H_L1_OFF, i.rt))
        a('l1_size 0x7fffffff', P, setf(H_L1_SIZE, 0x7fffffff, 32))
        a('l1_size 0x10000000 (1 GiB L1)', P, setf(H_L1_SIZE, 0x10000000, 32))
        a('l1_size 0 for a 4 MiB disk', P, setf(H_L1_SIZE, 0, 32))
        a('virtual size 2^63-512, L1 unchanged', P, setf(H_SIZE, (1 << 63) - 512))
        a('virtual size 2^64-1', P, setf(H_SIZE, (1 << 64) - 1))

        def huge(i):
            p64(i.b, H_SIZE, 1 << 56)
            p32(i.b, H_L1_SIZE, (1 << 56) // (i.cluster * (i.cluster // 8)))
        a('virtual size 2^56 with a matching l1_size', P, huge)
        a('virtual size not a multiple of 512', P, setf(H_SIZE, 4 * MIB - 100))
        a('refcount table past the end of the file', P, setf(H_RT_OFF, 1 << 40))
        a('refcount table offset unaligned', P, lambda i: p64(i.b, H_RT_OFF, i.rt + 16))
        a('refcount table offset 0 (overlaps the header)', P, setf(H_RT_OFF, 0))
        a('refcount_table_clusters 0xffffff', P, setf(H_RT_CLUSTERS, 0xffffff, 32))
        a('refcount_table_clusters 0', P, setf(H_RT_CLUSTERS, 0, 32))
        a('refcount block past the end of the file', P,
          lambda i: p64(i.b, i.rt, 1 << 40))
        a('refcount block offset unaligned', P, lambda i: p64(i.b, i.rt, i.rb + 512))
        a('refcount block on the L1 table', P, lambda i: p64(i.b, i.rt, i.l1))
        a('refcount of a data cluster 0', P,
          lambda i: struct.pack_into('>H', i.b, i.rb + 2 * ((i.l2_entry(2) & OFFSET_MASK)
                                                           // i.cluster), 0))
        a('refcount of the header 0xffff', P, lambda i: struct.pack_into('>H', i.b, i.rb, 0xffff))
        a('refcount_order 7', P, setf(H_REFCOUNT_ORDER, 7, 32))
        a('refcount_order 0xffffffff', P, setf(H_REFCOUNT_ORDER, 0xffffffff, 32))
        a('L1 entry past the end of the file', P, lambda i: p64(i.b, i.l1, (1 << 62) | (1 << 40)))
        a('L1 entry unaligned', P, lambda i: p64(i.b, i.l1, (1 << 63) | (i.l2 + 512)))
        a('L1 entry pointing at the header', P, lambda i: p64(i.b, i.l1, 1 << 63))
        a('L1 entry pointing at the L1 table itself', P, lambda i: p64(i.b, i.l1,
                                                                       (1 << 63) | i.l1))
        a('L1 entry with reserved bits', P, lambda i: p64(i.b, i.l1, u64(i.b, i.l1) | 0x3))
        a('L2 entry past the end of the file', P,
          lambda i: i.set_l2_entry(1, (1 << 63) | (1 << 40)))
        a('L2 entry unaligned', P,
          lambda i: i.set_l2_entry(1, i.l2_entry(1) + 512))
        a('L2 entry pointing at the refcount table', P,
          lambda i: i.set_l2_entry(1, (1 << 63) | i.rt))
        a('L2 entry pointing at the header', P, lambda i: i.set_l2_entry(1, 1 << 63))
        a('L2 entry with reserved bits', P, lambda i: i.set_l2_entry(1, i.l2_entry(1) | 0x1fe))
        a('two L2 entries share a cluster (refcount 1)', P,
          lambda i: i.set_l2_entry(1, i.l2_entry(0)))
        a('refcount_bits=1, two L2 entries share a cluster (overflow)', self.rc1,
          lambda i: i.set_l2_entry(1, i.l2_entry(0)))
        a('v2: L2 entry with the zero flag (v3 only)', self.v2,
          lambda i: i.set_l2_entry(1, i.l2_entry(1) | 1))

        def first_compressed(i):
            for k in range(i.cluster // 8):
                if i.l2_entry(k) & (1 << 62):
                    return k
            raise RuntimeError('no compressed cluster in the base image')

        def comp_entry(fn):
            def f(i):
                k = first_compressed(i)
                i.set_l2_entry(k, fn(i, i.l2_entry(k)))
            return f
        cbits = 62 - (16 - 8)   # 64 KiB clusters: offset bits 0..53, sectors above
        a('compressed cluster past the end of the file', self.comp,
          comp_entry(lambda i, e: (e & ~((1 << cbits) - 1)) | (1 << 40)))
        a('compressed cluster with the most sectors', self.comp,
          comp_entry(lambda i, e: e | (((1 << (62 - cbits)) - 1) << cbits)))

        def garble(i):
            e = i.l2_entry(first_compressed(i))
            off = e & ((1 << cbits) - 1)
            i.b[off:off + 64] = bytes(range(64))
        a('compressed cluster with garbage data', self.comp, garble)
        a('extended L2: alloc and zero bit for one subcluster', self.ext,
          lambda i: p64(i.b, i.l2 + 16 * 1 + 8, 0x0000000100000001))
        a('extended L2: subclusters allocated in an unallocated cluster', self.ext,
          lambda i: p64(i.b, i.l2 + 16 * 1, 0) or p64(i.b, i.l2 + 16 + 8, 0xffffffff))
        a('corrupt bit set', P, setf(H_INCOMPAT, 2))
        a('dirty bit set', P, setf(H_INCOMPAT, 1))
        a('unknown incompatible feature bit 5', P, setf(H_INCOMPAT, 1 << 5))
        a('external data file bit, no data file', P, setf(H_INCOMPAT, 4))
        a('compression type bit, type 0', P, setf(H_INCOMPAT, 8))
        a('compression type 7', P, lambda i: (p64(i.b, H_INCOMPAT, 8),
                                               i.b.__setitem__(H_COMPRESSION, 7)))
        a('encrypted (crypt_method 1, AES)', P, setf(H_CRYPT, 1, 32))
        a('crypt_method 9', P, setf(H_CRYPT, 9, 32))
        a('header_length 50', P, setf(H_HEADER_LEN, 50, 32))
        a('header_length 0x7fffffff', P, setf(H_HEADER_LEN, 0x7fffffff, 32))
        a('header extension longer than the cluster', P,
          lambda i: p32(i.b, u32(i.b, H_HEADER_LEN) + 4, 0x7ffffff0))
        a('backing file name past the end of the file', P,
          lambda i: (p64(i.b, H_BACKING_OFF, 1 << 30), p32(i.b, H_BACKING_LEN, 10)))
        a('backing file name 0xffffffff bytes', P,
          lambda i: (p64(i.b, H_BACKING_OFF, 200), p32(i.b, H_BACKING_LEN, 0xffffffff)))
        a('backing file name crosses the header cluster', P,
          lambda i: (p64(i.b, H_BACKING_OFF, i.cluster - 10), p32(i.b, H_BACKING_LEN, 1000)))
        a('snapshot table past the end of the file', self.snap,
          lambda i: p64(i.b, H_SNAP_OFF, 1 << 40))
        a('nb_snapshots 0x7fffffff', self.snap, setf(H_NB_SNAP, 0x7fffffff, 32))
        a('snapshot L1 table past the end of the file', self.snap,
          lambda i: p64(i.b, u64(i.b, H_SNAP_OFF), 1 << 40))
        a('snapshot l1_size 0x7fffffff', self.snap,
          lambda i: p32(i.b, u64(i.b, H_SNAP_OFF) + 8, 0x7fffffff))
        a('snapshot name length past the table', self.snap,
          lambda i: struct.pack_into('>H', i.b, u64(i.b, H_SNAP_OFF) + 14, 0xffff))
        self.backing_cases()

    def backing_cases(self):
        d = self.d
        a = os.path.join(d, 'loop-self.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-u', '-b', 'loop-self.qcow2', '-F', 'qcow2',
                      a, '4M'))
        self.cases.append(('backing file is the image itself', a))
        x = os.path.join(d, 'loop-a.qcow2')
        y = os.path.join(d, 'loop-b.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-u', '-b', 'loop-b.qcow2', '-F', 'qcow2',
                      x, '4M'))
        must(qemu_img('create', '-f', 'qcow2', '-u', '-b', 'loop-a.qcow2', '-F', 'qcow2',
                      y, '4M'))
        self.cases.append(('backing loop a -> b -> a', x))
        m = os.path.join(d, 'missing-backing.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-u', '-b', 'no-such-file.qcow2', '-F', 'qcow2',
                      m, '4M'))
        self.cases.append(('backing file missing', m))
        w = os.path.join(d, 'wrong-fmt.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-u', '-b', 'base-plain.qcow2', '-F', 'raw',
                      w, '4M'))
        self.cases.append(('backing format raw for a qcow2 backing (reads its bytes)', w))
        u = os.path.join(d, 'unknown-fmt.qcow2')
        must(qemu_img('create', '-f', 'qcow2', '-u', '-b', 'base-plain.qcow2', '-F', 'qcow2',
                      u, '4M'))
        img = Image(u)
        at = img.find_ext(0xe2792aca)
        img.b[at + 8:at + 13] = b'nope!'
        with open(u, 'wb') as f:
            f.write(img.b)
        self.cases.append(('backing format unknown', u))


def commands(path, out):
    return [('info (probed)', ['info', path]),
            ('info -f qcow2 --output=json', ['info', '-f', 'qcow2', '--output=json', path]),
            ('info --backing-chain', ['info', '--backing-chain', path]),
            ('check', ['check', '-f', 'qcow2', path]),
            ('map --output=json', ['map', '-f', 'qcow2', '--output=json', path]),
            ('convert -O raw', ['convert', '-f', 'qcow2', '-O', 'raw', path, out])]


def one_case(tap, d, name, path, qtimeout):
    problems = []
    hout, qout = os.path.join(d, 'h.raw'), os.path.join(d, 'q.raw')
    for cmd, args in commands(path, None):
        for f in (hout, qout):
            if os.path.exists(f):
                os.unlink(f)
        hargs = [a if a is not None else hout for a in args]
        qargs = [a if a is not None else qout for a in args]
        h = hyvm_img(*hargs, timeout=TIMEOUT)
        q = qemu_img(*qargs, timeout=qtimeout)
        problems += judge(cmd, h, q)
        if cmd == 'convert -O raw' and h.rc == 0 and q.rc == 0:
            if not files_equal(hout, qout):
                problems.append('convert: output differs from qemu-img\'s: %s'
                                % first_difference(hout, qout))
    for cmd, args in [('resize +1M', ['resize', '-f', 'qcow2', None, '+1M']),
                      ('snapshot -c', ['snapshot', '-c', 'new', None]),
                      ('check -r all', ['check', '-r', 'all', '-f', 'qcow2', None])]:
        hcopy, qcopy = os.path.join(d, 'h.qcow2'), os.path.join(d, 'q.qcow2')
        shutil.copyfile(path, hcopy)
        shutil.copyfile(path, qcopy)
        h = hyvm_img(*[a if a is not None else hcopy for a in args], timeout=TIMEOUT)
        q = qemu_img(*[a if a is not None else qcopy for a in args], timeout=qtimeout)
        problems += judge(cmd, h, q)
        problems += header_area_kept(cmd, path, hcopy, qcopy)
        grown = os.path.getsize(hcopy)
        if grown > 16 * os.path.getsize(path) + 64 * MIB:
            # A write at an offset taken from damaged metadata, far past the end (and a
            # file qemu-img check would take a minute to scan).
            problems.append('%s: hyvm-img grew the file from %d to %d bytes'
                            % (cmd, os.path.getsize(path), grown))
            continue
        if cmd.startswith('check'):
            # Exit 0 says everything was repaired: QEMU must agree.
            c = qemu_img('check', hcopy, timeout=15)
            if h.rc == 0 and c.rc not in (0, None):
                problems.append('check -r all exits 0, but qemu-img check then finds:\n%s'
                                % c)
            continue
        if h.rc == 0 and q.rc == 0 and qemu_img('check', qcopy).rc == 0:
            # (15 s: some damaged tables make qemu-img check scan for minutes)
            c = qemu_img('check', hcopy, timeout=15)
            if c.rc not in (0, None):
                problems.append('%s: qemu-img check of QEMU\'s copy is clean, of hyvm\'s:\n%s'
                                % (cmd, c))
    tap.ok(not problems, name, '\n'.join(problems))


def header_area_kept(cmd, orig, hcopy, qcopy):
    """The header extensions and backing file name (from the end of the header fields to
    4 KiB into cluster 0) are never overwritten with anything but what was there or what
    QEMU itself writes there: a write landing in the header cluster is metadata
    corruption, which QEMU's overlap checks refuse."""
    with open(orig, 'rb') as f:
        o = f.read(4096)
    with open(hcopy, 'rb') as f:
        h = f.read(4096)
    with open(qcopy, 'rb') as f:
        q = f.read(4096)
    if len(o) < 104 or o[:4] != b'QFI\xfb':
        return []
    start = 72 if u32(o, H_VERSION) == 2 else 104
    bad = [i for i in range(start, min(len(o), len(h)))
           if h[i] != o[i] and (i >= len(q) or h[i] != q[i])]
    if not bad:
        return []
    return ['%s: hyvm-img wrote into the header cluster at %s (QEMU did not)'
            % (cmd, ', '.join('%#x' % i for i in bad[:12]))]


def judge(cmd, h, q):
    if h.crashed():
        return ['%s: hyvm-img crashed or hung (%s)\n%s' % (cmd, h.rc, h)]
    out = []
    # A qemu-img that crashes (7.2 asserts on some of these) is no oracle.  A repair
    # QEMU gives up on may still succeed in hyvm: its result is judged instead.
    if (q.rc != 0 and h.rc == 0 and not (q.rc is not None and q.crashed()) and
            cmd != 'check -r all'):
        out.append('%s: qemu-img refuses (%s: %s) but hyvm-img succeeds\n%s'
                   % (cmd, 'no answer' if q.rc is None else 'exit %d' % q.rc,
                      q.err.strip()[-300:], h))
    # check's exits 2 and 3 are findings (ERROR/Leaked lines), not failures to run.
    if (h.rc != 0 and 'hyvm-img: ' not in h.err and
            not (cmd.startswith('check') and h.rc in (2, 3))):
        out.append('%s: hyvm-img fails without a "hyvm-img: ..." message\n%s' % (cmd, h))
    if cmd == 'check' and h.rc != q.rc and q.rc is not None:
        out.append('check: exit %s, qemu-img check exits %s\n%s\n%s' % (h.rc, q.rc, h, q))
    return out


# Untrusted command lines: create with options and sizes QEMU rejects (or takes).
CREATE_CASES = [
    ([], 'abc'), ([], '-1'), ([], '1E'), ([], '9223372036854775807'), ([], '16E'),
    ([], '0'), ([], '1000'),
    (['-o', 'cluster_size=256'], '4M'), (['-o', 'cluster_size=4M'], '4M'),
    (['-o', 'cluster_size=3000'], '4M'), (['-o', 'refcount_bits=3'], '4M'),
    (['-o', 'refcount_bits=128'], '4M'), (['-o', 'compat=2.0'], '4M'),
    (['-o', 'extended_l2=on,cluster_size=4k'], '4M'),
    (['-o', 'lazy_refcounts=on,compat=0.10'], '4M'),
    (['-o', 'compression_type=zstd,compat=0.10'], '4M'),
    (['-o', 'refcount_bits=1,compat=0.10'], '4M'),
    (['-o', 'preallocation=bogus'], '4M'), (['-o', 'no_such_option=1'], '4M'),
    (['-b', 'no-such-backing.qcow2', '-F', 'qcow2'], '4M'),
    (['-b', 'no-such-backing.qcow2', '-F', 'qcow2'], None),
    (['-o', 'cluster_size=512'], '1P'),
]


def create_cases(tap, d):
    for args, size in CREATE_CASES:
        name = 'create %s %s' % (' '.join(args), size)
        tail = [size] if size is not None else []
        hp, qp = os.path.join(d, 'ch.qcow2'), os.path.join(d, 'cq.qcow2')
        for f in (hp, qp):
            if os.path.exists(f):
                os.unlink(f)
        h = hyvm_img(*(['create', '-f', 'qcow2'] + args + [hp] + tail), timeout=TIMEOUT)
        q = qemu_img(*(['create', '-f', 'qcow2'] + args + [qp] + tail), timeout=TIMEOUT)
        problems = judge('create', h, q)
        if q.rc == 0 and h.rc != 0:
            problems.append('qemu-img creates it, hyvm-img refuses\n%s' % h)
        if h.rc == 0 and q.rc == 0 and qemu_img('check', hp).rc != 0:
            problems.append('qemu-img check of hyvm\'s image fails')
        tap.ok(not problems, name, '\n'.join(problems))


def main():
    tap = Tap()
    need(tap, 'malformed images', hyvm_img=HYVM_IMG, qemu_img=QEMU_IMG)
    with TempDir() as d:
        m = Maker(d)
        m.build()
        tap.case('create', create_cases, tap, d)
        for name, path in m.cases:
            # QEMU 7.2 opens a looping chain until it runs out of memory or files (it
            # never detects the loop but in info --backing-chain): a qemu-img that has
            # not answered in 1 s counts as a refusal, and hyvm-img must refuse.
            loop = name.startswith('backing loop') or 'image itself' in name
            tap.case(name, one_case, tap, d, name, path, 1 if loop else TIMEOUT)
    tap.done()


if __name__ == '__main__':
    main()
