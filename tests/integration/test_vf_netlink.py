"""VF settings over rtnetlink against the real kernel. This machine has no SR-IOV hardware, so
the checks are the refusals: in a network namespace of its own each test makes a veth pair (and
a dummy device where the kernel has the driver), which have no VFs; reading their VFs gives an empty list, and setting a VF's MAC, VLAN,
trust (or anything else) fails with exit status 1 and a message that names the device, the VF
and the change, and carries the kernel's own reason: the same one iproute2 reports for the same
request (an extended-ack text where the kernel gives one, otherwise its errno). Nothing crashes
and the namespace is removed whatever happens."""
import json
import os
import re
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns  # noqa: E402
import report  # noqa: E402

PROBE = os.environ.get("RINGLANE_VF_NETLINK_PROBE", "")


class VfNetlinkTest(unittest.TestCase):
    def setUp(self):
        # A namespace per test, made in setUp (a failure here is reported as the test's) and
        # removed by a cleanup that runs whatever the test did.
        self.ns = netns.NetNamespace("rlvf")
        self.addCleanup(self.ns.close)
        self.ns.run("ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
        # Not every kernel has the dummy driver (this one may not): then veth stands in.
        self.devices = ["veth0", "lo"]
        if self.ns.run("ip", "link", "add", "dum0", "type", "dummy", check=False).returncode == 0:
            self.devices.append("dum0")

    def probe(self, *args):
        r = self.ns.run(PROBE, *args, check=False)
        # A signal (a crash) shows as a negative status: never acceptable.
        if r.returncode < 0:
            self.fail(f"probe killed by {signal.Signals(-r.returncode).name}: {r.stderr}")
        return r

    def kernel_reason(self, device, *vf_args):
        """What the kernel says to iproute2 for the same request: the text after
        'RTNETLINK answers: ' (strerror) or 'Error: ' (extended ack)."""
        r = self.ns.run("ip", "link", "set", "dev", device, "vf", *vf_args, check=False)
        self.assertNotEqual(r.returncode, 0, "iproute2 was not refused: " + r.stdout)
        m = re.search(r"(?:RTNETLINK answers|Error): (.*?)\.?$", r.stderr.strip(), re.M)
        self.assertIsNotNone(m, r.stderr)
        return m.group(1)

    def assert_refused_like_iproute2(self, device, probe_args, ip_args):
        r = self.probe("set", device, "0", *probe_args)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn(f"set VF 0 of {device}", r.stderr)
        self.assertIn(self.kernel_reason(device, "0", *ip_args), r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        return r.stderr

    def test_device_without_sriov_has_no_vfs(self):
        for device in self.devices:
            r = self.probe("show", device)
            self.assertEqual(r.returncode, 0, r.stderr)
            shown = json.loads(r.stdout)
            self.assertEqual(shown["name"], device)
            self.assertEqual(shown["vfs"], [])
            self.assertIsNone(shown["num_vfs"])

    def test_setting_a_vf_mac_is_refused_with_the_kernels_reason(self):
        message = self.assert_refused_like_iproute2("veth0", ["mac", "02:00:00:00:00:01"],
                                                    ["mac", "02:00:00:00:00:01"])
        self.assertIn("mac 02:00:00:00:00:01", message)

    def test_setting_a_vf_vlan_is_refused_with_the_kernels_reason(self):
        message = self.assert_refused_like_iproute2(
            "veth0", ["vlan", "10", "qos", "3", "proto", "802.1ad"],
            ["vlan", "10", "qos", "3", "proto", "802.1ad"])
        self.assertIn("vlan 10 qos 3 proto 802.1ad", message)

    def test_setting_vf_trust_is_refused_with_the_kernels_reason(self):
        self.assert_refused_like_iproute2("veth0", ["trust", "on"], ["trust", "on"])

    def test_every_other_setting_is_refused_too(self):
        for probe_args, ip_args in [
            (["spoofchk", "off"], ["spoofchk", "off"]),
            (["state", "disable"], ["state", "disable"]),
            (["min_tx_rate", "10", "max_tx_rate", "100"],
             ["min_tx_rate", "10", "max_tx_rate", "100"]),
        ]:
            with self.subTest(probe_args=probe_args):
                for device in self.devices:
                    self.assert_refused_like_iproute2(device, probe_args, ip_args)

    def test_no_such_device(self):
        r = self.probe("show", "nosuch0")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no network interface named 'nosuch0'", r.stderr)
        r = self.probe("set", "nosuch0", "0", "trust", "on")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no network interface named 'nosuch0'", r.stderr)

    def test_values_the_kernel_would_refuse_are_refused_before_sending(self):
        r = self.probe("set", "veth0", "0", "vlan", "4096")
        self.assertEqual(r.returncode, 1)
        self.assertIn("VLAN 4096 is above 4095", r.stderr)
        r = self.probe("set", "veth0", "0", "min_tx_rate", "200", "max_tx_rate", "100")
        self.assertEqual(r.returncode, 1)
        self.assertIn("minimum rate 200 Mbit/s is above the maximum 100 Mbit/s", r.stderr)

    def test_bad_command_lines(self):
        for args in (["set", "veth0"], ["set", "veth0", "x", "trust", "on"],
                     ["set", "veth0", "0", "trust"], ["set", "veth0", "0", "mac", "zz"],
                     ["set", "veth0", "0", "colour", "red"], []):
            with self.subTest(args=args):
                r = self.probe(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("usage:", r.stderr)


if __name__ == "__main__":
    report.main("integration_vf_netlink")
