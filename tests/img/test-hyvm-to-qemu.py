#!/usr/bin/env python3
"""
Images hyvm-img writes are images QEMU accepts (issue 8, "Tests" 1).

Every qcow2 variant hyvm-img create/convert can write (compat 0.10 and 1.1,
cluster sizes 512 B/64 KiB/2 MiB, refcount_bits 1/16/64, lazy_refcounts,
extended_l2, compression zlib/zstd with convert -c, backing chains with -b/-F
and convert -B) must pass `qemu-img check` with exit 0, compare equal to the
raw source with `qemu-img compare`, and show the same virtual size, cluster
size, backing file and format-specific fields in `qemu-img info`.  QEMU then
writes into the hyvm-made images (qemu-io) and checks them again: the
metadata hyvm lays out must be extendable by QEMU.  resize, snapshot, amend,
commit and rebase results are checked the same way.
"""
import os
import random
import struct

from imgtest import (HYVM_IMG, QEMU_IMG, QEMU_IO, Tap, TempDir, hyvm_img, json_or_none,
                     must, need, qemu_img, qemu_io, write_raw_source)

SIZE = 6 * 1024 * 1024 + 3 * 65536 + 3 * 512   # not a multiple of any cluster size

# name, -o options, expected cluster size, expected format-specific data fields
VARIANTS = [
    ('v3 defaults', '', 65536, {'compat': '1.1', 'refcount-bits': 16,
                                'lazy-refcounts': False, 'compression-type': 'zlib',
                                'extended-l2': False}),
    ('v2 (compat=0.10)', 'compat=0.10', 65536, {'compat': '0.10', 'refcount-bits': 16}),
    ('v2 cluster_size=512', 'compat=0.10,cluster_size=512', 512, {'compat': '0.10'}),
    ('cluster_size=512', 'cluster_size=512', 512, {'compat': '1.1'}),
    ('cluster_size=2M', 'cluster_size=2M', 2 * 1024 * 1024, {'compat': '1.1'}),
    ('refcount_bits=1', 'refcount_bits=1', 65536, {'refcount-bits': 1}),
    ('refcount_bits=64', 'refcount_bits=64', 65536, {'refcount-bits': 64}),
    ('refcount_bits=1 cluster_size=512', 'refcount_bits=1,cluster_size=512', 512,
     {'refcount-bits': 1}),
    ('lazy_refcounts=on', 'lazy_refcounts=on', 65536, {'lazy-refcounts': True}),
    ('extended_l2=on', 'extended_l2=on', 65536, {'extended-l2': True}),
    ('extended_l2=on cluster_size=2M', 'extended_l2=on,cluster_size=2M', 2 * 1024 * 1024,
     {'extended-l2': True}),
    ('preallocation=metadata', 'preallocation=metadata', 65536, {}),
    ('preallocation=falloc', 'preallocation=falloc', 65536, {}),
    ('preallocation=full cluster_size=4k', 'preallocation=full,cluster_size=4k', 4096, {}),
]


def opt_args(opts):
    return ['-o', opts] if opts else []


def unsupported(res):
    """hyvm-img may refuse to write an optional feature (extended L2 is required for
    reading only); any other failure is a failure."""
    text = res.err.lower()
    return res.rc == 1 and ('not supported' in text or 'unsupported' in text)


def check_info(tap, name, path, size, cluster, fields, backing=None, backing_fmt=None):
    info = json_or_none(must(qemu_img('info', '--output=json', path)).out)
    problems = []
    if info['virtual-size'] != size:
        problems.append('virtual-size %d, want %d' % (info['virtual-size'], size))
    if info.get('cluster-size') != cluster:
        problems.append('cluster-size %s, want %d' % (info.get('cluster-size'), cluster))
    data = info.get('format-specific', {}).get('data', {})
    for k, v in fields.items():
        if data.get(k) != v:
            problems.append('%s %r, want %r' % (k, data.get(k), v))
    if data.get('corrupt'):
        problems.append('corrupt bit set')
    if info.get('dirty-flag'):
        problems.append('dirty flag set after a clean exit')
    if info.get('backing-filename') != backing:
        problems.append('backing-filename %r, want %r' % (info.get('backing-filename'),
                                                          backing))
    if info.get('backing-filename-format') != backing_fmt:
        problems.append('backing-filename-format %r, want %r'
                        % (info.get('backing-filename-format'), backing_fmt))
    tap.ok(not problems, name + ': qemu-img info agrees', '\n'.join(problems))


