"""Two AF_XDP uplinks (issue 14, kind=afxdp) on veth pairs whose far ends are in namespaces the
test creates (tests/lib/afxdp_topology.py): the two namespaces reach each other only through
ringlane. Cross-connected (xconnect: the XDP program steers every unicast frame but the host's,
and copies broadcasts), and as an L2 switch (l2: only the addresses the switch learned are
steered, from the switch's address feed). Each case pings both ways and moves 4 MiB by TCP each
way with the same SHA-256 at both ends; ringlane's summary must show the frames went through the
AF_XDP sockets (steered by the program, none dropped as runts or oversized). Once with one queue
per uplink, once with two."""
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402
from afxdp_topology import AfXdpTopology  # noqa: E402

TRANSFER = 4 << 20


class AfXdpThroughRinglane(unittest.TestCase):
    queues = 1

    def setUp(self):
        self.topo = AfXdpTopology(stations=2, queues=self.queues)
        self.addCleanup(self.topo.close)

    def start(self, mode):
        rl = self.topo.start_ringlane(
            ["--mode", mode, "--port", f"name=up0,kind=afxdp,ifname=up0,queues={self.queues}",
             "--port", f"name=up1,kind=afxdp,ifname=up1,queues={self.queues}"])
        self.addCleanup(rl.process.kill)
        return rl

    def ping(self, src, dst, count=5):
        return self.topo.station(src).run(*self.topo.probe("ping", self.topo.address(dst),
                                                           "--count", count), check=False)

    def transfer(self, src, dst, port, seed):
        """Moves TRANSFER bytes from station src to station dst by TCP; both digests."""
        server = peers.Process(self.topo.station(dst).argv(
            *self.topo.probe("serve", port, "--timeout", 60)), "probe-serve",
            log_dir=self.topo.workdir)
        self.addCleanup(server.kill)
        peers.wait_for(lambda: "listening" in server.output() or not server.alive(), 10,
                       "the TCP listener")
        sent = self.topo.station(src).run(*self.topo.probe(
            "send", self.topo.address(dst), port, "--bytes", TRANSFER, "--seed", seed,
            "--timeout", 60), check=False)
        self.assertEqual(sent.returncode, 0, sent.stdout + sent.stderr)
        self.assertEqual(server.wait(60), 0, server.output())
        received = server.output().split()
        return sent.stdout.split(), received[received.index("received"):]

    def check_path(self, mode):
        rl = self.start(mode)
        if mode == "l2":
            # The switch learns each station from its first frames; until the address feed
            # (one control tick) has told the other uplink, a reply may go to the kernel.
            self.ping(0, 1, count=3)
        for src, dst in ((0, 1), (1, 0)):
            r = self.ping(src, dst)
            self.assertEqual(r.returncode, 0, f"{src}->{dst}: {r.stdout}{r.stderr}")
        for src, dst, port, seed in ((0, 1, 5201, 11), (1, 0, 5202, 12)):
            (_, nsent, sent_digest), (_, nreceived, received_digest) = self.transfer(
                src, dst, port, seed)
            self.assertEqual(int(nsent), TRANSFER)
            self.assertEqual(int(nreceived), TRANSFER, f"{src}->{dst}")
            self.assertEqual(received_digest, sent_digest, f"{src}->{dst}")
        rc, summary = rl.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, rl.output()[-3000:])
        for name in ("up0", "up1"):
            port = next(p for p in summary["ports"] if p["name"] == name)
            self.assertEqual(port["kind"], "afxdp")
            counters = port["counters"]
            # 4 MiB each way is about 2,900 full frames, plus the acknowledgements.
            self.assertGreater(counters["xdp_steered"], 2000, (name, counters))
            self.assertGreater(port["totals"]["rx_packets"], 2000, (name, port["totals"]))
            self.assertGreater(port["totals"]["tx_packets"], 2000, (name, port["totals"]))
            self.assertEqual(len(port["queues"]), self.queues, port["queues"])
            self.assertEqual(sum(q["rx_packets"] for q in port["queues"]),
                             port["totals"]["rx_packets"])
            self.assertEqual(counters["xdp_unserved_queue"], 0, counters)
            self.assertEqual(counters["rx_drop_runt"], 0, counters)
            self.assertEqual(counters["rx_drop_oversized"], 0, counters)
            if mode == "l2":
                self.assertGreaterEqual(counters["steered_addresses"], 1, counters)
        # The first ARP request reached the far station as a copy (the kernel got it too).
        self.assertGreater(sum(p["counters"]["xdp_copied"] for p in summary["ports"]), 0)
        self.assertGreater(sum(p["counters"]["rx_multicast_copies"] for p in summary["ports"]), 0)
        return summary

    def test_xconnect(self):
        summary = self.check_path("xconnect")
        for port in summary["ports"]:
            self.assertEqual(port["counters"]["steered_addresses"], 0)  # steers all, no map

    def test_l2_switch_steers_learned_addresses(self):
        self.check_path("l2")


class AfXdpTwoQueues(AfXdpThroughRinglane):
    """The same with two receive queues per veth end and a socket on each (queues=2): frames
    arrive on whichever queue the sender's flow hashes to."""
    queues = 2


if __name__ == "__main__":
    report.main("integration_afxdp_xconnect")
