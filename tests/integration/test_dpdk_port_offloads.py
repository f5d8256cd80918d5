"""A VM's checksum and TSO requests leaving through a DPDK port (issue 14): a sender testpmd
(csum engine, TSO at MSS 1448, tests/integration/test_offloads.py's frames) emits 8 GSO frames of
8000 payload bytes through virtio_user into ringlane's vhost port, cross-connected to a dpdk port.

- test_software_when_the_nic_has_no_offloads: the dpdk port is a net_pcap writing a capture
  (no checksum or TSO offload): ringlane cuts each frame into segments and finishes their
  checksums itself. The capture holds 48 segments of at most one MTU, every IP and TCP checksum
  right, the payloads whole and in order.
- test_nic_segments_when_it_can: the dpdk port is a net_tap (it offers TCP checksum and TSO,
  carried out by its driver), its TAP interface moved into a network namespace the test creates
  and captured there; the sender's MSS is 1400. The same 48 segments arrive, and ringlane handed
  the 8 frames to the NIC whole with their offload requests (tx_offloaded 8, none in software).
- test_segments_net_tap_cannot_make_go_in_software: the same at MSS 1448, whose segments
  (1502 bytes) net_tap's TSO refuses (it counts the Ethernet header in the MTU): ringlane
  segments those frames itself, and all 48 segments arrive.

Processes end by PID (tests/lib/peers.py), the namespace goes with its interfaces
(tests/lib/netns_wire.py), also on failure.

Environment: RINGLANE_BIN (meson sets it)."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns_wire  # noqa: E402
import pcap  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
from dpdk_case import DpdkCase, port_entry  # noqa: E402
from tso_frames import FRAMES, MSS, make_frames, segment_count, segmentation_problem  # noqa: E402

PACKET_CAPTURE = os.path.join(os.path.dirname(__file__), "..", "lib", "packet_capture.py")


class DpdkOffloads(DpdkCase):
    def send_tso_frames(self, sock, mss=MSS):
        """The sender testpmd: FRAMES GSO frames into the vhost-user port at `sock`; returns
        the frames as they were before segmentation."""
        frames = make_frames()
        source, sink = os.path.join(self.work, "in.pcap"), os.path.join(self.work, "sink.pcap")
        pcap.write(source, frames)
        tx = peers.Testpmd([f"net_pcap0,rx_pcap={source},tx_pcap={sink}",
                            peers.virtio_user(1, sock)],
                           "rldpdktso", main_lcore=1, interactive=True,
                           extra=["--mbuf-size=10240", "--max-pkt-len=9100",
                                  "--total-num-mbufs=8192", "--no-flush-rx"],
                           workdir=self.work)
        self.addCleanup(tx.kill)
        self.addCleanup(shutil.rmtree, "/var/run/dpdk/rldpdktso", True)
        tx.wait_output("testpmd>", timeout=30)
        for line in ("port stop all", "port config 1 tx_offload tcp_tso on",
                     "port config 1 tx_offload tcp_cksum on", "set fwd csum", "csum set tcp hw 1",
                     "csum set ip sw 1", f"tso set {mss} 1"):
            tx.command(line)
        mark = len(tx.output())
        tx.command("port start all")
        tx.wait_output("Checking link statuses", timeout=20, start=mark)
        tx.command("start")
        tx.wait_port_tx(1, FRAMES, timeout=30)
        tx.quit()
        return frames

    def check_segments(self, frames, received, mss=MSS):
        self.assertIsNone(segmentation_problem(frames, received, mss))

    def test_software_when_the_nic_has_no_offloads(self):
        sock = os.path.join(self.work, "vm.sock")
        empty, out = os.path.join(self.work, "empty.pcap"), os.path.join(self.work, "out.pcap")
        pcap.write(empty, [])
        rl = self.start_ringlane([f"name=vm,path={sock}",
                                  f'name=up,kind=dpdk,devargs="net_pcap0,rx_pcap={empty},tx_pcap={out}"'])
        frames = self.send_tso_frames(sock)
        summary = self.finish(rl)
        self.check_segments(frames, pcap.read(out))
        up = port_entry(summary, "up")
        self.assertEqual(up["counters"]["tx_software_offload"], segment_count(MSS))
        self.assertEqual(up["counters"]["tx_offloaded"], 0)
        self.assertEqual(up["totals"]["tx_packets"], segment_count(MSS))

    def through_net_tap(self, mss):
        """The frames at `mss` through a net_tap port into a namespace; returns its counters."""
        ns = netns_wire.WireNamespace("rldpo")
        self.addCleanup(ns.close)
        tap = netns_wire.unique_ifname("rldtap")
        sock = os.path.join(self.work, "vm.sock")
        rl = self.start_ringlane([f"name=vm,path={sock}",
                                  f'name=up,kind=dpdk,devargs="net_tap0,iface={tap}"'])
        # The TAP device net_tap made, into the namespace: what ringlane sends is seen there only.
        ns.take_link(tap)
        out = os.path.join(self.work, "out.pcap")
        capture = peers.Process(ns.argv(sys.executable, PACKET_CAPTURE, tap, out,
                                        segment_count(mss), "--timeout", 60),
                                "capture", log_dir=self.work)
        self.addCleanup(capture.kill)
        peers.wait_for(lambda: "ready" in capture.output() or not capture.alive(), 10,
                       "the capture to start")
        frames = self.send_tso_frames(sock, mss)
        capture.wait(30)
        summary = self.finish(rl)
        self.check_segments(frames, pcap.read(out), mss)
        counters = port_entry(summary, "up")["counters"]
        self.assertEqual(counters["tx_malformed"], 0)
        self.assertEqual(counters["tx_ring_full"], 0)
        return counters

    def test_nic_segments_when_it_can(self):
        counters = self.through_net_tap(1400)
        self.assertEqual(counters["tx_offloaded"], FRAMES)
        self.assertEqual(counters["tx_software_offload"], 0)

    def test_segments_net_tap_cannot_make_go_in_software(self):
        counters = self.through_net_tap(MSS)
        self.assertEqual(counters["tx_offloaded"], 0)
        self.assertEqual(counters["tx_software_offload"], segment_count(MSS))


if __name__ == "__main__":
    report.main("integration_dpdk_port_offloads")
