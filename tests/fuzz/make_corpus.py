#!/usr/bin/env python3
"""Writes the seed inputs under tests/fuzz/corpus/<target>/. Run it again after changing an input
format; the files it writes are committed so the fuzz tests start from meaningful inputs."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# virtio / vhost-user constants (see vhost_user/include/ringlane/vhost_user/*.h)
F_INDIRECT, F_EVENT_IDX, F_VERSION_1, F_PROTOCOL = 28, 29, 32, 30
NET_CSUM, NET_GUEST_CSUM, NET_MRG_RXBUF = 0, 1, 15
P_REPLY_ACK, P_MEM_SLOTS, P_STATUS = 3, 15, 16
P_LOG_SHMFD, F_LOG_ALL = 1, 26
DESC_NEXT, DESC_WRITE, DESC_INDIRECT = 1, 2, 4
NEED_REPLY = 0x8
UVA = 0x7F0000000000


def bit(n):
    return 1 << n


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def avail(idx, ring, size):
    ring = list(ring) + [0] * (size - len(ring))
    return struct.pack("<HH", 0, idx) + struct.pack(f"<{size}H", *ring) + struct.pack("<H", 0)


# --- fuzz_vhost_user_message -------------------------------------------------------------------
# A device byte (bit 0 BlkDevice, else NetDevice; bit 1 read-only image, bit 2 buffered only,
# bit 3 no discard), then records: control byte; 0b0Nkkffff: a message (ffff fd count; kk the
# fds: 00 guest memfd, 01 eventfd, 10 fresh memfd of u16 x 64 bytes, 11 the backend-request
# socket; N: a config change after it, u8 image size), then [u16] [u8] header + payload;
# 0b10: raw bytes; 0b11: guest memory write (u16 offset x 8, length byte, bytes).
NET, BLK, READONLY, BUFFERED, NO_DISCARD = 0, 1, 2, 4, 8
FD_MEMFD, FD_EVENTFD, FD_FRESH, FD_BACKEND = 0, 1, 2, 3


def msg(request, payload=b"", fds=0, eventfd=False, flags=0, kind=None, fresh=None, change=None):
    kind = (FD_EVENTFD if eventfd else FD_MEMFD) if kind is None else kind
    control = (fds & 0x0F) | kind << 4 | (0x40 if change is not None else 0)
    extra = b""
    if kind == FD_FRESH:
        extra += struct.pack("<H", fresh // 64)
    if change is not None:
        extra += bytes([change])
    header = struct.pack("<III", request, 1 | flags, len(payload))
    return bytes([control]) + extra + header + payload


def raw(data):
    assert len(data) < 256
    return bytes([0x80, len(data)]) + data


def mem(offset, data):
    out = b""
    while data:  # one record holds at most 255 bytes
        chunk, data = data[:248], data[248:]
        out += bytes([0xC0]) + struct.pack("<H", offset // 8) + bytes([len(chunk)]) + chunk
        offset += len(chunk)
    return out


def u64(v):
    return struct.pack("<Q", v)


def state(index, num):
    return struct.pack("<II", index, num)


def addr(index, desc_gpa, used_gpa, avail_gpa):
    return struct.pack("<IIQQQQ", index, 0, UVA + desc_gpa, UVA + used_gpa, UVA + avail_gpa, 0)


def region(gpa, size, uva, offset):
    return struct.pack("<QQQQ", gpa, size, uva, offset)


def ring_setup(index, base, size=16, enable=False):
    out = (msg(8, state(index, size)) + msg(9, addr(index, base, base + 0x2000, base + 0x1000))
           + msg(10, state(index, 0)) + msg(13, u64(index), fds=1, eventfd=True)
           + msg(12, u64(index | 0x100)))
    return out + msg(18, state(index, 1)) if enable else out


def guest_rings():
    # TX ring (vring 1) at 0x1000 with one packet at 0x8000; RX ring (vring 0) at 0x4000 with
    # two 2048-byte buffers at 0x9000.
    tx = mem(0x1000, desc(0x8000, 12, DESC_NEXT, 1) + desc(0x8010, 60))
    tx += mem(0x2000, avail(1, [0], 16))
    tx += mem(0x8010, bytes(range(60)))
    rx = mem(0x4000, desc(0x9000, 2048, DESC_WRITE) + desc(0x9800, 2048, DESC_WRITE))
    rx += mem(0x5000, avail(2, [0, 1], 16))
    return tx + rx


def message_seeds():
    table = struct.pack("<II", 1, 0) + region(0, 0x40000, UVA, 0)
    features = bit(F_VERSION_1) | bit(NET_MRG_RXBUF) | bit(F_INDIRECT) | bit(NET_CSUM)
    legacy = (msg(1) + msg(2, u64(features)) + guest_rings() + msg(5, table, fds=1)
              + ring_setup(0, 0x4000) + ring_setup(1, 0x1000) + msg(40) + msg(11, state(1, 0)))
    write("fuzz_vhost_user_message", "bring_up_and_forward", bytes([NET]) + legacy)

    features |= bit(F_PROTOCOL) | bit(F_EVENT_IDX)
    protocol = bit(P_REPLY_ACK) | bit(P_MEM_SLOTS) | bit(P_STATUS)
    add = u64(0) + region(0, 0x40000, UVA, 0)
    acked = (msg(2, u64(features)) + msg(15) + msg(16, u64(protocol)) + msg(36)
             + guest_rings() + msg(37, add, fds=1, flags=NEED_REPLY) + ring_setup(0, 0x4000)
             + ring_setup(1, 0x1000) + msg(18, state(0, 1), flags=NEED_REPLY)
             + msg(18, state(1, 1)) + msg(20, u64(9000)) + msg(39, u64(15))
             + msg(8, state(40, 16), flags=NEED_REPLY)  # out of range, acked as a failure
             + msg(11, state(0, 0), flags=NEED_REPLY) + msg(38, add, flags=NEED_REPLY)
             + msg(34))
    write("fuzz_vhost_user_message", "protocol_features_and_slots", bytes([NET]) + acked)

    # A message split over two writes, then a header announcing an oversized payload.
    whole = struct.pack("<III", 2, 1, 8) + u64(bit(F_VERSION_1))
    split = raw(whole[:5]) + raw(whole[5:]) + raw(struct.pack("<III", 5, 1, 5000))
    write("fuzz_vhost_user_message", "pieces_and_oversize", bytes([NET]) + split)

    bad = (msg(5, struct.pack("<II", 9, 0) + bytes(8 * 32), fds=8)
           + msg(5, table, fds=2) + msg(12, u64(0x100), fds=1) + msg(99) + msg(1, flags=2))
    write("fuzz_vhost_user_message", "bad_messages", bytes([NET]) + bad)
    packed_message_seeds()
    dirty_log_seeds()
    blk_message_seeds()


# Packed rings (VIRTIO_F_RING_PACKED): descriptors of 16 bytes with the buffer id in the last one
# of a chain, made available by AVAIL (bit 7) equal to the driver's wrap counter and USED (bit 15)
# not; vhost-user's addresses are the ring (desc), the driver event area (avail) and the device's
# (used); SET_VRING_BASE carries avail index | wrap << 15 (| used index << 16 | wrap << 31).
F_RING_PACKED, F_IN_ORDER = 34, 35
P_AVAIL, P_USED = 1 << 7, 1 << 15


def pdesc(addr, length, id_, flags, wrap=True):
    return struct.pack("<QIHH", addr, length, id_, flags | (P_AVAIL if wrap else P_USED))


def packed_setup(index, ring, size, base=1 << 15, enable=False, kick_fd=False):
    # The event areas sit 0xf00 and 0xf10 past the ring.
    out = (msg(8, state(index, size)) + msg(10, state(index, base))
           + msg(9, addr(index, ring, ring + 0xF10, ring + 0xF00))
           + msg(13, u64(index), fds=1, eventfd=True)
           + (msg(12, u64(index), fds=1, eventfd=True) if kick_fd else msg(12, u64(index | 0x100))))
    return out + msg(18, state(index, 1)) if enable else out


def packed_guest_rings(tx_id=0):
    # TX ring (vring 1, 12 descriptors) at 0x1000 with a packet in two descriptors (header, then
    # 60 bytes) and one through an indirect table at 0x7000; RX ring (vring 0, 16) at 0x4000 with
    # three 2048-byte buffers at 0x9000.
    tx = mem(0x1000, pdesc(0x8000, 12, 0, DESC_NEXT) + pdesc(0x8010, 60, tx_id, 0)
             + pdesc(0x7000, 32, 1, DESC_INDIRECT))
    tx += mem(0x7000, desc(0x8000, 12, DESC_NEXT, 1) + desc(0x8010, 60))
    tx += mem(0x8010, bytes(range(60)))
    rx = mem(0x4000, b"".join(pdesc(0x9000 + 0x800 * i, 2048, i, DESC_WRITE) for i in range(3)))
    return tx + rx


def packed_message_seeds():
    table = struct.pack("<II", 1, 0) + region(0, 0x40000, UVA, 0)
    features = (bit(F_VERSION_1) | bit(NET_MRG_RXBUF) | bit(F_INDIRECT) | bit(NET_CSUM)
                | bit(F_RING_PACKED))
    # Without protocol features: rings start on their kick; traffic forwarded, then the position
    # read back (GET_VRING_BASE) and the ring started again there.
    legacy = (msg(1) + msg(2, u64(features)) + packed_guest_rings() + msg(5, table, fds=1)
              + packed_setup(0, 0x4000, 16) + packed_setup(1, 0x1000, 12) + msg(11, state(1, 0))
              + packed_setup(1, 0x1000, 12, base=2 | 1 << 15))
    write("fuzz_vhost_user_message", "packed_bring_up_and_forward", bytes([NET]) + legacy)

    # With protocol features, EVENT_IDX and IN_ORDER: sizes, bases and addresses refused (with
    # acks), a stale base then a good one, and a renegotiation back to split rings.
    features |= bit(F_PROTOCOL) | bit(F_EVENT_IDX) | bit(F_IN_ORDER)
    protocol = bit(P_REPLY_ACK) | bit(P_MEM_SLOTS) | bit(P_STATUS)
    acked = (msg(2, u64(features)) + msg(15) + msg(16, u64(protocol)) + packed_guest_rings()
             + msg(5, table, fds=1)
             + msg(8, state(0, 0), flags=NEED_REPLY) + msg(8, state(0, 40000), flags=NEED_REPLY)
             + packed_setup(0, 0x4000, 16, enable=True, kick_fd=True)
             + packed_setup(1, 0x1000, 12, base=3 | 1 << 15 | 5 << 16, kick_fd=True)
             + msg(18, state(1, 1), flags=NEED_REPLY)  # stale: refused
             + msg(9, addr(1, 0x1008, 0x1F10, 0x1F00), flags=NEED_REPLY)  # misaligned
             + msg(9, addr(1, 0x1000, 0x1F10, 0x1F00))
             + msg(10, state(1, 1 << 15), flags=NEED_REPLY) + msg(18, state(1, 1))
             + msg(11, state(1, 0)) + msg(11, state(0, 0))
             + msg(2, u64(features & ~bit(F_RING_PACKED))) + msg(8, state(0, 12), flags=NEED_REPLY)
             + msg(40))
    write("fuzz_vhost_user_message", "packed_protocol_bases_and_refusals", bytes([NET]) + acked)

    # A hostile driver: a buffer id beyond the ring breaks the TX queue (NEEDS_RESET in
    # GET_STATUS); a new base clears it.
    hostile = (msg(2, u64(features)) + msg(16, u64(protocol)) + packed_guest_rings(tx_id=200)
               + msg(5, table, fds=1) + packed_setup(0, 0x4000, 16, enable=True)
               + packed_setup(1, 0x1000, 12, enable=True) + msg(40)
               + msg(10, state(1, 1 << 15)) + msg(40))
    write("fuzz_vhost_user_message", "packed_hostile_id", bytes([NET]) + hostile)


# virtio-blk (virtio/include/ringlane/virtio/blk_spec.h) and the protocol features BlkDevice adds.
BLK_SIZE_MAX, BLK_SEG_MAX, BLK_BLK_SIZE, BLK_FLUSH, BLK_TOPOLOGY = 1, 2, 6, 9, 10
BLK_CONFIG_WCE, BLK_MQ, BLK_DISCARD, BLK_WRITE_ZEROES = 11, 12, 13, 14
T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WRITE_ZEROES = 0, 1, 4, 8, 11, 13
P_MQ, P_BACKEND_REQ, P_CONFIG, P_INFLIGHT, P_RESET = 0, 5, 9, 12, 13
GET_CONFIG, SET_CONFIG, GET_INFLIGHT_FD, SET_INFLIGHT_FD, SET_BACKEND_REQ_FD = 24, 25, 31, 32, 21
BLK_FEATURES = (bit(F_VERSION_1) | bit(F_INDIRECT) | bit(BLK_SIZE_MAX) | bit(BLK_SEG_MAX)
                | bit(BLK_BLK_SIZE) | bit(BLK_FLUSH) | bit(BLK_TOPOLOGY) | bit(BLK_CONFIG_WCE)
                | bit(BLK_MQ) | bit(BLK_DISCARD) | bit(BLK_WRITE_ZEROES) | bit(F_PROTOCOL))
BLK_PROTOCOL = (bit(P_MQ) | bit(P_REPLY_ACK) | bit(P_BACKEND_REQ) | bit(P_CONFIG)
                | bit(P_INFLIGHT) | bit(P_RESET) | bit(P_MEM_SLOTS) | bit(P_STATUS))


def blk_header(kind, sector=0):
    return struct.pack("<IIQ", kind, 0, sector)


def config_window(offset, size, data=None, flags=0):
    return struct.pack("<III", offset, size, flags) + (bytes(size) if data is None else data)


def inflight(mmap_size, mmap_offset, queues, size):
    return struct.pack("<QQHHI", mmap_size, mmap_offset, queues, size, 0)


def inflight_bytes(queues, size):
    return queues * ((16 + 16 * size + 63) // 64 * 64)


def blk_requests(table_gpa, headers_gpa, requests):
    """Lays out one chain per entry of `requests`, (type, sector, [(length, writable, address or
    None for the next free page from 0x20000)]): the 16-byte header (readable), the data
    descriptors, then the status byte (writable) right after the header. Returns the guest
    memory records, the chains' heads and the number of descriptors they take."""
    descs, heads, out = [], [], b""
    headers = bytearray()
    data_gpa = 0x20000
    for kind, sector, data in requests:
        heads.append(len(descs))
        hdr = headers_gpa + len(headers)
        headers += blk_header(kind, sector) + bytes(16)  # the status byte follows the header
        chain = [(hdr, 16, 0)]
        for length, writable, gpa in data:
            if gpa is None:
                gpa, data_gpa = data_gpa, data_gpa + (length + 0xFFF) // 0x1000 * 0x1000
            chain.append((gpa, length, DESC_WRITE if writable else 0))
        chain.append((hdr + 16, 1, DESC_WRITE))
        first = len(descs)
        for i, (gpa, length, flags) in enumerate(chain):
            last = i == len(chain) - 1
            descs.append(desc(gpa, length, flags | (0 if last else DESC_NEXT),
                              0 if last else first + i + 1))
    out += mem(table_gpa, b"".join(descs)) + mem(headers_gpa, bytes(headers))
    return out, heads, len(descs)


