#!/usr/bin/env python3
"""
Image locking between hyvm and QEMU (issue 8, "Build" 3 and "Tests" 5).

QEMU locks images with OFD locks on bytes of the file (file-posix.c: one byte
per permission at 100+, one per unshared permission at 200+); hyvm must take
and test the same bytes, so each protects the other's images.

For every kind of holder (read-write, read-only, read-only with force-share)
there is a QEMU holder (qemu-io in interactive mode, qemu-system-x86_64 -drive)
and a hyvm holder (img-writer hold: bdrv_open with the same flags; hyvm -drive
when hyvm starts with one).  Under each holder the same probes run, QEMU's and
hyvm's: info, info -U, check, a read-write open, a read-only open.  Each
probe's outcome (success, or which lock it failed to get) must be the same
under the hyvm holder as under the QEMU holder, and hyvm-img's message must be
qemu-img's word for word ('Failed to get shared "write" lock' / 'Is another
process using the image [...]?').
"""
import os
import re
import select
import subprocess
import time

from imgtest import (HYVM, HYVM_IMG, QEMU_IMG, QEMU_IO, QEMU_SYSTEM, WRITER, Tap, TempDir,
                     must, need, qemu_img, run)

LOCK_RE = re.compile(r'Failed to get (shared )?"(\w+)" lock')


def outcome(res):
    """What a probe did: 'ok', 'lock: shared "write"' ..., or the error text."""
    if res.crashed():
        return 'crashed (%s)' % res.rc
    if res.rc == 0:
        return 'ok'
    m = LOCK_RE.search(res.err)
    if m:
        return 'lock: %s"%s"' % (m.group(1) or '', m.group(2))
    return 'error: ' + res.err.strip()[:200]


class Holder:
    def __init__(self, name, argv, ready):
        self.name, self.argv, self.ready = name, argv, ready
        self.p = None

    def start(self, img):
        self.p = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        return self.ready(self, img)

    def stop(self):
        if self.p is None:
            return
        try:
            self.p.stdin.close()
        except OSError:
            pass
        if self.ready is ready_locked:
            self.p.terminate()              # a VM: SIGTERM is its orderly quit
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p = None

    def alive(self):
        return self.p.poll() is None


def ready_line(h, img):
    line = h.p.stdout.readline()
    return line.strip() == b'ready'


def ready_prompt(h, img):
    """qemu-io prints its prompt once the image is open (and locked)."""
    got = b''
    deadline = time.time() + 15
    while b'qemu-io> ' not in got and time.time() < deadline:
        r, _, _ = select.select([h.p.stdout], [], [], 0.5)
        if r:
            chunk = os.read(h.p.stdout.fileno(), 100)
            if not chunk:
                return False
            got += chunk
    return b'qemu-io> ' in got and h.alive()


def ready_locked(h, img):
    """A VM holder: wait until its lock shows (qemu-img info without -U fails)."""
    for _ in range(100):
        if not h.alive():
            return False
        if qemu_img('info', img).rc != 0:
            return True
        time.sleep(0.1)
    return False


def probes(img):
    """name, argv; hyvm's and QEMU's tool side by side."""
    p = [('qemu-img info', [QEMU_IMG, 'info', img]),
         ('qemu-img info -U', [QEMU_IMG, 'info', '-U', img]),
         ('qemu-img check', [QEMU_IMG, 'check', img]),
         ('hyvm-img info', [HYVM_IMG, 'info', img]),
         ('hyvm-img info -U', [HYVM_IMG, 'info', '-U', img]),
         ('hyvm-img check', [HYVM_IMG, 'check', img]),
         ('hyvm-img check -U', [HYVM_IMG, 'check', '-U', img]),
         ('hyvm-img snapshot -l', [HYVM_IMG, 'snapshot', '-l', img]),
         ('hyvm-img resize +0', [HYVM_IMG, 'resize', img, '+0'])]
    if QEMU_IO:
        p += [('qemu-io read-write', [QEMU_IO, '-f', 'qcow2', '-c', 'read 0 512', img]),
              ('qemu-io -r', [QEMU_IO, '-r', '-f', 'qcow2', '-c', 'read 0 512', img])]
    if WRITER:
        p += [('block layer read-write', [WRITER, 'hold', img, 'qcow2']),
              ('block layer read-only', [WRITER, 'hold', img, 'qcow2', 'readonly'])]
    return p


def run_probes(img):
    out = {}
    for name, argv in probes(img):
        res = run(argv, timeout=20)
        out[name] = (outcome(res), res)
    return out


