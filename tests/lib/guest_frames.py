"""The test guest's frame format (tests/guest/nic_main.c): ethertype 0x88b5, "RLG1", a 32-bit
little-endian sequence number, then byte i = (seq + i) & 0xff. "RLGE" ends the guest's receive
phase. Shared by every test and benchmark that talks to nic_guest."""
import struct

ETHERTYPE = 0x88B5
HEADER_LEN = 22
BROADCAST = b"\xff" * 6


def build(seq, size, src=b"\x02\x00\x00\x00\x00\x01", dst=BROADCAST):
    head = dst + src + struct.pack("!H", ETHERTYPE) + b"RLG1" + struct.pack("<I", seq)
    return head + bytes((seq + i) & 0xFF for i in range(HEADER_LEN, size))


def end_frame(src=b"\x02\x00\x00\x00\x00\x01", dst=BROADCAST):
    return dst + src + struct.pack("!H", ETHERTYPE) + b"RLGE" + bytes(42)


def parse(frame):
    """The sequence number of a well-formed test frame; None for anything else (other traffic,
    an end frame, or a corrupted body)."""
    if len(frame) < HEADER_LEN or struct.unpack("!H", frame[12:14])[0] != ETHERTYPE:
        return None
    if frame[14:18] != b"RLG1":
        return None
    seq = struct.unpack("<I", frame[18:22])[0]
    for i in range(HEADER_LEN, len(frame)):
        if frame[i] != (seq + i) & 0xFF:
            return None
    return seq


def is_test_ethertype(frame):
    return len(frame) >= 14 and struct.unpack("!H", frame[12:14])[0] == ETHERTYPE


REPORT_SENT = "ringlane-guest: sent"
REPORT_RECEIVED = "ringlane-guest: received"