def blk_message_seeds():
    table = struct.pack("<II", 1, 0) + region(0, 0x40000, UVA, 0)
    # Queue 0 (32 entries at 0x1000): every request type, an unaligned buffer (the buffered fd
    # beside O_DIRECT) and an indirect IN; queue 1 (16 at 0x4000): a read running past the end
    # of the disk, which fits once the image has grown.
    ranges = struct.pack("<QII", 8, 8, 0) + struct.pack("<QII", 64, 16, 1)
    q0, heads0, indirect_head = blk_requests(0x1000, 0x10000, [
        (T_OUT, 0, [(4096, False, None)]),
        (T_IN, 0, [(4096, True, None)]),
        (T_FLUSH, 0, []),
        (T_GET_ID, 0, [(20, True, None)]),
        (T_DISCARD, 0, [(16, False, 0x10400)]),
        (T_WRITE_ZEROES, 0, [(16, False, 0x10410)]),
        (T_IN, 4, [(512, True, 0x13003)]),
        (T_OUT, 16, [(1024, False, None), (512, False, None)]),
    ])
    inner = (desc(0x10300, 16, DESC_NEXT, 1) + desc(0x14000, 512, DESC_WRITE | DESC_NEXT, 2)
             + desc(0x10310, 1, DESC_WRITE))
    q0 += mem(0x1000 + 16 * indirect_head, desc(0x10500, len(inner), DESC_INDIRECT))
    q0 += mem(0x10500, inner) + mem(0x10300, blk_header(T_IN, 2)) + mem(0x10400, ranges)
    q0 += mem(0x2000, avail(len(heads0) + 1, heads0 + [indirect_head], 32))
    q1, heads1, _ = blk_requests(0x4000, 0x10600, [(T_IN, 2044, [(4096, True, None)])])
    q1 += mem(0x5000, avail(1, heads1, 16))
    wce = config_window(32, 1, b"\x00")
    bring_up = (msg(1) + msg(2, u64(BLK_FEATURES)) + msg(15) + msg(16, u64(BLK_PROTOCOL))
                + msg(17) + msg(36) + msg(GET_CONFIG, config_window(0, 60))
                + msg(SET_CONFIG, wce, flags=NEED_REPLY)
                + msg(SET_CONFIG, config_window(0, 8), flags=NEED_REPLY)  # not writable: nacked
                + msg(GET_INFLIGHT_FD, inflight(0, 0, 2, 32))
                + msg(SET_BACKEND_REQ_FD, fds=1, kind=FD_BACKEND)
                + q0 + q1 + msg(5, table, fds=1)
                + ring_setup(0, 0x1000, 32, enable=True) + ring_setup(1, 0x4000, 16, enable=True)
                + msg(40, change=0xFF)  # the image grows to 2 MiB: queue 1's request fits now
                + mem(0x5000, avail(2, heads1 * 2, 16)) + msg(18, state(1, 1))
                + msg(11, state(0, 0)) + msg(11, state(1, 0)))
    write("fuzz_vhost_user_message", "blk_requests_every_type", bytes([BLK]) + bring_up)

    # A previous process took heads 0 and 3 of queue 0 and never gave them back: the in-flight
    # region (in guest memory, so that the fuzzer can rewrite it) says so, and the queue starts
    # by resubmitting them, then takes head 6 (a FLUSH).
    q0, heads0, _ = blk_requests(0x1000, 0x10000, [
        (T_OUT, 0, [(4096, False, None)]),
        (T_IN, 0, [(4096, True, None)]),
        (T_FLUSH, 0, []),
    ])
    q0 += mem(0x2000, avail(3, heads0, 16))
    region_gpa = 0x30000
    queue0 = bytearray(struct.pack("<QHHHH", 0, 1, 16, 0, 0) + bytes(16 * 16))
    queue0[16 + 0 * 16] = 1
    struct.pack_into("<Q", queue0, 16 + 0 * 16 + 8, 1)
    queue0[16 + 3 * 16] = 1
    struct.pack_into("<Q", queue0, 16 + 3 * 16 + 8, 2)
    resubmit = (msg(2, u64(BLK_FEATURES | bit(F_EVENT_IDX))) + msg(16, u64(BLK_PROTOCOL))
                + q0 + mem(region_gpa, bytes(queue0)) + msg(5, table, fds=1)
                + msg(SET_INFLIGHT_FD, inflight(inflight_bytes(2, 16), region_gpa, 2, 16), fds=1,
                      flags=NEED_REPLY)
                + ring_setup(0, 0x1000, 16, enable=True) + msg(11, state(0, 0))
                + msg(34))  # RESET_DEVICE
    write("fuzz_vhost_user_message", "blk_inflight_resubmit", bytes([BLK | BUFFERED]) + resubmit)

    # A read-only disk without protocol features: the write fails, the read succeeds, then
    # GET_CONFIG without CONFIG negotiated drops the frontend.
    q0, heads0, _ = blk_requests(0x1000, 0x10000, [
        (T_OUT, 0, [(512, False, None)]),
        (T_IN, 0, [(512, True, None)]),
        (T_DISCARD, 0, [(16, False, 0x10400)]),
    ])
    q0 += mem(0x2000, avail(3, heads0, 16)) + mem(0x10400, struct.pack("<QII", 0, 1, 0))
    legacy = (msg(1) + msg(2, u64(bit(F_VERSION_1) | bit(BLK_FLUSH))) + q0 + msg(5, table, fds=1)
              + ring_setup(0, 0x1000, 16) + msg(GET_CONFIG, config_window(0, 8)))
    write("fuzz_vhost_user_message", "blk_readonly_legacy", bytes([BLK | READONLY]) + legacy)

    # The frontend's own zeroed in-flight buffer (a fresh memfd), the backend-request channel, a
    # writeback toggle, and the image shrinking to 512 KiB (64 x 8 KiB) with the frontend told.
    no_discard = BLK_FEATURES & ~(bit(BLK_DISCARD) | bit(BLK_WRITE_ZEROES))
    fresh = (msg(2, u64(no_discard)) + msg(16, u64(BLK_PROTOCOL))
             + msg(SET_INFLIGHT_FD, inflight(inflight_bytes(2, 16), 0, 2, 16), fds=1,
                   kind=FD_FRESH, fresh=inflight_bytes(2, 16), flags=NEED_REPLY)
             + msg(SET_BACKEND_REQ_FD, fds=1, kind=FD_BACKEND, flags=NEED_REPLY)
             + msg(SET_CONFIG, config_window(32, 1, b"\x01"), flags=NEED_REPLY)
             + msg(SET_CONFIG, config_window(32, 1, b"\x00"), flags=NEED_REPLY, change=0x3F)
             + msg(GET_CONFIG, config_window(0, 60, flags=0)))
    write("fuzz_vhost_user_message", "blk_fresh_inflight_and_config",
          bytes([BLK | NO_DISCARD]) + fresh)


