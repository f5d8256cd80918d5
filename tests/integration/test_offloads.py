"""Checksum and TSO offloads against DPDK's virtio driver. A sender testpmd (csum engine, TSO
1448) emits real GSO frames through virtio_user into ringlane; a receiver testpmd writes what
arrives to a pcap. Receiver without GUEST_TSO4: ringlane segments in software, and every segment
has correct IP and TCP checksums and the payload arrives whole, in order. Receiver with
GUEST_TSO4 and GUEST_CSUM: the large frames pass through untouched."""
import os
import random
import struct
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pcap  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

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


class Offloads(unittest.TestCase):
    def run_tso(self, receiver_offloads):
        work = tempfile.mkdtemp(prefix="rl-tso-")
        ports = [{"name": n, "path": os.path.join(work, f"{n}.sock")} for n in ("tx", "rx")]
        frames = make_frames()
        src, dst, sink, empty = (os.path.join(work, n) for n in ("in.pcap", "out.pcap", "sink.pcap", "empty.pcap"))
        pcap.write(src, frames)
        pcap.write(empty, [])
        rl = peers.Ringlane(ports, workdir=work)
        self.addCleanup(rl.kill)
        common = ["--mbuf-size=10240", "--max-pkt-len=9100", "--total-num-mbufs=8192"]
        rx = peers.Testpmd([peers.virtio_user(0, ports[1]["path"]),
                            f"net_pcap1,rx_pcap={empty},tx_pcap={dst}"],
                           "rltsorx", main_lcore=0, interactive=True, extra=common, workdir=work)
        self.addCleanup(rx.kill)
        rx.wait_output("testpmd>", timeout=30)
        rx.command("port stop all")
        for offload in receiver_offloads:
            rx.command(f"port config 0 rx_offload {offload} on")
        mark = len(rx.output())
        rx.command("port start all")
        rx.wait_output("Checking link statuses", timeout=20, start=mark)
        rx.command("start")
        tx = peers.Testpmd([f"net_pcap0,rx_pcap={src},tx_pcap={sink}",
                            peers.virtio_user(1, ports[0]["path"])],
                           "rltsotx", main_lcore=1, interactive=True, extra=common + ["--no-flush-rx"],
                           workdir=work)
        self.addCleanup(tx.kill)
        tx.wait_output("testpmd>", timeout=30)
        for line in ("port stop all", "port config 1 tx_offload tcp_tso on",
                     "port config 1 tx_offload tcp_cksum on", "set fwd csum", "csum set tcp hw 1",
                     "csum set ip sw 1", f"tso set {MSS} 1"):
            tx.command(line)
        mark = len(tx.output())
        tx.command("port start all")
        tx.wait_output("Checking link statuses", timeout=20, start=mark)
        tx.command("start")
        expected = FRAMES if "tcp_lro" in receiver_offloads else FRAMES * -(-PAYLOAD // MSS)
        try:
            rx.wait_port_tx(1, expected, timeout=30)
        except TimeoutError:
            pass  # the assertions below say what arrived
        tx.quit()
        rx.quit()
        summary = rl.stop()
        self.assertEqual(peers.total_drops(summary), 0, summary)
        return frames, pcap.read(dst), summary

    def test_software_segmentation_for_receiver_without_tso(self):
        frames, received, summary = self.run_tso([])
        self.assertEqual(len(received), FRAMES * -(-PAYLOAD // MSS))
        payloads = {}
        for seg in received:
            self.assertLessEqual(len(seg), ETH + IP + TCP + MSS)
            self.assertEqual(checksum(seg[ETH:ETH + IP]), 0, "IPv4 header checksum")
            self.assertTrue(tcp_checksum_ok(seg), "TCP checksum")
            seq = struct.unpack("!I", seg[ETH + IP + 4:ETH + IP + 8])[0]
            payloads.setdefault(seq // 100000, []).append((seq, seg[ETH + IP + TCP:]))
        for i, frame in enumerate(frames):
            parts = sorted(payloads[i])
            self.assertEqual(b"".join(p for _, p in parts), frame[ETH + IP + TCP:], f"payload {i}")
        # Six segments per frame reached the receiver, from eight frames sent.
        self.assertEqual(peers.port_totals(summary, "tx")["rx_packets"], FRAMES)
        self.assertEqual(peers.port_totals(summary, "rx")["tx_packets"], len(received))

    def test_large_frames_pass_through_to_receiver_with_tso(self):
        frames, received, summary = self.run_tso(["tcp_lro", "tcp_cksum"])
        self.assertEqual(len(received), FRAMES)
        csum_at = ETH + IP + 16
        for want, got in zip(frames, received):
            self.assertEqual(len(got), len(want))
            # Untouched but for the checksum field, which the receiver finishes (NEEDS_CSUM). The
            # sender's csum engine rewrote the Ethernet addresses, so compare from IP on.
            self.assertEqual(got[ETH:csum_at], want[ETH:csum_at])
            self.assertEqual(got[csum_at + 2:], want[csum_at + 2:])


if __name__ == "__main__":
    report.main("integration_offloads")
