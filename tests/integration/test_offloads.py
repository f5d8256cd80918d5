"""Checksum and TSO offloads against DPDK's virtio driver. A sender testpmd (csum engine, TSO
1448) emits real GSO frames through virtio_user into ringlane; a receiver testpmd writes what
arrives to a pcap. Receiver without GUEST_TSO4: ringlane segments in software, and every segment
has correct IP and TCP checksums and the payload arrives whole, in order. Receiver with
GUEST_TSO4 and GUEST_CSUM: the large frames pass through untouched."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pcap  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
from tso_frames import ETH, FRAMES, IP, MSS, PAYLOAD, make_frames, segmentation_problem  # noqa: E402

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
        self.assertIsNone(segmentation_problem(frames, received, MSS))
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
