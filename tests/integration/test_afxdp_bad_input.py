"""An AF_XDP uplink that cannot work is refused before anything starts (issue 14, bad input):
an interface that does not exist, one that is down, more queues than the interface has, no
permission, zero-copy demanded where the driver has none. Each exits with status 2 and a message
naming the port and what to mend, and leaves no XDP program on any interface."""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import report  # noqa: E402
from afxdp_topology import AfXdpTopology  # noqa: E402


class AfXdpBadInput(unittest.TestCase):
    def setUp(self):
        self.topo = AfXdpTopology(stations=2)
        self.addCleanup(self.topo.close)

    def assert_refused(self, port_specs, *needles, argv_prefix=()):
        args = ["--mode", "xconnect"]
        for spec in port_specs:
            args += ["--port", spec]
        if argv_prefix:
            argv = self.topo.ringlane_argv(args)
            # ip netns exec NS <prefix...> ringlane ...
            at = argv.index(self.topo.hub.name) + 1
            argv = argv[:at] + list(argv_prefix) + argv[at:]
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        else:
            r = self.topo.run_ringlane(args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        for needle in needles:
            self.assertIn(needle, r.stderr)
        self.assertNotIn("running:", r.stderr)
        for ifname in ("up0", "up1"):
            self.assertEqual(self.topo.xdp_programs(ifname), [], f"{ifname} after a refusal")
        return r.stderr

    def test_missing_interface(self):
        self.assert_refused(["name=wan,kind=afxdp,ifname=nosuch0", "name=up1,kind=afxdp,ifname=up1"],
                            "port 'wan': interface 'nosuch0' does not exist")

    def test_interface_down(self):
        self.topo.hub.run("ip", "link", "set", "up0", "down")
        self.assert_refused(["name=wan,kind=afxdp,ifname=up0", "name=up1,kind=afxdp,ifname=up1"],
                            "port 'wan': interface 'up0' is down (ip link set up0 up)")

    def test_more_queues_than_the_interface_has(self):
        self.assert_refused(["name=wan,kind=afxdp,ifname=up0,queues=4",
                             "name=up1,kind=afxdp,ifname=up1"],
                            "port 'wan': queues=4 but interface 'up0' has 1 receive queue")

    def test_a_later_port_refused_leaves_the_earlier_one_detached(self):
        # up0 is set up (its program attached) before up1 is refused: up0's goes with it.
        self.assert_refused(["name=up0,kind=afxdp,ifname=up0",
                             "name=bad,kind=afxdp,ifname=up1,queues=2"],
                            "port 'bad': queues=2 but interface 'up1' has 1 receive queue")

    def test_zero_copy_demanded_where_the_driver_has_none(self):
        self.assert_refused(["name=wan,kind=afxdp,ifname=up0,zerocopy=on",
                             "name=up1,kind=afxdp,ifname=up1"],
                            "port 'wan': zero-copy is not available on up0 queue 0")

    @unittest.skipUnless(shutil.which("setpriv"), "setpriv (util-linux) missing")
    def test_no_permission(self):
        self.assert_refused(["name=wan,kind=afxdp,ifname=up0", "name=up1,kind=afxdp,ifname=up1"],
                            "port 'wan': no permission: AF_XDP uplinks need root",
                            argv_prefix=["setpriv", "--reuid=65534", "--regid=65534",
                                         "--clear-groups"])


if __name__ == "__main__":
    report.main("integration_afxdp_bad_input")
