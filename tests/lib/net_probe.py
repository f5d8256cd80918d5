"""Small network probes for tests that run inside network namespaces, where the host's tools
(ping, nc) may be missing: run as `python3 net_probe.py COMMAND ...` under `ip netns exec`.

    ping DST [--count N] [--timeout S]     ICMP echo (raw socket); prints "replies R/N", exits 0
                                           when every request was answered
    serve PORT [--address A] [--timeout S] accepts one TCP connection, reads it to the end,
                                           prints "received BYTES SHA256"
    send DST PORT --bytes N [--seed S]     connects, sends N pseudo-random bytes, prints
                                           "sent BYTES SHA256"
    listen PORT [--address A]              accepts connections and answers each with one line
                                           ("hello from the host") until killed
    hello DST PORT                         connects, prints the line the listener sends

Nothing here needs a package beyond Python's standard library."""
import argparse
import hashlib
import os
import random
import select
import socket
import struct
import sys
import time


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(dst, count, timeout):
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    answered = set()
    for seq in range(count):
        payload = struct.pack("!d", time.time()) + bytes(48)
        header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload
        sock.sendto(packet, (dst, 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            data, (src, _) = sock.recvfrom(2048)
            ihl = (data[0] & 0x0F) * 4
            kind, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if kind == 0 and rid == ident and src == dst:
                answered.add(rseq)
                if rseq == seq:
                    break
    print(f"replies {len(answered)}/{count}", flush=True)
    return 0 if len(answered) == count else 1


def _stream(nbytes, seed):
    rng = random.Random(seed)
    left = nbytes
    while left > 0:
        n = min(left, 65536)
        yield rng.randbytes(n)
        left -= n


def serve(port, address, timeout):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(1)
    print("listening", flush=True)
    listener.settimeout(timeout)
    conn, _ = listener.accept()
    conn.settimeout(timeout)
    digest = hashlib.sha256()
    total = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        digest.update(chunk)
        total += len(chunk)
    conn.close()
    print(f"received {total} {digest.hexdigest()}", flush=True)
    return 0


def send(dst, port, nbytes, seed, timeout):
    conn = socket.create_connection((dst, port), timeout=timeout)
    digest = hashlib.sha256()
    for chunk in _stream(nbytes, seed):
        conn.sendall(chunk)
        digest.update(chunk)
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)  # the other side closes once it has everything
    conn.close()
    print(f"sent {nbytes} {digest.hexdigest()}", flush=True)
    return 0


def listen(port, address):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(8)
    print("listening", flush=True)
    while True:
        conn, _ = listener.accept()
        conn.sendall(b"hello from the host\n")
        conn.close()


def hello(dst, port, timeout):
    conn = socket.create_connection((dst, port), timeout=timeout)
    line = conn.makefile().readline().strip()
    conn.close()
    print(line, flush=True)
    return 0 if line else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ping")
    p.add_argument("dst")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--timeout", type=float, default=2.0)
    p = sub.add_parser("serve")
    p.add_argument("port", type=int)
    p.add_argument("--address", default="0.0.0.0")
    p.add_argument("--timeout", type=float, default=60.0)
    p = sub.add_parser("send")
    p.add_argument("dst")
    p.add_argument("port", type=int)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=60.0)
    p = sub.add_parser("listen")
    p.add_argument("port", type=int)
    p.add_argument("--address", default="0.0.0.0")
    p = sub.add_parser("hello")
    p.add_argument("dst")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=10.0)
    a = parser.parse_args()
    if a.command == "ping":
        return ping(a.dst, a.count, a.timeout)
    if a.command == "serve":
        return serve(a.port, a.address, a.timeout)
    if a.command == "send":
        return send(a.dst, a.port, a.bytes, a.seed, a.timeout)
    if a.command == "listen":
        return listen(a.port, a.address)
    return hello(a.dst, a.port, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
