"""ringlane-vmm coupled with a running ringlane daemon (issue 15): `--nic mode=vhost,daemon=API`
has the daemon create the NIC's vhost-user port through its API (POST /ports, the daemon
listening, the VMM connecting as the frontend) and remove it (DELETE /ports/NAME) when the NIC
switches to virtio mode or the VMM ends; a switch back to vhost creates it again.

The bench: the test guest (tests/guest nic_guest) sends sequence-numbered frames, at most 128
unanswered, and counts what comes back; in vhost mode they go through the daemon (xconnect) to a
testpmd virtio_user port in macswap mode, in virtio mode through the VMM's TAP device to a
Python reflector in a network namespace (as switch_bench.py). Checked: the port appears in and
disappears from the daemon's GET /ports at each step, frames flow in each phase, none is lost,
doubled or corrupted across the switches, and the refusals (no daemon at the socket, a daemon
that says no at start or at a switch) are clear and leave things as they were."""
import json
import os
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
import vmm_api  # noqa: E402
from switch_bench import GIVE_UP_CYCLES, NESTED, PEER, RUN_TIMEOUT, SLOW  # noqa: E402
from test_vmm_nic import guest_device_errors, guest_report  # noqa: E402

VMM = os.environ.get("RINGLANE_VMM_BIN", "")
GUEST = os.environ.get("RINGLANE_NIC_GUEST", "")
# Enough that each of three phases carries traffic before the guest is done. Round trips through
# the daemon and testpmd run at some 10-20 thousand a second on the PVM host the suite runs on
# (docs/benchmarks.md, the live switch), so the last phase takes seconds; a much faster machine
# may need more (the test says so).
FRAMES = int(os.environ.get("RINGLANE_DAEMON_FRAMES", 30000 if NESTED else 100000))
# Frames each phase must carry before the next step.
PHASE = 2000


