"""Minimal pcap (libpcap classic format) reading and writing for test frames."""
import struct

_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


def write(path, frames):
    with open(path, "wb") as f:
        f.write(_GLOBAL.pack(0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(_RECORD.pack(i, 0, len(frame), len(frame)))
            f.write(frame)


def read(path):
    frames = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < _GLOBAL.size:
        return frames
    magic = struct.unpack_from("<I", data)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    record = struct.Struct(endian + "IIII")
    off = _GLOBAL.size
    while off + record.size <= len(data):
        _, _, incl, _ = record.unpack_from(data, off)
        off += record.size
        frames.append(data[off:off + incl])
        off += incl
    return frames
