"""Frame content through ringlane: frames of many sizes (60 to 9000 bytes) read from a pcap by
DPDK's pcap PMD, sent by virtio_user into ringlane, received by a second virtio_user and written
to a pcap, arrive byte-identical, in order, none missing."""
import os
import random
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pcap  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

SIZES = [60, 61, 63, 64, 65, 100, 127, 128, 129, 255, 256, 511, 512, 513, 1000, 1023, 1024,
         1025, 1499, 1500, 1514, 1518, 1522, 2000, 2047, 2048, 2049, 3000, 4095, 4096, 4097,
         6000, 8191, 8192, 8193, 8999, 9000]


def make_frames(count):
    rng = random.Random(1234)
    sizes = SIZES + [rng.randint(60, 9000) for _ in range(count - len(SIZES))]
    frames = []
    for i, size in enumerate(sizes):
        header = bytes.fromhex("02000000aa01") + bytes.fromhex("02000000bb01") + b"\x88\xb5"
        tag = i.to_bytes(4, "big") + size.to_bytes(4, "big")
        body = bytes(rng.getrandbits(8) for _ in range(size - len(header) - len(tag)))
        frames.append(header + tag + body)
    return frames


class FrameContent(unittest.TestCase):
    def run_frames(self, mrg_rxbuf):
        work = tempfile.mkdtemp(prefix="rl-frames-")
        ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock")} for i in range(2)]
        frames = make_frames(200)
        src, dst, sink, empty = (os.path.join(work, n) for n in ("in.pcap", "out.pcap", "sink.pcap", "empty.pcap"))
        pcap.write(src, frames)
        pcap.write(empty, [])
        rl = peers.Ringlane(ports, workdir=work)
        self.addCleanup(rl.kill)
        vdevs = [
            f"net_pcap0,rx_pcap={src},tx_pcap={sink}",
            peers.virtio_user(1, ports[0]["path"], mrg_rxbuf=mrg_rxbuf, extra=",queue_size=1024"),
            peers.virtio_user(2, ports[1]["path"], mrg_rxbuf=mrg_rxbuf, extra=",queue_size=1024"),
            f"net_pcap3,rx_pcap={empty},tx_pcap={dst}",
        ]
        # Jumbo frames: with mergeable buffers they span several 2 KiB receive buffers (scatter on
        # the virtio ports only: the pcap PMD refuses it); without, each buffer holds a frame.
        # --no-flush-rx: testpmd would otherwise drain the pcap before forwarding starts.
        # A burst of 32 jumbo frames needs ~90 2 KiB buffers: give the receiver ring room for the
        # pcap's bursts, or ringlane rightly counts drops for want of buffers.
        extra = ["--no-flush-rx", "--rxd=1024", "--txd=1024"]  # with queue_size=1024 below
        if not mrg_rxbuf:
            extra += ["--max-pkt-len=9100", "--mbuf-size=10240"]
        tp = peers.Testpmd(vdevs, "rlframes", main_lcore=1, interactive=True, extra=extra,
                           memory_mb=1024, workdir=work)
        self.addCleanup(tp.kill)
        tp.wait_output("testpmd>", timeout=30)
        if mrg_rxbuf:
            tp.command("port stop all")
            for port in (1, 2):
                tp.command(f"port config {port} rx_offload scatter on")
                tp.command(f"port config mtu {port} 9100")
            mark = len(tp.output())
            tp.command("port start all")
            tp.wait_output("Checking link statuses", timeout=20, start=mark)
        mark = len(tp.output())
        tp.command("start")
        tp.wait_output("packet forwarding", timeout=20, start=mark)
        # The output pcap is written through stdio buffers: count on testpmd, read after quit.
        try:
            tp.wait_port_tx(3, len(frames), timeout=15)
        except TimeoutError:
            pass  # the comparison below says what arrived
        tp.command("stop")
        tp.quit()
        summary = rl.stop()
        received = pcap.read(dst)
        self.assertEqual(peers.total_drops(summary), 0, summary)
        self.assertEqual(len(received), len(frames),
                         f"{len(received)} of {len(frames)} frames arrived; testpmd:\n" + tp.output()[-2000:])
        for i, (want, got) in enumerate(zip(frames, received)):
            self.assertEqual(len(got), len(want), f"frame {i} length")
            self.assertEqual(got, want, f"frame {i} ({len(want)} bytes) differs")
        self.assertEqual(peers.port_totals(summary, "vm1")["tx_bytes"], sum(len(f) for f in frames))

    def test_mergeable_buffers(self):
        self.run_frames(True)

    def test_large_buffers_without_merging(self):
        self.run_frames(False)


if __name__ == "__main__":
    report.main("integration_frames")