# --- fuzz_desc_chain ---------------------------------------------------------------------------
# 16-byte control block: shape, gaps, sizes, log2(ring size), tx feature bits, rx feature bits,
# u16 last_avail, span capacity, desc flag xor, rounds, avail step, misc, 3 spare; then the
# descriptor table, the avail ring (+ used_event) and the bytes of the buffer area, which starts
# 0x3000 into region 0 (the first region is at 0x10000 * (1 + shape >> 4)).


def control(shape=0, gaps=0, sizes=0, log2=2, tx=0b10111, rx=0b11, last_avail=0, capacity=63,
            xor=DESC_WRITE, rounds=1, step=0, misc=0):
    return (bytes([shape, gaps, sizes, log2, tx, rx]) + struct.pack("<H", last_avail)
            + bytes([capacity, xor, rounds, step, misc, 0, 0, 0]))


def chain_seeds():
    data = 0x13000
    table = (desc(data, 12, DESC_NEXT, 1) + desc(data + 0x10, 60)
             + desc(data + 0x100, 32, DESC_INDIRECT) + desc(data + 0x200, 72))
    inner = desc(data + 0x300, 12, DESC_NEXT, 1) + desc(data + 0x310, 100)
    area = bytearray(0x400)
    area[0x100:0x120] = inner
    for i in range(0x10, 0x100):
        area[i] = i & 0xFF
    body = table + avail(3, [0, 2, 3], 4) + bytes(area)
    write("fuzz_desc_chain", "direct_and_indirect", control() + body)
    write("fuzz_desc_chain", "same_memory_two_rounds", control(rounds=1, step=2, misc=1) + body)

    # Two adjacent regions; a buffer crossing from the first into the second.
    region0_end = 0x10000 + 4 * 0x1000
    cross = desc(0x13000, 12, DESC_NEXT, 1) + desc(region0_end - 0x20, 0x40)
    write("fuzz_desc_chain", "spans_two_regions",
          control(shape=1, log2=1) + cross + avail(1, [0], 2) + bytes(0x40))

    # One VM behind two ports: the receive buffer overlaps the packet being sent.
    packet = 0x13100
    area = bytearray(0x200)
    area[0:16] = desc(packet + 4, 200, DESC_WRITE)  # the RX ring's table starts the area
    write("fuzz_desc_chain", "overlapping_tx_and_rx_buffers",
          control(rx=0b1, rounds=1, step=2, misc=1) + desc(packet, 112) + bytes(48)
          + avail(1, [0], 4) + bytes(area))

    loop = desc(0x13000, 12, DESC_NEXT, 1) + desc(0x13010, 16, DESC_NEXT, 0)
    write("fuzz_desc_chain", "loop", control(log2=1) + loop + avail(1, [0], 2))

    nested = desc(0x13000, 16, DESC_INDIRECT) + desc(0, 0)
    inner = bytearray(0x20)
    inner[0:16] = desc(0x13000, 16, DESC_INDIRECT)
    write("fuzz_desc_chain", "nested_indirect",
          control(log2=1) + nested + avail(1, [0], 2) + bytes(inner))


