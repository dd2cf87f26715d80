#!/usr/bin/env python3
"""A small HTTP server for the network tests and benchmark: serves the files
of one folder (GET and HEAD, HTTP/1.0, so each reply ends with the
connection) on one address.

  http-serve.py --dir DIR [--bind 127.0.0.1] [--port 0] [--log FILE]

Binds first (--port 0: a free port the kernel picks), then prints the port
on stdout, one line, so that the caller can use it at once; serves until
SIGTERM or SIGKILL.  With --log, one line per request, "METHOD PATH
STATUS", is appended to FILE and flushed at once (the tests read it to see
whether a request reached the host); nothing goes to stderr per request.
Python's standard library only.
"""

import argparse
import functools
import http.server
import signal
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    log_file = None

    def log_request(self, code='-', size='-'):
        if self.log_file:
            self.log_file.write(f'{self.command} {self.path} {code}\n')
            self.log_file.flush()

    def log_message(self, format, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', required=True)
    ap.add_argument('--bind', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--log')
    a = ap.parse_args()
    if a.log:
        Handler.log_file = open(a.log, 'a')
    handler = functools.partial(Handler, directory=a.dir)
    server = http.server.ThreadingHTTPServer((a.bind, a.port), handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(server.server_address[1], flush=True)
    server.serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main())