def check_clean(tap, name, path):
    res = qemu_img('check', path)
    return tap.ok(res.rc == 0, name + ': qemu-img check exit 0', str(res))


def check_same(tap, name, raw, path, fmt='qcow2'):
    res = qemu_img('compare', '-f', 'raw', '-F', fmt, raw, path)
    return tap.ok(res.rc == 0, name + ': qemu-img compare equals the source', str(res))


def qemu_writes(tap, name, path, size, cluster):
    """QEMU extends hyvm's metadata: new clusters, zero writes, discards, a new L2 table."""
    last = size - 70000
    zero = (300 * 1024 + cluster - 1) // cluster * cluster   # past the pattern, aligned
    res = qemu_io('-f', 'qcow2', '-c', 'write -P 0xa5 1000 200k', '-c',
                  'write -z %d %d' % (zero, cluster), '-c',
                  'discard %d %d' % (zero + cluster, cluster), '-c',
                  'write -P 0x5a %d 65536' % last, path)
    if not tap.ok(res.rc == 0 and 'error' not in res.out.lower(),
                  name + ': qemu-io writes into the image', str(res)):
        return
    check_clean(tap, name + ' after qemu-io', path)
    res = qemu_io('-f', 'qcow2', '-c', 'read -P 0xa5 1000 200k', '-c',
                  'read -P 0x5a %d 65536' % last, path)
    tap.ok(res.rc == 0 and 'Pattern verification failed' not in res.out,
           name + ': qemu-io reads back what it wrote', str(res))


def variant(tap, d, src, name, opts, cluster, fields):
    tag = name.replace(' ', '_').replace('=', '-').replace(',', '_')
    out = os.path.join(d, tag + '.qcow2')
    res = hyvm_img('convert', '-f', 'raw', '-O', 'qcow2', *opt_args(opts), src, out)
    if res.rc != 0 and unsupported(res):
        tap.skip('convert ' + name, 'hyvm-img does not write it: ' + res.err.strip())
        return
    if not tap.ok(res.rc == 0, 'convert -O qcow2 ' + name, str(res)):
        return
    if check_clean(tap, 'convert ' + name, out):
        check_same(tap, 'convert ' + name, src, out)
        check_info(tap, 'convert ' + name, out, SIZE, cluster, fields)
    empty = os.path.join(d, tag + '-created.qcow2')
    res = hyvm_img('create', '-f', 'qcow2', *opt_args(opts), empty, str(SIZE))
    if not tap.ok(res.rc == 0, 'create ' + name, str(res)):
        return
    if check_clean(tap, 'create ' + name, empty):
        check_info(tap, 'create ' + name, empty, SIZE, cluster, fields)
        if QEMU_IO:
            qemu_writes(tap, 'create ' + name, empty, SIZE, cluster)
    os.unlink(empty)
    os.unlink(out)


def parallel(tap, d, src):
    """convert -W -m 8: eight workers writing out of order into one qcow2 node."""
    for opts, extra in [('cluster_size=64k', []), ('cluster_size=512', []),
                        ('cluster_size=4k', ['-c'])]:
        out = os.path.join(d, 'par.qcow2')
        if os.path.exists(out):
            os.unlink(out)
        name = 'convert -W -m 8 %s %s' % (' '.join(extra), opts)
        res = hyvm_img(*(['convert', '-W', '-m', '8'] + extra +
                         ['-f', 'raw', '-O', 'qcow2', '-o', opts, src, out]))
        if tap.ok(res.rc == 0, name, str(res)):
            if check_clean(tap, name, out):
                check_same(tap, name, src, out)


