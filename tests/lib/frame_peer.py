"""The other end of a test guest's NIC, run inside the test's network namespace on the TAP
device (or any interface): receives the guest's test frames and checks each, then sends frames
for the guest to receive (and echo), in windows so that nothing overruns the guest's ring.
Prints "ready" once bound, and one JSON line of results at the end."""
import argparse
import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import guest_frames  # noqa: E402


SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux's value; Python may not name it


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--iface", required=True)
    ap.add_argument("--expect", type=int, default=0, help="test frames the guest sends")
    ap.add_argument("--send", type=int, default=0, help="test frames to send to the guest")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--echo", action="store_true", help="the guest echoes: wait for each window")
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--reflect", action="store_true",
                    help="send every test frame back (addresses swapped) until SIGTERM or the "
                         "timeout, then report how many and which sequence numbers")
    a = ap.parse_args()
    if a.reflect:
        reflect(a)
        return

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(guest_frames.ETHERTYPE))
    # FORCE: past net.core.rmem_max (a few hundred KiB by default), so a burst from the guest
    # waits in the socket while a slow peer (Python, perhaps under TCG) catches up.
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    s.bind((a.iface, 0))
    print("ready", flush=True)
    deadline = time.monotonic() + a.timeout
    result = {"received": 0, "bad": 0, "out_of_order": 0, "sent": 0, "echoes": 0,
              "echo_bad": 0, "guest_mac": None}

    def recv():
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            frame, addr = s.recvfrom(65536)
        except socket.timeout:
            return None
        # Frames we send come back to us on the same interface as outgoing packets: skip them.
        return None if addr[2] == socket.PACKET_OUTGOING else frame

    expected = 0
    while result["received"] + result["bad"] < a.expect and time.monotonic() < deadline:
        f = recv()
        if f is None:
            continue
        seq = guest_frames.parse(f)
        if seq is None:
            result["bad"] += 1
            continue
        result["guest_mac"] = f[6:12].hex(":")
        result["received"] += 1
        if seq != expected:
            result["out_of_order"] += 1
        expected = seq + 1

    dst = bytes.fromhex(result["guest_mac"].replace(":", "")) if result["guest_mac"] else \
        guest_frames.BROADCAST
    seq = 0
    next_echo = 0
    while seq < a.send and time.monotonic() < deadline:
        window_end = min(a.send, seq + a.window)
        for i in range(seq, window_end):
            s.send(guest_frames.build(i, a.size, dst=dst))
            result["sent"] += 1
        seq = window_end
        while a.echo and next_echo < seq and time.monotonic() < deadline:
            f = recv()
            if f is None:
                continue
            got = guest_frames.parse(f)
            if got is None or got != next_echo:
                result["echo_bad"] += 1
                continue
            result["echoes"] += 1
            next_echo += 1
    print(json.dumps(result), flush=True)


def reflect(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(guest_frames.ETHERTYPE))
    # FORCE: past net.core.rmem_max (a few hundred KiB by default), so a burst from the guest
    # waits in the socket while a slow peer (Python, perhaps under TCG) catches up.
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    s.bind((a.iface, 0))
    s.settimeout(0.2)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("ready", flush=True)
    deadline = time.monotonic() + a.timeout
    seqs = []
    bad = 0
    while not stop and time.monotonic() < deadline:
        try:
            frame, addr = s.recvfrom(65536)
        except (socket.timeout, InterruptedError):
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        seq = guest_frames.parse(frame)
        if seq is None:
            bad += 1
            continue
        seqs.append(seq)
        s.send(frame[6:12] + frame[0:6] + frame[12:])
    print(json.dumps({"reflected": len(seqs), "unique": len(set(seqs)), "bad": bad,
                      "first": min(seqs, default=None), "last": max(seqs, default=None)}),
          flush=True)


if __name__ == "__main__":
    main()
