"""The bench for live NIC switch tests: a test guest (tests/guest, nic_guest) under ringlane-vmm
whose virtio-net card can be served by the VMM with a TAP device ("virtio") or by ringlane over
vhost-user ("vhost"). The guest sends sequence-numbered frames with at most 128 unanswered; both
peers reflect what they get: a Python reflector on the TAP in a network namespace, and testpmd
(macswap) behind ringlane's second port. The guest counts what comes back (lost, duplicated,
corrupted, out of order) and its driver checks every used-ring entry the device writes
(test_vmm_nic.guest_device_errors). Optionally the VMM reaches ringlane through a fault-injecting
proxy (tests/lib/vhost_user_proxy.py)."""
import json
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns  # noqa: E402
import peers  # noqa: E402
import vmm_api  # noqa: E402
from test_vmm_nic import guest_device_errors, guest_report  # noqa: E402
from vhost_user_proxy import VhostUserProxy  # noqa: E402

VMM = os.environ.get("RINGLANE_VMM_BIN", "")
GUEST = os.environ.get("RINGLANE_NIC_GUEST", "")
PEER = os.path.join(os.path.dirname(__file__), "..", "lib", "frame_peer.py")
# In a TCG guest (no /dev/kvm here, tests/lib/nested_kvm.py) everything runs some thirty times
# slower: fewer frames, more time.
NESTED = bool(os.environ.get("RINGLANE_NESTED_GUEST"))
SLOW = 6 if NESTED else 1  # waits for peers to start and react
RUN_TIMEOUT = 900 if NESTED else 180
# The guest gives up on answers that have not come for this many TSC cycles (about a second
# here, several under TCG): frames lost when a backend is killed must not stall it for good.
GIVE_UP_CYCLES = 3_000_000_000


class SwitchBench(unittest.TestCase):
    PROXY = False

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rlvmm-switch-")
        self.ns = netns.NetNamespace("rlswitch")
        self.addCleanup(self.ns.close)
        self.ns.add_tap("tap0")
        self.ringlane_sock = os.path.join(self.dir, "vm0.sock")
        peer_sock = os.path.join(self.dir, "peer.sock")
        self.ringlane = peers.Ringlane([{"name": "vm0", "path": self.ringlane_sock},
                                        {"name": "peer", "path": peer_sock}], workdir=self.dir)
        self.addCleanup(self.ringlane.kill)
        self.vm_sock = self.ringlane_sock
        self.proxy = None
        if self.PROXY:
            self.vm_sock = os.path.join(self.dir, "proxy.sock")
            self.proxy = VhostUserProxy(self.vm_sock, self.ringlane_sock)
            self.addCleanup(self.proxy.close)
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
        self.api = os.path.join(self.dir, "api.sock")

    def start_vmm(self, frames, give_up=False):
        self.frames = frames
        cmdline = f"send={frames} size=64 recv={frames} window=128"
        if give_up:
            cmdline += f" give_up={GIVE_UP_CYCLES}"
        self.vmm = peers.Process(self.ns.argv(
            VMM, "--kernel", GUEST, "--api-sock", self.api,
            "--nic", f"mode=virtio,tap=tap0,socket={self.vm_sock}", "--cmdline", cmdline),
            "ringlane-vmm", log_dir=self.dir)
        self.addCleanup(self.vmm.kill)
        peers.wait_for(lambda: os.path.exists(self.api), 10 * SLOW, "the API socket")
        return self.vmm

    def nic(self):
        status, body = vmm_api.request(self.api, "GET", "/vm/nics", timeout=60)
        self.assertEqual(status, 200, body)
        return body["nics"][0]

    def guest_sent(self):
        return self.nic()["counters"]["tx_frames"]

    def request_mode(self, mode, timeout=60):
        """PUT the mode; (status, body)."""
        return vmm_api.request(self.api, "PUT", "/vm/nics/net0", {"mode": mode}, timeout=timeout)

    def switch(self, mode):
        status, body = self.request_mode(mode)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["mode"], mode)
        return body

    def finish(self):
        """Waits for the guest to end; returns its console and its counts."""
        rc = self.vmm.wait(RUN_TIMEOUT)
        console = self.vmm.output()
        self.assertEqual(rc, 0, console[-3000:])
        got = guest_report(console, "ringlane-guest: received")
        self.assertIsNotNone(got, console[-3000:])
        errors = guest_device_errors(console)
        self.assertIsNotNone(errors, console[-3000:])
        return console, got, errors

    def reflector_counts(self):
        self.reflector.send_signal(15)
        self.assertEqual(self.reflector.wait(10), 0)
        return json.loads(self.reflector.output().splitlines()[-1])

    def wait_for_tap_traffic(self, more=2000):
        """Until the TAP backend has taken `more` frames from the guest beyond now."""
        start = self.guest_sent()
        peers.wait_for(lambda: self.guest_sent() >= start + more or not self.vmm.alive(),
                       30 * SLOW, f"{more} more frames through the TAP")


def elapsed(since):
    return time.monotonic() - since