def bitmaps(tap, d, src):
    """hyvm keeps no persistent bitmaps, so a write must clear autoclear bit 0 (qcow2
    spec: a program that does not understand an autoclear bit clears it when it writes);
    QEMU then drops the stale bitmaps instead of trusting them."""
    img = os.path.join(d, 'bitmap.qcow2')
    must(qemu_img('convert', '-O', 'qcow2', src, img))
    must(qemu_img('bitmap', '--add', img, 'b0'))
    res = hyvm_img('snapshot', '-c', 'after-bitmap', img)
    if not tap.ok(res.rc == 0, 'snapshot -c on an image with a persistent bitmap', str(res)):
        return
    with open(img, 'rb') as f:
        autoclear = struct.unpack('>Q', f.read(96)[88:96])[0]
    tap.ok(autoclear & 1 == 0, 'a write clears the bitmaps autoclear bit',
           'autoclear_features %#x' % autoclear)
    res = qemu_img('check', img)
    tap.ok(res.rc in (0, 3), 'bitmap image: qemu-img check finds no corruption', str(res))
    check_same(tap, 'bitmap image', src, img)


def dirty_repair(tap, d, src):
    """A QEMU crash with lazy_refcounts leaves the dirty bit and stale refcounts; hyvm's
    first read-write open repairs them (as QEMU's does) and the image checks clean."""
    img = os.path.join(d, 'dirty.qcow2')
    must(qemu_img('create', '-f', 'qcow2', '-o', 'lazy_refcounts=on', img, '4M'))
    qemu_io('-f', 'qcow2', '-c', 'write -P 5 0 300k', '-c', 'flush', '-c', 'abort', img)
    res = qemu_img('check', img)
    if res.rc == 0:
        tap.skip('dirty image repair', 'qemu-io abort left no stale refcounts')
        return
    res = hyvm_img('resize', img, '+64k')
    if tap.ok(res.rc == 0, 'resize of a dirty lazy-refcounts image', str(res)):
        check_clean(tap, 'dirty image after hyvm\'s open', img)
        res = qemu_io('-f', 'qcow2', '-r', '-c', 'read -P 5 0 300k', img)
        tap.ok(res.rc == 0 and 'verification failed' not in res.out,
               'dirty image: the data QEMU wrote before its crash reads back', str(res))


def measure(tap, d, src):
    """measure --output=json: QEMU's numbers for the same input and options."""
    img = os.path.join(d, 'measure.qcow2')
    must(qemu_img('convert', '-O', 'qcow2', src, img))
    for args in (['-f', 'raw', src], ['-f', 'qcow2', img], ['--size', '10G'],
                 ['-o', 'cluster_size=512', '-f', 'raw', src],
                 ['-o', 'refcount_bits=64,cluster_size=2M', '--size', '100G']):
        full = ['measure', '--output=json', '-O', 'qcow2'] + args
        h, q = hyvm_img(*full), qemu_img(*full)
        tap.ok(h.rc == q.rc and json_or_none(h.out) == json_or_none(q.out),
               ' '.join(full[:-1] + [os.path.basename(full[-1])]) + ': as qemu-img\'s',
               '%s\n%s' % (h, q))


def compressed(tap, d, src, ctype):
    out = os.path.join(d, 'c-%s.qcow2' % ctype)
    res = hyvm_img('convert', '-c', '-f', 'raw', '-O', 'qcow2', '-o',
                   'compression_type=' + ctype, src, out)
    if not tap.ok(res.rc == 0, 'convert -c compression_type=' + ctype, str(res)):
        return
    if not check_clean(tap, 'convert -c ' + ctype, out):
        return
    check_same(tap, 'convert -c ' + ctype, src, out)
    check_info(tap, 'convert -c ' + ctype, out, SIZE, 65536, {'compression-type': ctype})
    chk = json_or_none(qemu_img('check', '--output=json', out).out) or {}
    tap.ok(chk.get('compressed-clusters', 0) > 0,
           'convert -c %s: the image holds compressed clusters' % ctype,
           'qemu-img check --output=json: %r' % chk)
    if QEMU_IO:
        # Overwriting part of a compressed cluster: QEMU decompresses what hyvm compressed.
        must(qemu_io('-f', 'qcow2', '-c', 'write -P 0x77 70000 1000', out))
        check_clean(tap, 'convert -c %s, qemu-io overwrite' % ctype, out)