class DaemonCoupling(unittest.TestCase):
    def setUp(self):
        self.started = time.monotonic()
        self.dir = tempfile.mkdtemp(prefix="rlvmm-daemon-")
        self.ns = netns.NetNamespace("rldaemon")
        self.addCleanup(self.ns.close)
        self.ns.add_tap("tap0")
        self.daemon_api = os.path.join(self.dir, "daemon.sock")
        peer_sock = os.path.join(self.dir, "peer.sock")
        # One port at start, testpmd's; the VM's comes and goes through the API.
        self.ringlane = peers.Ringlane([{"name": "peer", "path": peer_sock}], workdir=self.dir,
                                       extra=["--api-sock", self.daemon_api])
        self.addCleanup(self.ringlane.kill)
        peers.wait_for(lambda: os.path.exists(self.daemon_api), 10 * SLOW, "the daemon's API")
        self.testpmd = peers.Testpmd([peers.virtio_user(0, peer_sock)], f"rldm{os.getpid()}",
                                     main_lcore=1, lcores="0,1", fwd="macswap", tx_first=False,
                                     workdir=self.dir)
        self.addCleanup(self.testpmd.kill)
        self.testpmd.wait_output("Port statistics", timeout=30 * SLOW)
        peers.wait_for(lambda: "peer: features" in self.ringlane.process.output(), 30 * SLOW,
                       "testpmd to set up its rings on ringlane")
        self.reflector = None
        self.vmm_api = os.path.join(self.dir, "vmm.sock")

    def tearDown(self):
        print(f"{self.id().split('.')[-1]}: {time.monotonic() - self.started:.1f} s")

    # The daemon's side.

    def daemon(self, method, path, body=None):
        return vmm_api.request(self.daemon_api, method, path, body, timeout=30)

    def daemon_ports(self):
        status, body = self.daemon("GET", "/ports")
        self.assertEqual(status, 200, body)
        return {p["name"]: p for p in body["ports"]}

    def wait_port_traffic(self, name, more):
        """Until the daemon's port `name` has taken `more` frames from the guest."""
        def taken():
            port = self.daemon_ports().get(name)
            return port["rx_packets"] if port else 0
        peers.wait_for(lambda: taken() >= more or not self.vmm.alive(), 30 * SLOW,
                       f"{more} frames through the daemon's port {name}")
        self.assertTrue(self.vmm.alive(), "the guest finished before the phase did: send more "
                                          "frames\n" + self.vmm.output()[-3000:])
        return taken()

    # The VMM's side.

    def start_reflector(self):
        self.reflector = peers.Process(self.ns.argv(sys.executable, PEER, "--iface", "tap0",
                                                    "--reflect", "--timeout", str(RUN_TIMEOUT)),
                                       "tap-reflector", log_dir=self.dir)
        self.addCleanup(self.reflector.kill)
        peers.wait_for(lambda: "ready" in self.reflector.output(), 10 * SLOW, "the TAP reflector")

    def start_vmm(self, nic, frames=FRAMES):
        self.vmm = peers.Process(self.ns.argv(
            VMM, "--kernel", GUEST, "--api-sock", self.vmm_api, "--nic", nic,
            "--cmdline", f"send={frames} size=64 recv={frames} window=128 give_up={GIVE_UP_CYCLES}"),
            "ringlane-vmm", log_dir=self.dir)
        self.addCleanup(self.vmm.kill)
        peers.wait_for(lambda: os.path.exists(self.vmm_api) or not self.vmm.alive(), 30 * SLOW,
                       "the VMM's API socket")
        self.assertTrue(self.vmm.alive(), self.vmm.output())
        return self.vmm

    def request_mode(self, mode):
        return vmm_api.request(self.vmm_api, "PUT", "/vm/nics/net0", {"mode": mode}, timeout=60)

    def switch(self, mode):
        began = time.monotonic()
        status, body = self.request_mode(mode)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["mode"], mode)
        return time.monotonic() - began

    def nic(self):
        status, body = vmm_api.request(self.vmm_api, "GET", "/vm/nics", timeout=60)
        self.assertEqual(status, 200, body)
        return body["nics"][0]

    def wait_tap_traffic(self, more):
        start = self.nic()["counters"]["tx_frames"]
        peers.wait_for(lambda: not self.vmm.alive() or
                       self.nic()["counters"]["tx_frames"] >= start + more, 30 * SLOW,
                       f"{more} more frames through the TAP")
        self.assertTrue(self.vmm.alive(), "the guest finished before the phase did")

    def finish(self, frames=FRAMES):
        """Waits for the guest to end; checks every frame came back once and intact, by one path
        or the other; returns the TAP reflector's and the daemon's peer port's counts."""
        rc = self.vmm.wait(RUN_TIMEOUT)
        console = self.vmm.output()
        self.assertEqual(rc, 0, console[-3000:])
        got = guest_report(console, "ringlane-guest: received")
        self.assertIsNotNone(got, console[-3000:])
        errors = guest_device_errors(console)
        self.assertIsNotNone(errors, console[-3000:])
        tap = {"reflected": 0, "unique": 0, "bad": 0}
        if self.reflector:
            self.reflector.send_signal(signal.SIGTERM)
            self.assertEqual(self.reflector.wait(10), 0)
            tap = json.loads(self.reflector.output().splitlines()[-1])
        peer = self.daemon_ports()["peer"]
        print(f"guest sent {frames}: TAP reflected {tap['reflected']}, testpmd (through the "
              f"daemon) {peer['tx_packets']} -> {peer['rx_packets']}; guest got back {got}; "
              f"device errors {errors}")
        self.assertEqual(errors["total"], 0)
        self.assertEqual(got["frames"], frames, console[-3000:])
        self.assertEqual(got["bad"], 0)
        self.assertEqual(got["duplicate"], 0)
        self.assertEqual(tap["reflected"], tap["unique"])
        self.assertEqual(tap["bad"], 0)
        # Every frame went one way: through the TAP or through the daemon to testpmd and back.
        self.assertEqual(tap["reflected"] + peer["tx_packets"], frames)
        self.assertEqual(peer["rx_packets"], peer["tx_packets"])
        return tap, peer

    def assert_no_vm_port(self):
        names = [n for n in self.daemon_ports() if n != "peer"]
        self.assertEqual(names, [], "the daemon still has the VM's port")

    # The cases.

    def test_vhost_at_start_switched_away_and_back(self):
        self.start_reflector()
        self.start_vmm(f"mode=vhost,daemon={self.daemon_api},peer=peer,tap=tap0")
        name = f"vm{self.vmm.pid}-net0"
        ports = self.daemon_ports()
        self.assertIn(name, ports)
        self.assertEqual(ports[name]["kind"], "vhost")
        self.assertEqual(ports[name]["peer"], "peer")
        self.assertTrue(ports[name]["connected"])
        # The socket the VMM chose, beside the daemon's API socket.
        socket_path = os.path.join(self.dir, f"ringlane-vmm-{self.vmm.pid}-net0.sock")
        self.assertTrue(os.path.exists(socket_path))
        self.assertEqual(self.nic()["mode"], "vhost")
        first = self.wait_port_traffic(name, PHASE)

        away = self.switch("virtio")
        self.assertNotIn(name, self.daemon_ports())
        self.assertFalse(os.path.exists(socket_path), "the daemon left the port's socket")
        self.wait_tap_traffic(PHASE)

        back = self.switch("vhost")
        ports = self.daemon_ports()
        self.assertIn(name, ports)
        self.assertEqual(ports[name]["peer"], "peer")
        self.wait_port_traffic(name, PHASE)  # a new port: its counters start again

        tap, peer = self.finish()
        self.assertGreaterEqual(tap["reflected"], PHASE)
        self.assertGreater(peer["tx_packets"], first)
        self.assert_no_vm_port()
        self.assertFalse(os.path.exists(socket_path))
        print(f"switch to virtio (port removed) {1000 * away:.0f} ms, back to vhost (port "
              f"created) {1000 * back:.0f} ms")

    def test_virtio_at_start_switched_to_vhost_then_sigterm(self):
        self.start_reflector()
        self.start_vmm(f"mode=virtio,tap=tap0,daemon={self.daemon_api},port=guest0,peer=peer")
        self.wait_tap_traffic(PHASE)
        self.assert_no_vm_port()  # nothing asked of the daemon until vhost mode begins
        self.switch("vhost")
        self.assertIn("guest0", self.daemon_ports())
        self.wait_port_traffic("guest0", PHASE)
        # SIGTERM: the VMM gives the port back, then ends by the signal.
        self.vmm.send_signal(signal.SIGTERM)
        rc = self.vmm.wait(30 * SLOW)
        self.assertEqual(rc, -signal.SIGTERM, self.vmm.output()[-3000:])
        self.assertIn("removed port 'guest0'", self.vmm.output())
        self.assert_no_vm_port()

    def test_sigkill_leaves_the_port_for_someone_to_delete(self):
        self.start_vmm(f"mode=vhost,daemon={self.daemon_api},port=guest0,peer=peer")
        self.wait_port_traffic("guest0", PHASE)
        self.vmm.kill()
        # Nothing ran in the VMM: the port stays, its frontend gone, until someone deletes it.
        port = self.daemon_ports().get("guest0")
        self.assertIsNotNone(port)
        status, body = self.daemon("DELETE", "/ports/guest0")
        self.assertEqual(status, 200, body)
        self.assert_no_vm_port()

    def test_no_daemon_at_the_socket(self):
        nobody = os.path.join(self.dir, "nobody.sock")
        r = peers.Process([VMM, "--kernel", GUEST, "--nic", f"mode=vhost,daemon={nobody}"],
                          "ringlane-vmm", log_dir=self.dir)
        self.addCleanup(r.kill)
        self.assertEqual(r.wait(30 * SLOW), 1, r.output())
        self.assertIn(f"ringlane-vmm: net0: cannot ask the ringlane daemon for port "
                      f"'vm{r.pid}-net0': cannot connect to API at {nobody}", r.output())
        # A file that is no socket, or a socket nobody listens on: the same refusal.
        with open(nobody, "w"):
            pass
        r = peers.Process([VMM, "--kernel", GUEST, "--nic", f"mode=vhost,daemon={nobody}"],
                          "ringlane-vmm", log_dir=self.dir)
        self.addCleanup(r.kill)
        self.assertEqual(r.wait(30 * SLOW), 1, r.output())
        self.assertIn("cannot connect to API at", r.output())

    def test_daemon_refuses_at_start(self):
        # A peer the daemon does not have, and a name it has already: its words, exit status 1.
        cases = [("peer=nope", "HTTP 404: no port named 'nope' to connect to"),
                 ("port=peer", "HTTP 409: port 'peer' already exists")]
        for extra, words in cases:
            r = peers.Process([VMM, "--kernel", GUEST, "--nic",
                               f"mode=vhost,daemon={self.daemon_api},{extra}"],
                              "ringlane-vmm", log_dir=self.dir)
            self.addCleanup(r.kill)
            self.assertEqual(r.wait(30 * SLOW), 1, r.output())
            self.assertIn(f"ringlane daemon (API {self.daemon_api}) refused to create port", r.output())
            self.assertIn(words, r.output())
            self.assert_no_vm_port()
        # A spec it cannot honour is a usage error, before anything is asked.
        r = peers.Process([VMM, "--kernel", GUEST, "--nic", "mode=vhost,port=x"], "ringlane-vmm",
                          log_dir=self.dir)
        self.addCleanup(r.kill)
        self.assertEqual(r.wait(30 * SLOW), 2, r.output())
        self.assertIn("they need daemon=", r.output())

    def test_daemon_refuses_a_switch(self):
        self.start_reflector()
        frames = 20000 if not NESTED else 5000
        self.start_vmm(f"mode=virtio,tap=tap0,daemon={self.daemon_api},peer=nope", frames)
        self.wait_tap_traffic(100)
        status, body = self.request_mode("vhost")
        self.assertEqual(status, 400, body)
        self.assertIn("refused to create port", body["fault_message"])
        self.assertIn("no port named 'nope' to connect to", body["fault_message"])
        self.assertEqual(self.nic()["mode"], "virtio")
        self.assert_no_vm_port()
        tap, _ = self.finish(frames)
        self.assertEqual(tap["reflected"], frames)


if __name__ == "__main__":
    report.main("integration_vmm_daemon", needs_kvm=True)