# --- fuzz_daemon_config ------------------------------------------------------------------------


# --- fuzz_packed_ring ----------------------------------------------------------------------------
# A 16-byte control block (shape, gaps, sizes, ring size - 1, tx bits, rx bits, u16 start avail,
# u16 start used, rounds, misc, u16 event off_wrap, descriptor flag xor, rewrites), the descriptor
# ring (16 bytes an entry), the rewrites (u16 index, bit 15: the flags the next lap expects; u16
# flags), then the buffer area's bytes, from 3 pages into region 0 (tests/fuzz/fuzz_packed_ring.cpp).
PR_BASE = 0x10000  # region 0's guest address with shape's high nibble 0
PR_DATA = PR_BASE + 3 * 4096


def packed_ring_control(ring_size, tx_bits=0b10011, rx_bits=0b0100011, start_avail=1 << 15,
                        start_used=1 << 15, rounds=3, misc=0, off_wrap=0, xor=0, rewrites=0,
                        shape=0, gaps=0, sizes=0):
    return (bytes([shape, gaps, sizes, ring_size - 1, tx_bits, rx_bits])
            + struct.pack("<HH", start_avail, start_used)
            + bytes([rounds - 1, misc]) + struct.pack("<H", off_wrap) + bytes([xor & 0xFF, rewrites]))