def backing(tap, d, src, src2, src3):
    base = os.path.join(d, 'base.qcow2')
    must_ok = tap.ok(hyvm_img('convert', '-O', 'qcow2', src, base).rc == 0,
                     'backing: convert the base')
    if not must_ok:
        return
    top = os.path.join(d, 'top.qcow2')
    res = hyvm_img('create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', top)
    if tap.ok(res.rc == 0, 'create -b base.qcow2 -F qcow2 (size from the backing)', str(res)):
        if check_clean(tap, 'create -b', top):
            check_same(tap, 'create -b (reads through to the base)', src, top)
            check_info(tap, 'create -b', top, SIZE, 65536, {}, 'base.qcow2', 'qcow2')
        if QEMU_IO:
            qemu_writes(tap, 'create -b', top, SIZE, 65536)

    rawtop = os.path.join(d, 'rawtop.qcow2')
    res = hyvm_img('create', '-f', 'qcow2', '-b', os.path.basename(src), '-F', 'raw', rawtop)
    if tap.ok(res.rc == 0, 'create -b src.raw -F raw', str(res)):
        if check_clean(tap, 'create -b raw', rawtop):
            check_same(tap, 'create -b raw', src, rawtop)
            check_info(tap, 'create -b raw', rawtop, SIZE, 65536, {},
                       os.path.basename(src), 'raw')

    mid = os.path.join(d, 'mid.qcow2')
    res = hyvm_img('convert', '-O', 'qcow2', '-B', 'base.qcow2', '-F', 'qcow2', src2, mid)
    if not tap.ok(res.rc == 0, 'convert -B base.qcow2 (two deep)', str(res)):
        return
    if check_clean(tap, 'convert -B', mid):
        check_same(tap, 'convert -B', src2, mid)
        check_info(tap, 'convert -B', mid, SIZE, 65536, {}, 'base.qcow2', 'qcow2')
    top3 = os.path.join(d, 'top3.qcow2')
    res = hyvm_img('convert', '-O', 'qcow2', '-B', 'mid.qcow2', '-F', 'qcow2', src3, top3)
    if tap.ok(res.rc == 0, 'convert -B mid.qcow2 (three deep)', str(res)):
        if check_clean(tap, 'three deep', top3):
            check_same(tap, 'three deep', src3, top3)
            check_info(tap, 'three deep', top3, SIZE, 65536, {}, 'mid.qcow2', 'qcow2')

    # commit: the base takes mid's data; the chain below still reads the same.
    res = hyvm_img('commit', mid)
    if tap.ok(res.rc == 0, 'commit mid.qcow2 into base.qcow2', str(res)):
        check_clean(tap, 'commit: base', base)
        check_same(tap, 'commit: base now equals mid\'s contents', src2, base)
        check_clean(tap, 'commit: mid', mid)
        check_same(tap, 'commit: three deep still reads the same', src3, top3)

    # rebase (safe mode) onto a raw backing keeps the contents.
    res = hyvm_img('rebase', '-b', os.path.basename(src), '-F', 'raw', '-f', 'qcow2', top3)
    if tap.ok(res.rc == 0, 'rebase -b src.raw -F raw', str(res)):
        if check_clean(tap, 'rebase', top3):
            check_same(tap, 'rebase keeps the contents', src3, top3)
            check_info(tap, 'rebase', top3, SIZE, 65536, {}, os.path.basename(src), 'raw')