def holders(img):
    """kind -> [holder]; the first of each kind is QEMU's, the reference."""
    kinds = {'read-write': [], 'read-only': [], 'read-only force-share': []}
    if QEMU_IO:
        kinds['read-write'].append(Holder('qemu-io', [QEMU_IO, '-f', 'qcow2', img],
                                          ready_prompt))
        kinds['read-only'].append(Holder('qemu-io -r', [QEMU_IO, '-r', '-f', 'qcow2', img],
                                         ready_prompt))
        kinds['read-only force-share'].append(
            Holder('qemu-io -r -U', [QEMU_IO, '-r', '-U', '-f', 'qcow2', img],
                   ready_prompt))
    vm = ['-S', '-display', 'none', '-nodefaults', '-monitor', 'none', '-serial', 'none',
          '-drive', 'file=%s,if=none,format=qcow2,id=d0' % img]
    if QEMU_SYSTEM:
        kinds['read-write'].append(Holder('qemu-system-x86_64 -drive',
                                          [QEMU_SYSTEM, '-M', 'none'] + vm, ready_locked))
    if WRITER:
        kinds['read-write'].append(Holder('hyvm block layer (img-writer hold)',
                                          [WRITER, 'hold', img, 'qcow2'], ready_line))
        kinds['read-only'].append(Holder('hyvm block layer read-only',
                                         [WRITER, 'hold', img, 'qcow2', 'readonly'],
                                         ready_line))
        kinds['read-only force-share'].append(
            Holder('hyvm block layer read-only force-share',
                   [WRITER, 'hold', img, 'qcow2', 'readonly,shared'], ready_line))
    if HYVM:
        kinds['read-write'].append(Holder('hyvm -drive', [HYVM] + vm, ready_locked))
    return kinds


def same_message(tap, label, hres, qres, img):
    """hyvm-img's lock error is qemu-img's, word for word, but for the program name."""
    want = qres.err.replace('qemu-img:', 'hyvm-img:')
    tap.ok(hres.err == want, label + ': hyvm-img prints qemu-img\'s message',
           'hyvm-img: %r\nqemu-img: %r' % (hres.err, want))


def kind_case(tap, img, kind, hs):
    ref = None
    for h in hs:
        label = '%s holder %s' % (kind, h.name)
        try:
            started = h.start(img)
            if not started and h.name == 'hyvm -drive' and not h.alive():
                err = h.p.stderr.read1(4000).decode(errors='replace') if not h.alive() else ''
                tap.skip(label, 'hyvm does not hold the image with -drive yet: ' + err.strip())
                continue
            if not tap.ok(started, label + ': holds the image',
                          'holder exited: %s' % (h.p.stderr.read1(4000) if not h.alive()
                                                 else 'did not lock')):
                continue
            res = run_probes(img)
        finally:
            h.stop()
        if ref is None:
            ref = res
            tap.diag('%s under %s: %s' % (kind, h.name,
                                          ', '.join('%s: %s' % (k, v[0])
                                                    for k, v in res.items())))
        # hyvm's tools behave as QEMU's under this holder.
        for hy, qe in [('hyvm-img info', 'qemu-img info'),
                       ('hyvm-img info -U', 'qemu-img info -U'),
                       ('hyvm-img check', 'qemu-img check')]:
            tap.ok(res[hy][0] == res[qe][0], '%s: %s does as %s' % (label, hy, qe),
                   '%s: %s\n%s: %s\n%s' % (hy, res[hy][0], qe, res[qe][0], res[hy][1]))
            if res[qe][0].startswith('lock'):
                same_message(tap, '%s: %s' % (label, hy), res[hy][1], res[qe][1], img)
        if 'block layer read-write' in res and 'qemu-io read-write' in res:
            tap.ok(res['block layer read-write'][0] == res['qemu-io read-write'][0],
                   '%s: the block layer opens read-write as qemu-io does' % label,
                   '%s / %s' % (res['block layer read-write'][0],
                                res['qemu-io read-write'][0]))
            tap.ok(res['block layer read-only'][0] == res['qemu-io -r'][0],
                   '%s: the block layer opens read-only as qemu-io -r does' % label,
                   '%s / %s' % (res['block layer read-only'][0], res['qemu-io -r'][0]))
        # Every probe does under this holder what it does under QEMU's.
        if h is not hs[0]:
            diff = ['%s: %s, under %s: %s' % (k, res[k][0], hs[0].name, ref[k][0])
                    for k in res if res[k][0] != ref[k][0]]
            tap.ok(not diff, '%s: every probe as under %s' % (label, hs[0].name),
                   '\n'.join(diff))
        # The holder still holds a consistent image.
        chk = qemu_img('check', img)
        tap.ok(chk.rc == 0, label + ': image clean afterwards', str(chk))


def main():
    tap = Tap()
    need(tap, 'locking between hyvm and QEMU', hyvm_img=HYVM_IMG, qemu_img=QEMU_IMG)
    with TempDir() as d:
        img = os.path.join(d, 'locked.qcow2')
        must(qemu_img('create', '-f', 'qcow2', img, '64M'))
        res = run_probes(img)
        bad = [k for k, v in res.items() if v[0] != 'ok']
        tap.ok(not bad, 'no holder: every probe succeeds',
               '\n'.join(str(res[k][1]) for k in bad))
        for kind, hs in holders(img).items():
            if not hs:
                tap.skip(kind, 'no holder tool')
                continue
            tap.case(kind, kind_case, tap, img, kind, hs)
    tap.done()


if __name__ == '__main__':
    main()