def packed_ring_seeds():
    frame = bytes(12) + bytes(range(60))
    # Eight one-descriptor packets and a two-descriptor one, in a ring of 12 (two slots empty); the
    # receiving copy gets WRITE flipped on (xor 2) so its descriptors are buffers.
    ring = b"".join(pdesc(PR_DATA + 0x100 * i, len(frame), i, 0) for i in range(8))
    ring += pdesc(PR_DATA + 0x900, 12, 9, DESC_NEXT) + pdesc(PR_DATA + 0x90C, 60, 8, 0)
    ring += bytes(16 * 2)
    data = b"".join(frame.ljust(0x100, b"\0") for _ in range(8)) + frame
    write("fuzz_packed_ring", "generated_chains",
          packed_ring_control(12, xor=DESC_WRITE) + ring + data)
    # Rewrites for the next lap: three rounds, each making two descriptors available again in the
    # lap the device expects (bit 15 of the index), with EVENT_IDX and an event descriptor.
    ring = b"".join(pdesc(PR_DATA + 0x100 * i, len(frame), i, 0) for i in range(4))
    rewrites = b"".join(struct.pack("<HH", 0x8000 | i, 0) for i in range(6))
    write("fuzz_packed_ring", "generated_rewrites_next_lap",
          packed_ring_control(4, tx_bits=0b10011 | 16, rx_bits=0b100011 | 32, misc=2 << 1 | 2 << 3,
                              off_wrap=0x8002, xor=DESC_WRITE, rewrites=2)
          + ring + rewrites + b"".join(frame.ljust(0x100, b"\0") for _ in range(4)))


