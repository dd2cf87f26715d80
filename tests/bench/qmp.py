#!/usr/bin/env python3
"""QMP start-up benchmark, hyvm beside QEMU in one run (never part of meson test).

  tests/bench/qmp.py [--builddir build] [--runs 20] [--accel auto|kvm|tcg]

For each program, the median over --runs of:
1. exec of `PROG -S -M microvm -m 256 -display none -nodefaults
   -qmp unix:P,server=on,wait=off` (plus `-accel A` unless A is auto, the
   default: each program's own choice) to the QMP greeting on the socket;
2. exec to the end of `quit` (qmp_capabilities, quit, process gone).
Prints both figures for hyvm and qemu-system-x86_64 and their ratio.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.perf_counter() > deadline:
                raise TimeoutError("no QMP socket at " + path)
            time.sleep(0.0002)


def read_line(f):
    line = f.readline()
    if not line:
        raise EOFError("QMP connection closed")
    return json.loads(line)


def one_run(prog, accel):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "qmp.sock")
        cmd = [prog] + ([] if accel == "auto" else ["-accel", accel]) + [
               "-S", "-M", "microvm", "-m", "256", "-display", "none", "-nodefaults",
               "-qmp", "unix:%s,server=on,wait=off" % path]
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            s = connect(path, t0 + 30)
            f = s.makefile("r")
            greeting = read_line(f)
            t_greeting = time.perf_counter() - t0
            assert "QMP" in greeting, greeting
            s.sendall(b'{"execute": "qmp_capabilities"}\n')
            read_line(f)
            s.sendall(b'{"execute": "quit"}\n')
            try:
                while f.readline():
                    pass
            except ConnectionResetError:
                pass  # QEMU may close before we read the last bytes
            p.wait(timeout=30)
            t_quit = time.perf_counter() - t0
            s.close()
            return t_greeting, t_quit
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


def measure(progs, accel, runs):
    """Runs the programs in turn, run by run, so load on the host hits both."""
    times = {name: ([], []) for name in progs}
    for _ in range(runs):
        for name, prog in progs.items():
            tg, tq = one_run(prog, accel)
            times[name][0].append(tg)
            times[name][1].append(tq)
    return {name: (statistics.median(g), statistics.median(q))
            for name, (g, q) in times.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default="build")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--accel", default="auto")
    args = ap.parse_args()

    hyvm = os.path.join(args.builddir, "hyvm")
    qemu = shutil.which("qemu-system-x86_64")
    progs = {"hyvm": hyvm}
    if qemu:
        progs["qemu"] = qemu
    else:
        print("qemu-system-x86_64 not found: no ratio", file=sys.stderr)
    results = measure(progs, args.accel, args.runs)
    for name, (g, q) in results.items():
        print("%s: exec to QMP greeting: %.1f ms, to end of quit: %.1f ms (median of %d)"
              % (name, g * 1000, q * 1000, args.runs))
    if "qemu" in results:
        h, k = results["hyvm"], results["qemu"]
        print("ratio hyvm/qemu: greeting %.3f, quit %.3f" % (h[0] / k[0], h[1] / k[1]))


if __name__ == "__main__":
    main()
