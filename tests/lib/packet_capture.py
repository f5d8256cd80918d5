"""Captures the frames an interface receives into a pcap file (tests/lib/pcap.py), with a packet
socket: run inside the network namespace that holds the interface. Prints "ready" once bound;
exits 0 after COUNT frames, or 1 when --timeout seconds pass first (what arrived is written
either way). Frames the interface sends itself are left out.

    packet_capture.py IFACE OUT.pcap COUNT [--timeout S]"""
import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import pcap  # noqa: E402

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("iface")
    ap.add_argument("out")
    ap.add_argument("count", type=int)
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((args.iface, ETH_P_ALL))
    print("ready", flush=True)
    frames, deadline = [], time.monotonic() + args.timeout
    while len(frames) < args.count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, address = s.recvfrom(1 << 17)
        except socket.timeout:
            break
        if address[2] != PACKET_OUTGOING:
            frames.append(data)
    pcap.write(args.out, frames)
    print(f"captured {len(frames)}", flush=True)
    sys.exit(0 if len(frames) >= args.count else 1)


if __name__ == "__main__":
    main()