def config_seeds():
    write("fuzz_daemon_config", "good.toml", b"""cores = "2-3"
mode = "xconnect"
stats_interval = 1.0
xconnect = [["vm0", "vm1"]]

[[port]]
name = "vm0"
path = "/tmp/vm0.sock"
queues = 2
disable = ["event_idx"]

[[port]]
name = "vm1"
path = "/tmp/vm1.sock"
socket_mode = "client"
""")
    write("fuzz_daemon_config", "port_spec",
          b"name=vm0,path=/tmp/vm0.sock,mode=client,queues=4,disable=mrg_rxbuf+tso")
    write("fuzz_daemon_config", "uplinks.toml", b"""mode = "l2"
[dpdk]
no_huge = true
file_prefix = "rl"
memory_mb = 128

[[port]]
name = "up"
kind = "afxdp"
ifname = "eth1"
queues = 2
xdp = "native"
zerocopy = "auto"
trunk = [10, 20]

[[port]]
name = "nic"
kind = "dpdk"
devargs = "net_af_packet0,iface=eth2"

[[port]]
name = "host"
kind = "tap"
ifname = "rl-tap0"
vlan = 10
""")
    write("fuzz_daemon_config", "afxdp_spec",
          b"name=up,kind=afxdp,ifname=eth1,queues=2,xdp=generic,zerocopy=off,trunk=10+20")
    write("fuzz_daemon_config", "dpdk_spec",
          b'name=d,kind=dpdk,devargs="net_af_packet0,iface=eth2",queues=2')
    write("fuzz_daemon_config", "tap_spec", b"name=t,kind=tap,ifname=rl-tap0,vlan=4094")
    write("fuzz_daemon_config", "core_list", b"1,3-5,7")
    write("fuzz_daemon_config", "bad.toml", b"mode = 5\n[[port]]\nname = \"a\"\nqueues = 99\n")


# --- fuzz_wire_frames ---------------------------------------------------------------------------
# A virtio-net header, span cuts, a frame: plain, tagged, with a partial checksum, with TSO.


def wire_frame_seeds():
    def seed(name, hdr, cuts, frame):
        b = struct.pack("<BBHHHHH", *hdr) + bytes([len(cuts)])
        b += b"".join(struct.pack("<H", c) for c in cuts)
        write("fuzz_wire_frames", name, b + frame)

    eth = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01"
    ipv4_tcp = (b"\x45\x00\x05\xdc\x00\x01\x00\x00\x40\x06\x00\x00\x0a\x00\x00\x01"
                b"\x0a\x00\x00\x02" + b"\x30\x39\x00\x50" + b"\x00" * 8 + b"\x50\x18" +
                b"\x00" * 6)
    payload = bytes(i * 7 & 0xFF for i in range(1460))
    seed("plain", (0, 0, 0, 0, 0, 0, 0), [], eth + b"\x08\x00" + ipv4_tcp + payload[:100])
    seed("tagged", (0, 0, 0, 0, 0, 0, 0), [5, 13], eth + b"\x81\x00\x00\x0a\x08\x00" + ipv4_tcp)
    seed("csum", (1, 0, 0, 0, 34, 16, 0), [20], eth + b"\x08\x00" + ipv4_tcp + payload[:200])
    seed("tso", (1, 1, 54, 500, 34, 16, 0), [60, 700], eth + b"\x08\x00" + ipv4_tcp + payload)


# --- fuzz_option_parser ------------------------------------------------------------------------
# --port and --nic specs as the docs and tests give them, and the mistakes the parser refuses.


def option_seeds():
    for name, spec in [
        ("port", b"name=vm0,path=/tmp/vm0.sock,mode=client,queues=4,disable=mrg_rxbuf+tso"),
        ("nic_vhost", b"mode=vhost,socket=/tmp/vm0.sock,tap=tap0,mac=52:54:00:12:34:57"),
        ("nic_virtio", b"mode=virtio,tap=tap0,queue-size=1024"),
        ("nic_passthrough", b"mode=passthrough,pci=0000:03:00.0"),
        ("repeated_key", b"mode=e1000,tap=tap0,mode=virtio"),
        ("no_equals", b"mode=virtio,,tap"),
        ("quoted", b'name="a,b=c",path=x'),
        ("unterminated_quote", b'name="a,b'),
    ]:
        write("fuzz_option_parser", name, spec)


