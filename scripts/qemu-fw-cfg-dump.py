#!/usr/bin/env python3
"""Dumps the fw_cfg items of a stopped qemu-system-x86_64 (or hyvm with
HMP i/o) through QMP's human-monitor-command "o"/"i": the file directory,
then each file (or the chosen ones) in hex.  The oracle for what hyvm's pc
hands SeaBIOS: run it with the same machine options on both.

  scripts/qemu-fw-cfg-dump.py [--files NAME,...] [--keys 0x5,...] -- QEMU ARGS...
"""
import json
import subprocess
import sys


class Qmp:
    def __init__(self, argv):
        self.p = subprocess.Popen(argv + ['-S', '-display', 'none', '-qmp', 'stdio',
                                          '-monitor', 'none', '-serial', 'none'],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.read()
        self.cmd('qmp_capabilities')

    def read(self):
        while True:
            msg = json.loads(self.p.stdout.readline())
            if 'event' not in msg:
                return msg

    def cmd(self, name, **args):
        self.p.stdin.write(json.dumps({'execute': name, 'arguments': args}) + '\n')
        self.p.stdin.flush()
        return self.read()

    def hmp(self, line):
        return self.cmd('human-monitor-command', **{'command-line': line})['return']

    def select(self, key):
        self.hmp('o /h 0x510 0x%x' % key)

    def read_bytes(self, n):
        out = bytearray()
        for _ in range(n):
            r = self.hmp('i /b 0x511')
            out.append(int(r.split('=')[1], 16))
        return bytes(out)

    def quit(self):
        self.cmd('quit')
        self.p.wait()


def main():
    args = sys.argv[1:]
    files = keys = None
    while args and args[0] != '--':
        opt = args.pop(0)
        if opt == '--files':
            files = args.pop(0).split(',')
        elif opt == '--keys':
            keys = [int(k, 0) for k in args.pop(0).split(',')]
    argv = args[1:] or ['qemu-system-x86_64']
    q = Qmp(argv)
    q.select(0x19)
    n = int.from_bytes(q.read_bytes(4), 'big')
    entries = []
    for _ in range(n):
        e = q.read_bytes(64)
        entries.append((e[8:].split(b'\0')[0].decode(), int.from_bytes(e[4:6], 'big'),
                        int.from_bytes(e[0:4], 'big')))
    for name, key, size in entries:
        print('file %-32s key 0x%04x size %d' % (name, key, size))
    for key in keys or []:
        q.select(key)
        print('key 0x%04x: %s' % (key, q.read_bytes(16).hex()))
    for name, key, size in entries:
        if files is not None and name not in files:
            continue
        q.select(key)
        data = q.read_bytes(min(size, 4096))
        print('%s: %s' % (name, data.hex()))
    q.quit()


if __name__ == '__main__':
    main()
