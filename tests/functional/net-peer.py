#!/usr/bin/env python3
"""A tiny host on the other end of `-netdev socket`: it answers ARP and ICMP
echo for one IPv4 address, so that `ping` from the guest works without
slirp or tap.

The frames travel as QEMU 7.2's socket netdev sends them: over TCP, each
frame is preceded by its length as a 32-bit big-endian word; over UDP, one
datagram is one frame.

    net-peer.py --connect 127.0.0.1:PORT   # the VM has -netdev socket,listen=...
    net-peer.py --listen 127.0.0.1:PORT    # the VM has -netdev socket,connect=...
    net-peer.py --udp 127.0.0.1:VMPORT --local 127.0.0.1:PORT
                                            # the VM has udp=...:PORT,localaddr=...:VMPORT

It runs until the connection closes, --timeout seconds pass or SIGTERM
arrives, prints one line per frame it answers on stderr (with -v), and on
exit prints
"net-peer: arp=N icmp=N frames=N" on stdout.  Exit status 0, or 1 when
--expect-icmp N echo requests were not all answered.
"""

import argparse
import signal
import socket
import struct
import sys
import time

ETH_ARP = 0x0806
ETH_IP = 0x0800


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def checksum(data):
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Peer:
    def __init__(self, ip, mac, verbose):
        self.ip = socket.inet_aton(ip)
        self.mac = mac_bytes(mac)
        self.verbose = verbose
        self.counts = {"arp": 0, "icmp": 0, "frames": 0}

    def log(self, msg):
        if self.verbose:
            print("net-peer: " + msg, file=sys.stderr, flush=True)

    def answer(self, frame):
        """The reply to one Ethernet frame, or None."""
        self.counts["frames"] += 1
        if len(frame) < 14:
            return None
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype == ETH_ARP:
            return self.arp(frame)
        if ethertype == ETH_IP:
            return self.icmp(frame)
        return None

    def arp(self, frame):
        a = frame[14:42]
        if len(a) < 28:
            return None
        htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", a[:8])
        sha, spa, tpa = a[8:14], a[14:18], a[24:28]
        if (htype, ptype, hlen, plen, op) != (1, ETH_IP, 6, 4, 1) or tpa != self.ip:
            return None
        self.counts["arp"] += 1
        self.log("ARP who-has %s from %s" % (socket.inet_ntoa(tpa), sha.hex(":")))
        reply = struct.pack("!HHBBH", 1, ETH_IP, 6, 4, 2) + self.mac + self.ip + sha + spa
        return sha + self.mac + struct.pack("!H", ETH_ARP) + reply

    def icmp(self, frame):
        ip = frame[14:]
        if len(ip) < 20 or ip[0] >> 4 != 4:
            return None
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        if ip[9] != 1 or ip[16:20] != self.ip or total > len(ip) or total < ihl + 8:
            return None
        body = ip[ihl:total]
        if body[0] != 8:        # echo request
            return None
        self.counts["icmp"] += 1
        self.log("ICMP echo from %s, %d bytes" % (socket.inet_ntoa(ip[12:16]), len(body)))
        reply = b"\0\0" + b"\0\0" + body[4:]
        reply = reply[:2] + struct.pack("!H", checksum(reply)) + reply[4:]
        hdr = bytearray(ip[:20])
        hdr[0] = 0x45
        hdr[2:4] = struct.pack("!H", 20 + len(reply))
        hdr[8] = 64
        hdr[10:12] = b"\0\0"
        hdr[12:16], hdr[16:20] = ip[16:20], ip[12:16]
        hdr[10:12] = struct.pack("!H", checksum(bytes(hdr)))
        return frame[6:12] + self.mac + struct.pack("!H", ETH_IP) + bytes(hdr) + reply


def addr(s):
    host, _, port = s.rpartition(":")
    return (host or "0.0.0.0", int(port))


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def run_stream(sock, peer, deadline):
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            head = recv_exact(sock, 4)
        except socket.timeout:
            break
        if head is None:
            break
        frame = recv_exact(sock, struct.unpack("!I", head)[0])
        if frame is None:
            break
        reply = peer.answer(frame)
        if reply:
            sock.sendall(struct.pack("!I", len(reply)) + reply)


def run_dgram(sock, dst, peer, deadline):
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            frame = sock.recv(65536)
        except socket.timeout:
            break
        reply = peer.answer(frame)
        if reply:
            sock.sendto(reply, dst)


def connect_retry(target, deadline):
    while True:
        try:
            return socket.create_connection(target, timeout=1)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--connect", metavar="HOST:PORT")
    mode.add_argument("--listen", metavar="HOST:PORT")
    mode.add_argument("--udp", metavar="HOST:PORT", help="where the VM receives")
    ap.add_argument("--local", metavar="HOST:PORT", help="with --udp: where we receive")
    ap.add_argument("--ip", default="10.0.2.2")
    ap.add_argument("--mac", default="52:55:0a:00:02:02")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--expect-icmp", type=int, default=0)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    peer = Peer(args.ip, args.mac, args.verbose)
    deadline = time.monotonic() + args.timeout
    signal.signal(signal.SIGTERM, stop)
    try:
        serve(args, ap, peer, deadline)
    except Stop:
        pass
    c = peer.counts
    print("net-peer: arp=%d icmp=%d frames=%d" % (c["arp"], c["icmp"], c["frames"]), flush=True)
    return 0 if c["icmp"] >= args.expect_icmp else 1


class Stop(Exception):
    pass


def stop(signum, frame):
    raise Stop()


def serve(args, ap, peer, deadline):
    if args.connect:
        with connect_retry(addr(args.connect), deadline) as s:
            run_stream(s, peer, deadline)
    elif args.listen:
        with socket.socket() as ls:
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(addr(args.listen))
            ls.listen(1)
            ls.settimeout(args.timeout)
            conn, _ = ls.accept()
            with conn:
                run_stream(conn, peer, deadline)
    else:
        if not args.local:
            ap.error("--udp needs --local")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(addr(args.local))
            run_dgram(s, addr(args.udp), peer, deadline)


if __name__ == "__main__":
    sys.exit(main())
