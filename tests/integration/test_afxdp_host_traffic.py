"""The host keeps its own traffic on an interface an AF_XDP uplink serves (issue 14, acceptance
point 2). The uplink's end of the veth has an address of the host's (in the test's hub namespace,
where ringlane runs); ringlane cross-connects it to a second uplink, so its XDP program steers
every unicast frame to ringlane except those for the interface's own address. While it runs, the
station pings the host's address, fetches a line from a listener on it (an SSH-like connection)
and sends it 1 MiB by TCP with the same SHA-256 at both ends; at the same time it still reaches
the other station through ringlane. The summary must show the host's frames counted as the
kernel's (xdp_own_address) and not forwarded to the other uplink."""
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402
from afxdp_topology import AfXdpTopology  # noqa: E402

HOST_ADDRESS = "10.99.0.254"
TRANSFER = 1 << 20


class HostTrafficBesideAfXdp(unittest.TestCase):
    def setUp(self):
        self.topo = AfXdpTopology(stations=2, hub_addresses={0: HOST_ADDRESS + "/24"})
        self.addCleanup(self.topo.close)

    def background(self, ns, name, *probe_args):
        p = peers.Process(ns.argv(*self.topo.probe(*probe_args)), name, log_dir=self.topo.workdir)
        self.addCleanup(p.kill)
        peers.wait_for(lambda: "listening" in p.output() or not p.alive(), 10, name)
        return p

    def test_host_address_reaches_the_kernel_stack(self):
        rl = self.topo.start_ringlane(["--mode", "xconnect",
                                       "--port", "name=up0,kind=afxdp,ifname=up0",
                                       "--port", "name=up1,kind=afxdp,ifname=up1"])
        self.addCleanup(rl.process.kill)
        station = self.topo.station(0)
        listener = self.background(self.topo.hub, "host-listener", "listen", 2222,
                                   "--address", HOST_ADDRESS)
        self.assertTrue(listener.alive())
        sink = self.background(self.topo.hub, "host-sink", "serve", 5301, "--address",
                               HOST_ADDRESS, "--timeout", 60)

        r = station.run(*self.topo.probe("ping", HOST_ADDRESS, "--count", 5), check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = station.run(*self.topo.probe("hello", HOST_ADDRESS, 2222), check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "hello from the host")
        r = station.run(*self.topo.probe("send", HOST_ADDRESS, 5301, "--bytes", TRANSFER,
                                         "--seed", 7, "--timeout", 60), check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(sink.wait(60), 0, sink.output())
        sent = r.stdout.split()
        received = sink.output().split()
        received = received[received.index("received"):]
        self.assertEqual(received, ["received", str(TRANSFER), sent[2]])
        # ringlane's own path on the same interface at the same time.
        r = station.run(*self.topo.probe("ping", self.topo.address(1), "--count", 3),
                        check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        rc, summary = rl.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, rl.output()[-3000:])
        ports = {p["name"]: p for p in summary["ports"]}
        up0 = ports["up0"]["counters"]
        # About 700 data frames to the host, and the pings: all the kernel's.
        self.assertGreater(up0["xdp_own_address"], 700, up0)
        self.assertGreater(up0["xdp_steered"], 0, up0)  # the station-to-station pings
        # Nothing of the host's conversation crossed to the other uplink: only the pings and
        # broadcast copies (ARP) did.
        self.assertLess(ports["up1"]["totals"]["tx_packets"], 50, ports["up1"])


if __name__ == "__main__":
    report.main("integration_afxdp_host_traffic")
