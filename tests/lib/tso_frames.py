"""TCP/IPv4 frames larger than the MTU for the offload tests, and the check that what a receiver
got is those frames cut into valid segments: each segment within the MSS, its IPv4 header and TCP
checksums right (computed here, independently of ringlane), and the payloads whole and in order.

    frames = make_frames()            # FRAMES frames of PAYLOAD bytes each
    problem = segmentation_problem(frames, received_segments, mss=MSS)   # None when all is well
"""
import random
import struct

MSS = 1448
PAYLOAD = 8000
FRAMES = 8
ETH, IP, TCP = 14, 20, 20


def checksum(data, initial=0):
    if len(data) % 2:
        data += b"\0"
    s = initial + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_checksum_ok(frame):
    ip = frame[ETH:ETH + IP]
    l4 = frame[ETH + IP:]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(l4))
    return checksum(pseudo + l4) == 0


def make_frames():
    """FRAMES TCP/IPv4 frames of PAYLOAD random bytes, frame i's sequence numbers from
    1000 + i * 100000, checksums complete."""
    rng = random.Random(5)
    frames = []
    for i in range(FRAMES):
        payload = bytes(rng.getrandbits(8) for _ in range(PAYLOAD))
        src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
        tcp = struct.pack("!HHIIBBHHH", 1234, 80, 1000 + i * 100000, 0, 5 << 4, 0x18, 65535, 0, 0)
        c = checksum(src + dst + struct.pack("!BBH", 0, 6, TCP + PAYLOAD) + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, IP + TCP + PAYLOAD, i, 0, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        frames.append(bytes.fromhex("020000000002020000000001") + b"\x08\x00" + ip + tcp + payload)
    return frames


def segment_count(mss=MSS):
    return FRAMES * -(-PAYLOAD // mss)


def segmentation_problem(frames, received, mss=MSS):
    """What is wrong with `received` as the segments of `frames` at `mss`, or None."""
    if len(received) != segment_count(mss):
        return f"{len(received)} segments, expected {segment_count(mss)}"
    payloads = {}
    for n, seg in enumerate(received):
        if len(seg) > ETH + IP + TCP + mss:
            return f"segment {n}: {len(seg)} bytes, more than the MSS allows"
        if checksum(seg[ETH:ETH + IP]) != 0:
            return f"segment {n}: bad IPv4 header checksum"
        if not tcp_checksum_ok(seg):
            return f"segment {n}: bad TCP checksum"
        seq = struct.unpack("!I", seg[ETH + IP + 4:ETH + IP + 8])[0]
        payloads.setdefault(seq // 100000, []).append((seq, seg[ETH + IP + TCP:]))
    for i, frame in enumerate(frames):
        parts = sorted(payloads.get(i, []))
        if b"".join(p for _, p in parts) != frame[ETH + IP + TCP:]:
            return f"frame {i}: the segments' payloads are not the frame's"
    return None
