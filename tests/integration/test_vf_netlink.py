"""VF settings over rtnetlink against the real kernel, through ringlane-ctl sriov vfs / set. This machine has no SR-IOV hardware, so
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

CTL = os.environ.get("RINGLANE_CTL_BIN", "")
# iproute2's VF keywords and ringlane-ctl's options for the same settings.
OPTION = {"mac": "--mac", "vlan": "--vlan", "qos": "--qos", "proto": "--vlan-proto",
          "spoofchk": "--spoof-check", "trust": "--trust", "state": "--link-state",
          "min_tx_rate": "--min-rate", "max_tx_rate": "--max-rate"}


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

    def ctl(self, *args):
        r = self.ns.run(CTL, *args, check=False)
        # A signal (a crash) shows as a negative status: never acceptable.
        if r.returncode < 0:
            self.fail(f"ringlane-ctl killed by {signal.Signals(-r.returncode).name}: {r.stderr}")
        return r

    def kernel_reason(self, device, *vf_args):
        """What the kernel says to iproute2 for the same request: the text after
        'RTNETLINK answers: ' (strerror) or 'Error: ' (extended ack)."""
        r = self.ns.run("ip", "link", "set", "dev", device, "vf", *vf_args, check=False)
        self.assertNotEqual(r.returncode, 0, "iproute2 was not refused: " + r.stdout)
        m = re.search(r"(?:RTNETLINK answers|Error): (.*?)\.?$", r.stderr.strip(), re.M)
        self.assertIsNotNone(m, r.stderr)
        return m.group(1)

    def assert_refused_like_iproute2(self, device, ip_args):
        r = self.ctl(*self.set_vf_args(device, ip_args))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn(f"set VF 0 of {device}", r.stderr)
        reason = self.kernel_reason(device, "0", *ip_args)
        self.assertIn(reason, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        # --json: the same refusal as an object on stdout.
        r = self.ns.run(CTL, "--json", *self.set_vf_args(device, ip_args), check=False)
        self.assertEqual(r.returncode, 1)
        answer = json.loads(r.stdout)
        self.assertIn(reason, answer["error"])
        self.assertTrue(answer["errno"].startswith("E"), answer)
        return r.stderr

    @staticmethod
    def set_vf_args(device, ip_args):
        """ringlane-ctl sriov set with the settings written as iproute2's keywords."""
        options = []
        for i in range(0, len(ip_args), 2):
            options += [OPTION[ip_args[i]], ip_args[i + 1]]
        return ["sriov", "set", device, "0", *options]

    def test_device_without_sriov_has_no_vfs(self):
        for device in self.devices:
            r = self.ctl("--json", "sriov", "vfs", device)
            self.assertEqual(r.returncode, 0, r.stderr)
            shown = json.loads(r.stdout)
            self.assertEqual(shown["name"], device)
            self.assertEqual(shown["vfs"], [])
            self.assertIsNone(shown["num_vfs"])

    def test_setting_a_vf_mac_is_refused_with_the_kernels_reason(self):
        message = self.assert_refused_like_iproute2("veth0", ["mac", "02:00:00:00:00:01"])
        self.assertIn("mac 02:00:00:00:00:01", message)

    def test_setting_a_vf_vlan_is_refused_with_the_kernels_reason(self):
        message = self.assert_refused_like_iproute2(
            "veth0", ["vlan", "10", "qos", "3", "proto", "802.1ad"])
        self.assertIn("vlan 10 qos 3 proto 802.1ad", message)

    def test_setting_vf_trust_is_refused_with_the_kernels_reason(self):
        self.assert_refused_like_iproute2("veth0", ["trust", "on"])

    def test_every_other_setting_is_refused_too(self):
        for ip_args in [["spoofchk", "off"], ["state", "disable"],
                        ["min_tx_rate", "10", "max_tx_rate", "100"]]:
            with self.subTest(ip_args=ip_args):
                for device in self.devices:
                    self.assert_refused_like_iproute2(device, ip_args)

    def test_no_such_device(self):
        r = self.ctl("sriov", "vfs", "nosuch0")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no network interface named 'nosuch0'", r.stderr)
        r = self.ctl("sriov", "set", "nosuch0", "0", "--trust", "on")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no network interface named 'nosuch0'", r.stderr)

    def test_values_the_kernel_would_refuse_are_refused_before_sending(self):
        r = self.ctl("sriov", "set", "veth0", "0", "--vlan", "4096")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--vlan: Value 4096 not in range 0 to 4095", r.stderr)
        r = self.ctl("sriov", "set", "veth0", "0", "--min-rate", "200", "--max-rate", "100")
        self.assertEqual(r.returncode, 1)
        self.assertIn("minimum rate 200 Mbit/s is above the maximum 100 Mbit/s", r.stderr)

    def test_bad_command_lines(self):
        for args in (["sriov", "set", "veth0"], ["sriov", "set", "veth0", "x", "--trust", "on"],
                     ["sriov", "set", "veth0", "0", "--trust"],
                     ["sriov", "set", "veth0", "0", "--trust", "maybe"],
                     ["sriov", "set", "veth0", "0", "--colour", "red"], ["sriov", "vfs"]):
            with self.subTest(args=args):
                r = self.ctl(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("--help", r.stderr)
        r = self.ctl("sriov", "set", "veth0", "0", "--mac", "zz")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("zz", r.stderr)
        r = self.ctl("sriov", "set", "veth0", "0")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("nothing to set", r.stderr)


if __name__ == "__main__":
    report.main("integration_vf_netlink")
