"""DPDK ethdev ports (issue 14, --port kind=dpdk) against real peers.

- test_namespaces_ping_and_move_data: two network namespaces the test creates, each holding one
  end of a veth pair whose other end is a ringlane port `kind=dpdk,devargs="net_af_packet0,
  iface=VETH"`, cross-connected (--mode xconnect). The namespaces ping each other through
  ringlane and move 8 MiB one way and 4 MiB the other by TCP, the SHA-256 of what was sent equal
  to what arrived. The summary shows each port's kind and counters (link up, the NIC's own
  counters), and every frame one port received was sent by the other or counted as dropped.
- test_af_xdp_devargs: the same two namespaces through net_af_xdp ports (ping, 2 MiB by TCP).
- test_frames_from_the_wire_checked: a net_pcap port reads a capture holding good frames, runts
  and frames longer than the port's MTU allows; only the good ones leave through the other port
  (a net_pcap writing a capture), the others are counted by reason and dropped.
- test_queues_spread_over_workers: net_null ports with two queue pairs each on two workers; each
  worker registers with DPDK, every queue moves frames both ways.
- test_devargs_refused_exits_2: devargs DPDK refuses (an interface that does not exist, a
  driver that does not exist, a PCI address no machine has) end the daemon with exit status 2
  before it starts, with a message naming the port and saying why.

The namespaces and veth pairs are removed (tests/lib/netns_wire.py) and every process is ended by
PID (tests/lib/peers.py), also when a test fails; DPDK's runtime directory of each run (its own
--dpdk-file-prefix) is removed too. DPDK runs with --dpdk-no-huge: no hugepages are needed and
none can be left behind.

Environment: RINGLANE_BIN (meson sets it)."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns_wire  # noqa: E402
import pcap  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
from dpdk_case import DpdkCase, port_entry  # noqa: E402

TCP_TRANSFER = os.path.join(os.path.dirname(__file__), "..", "lib", "tcp_transfer.py")
MIB = 1 << 20


def eth_frame(length, dst="02:00:00:00:00:02", src="02:00:00:00:00:01", fill=0):
    """An Ethernet frame of `length` bytes (or just the first `length` bytes of a header)."""
    header = bytes.fromhex(dst.replace(":", "") + src.replace(":", "")) + b"\x88\xb5"
    body = bytes((fill + i) & 0xFF for i in range(max(0, length - len(header))))
    return (header + body)[:length]


class DpdkPorts(DpdkCase):
    def wire(self, prefix, address):
        """A namespace with a veth pair: the inside end `wire0` has `address` and finishes its
        own checksums (a real wire's frames are whole); returns (namespace, host end)."""
        ns = netns_wire.WireNamespace(prefix)
        self.addCleanup(ns.close)
        host = ns.add_veth(netns_wire.unique_ifname("rldp"), "wire0", address=address)
        ns.finish_checksums("wire0")
        return ns, host

    def transfer(self, sender, receiver, address, size, seed):
        """`size` bytes by TCP from namespace `sender` to `receiver` (listening on `address`);
        asserts the receiver read what the sender wrote."""
        server = peers.Process(receiver.argv(sys.executable, TCP_TRANSFER, "receive", address, 5201),
                               "tcp-receive", log_dir=self.work)
        self.addCleanup(server.kill)
        peers.wait_for(lambda: "listening" in server.output() or not server.alive(), 10,
                       "the receiver to listen")
        sent = sender.run(sys.executable, TCP_TRANSFER, "send", address, 5201, size,
                          "--seed", seed, check=False)
        self.assertEqual(sent.returncode, 0, sent.stderr + server.output())
        self.assertEqual(server.wait(30), 0, server.output())
        sent_line = next(line for line in sent.stdout.splitlines() if line.startswith("TCP sent"))
        received = next(line for line in server.output().splitlines()
                        if line.startswith("TCP received"))
        self.assertEqual(received.split()[2:4], sent_line.split()[2:4])
        self.assertIn(f"bytes={size}", received)

    def test_af_xdp_devargs(self):
        ns_a, host_a = self.wire("rldpa", "10.78.0.1/24")
        ns_b, host_b = self.wire("rldpb", "10.78.0.2/24")
        rl = self.start_ringlane([f'name=a,kind=dpdk,devargs="net_af_xdp0,iface={host_a}"',
                                  f'name=b,kind=dpdk,devargs="net_af_xdp1,iface={host_b}"'])
        ping = ns_a.run("busybox", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.78.0.2",
                        check=False)
        self.assertIn("3 packets received", ping.stdout, ping.stdout + ping.stderr)
        self.transfer(ns_b, ns_a, "10.78.0.1", 2 * MIB, 3)
        summary = self.finish(rl)
        self.assertEqual(port_entry(summary, "a")["counters"]["link_up"], 1)
        self.assert_accounted(summary, "a", "b")
        self.assert_accounted(summary, "b", "a")

    def test_namespaces_ping_and_move_data(self):
        ns_a, host_a = self.wire("rldpa", "10.78.0.1/24")
        ns_b, host_b = self.wire("rldpb", "10.78.0.2/24")
        rl = self.start_ringlane([f'name=a,kind=dpdk,devargs="net_af_packet0,iface={host_a}"',
                                  f'name=b,kind=dpdk,devargs="net_af_packet1,iface={host_b}"'])
        ping = ns_a.run("busybox", "ping", "-c", "5", "-i", "0.2", "-W", "2", "10.78.0.2",
                        check=False)
        self.assertIn("5 packets received", ping.stdout, ping.stdout + ping.stderr)
        self.transfer(ns_a, ns_b, "10.78.0.2", 8 * MIB, 1)
        self.transfer(ns_b, ns_a, "10.78.0.1", 4 * MIB, 2)
        summary = self.finish(rl)
        for name in ("a", "b"):
            port = port_entry(summary, name)
            self.assertEqual(port["kind"], "dpdk")
            self.assertTrue(port["connected"])
            counters = port["counters"]
            self.assertEqual(counters["link_up"], 1)
            for key in ("rx_runts", "rx_oversized", "tx_malformed", "tx_too_large",
                        "nic_rx_errors", "nic_tx_errors"):
                self.assertEqual(counters[key], 0, f"{name} {key}")
            # The NIC's own count of what it sent is what ringlane handed it.
            self.assertEqual(counters["nic_tx_packets"], port["totals"]["tx_packets"], name)
            self.assertEqual(counters["nic_rx_packets"], port["totals"]["rx_packets"], name)
        # 8 MiB in frames of at most 1514 bytes went from a to b.
        self.assertGreater(port_entry(summary, "a")["totals"]["rx_bytes"], 8 * MIB)
        self.assertGreater(port_entry(summary, "b")["totals"]["rx_bytes"], 4 * MIB)
        self.assert_accounted(summary, "a", "b")
        self.assert_accounted(summary, "b", "a")

    def test_frames_from_the_wire_checked(self):
        good = [eth_frame(60, fill=i) for i in range(4)] + [eth_frame(1514, fill=9),
                                                            eth_frame(1522, fill=7)]
        runts = [eth_frame(1), eth_frame(10), eth_frame(13)]
        oversized = [eth_frame(1523), eth_frame(1600), eth_frame(3000), eth_frame(9000)]
        sent = [runts[0], good[0], oversized[0], good[1], runts[1], good[2], oversized[1],
                good[3], oversized[2], runts[2], good[4], oversized[3], good[5]]
        source, empty, out = (os.path.join(self.work, n) for n in ("in.pcap", "empty.pcap", "out.pcap"))
        pcap.write(source, sent)
        pcap.write(empty, [])
        wire = f"net_pcap0,rx_pcap={source},tx_pcap={os.devnull}"
        rl = self.start_ringlane([f'name=wire,kind=dpdk,devargs="{wire}"',
                                  f'name=out,kind=dpdk,devargs="net_pcap1,rx_pcap={empty},tx_pcap={out}"'],
                                 extra=["--duration", "2"])
        summary = self.finish(rl, stop=False)
        self.assertEqual(pcap.read(out), good, "only whole frames of at most 1522 bytes pass")
        counters = port_entry(summary, "wire")["counters"]
        self.assertEqual(counters["rx_runts"], len(runts))
        self.assertEqual(counters["rx_oversized"], len(oversized))
        wire = port_entry(summary, "wire")
        self.assertEqual(wire["totals"]["rx_packets"], len(good))
        self.assertEqual(wire["queues"][0]["drops"]["rx_malformed"], len(runts) + len(oversized))
        self.assertEqual(port_entry(summary, "out")["totals"]["tx_packets"], len(good))

    def test_queues_spread_over_workers(self):
        rl = self.start_ringlane(['name=a,kind=dpdk,devargs="net_null0",queues=2',
                                  'name=b,kind=dpdk,devargs="net_null1",queues=2'],
                                 cores="0,1", extra=["--duration", "2"])
        summary = self.finish(rl, stop=False)
        self.assertEqual(len(summary["workers"]), 2)
        for worker in summary["workers"]:
            self.assertGreater(worker["packets"], 1000, summary["workers"])
        for name in ("a", "b"):
            queues = port_entry(summary, name)["queues"]
            self.assertEqual(len(queues), 2)
            for q in queues:
                self.assertGreater(q["rx_packets"], 1000, (name, q))
                self.assertGreater(q["tx_packets"], 1000, (name, q))
        self.assert_accounted(summary, "a", "b")
        self.assert_accounted(summary, "b", "a")

    def test_devargs_refused_exits_2(self):
        sock = os.path.join(self.work, "vm0.sock")
        cases = [
            ("net_af_packet0,iface=rlnosuch0", "No such device"),
            ("net_nosuchdriver0", "DPDK refused devargs 'net_nosuchdriver0'"),
            ("ffff:ff:1f.6", "DPDK refused devargs 'ffff:ff:1f.6'"),
        ]
        for devargs, why in cases:
            with self.subTest(devargs=devargs):
                argv = self.ringlane_argv([f"name=vm0,path={sock}", f'name=up,kind=dpdk,devargs="{devargs}"'])
                result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
                if "built without DPDK" in result.stderr:
                    self.skipTest("this ringlane was built without DPDK")
                self.assertEqual(result.returncode, 2, result.stderr)
                last = result.stderr.strip().splitlines()[-1]
                self.assertIn("port 'up'", last)
                self.assertIn(why, last)
                self.assertNotIn("running:", result.stderr)


if __name__ == "__main__":
    report.main("integration_dpdk_port")
