"""
Shared by the img tests (tests/img/test-*.py): TAP output, the tools under test
and the oracle, temporary directories, raw source images.

The tools come from meson through the environment: HYVM_IMG (tools/hyvm-img),
HYVM (the hyvm binary), HYVM_IMG_WRITER (tests/img/img-writer).  QEMU's tools
are looked up on PATH (QEMU_IMG, QEMU_IO, QEMU_SYSTEM override); a test that
needs one that is missing is skipped, as the CI set-up installs them
(qemu-utils, qemu-system-x86).

Threads: one; the child processes run one at a time unless a test says so.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback


def tool(env_name, prog):
    path = os.environ.get(env_name)
    if path:
        return path if os.path.exists(path) else None
    return shutil.which(prog)


HYVM_IMG = tool('HYVM_IMG', 'hyvm-img')
HYVM = tool('HYVM', 'hyvm')
WRITER = tool('HYVM_IMG_WRITER', 'img-writer')
QEMU_IMG = tool('QEMU_IMG', 'qemu-img')
QEMU_IO = tool('QEMU_IO', 'qemu-io')
QEMU_SYSTEM = tool('QEMU_SYSTEM', 'qemu-system-x86_64')

# A command that runs longer than this has hung: the test fails, it never waits forever.
CMD_TIMEOUT = 60


class Result:
    """A finished command: rc (negative = killed by that signal), out, err."""

    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    def crashed(self):
        """Killed by a signal, hung, or a sanitizer report (ASan/UBSan exit 1 otherwise)."""
        return (self.rc is None or self.rc < 0 or self.rc >= 128 or
                'ERROR: AddressSanitizer' in self.err or 'runtime error:' in self.err)

    def __str__(self):
        return '$ %s\n  exit %s\n  stdout: %s\n  stderr: %s' % (
            ' '.join(self.argv), self.rc, self.out[-1500:].rstrip(),
            self.err[-1500:].rstrip())


def run(argv, timeout=CMD_TIMEOUT, stdin=subprocess.DEVNULL):
    argv = [str(a) for a in argv]
    try:
        p = subprocess.run(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode('utf-8', 'replace')
        err = (e.stderr or b'').decode('utf-8', 'replace')
        return Result(argv, None, out, err + '\n[timed out after %ss]' % timeout)
    return Result(argv, p.returncode, p.stdout.decode('utf-8', 'replace'),
                  p.stderr.decode('utf-8', 'replace'))


def hyvm_img(*args, **kw):
    return run([HYVM_IMG] + list(args), **kw)


def qemu_img(*args, **kw):
    return run([QEMU_IMG] + list(args), **kw)


def qemu_io(*args, **kw):
    return run([QEMU_IO] + list(args), **kw)


def must(res):
    """A set-up step done with QEMU's tools: its failure is the test's bug."""
    if res.rc != 0:
        raise RuntimeError('set-up step failed:\n%s' % res)
    return res


class Tap:
    """TAP with the plan printed last, so a case can add checks as it goes."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        print('TAP version 13', flush=True)

    def diag(self, text):
        for line in str(text).splitlines():
            print('# ' + line)
        sys.stdout.flush()

    def ok(self, cond, name, why=''):
        self.n += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name))
        if not cond:
            self.failed += 1
            if why:
                self.diag(why)
        sys.stdout.flush()
        return cond

    def skip(self, name, reason):
        self.n += 1
        print('ok %d - %s # SKIP %s' % (self.n, name, reason), flush=True)

    def case(self, name, fn, *args):
        """Runs fn(*args); an exception is one failed check, not the end of the script."""
        try:
            fn(*args)
        except Exception:
            self.ok(False, name + ': raised', traceback.format_exc())

    def done(self):
        if self.n == 0:
            self.skip('nothing ran', 'no cases')
        print('1..%d' % self.n, flush=True)
        sys.exit(1 if self.failed else 0)


def need(tap, what, **tools):
    """Skips the whole script (one SKIP line) when a tool is missing."""
    missing = [name for name, path in tools.items() if not path]
    if missing:
        tap.skip(what, 'missing: ' + ', '.join(missing))
        tap.done()


class TempDir:
    def __enter__(self):
        base = os.environ.get('TMPDIR', '/tmp')
        self.path = tempfile.mkdtemp(prefix='hyvm-img-test.', dir=base)
        return self.path

    def __exit__(self, *exc):
        if os.environ.get('HYVM_KEEP_TMP'):
            print('# kept ' + self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def write_raw_source(path, size, seed, cluster=65536):
    """A raw image with what converters must handle: random data at unaligned
    offsets, runs of written zeroes, holes, a data tail at the very end."""
    rnd = random.Random(seed)
    with open(path, 'wb') as f:
        f.truncate(size)
        pos = 0
        while pos < size:
            kind = rnd.choice(['data', 'data', 'zero', 'hole', 'pattern'])
            length = min(size - pos, rnd.choice([511, 4096, cluster, 3 * cluster + 1000,
                                                 rnd.randrange(1, 2 * cluster)]))
            f.seek(pos)
            if kind == 'data':
                f.write(rnd.randbytes(length))
            elif kind == 'zero':
                f.write(bytes(length))
            elif kind == 'pattern':
                f.write(bytes([rnd.randrange(1, 256)]) * length)
            pos += length
        f.seek(size - 4096)
        f.write(rnd.randbytes(4096))


def files_equal(a, b):
    with open(a, 'rb') as fa, open(b, 'rb') as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def first_difference(a, b):
    with open(a, 'rb') as fa, open(b, 'rb') as fb:
        x, y = fa.read(), fb.read()
    if len(x) != len(y):
        return 'sizes %d and %d' % (len(x), len(y))
    for i in range(0, len(x), 512):
        if x[i:i + 512] != y[i:i + 512]:
            return 'first differing sector at byte %d (0x%x)' % (i, i)
    return 'equal'


def json_or_none(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def dict_diff(a, b, path=''):
    """Where two parsed JSON values differ, as 'path: a != b' lines."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append('%s/%s: missing in first (second has %r)' % (path, k, b[k]))
            elif k not in b:
                out.append('%s/%s: missing in second (first has %r)' % (path, k, a[k]))
            else:
                out += dict_diff(a[k], b[k], path + '/' + k)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            out += dict_diff(x, y, '%s[%d]' % (path, i))
    elif a != b:
        out.append('%s: %r != %r' % (path or '/', a, b))
    return out


def signame(rc):
    if rc is None:
        return 'timeout'
    if rc < 0:
        return 'signal %s' % signal.Signals(-rc).name
    return 'exit %d' % rc