# --- fuzz_bzimage_loader -----------------------------------------------------------------------
# A setup header with Debian's Linux 6.1 values (protocol 2.15, 64-bit entry, relocatable), one
# setup sector and a small "kernel"; init_size shrunk so that it loads into the fuzzer's 32 MiB.


def bzimage(setup_sects=1, version=0x020F, xloadflags=0x7F, init_size=0x100000,
            pref=0x1000000, kernel=2048):
    setup = (setup_sects or 4) + 1
    b = bytearray(setup * 512 + kernel)
    b[0x1F1] = setup_sects
    struct.pack_into("<H", b, 0x1FE, 0xAA55)
    b[0x200:0x202] = bytes([0xEB, 0x6A])
    b[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", b, 0x206, version)
    b[0x211] = 0x01  # LOADED_HIGH
    struct.pack_into("<IIBBHI", b, 0x22C, 0x7FFFFFFF, 0x200000, 1, 21, xloadflags, 0x7FF)
    struct.pack_into("<QI", b, 0x258, pref, init_size)
    for i in range(setup * 512, len(b)):
        b[i] = i * 7 & 0xFF
    return bytes(b)


def bzimage_seeds():
    write("fuzz_bzimage_loader", "linux_6_1_like", bzimage())
    write("fuzz_bzimage_loader", "setup_sects_zero", bzimage(setup_sects=0))
    write("fuzz_bzimage_loader", "protocol_2_10", bzimage(version=0x020A, xloadflags=0))
    write("fuzz_bzimage_loader", "too_big_for_ram", bzimage(init_size=0x4000000))


# --- fuzz_http_request -------------------------------------------------------------------------
# Whole requests to ringlane-vmm's API socket, as ringlane-ctl and tests/lib/vmm_api.py send them,
# and a few that must be refused.


def http_seeds():
    def put(path, body):
        return (b"PUT " + path + b" HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)

    write("fuzz_http_request", "get_vm",
          b"GET /vm HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
          b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    write("fuzz_http_request", "get_nics", b"GET /vm/nics HTTP/1.0\r\n\r\n")
    write("fuzz_http_request", "put_mode", put(b"/vm/nics/net0", b'{"mode": "virtio"}'))
    write("fuzz_http_request", "put_bad_body",
          put(b"/vm/nics/net0", b'{"mode": ["vhost", {"queues": 2}], "x": 1.5e300}'))
    write("fuzz_http_request", "put_unknown_nic", put(b"/vm/nics/net9", b'{"mode": "vhost"}'))
    write("fuzz_http_request", "chunked",
          b"PUT /vm/nics/net0 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"5\r\nhello\r\n0\r\n\r\n")
    write("fuzz_http_request", "bad_lines",
          b"GET  /vm HTTP/1.1\r\nHost localhost\r\n content-length: 5\n\r\n")
    write("fuzz_http_request", "raw_json_body", b'{"mode": "vhost"}')


def e1000_transmit_seeds():
    """fuzz_e1000_transmit: descriptors as Linux's e1000 writes them, then guest memory (which
    starts at guest physical 0x100000; bit 0 of a descriptor's address marks "inside memory")."""
    eop, ifcs, rs, dext, tse, vle = bit(24), bit(25), bit(27), bit(29), bit(26), bit(30)
    dtyp_data = bit(20)
    ixsm_txsm = bit(8) | bit(9)

    def legacy(addr, length, cmd):
        return struct.pack("<QII", addr | 1, length | cmd, 0)

    def context(ipcss, ipcso, tucss, tucso, cmd, hdrlen=0, mss=0, paylen=0):
        return struct.pack("<BBHBBHIBBH", ipcss, ipcso, 0, tucss, tucso, 0, dext | cmd | paylen,
                           0, hdrlen, mss)

    def data(addr, length, cmd, popts=0):
        return struct.pack("<QII", addr | 1, length | dtyp_data | dext | cmd, popts)

    eth = b"\x52\x54\x00\x00\x00\x02\x52\x54\x00\x12\x34\x56\x08\x00"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 20 + 3000, 1, 0, 64, 6, 0, b"\x0a\0\0\x01",
                     b"\x0a\0\0\x02")
    tcp = struct.pack("!HHIIBBHHH", 12345, 80, 1, 0, 0x50, 0x18, 65535, 0, 0)
    frame = eth + ip + tcp + bytes(i & 0xff for i in range(3000))
    one = legacy(0x100000, 60, eop | ifcs | rs)
    write("fuzz_e1000_transmit", "legacy_one", bytes([0]) + one + frame[:60])
    tso = (context(14, 24, 34, 50, tse | bit(24) | bit(25), 54, 1448, 3000)
           + data(0x100000, 54, tse, ixsm_txsm) + data(0x100000 + 54, 3000, tse | eop | rs, ixsm_txsm))
    write("fuzz_e1000_transmit", "tso_tcp", bytes([2]) + tso + frame)
    csum = context(14, 24, 34, 50, 0) + data(0x100000, 200, eop | rs, ixsm_txsm)
    write("fuzz_e1000_transmit", "checksum", bytes([1]) + csum + frame[:200])
    vlan = struct.pack("<QII", 0x100001, 100 | eop | vle, 0x01230001)
    write("fuzz_e1000_transmit", "vlan", bytes([0]) + vlan + frame[:100])


# --- fuzz_vf_link_messages ---------------------------------------------------------------------
# rtnetlink answers as the kernel lays them out (linux/if_link.h, linux/netlink.h).
RTM_NEWLINK, NLMSG_ERROR, NLA_F_NESTED = 16, 2, 0x8000
IFLA_IFNAME, IFLA_NUM_VF, IFLA_VFINFO_LIST, IFLA_VF_INFO = 3, 21, 22, 1
VF_MAC, VF_VLAN, VF_TX_RATE, VF_SPOOFCHK, VF_LINK_STATE, VF_RATE = 1, 2, 3, 4, 5, 6
VF_TRUST, VF_VLAN_LIST, VF_VLAN_INFO, VF_BROADCAST = 9, 12, 1, 13
NLM_F_CAPPED, NLM_F_ACK_TLVS, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS = 0x100, 0x200, 1, 2


def nla(kind, payload):
    data = struct.pack("<HH", 4 + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


def nlmsg(kind, flags, payload, seq=1):
    return struct.pack("<IHHII", 16 + len(payload), kind, flags, seq, 4242) + payload


def vf_info(vf, mac, vlan=0, qos=0, proto=0x8100, spoof=1, trust=0, rate=(0, 0), state=0):
    return nla(IFLA_VF_INFO, b"".join([
        nla(VF_MAC, struct.pack("<I", vf) + mac + b"\0" * 26),
        nla(VF_BROADCAST, b"\xff" * 6 + b"\0" * 26),
        nla(VF_VLAN, struct.pack("<III", vf, vlan, qos)),
        nla(VF_RATE, struct.pack("<III", vf, *rate)),
        nla(VF_TX_RATE, struct.pack("<II", vf, rate[1])),
        nla(VF_SPOOFCHK, struct.pack("<II", vf, spoof)),
        nla(VF_LINK_STATE, struct.pack("<II", vf, state)),
        nla(VF_TRUST, struct.pack("<II", vf, trust)),
        nla(VF_VLAN_LIST, nla(VF_VLAN_INFO, struct.pack("<III", vf, vlan, qos)
                                + struct.pack("!H", proto) + b"\0\0")),
    ]))


def vf_link_seeds():
    ifinfo = struct.pack("<BBHiII", 0, 0, 1, 4, 0x1003, 0)
    vfs = nla(IFLA_VFINFO_LIST, vf_info(0, bytes.fromhex("020000000001"), 10, 3, rate=(0, 1000))
              + vf_info(1, b"\0" * 6, 20, 0, 0x88A8, 0xFFFFFFFF, 0xFFFFFFFF, state=2))
    write("fuzz_vf_link_messages", "two_vfs",
          nlmsg(RTM_NEWLINK, 0, ifinfo + nla(IFLA_IFNAME, b"enp1s0f0\0")
                + nla(IFLA_NUM_VF, struct.pack("<I", 2)) + vfs))
    write("fuzz_vf_link_messages", "no_vfs",
          nlmsg(RTM_NEWLINK, 0, ifinfo + nla(IFLA_IFNAME, b"dummy0\0")))
    request = struct.pack("<IHHII", 80, 19, 5, 1, 0)
    tlvs = nla(NLMSGERR_ATTR_MSG, b"VF does not support this\0") + nla(NLMSGERR_ATTR_OFFS, struct.pack("<I", 36))
    write("fuzz_vf_link_messages", "error_capped_extack",
          nlmsg(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, struct.pack("<i", -95) + request + tlvs))
    whole = struct.pack("<IHHII", 28, 19, 5, 1, 0) + b"\0" * 12
    write("fuzz_vf_link_messages", "error_echoed_extack",
          nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, struct.pack("<i", -22) + whole
                + nla(NLMSGERR_ATTR_MSG, b"Invalid VF\0")))
    write("fuzz_vf_link_messages", "ack", nlmsg(NLMSG_ERROR, NLM_F_CAPPED, struct.pack("<i", 0) + request))


def dirty_log_seeds():
    """A migration as QEMU drives it: the dirty log shared (SET_LOG_BASE with LOG_SHMFD, a fresh
    memfd), LOG_ALL acked with the rings running and traffic forwarded, a log the file cannot
    hold, one without its fd, and LOG_ALL off again."""
    table = struct.pack("<II", 1, 0) + region(0, 0x40000, UVA, 0)
    features = (bit(F_VERSION_1) | bit(NET_MRG_RXBUF) | bit(F_INDIRECT) | bit(F_PROTOCOL)
                | bit(F_EVENT_IDX))
    protocol = bit(P_REPLY_ACK) | bit(P_LOG_SHMFD)
    log = struct.pack("<QQ", 0x40000 // 4096 // 8, 64)
    seed = (msg(2, u64(features)) + msg(15) + msg(16, u64(protocol)) + guest_rings()
            + msg(5, table, fds=1) + ring_setup(0, 0x4000, enable=True)
            + msg(6, log, fds=1, kind=FD_FRESH, fresh=128)
            + msg(2, u64(features | bit(F_LOG_ALL))) + ring_setup(1, 0x1000, enable=True)
            + msg(6, struct.pack("<QQ", 4096, 64), fds=1, kind=FD_FRESH, fresh=128,
                  flags=NEED_REPLY)
            + msg(6, log, flags=NEED_REPLY) + msg(6, log[:8], fds=1, kind=FD_FRESH, fresh=128)
            + msg(2, u64(features)) + msg(11, state(1, 0)))
    write("fuzz_vhost_user_message", "dirty_log_migration", bytes([NET]) + seed)



if __name__ == "__main__":
    message_seeds()
    chain_seeds()
    packed_ring_seeds()
    config_seeds()
    option_seeds()
    wire_frame_seeds()
    bzimage_seeds()
    http_seeds()
    e1000_transmit_seeds()
    vf_link_seeds()