def resize_snapshot_amend(tap, d, src):
    img = os.path.join(d, 'ops.qcow2')
    must(qemu_img('convert', '-O', 'qcow2', src, img))
    res = hyvm_img('resize', img, '+1M')
    if tap.ok(res.rc == 0, 'resize +1M', str(res)):
        check_clean(tap, 'resize +1M', img)
        info = json_or_none(qemu_img('info', '--output=json', img).out) or {}
        tap.ok(info.get('virtual-size') == SIZE + 1048576, 'resize +1M: new virtual size',
               repr(info.get('virtual-size')))
        res = qemu_img('compare', '-f', 'raw', '-F', 'qcow2', src, img)
        tap.ok(res.rc == 0, 'resize +1M: old contents kept, the tail reads zero', str(res))
    res = hyvm_img('resize', '--shrink', img, str(SIZE))
    if tap.ok(res.rc == 0, 'resize --shrink', str(res)):
        check_clean(tap, 'resize --shrink', img)
        check_same(tap, 'resize --shrink', src, img)

    res = hyvm_img('snapshot', '-c', 's1', img)
    if tap.ok(res.rc == 0, 'snapshot -c s1', str(res)):
        check_clean(tap, 'snapshot -c', img)
        lst = qemu_img('snapshot', '-l', img)
        tap.ok(' s1 ' in lst.out, 'snapshot -c: qemu-img snapshot -l lists s1', str(lst))
        if QEMU_IO:
            must(qemu_io('-f', 'qcow2', '-c', 'write -P 0x33 0 300k', img))
            check_clean(tap, 'snapshot: qemu-io writes over a snapshot (COW)', img)
        res = hyvm_img('snapshot', '-a', 's1', img)
        if tap.ok(res.rc == 0, 'snapshot -a s1', str(res)):
            check_clean(tap, 'snapshot -a', img)
            check_same(tap, 'snapshot -a restores the contents', src, img)
        res = hyvm_img('snapshot', '-d', 's1', img)
        if tap.ok(res.rc == 0, 'snapshot -d s1', str(res)):
            check_clean(tap, 'snapshot -d', img)
            lst = qemu_img('snapshot', '-l', img)
            tap.ok(' s1 ' not in lst.out, 'snapshot -d: s1 is gone', str(lst))

    for opts, fields in [('compat=0.10', {'compat': '0.10'}),
                         ('compat=1.1,lazy_refcounts=on', {'compat': '1.1',
                                                          'lazy-refcounts': True}),
                         ('lazy_refcounts=off', {'lazy-refcounts': False})]:
        res = hyvm_img('amend', '-f', 'qcow2', '-o', opts, img)
        if tap.ok(res.rc == 0, 'amend -o ' + opts, str(res)):
            if check_clean(tap, 'amend -o ' + opts, img):
                check_same(tap, 'amend -o ' + opts, src, img)
                check_info(tap, 'amend -o ' + opts, img, SIZE, 65536, fields)


def main():
    tap = Tap()
    need(tap, 'hyvm-img -> qemu-img interop', hyvm_img=HYVM_IMG, qemu_img=QEMU_IMG)
    if not QEMU_IO:
        tap.diag('qemu-io missing: QEMU does not write into the hyvm-made images')
    with TempDir() as d:
        src = os.path.join(d, 'src.raw')
        src2 = os.path.join(d, 'src2.raw')
        src3 = os.path.join(d, 'src3.raw')
        write_raw_source(src, SIZE, 1)
        # src2/src3: src with some regions changed (the layers of a chain).
        for path, seed in [(src2, 2), (src3, 3)]:
            with open(src if path == src2 else src2, 'rb') as f:
                data = bytearray(f.read())
            rnd = random.Random(seed)
            for _ in range(12):
                off = rnd.randrange(0, SIZE - 100000)
                n = rnd.randrange(1, 100000)
                data[off:off + n] = rnd.randbytes(n) if rnd.random() < 0.7 else bytes(n)
            with open(path, 'wb') as f:
                f.write(data)
        for name, opts, cluster, fields in VARIANTS:
            tap.case(name, variant, tap, d, src, name, opts, cluster, fields)
        for ctype in ('zlib', 'zstd'):
            tap.case('compressed ' + ctype, compressed, tap, d, src, ctype)
        tap.case('parallel convert', parallel, tap, d, src)
        tap.case('measure', measure, tap, d, src)
        tap.case('bitmaps', bitmaps, tap, d, src)
        if QEMU_IO:
            tap.case('dirty repair', dirty_repair, tap, d, src)
        tap.case('backing chains', backing, tap, d, src, src2, src3)
        tap.case('resize/snapshot/amend', resize_snapshot_amend, tap, d, src)
    tap.done()


if __name__ == '__main__':
    main()
