"""Moves bytes over one TCP connection and prints what went through, for tests that check a
path end to end: the receiver prints the byte count and SHA-256 of everything it read, the
sender those of what it wrote (seeded pseudo-random bytes, so nothing compresses or repeats).

    tcp_transfer.py receive ADDRESS PORT [--timeout S]   prints "listening", then
        "TCP received bytes=N sha256=HEX" when the sender closes
    tcp_transfer.py send ADDRESS PORT BYTES [--seed N] [--timeout S]   prints
        "TCP sent bytes=N sha256=HEX seconds=S"

Either side gives up after --timeout seconds without progress (exit 1), so a broken path fails
the test instead of hanging it."""
import argparse
import hashlib
import random
import socket
import sys
import time

LINE = "TCP {} bytes={} sha256={}"


def receive(args):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.address, args.port))
    server.listen(1)
    server.settimeout(args.timeout)
    print("listening", flush=True)
    conn, _ = server.accept()
    conn.settimeout(args.timeout)
    digest, total = hashlib.sha256(), 0
    while True:
        data = conn.recv(1 << 16)
        if not data:
            break
        digest.update(data)
        total += len(data)
    conn.close()
    print(LINE.format("received", total, digest.hexdigest()), flush=True)


def send(args):
    rng = random.Random(args.seed)
    conn = socket.create_connection((args.address, args.port), timeout=args.timeout)
    digest, left, started = hashlib.sha256(), args.bytes, time.monotonic()
    while left > 0:
        chunk = rng.randbytes(min(left, 1 << 16))
        conn.sendall(chunk)
        digest.update(chunk)
        left -= len(chunk)
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)  # the receiver's close: everything was read
    conn.close()
    print(LINE.format("sent", args.bytes, digest.hexdigest()) +
          f" seconds={time.monotonic() - started:.3f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["receive", "send"])
    ap.add_argument("address")
    ap.add_argument("port", type=int)
    ap.add_argument("bytes", type=int, nargs="?", default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()
    try:
        (receive if args.mode == "receive" else send)(args)
    except OSError as e:
        print(f"tcp_transfer {args.mode}: {e}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
