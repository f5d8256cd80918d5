"""The live mode switch: a running test guest's virtio-net card moves from virtio mode (VMM
thread, TAP) to vhost mode (ringlane) and back, by API calls, while the guest sends a stream of
sequence-numbered frames with at most 128 unanswered. Both peers reflect what they get: the TAP
peer in a network namespace, and testpmd (macswap) behind ringlane. No frame may be lost or
duplicated across the switches, and the two peers' counts must add up to what the guest sent."""
import json
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
import vmm_api  # noqa: E402
from test_vmm_nic import guest_report  # noqa: E402

VMM = os.environ.get("RINGLANE_VMM_BIN", "")
GUEST = os.environ.get("RINGLANE_NIC_GUEST", "")
PEER = os.path.join(os.path.dirname(__file__), "..", "lib", "frame_peer.py")
# In a TCG guest (no /dev/kvm here, tests/lib/nested_kvm.py) the Python reflector on the TAP
# runs some thirty times slower: fewer frames, more time, the same three phases.
NESTED = bool(os.environ.get("RINGLANE_NESTED_GUEST"))
FRAMES = 40000 if NESTED else 200000
RUN_TIMEOUT = 600 if NESTED else 120
SLOW = 6 if NESTED else 1  # waits for peers to start and react


class LiveSwitch(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rlvmm-switch-")
        self.ns = netns.NetNamespace("rlswitch")
        self.addCleanup(self.ns.close)
        self.ns.add_tap("tap0")
        self.vm_sock = os.path.join(self.dir, "vm0.sock")
        peer_sock = os.path.join(self.dir, "peer.sock")
        self.ringlane = peers.Ringlane([{"name": "vm0", "path": self.vm_sock},
                                        {"name": "peer", "path": peer_sock}], workdir=self.dir)
        self.addCleanup(self.ringlane.kill)
        self.testpmd = peers.Testpmd([peers.virtio_user(0, peer_sock)], f"rlsw{os.getpid()}",
                                     main_lcore=1, lcores="0,1", fwd="macswap", tx_first=False,
                                     workdir=self.dir)
        self.addCleanup(self.testpmd.kill)
        self.testpmd.wait_output("Port statistics", timeout=30 * SLOW)
        self.reflector = peers.Process(self.ns.argv(sys.executable, PEER, "--iface", "tap0",
                                                    "--reflect", "--timeout", str(RUN_TIMEOUT)),
                                       "tap-reflector", log_dir=self.dir)
        self.addCleanup(self.reflector.kill)
        peers.wait_for(lambda: "ready" in self.reflector.output(), 10 * SLOW, "the TAP reflector")

    def nic(self, api):
        status, body = vmm_api.request(api, "GET", "/vm/nics")
        self.assertEqual(status, 200, body)
        return body["nics"][0]

    def switch(self, api, mode):
        status, body = vmm_api.request(api, "PUT", "/vm/nics/net0", {"mode": mode})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["mode"], mode)
        print(f"switched to {mode}: {json.dumps(body['counters'])}")

    def test_virtio_vhost_virtio_loses_nothing(self):
        api = os.path.join(self.dir, "api.sock")
        vmm = peers.Process(self.ns.argv(
            VMM, "--kernel", GUEST, "--api-sock", api,
            "--nic", f"mode=virtio,tap=tap0,socket={self.vm_sock}",
            "--cmdline", f"send={FRAMES} size=64 recv={FRAMES} window=128"),
            "ringlane-vmm", log_dir=self.dir)
        self.addCleanup(vmm.kill)
        peers.wait_for(lambda: os.path.exists(api), 10 * SLOW, "the API socket")
        # Switch only once frames flow through the TAP path, and again once they flow through
        # ringlane, so each phase carries traffic.
        peers.wait_for(lambda: self.nic(api)["counters"]["tx_frames"] > 2000, 30 * SLOW,
                       "frames through the TAP")
        self.switch(api, "vhost")
        peers.wait_for(lambda: "vm0: features" in self.ringlane.process.output(), 10 * SLOW,
                       "ringlane to take the rings")
        time.sleep(1.0)
        self.switch(api, "virtio")
        rc = vmm.wait(RUN_TIMEOUT)
        console = vmm.output()
        self.assertEqual(rc, 0, console)
        self.reflector.send_signal(15)
        self.assertEqual(self.reflector.wait(10), 0)
        tap = json.loads(self.reflector.output().splitlines()[-1])
        self.testpmd.quit()
        summary = self.ringlane.stop()
        vm = next(p for p in summary["ports"] if p["name"] == "vm0")["totals"]
        got = guest_report(console, "ringlane-guest: received")
        print(f"guest sent {FRAMES}: TAP peer reflected {tap['reflected']}, ringlane took "
              f"{vm['rx_packets']} and returned {vm['tx_packets']}; guest got back {got}")
        self.assertIsNotNone(got, console)
        # Each phase carried traffic.
        self.assertGreater(vm["rx_packets"], 0)
        self.assertGreater(tap["reflected"], 0)
        # Nothing lost, nothing doubled, on either side.
        self.assertEqual(tap["reflected"], tap["unique"])
        self.assertEqual(tap["bad"], 0)
        self.assertEqual(tap["reflected"] + vm["rx_packets"], FRAMES)
        self.assertEqual(vm["tx_packets"], vm["rx_packets"])
        self.assertEqual(vm["drops"], 0)
        self.assertEqual(got["frames"], FRAMES, console)
        self.assertEqual(got["bad"], 0, console)
        self.assertEqual(got["duplicate"], 0, console)


if __name__ == "__main__":
    report.main("integration_vmm_switch", needs_kvm=True)
