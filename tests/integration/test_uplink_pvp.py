"""PVP through an uplink (issue 14, acceptance point 1): a Linux guest (QEMU TCG,
tests/lib/linux_guest.py) on a vhost-user port of ringlane in l2 mode reaches a network namespace
the test creates through an uplink port, pings it, is pinged from it, and moves 64 MiB by TCP
each way, the SHA-256 of what one end sent equal to what the other received (netxfer,
tests/guest_tools/netxfer.c, at both ends).

One test per uplink kind, the rest of the run shared:
- test_tap: `kind=tap,ifname=TAP`. ringlane creates the TAP device; the test moves it into the
  namespace and gives it the namespace's address, so the namespace's stack is the far end.
  Offloads pass between that stack and the guest, so the frames from the TAP average well above
  one MTU (64 KiB GSO frames for the bulk of the data).
- test_afxdp: a veth pair, one end in the namespace with its address, the other
  `kind=afxdp,ifname=VETH`. The guest speaks first (ping), so the switch has learned its MAC and
  ringlane's XDP program steers frames for it to the socket.
- test_dpdk: the same veth pair, the host end as `kind=dpdk,devargs="net_af_packet0,iface=VETH"`
  (EAL with --dpdk-no-huge and a file prefix of this run's own).
A kind ringlane answers with "not built yet" is skipped, with that reason.

TapPortRefusals: a TAP port ringlane cannot make (a name the kernel refuses, an interface that is
not a TAP, a TAP another process holds, no CAP_NET_ADMIN) ends it at start with status 2 and the
reason, naming the port.

Processes are ended by PID (tests/lib/peers.py), the namespace and the veth pair removed
(tests/lib/netns_wire.py), also when a test fails.

Environment: RINGLANE_BIN, RINGLANE_NETXFER (meson sets both)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import guest_case  # noqa: E402
import linux_guest  # noqa: E402
import netns_wire  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

NETXFER = os.environ.get("RINGLANE_NETXFER",
                         os.path.join(peers.ROOT, "build", "tests", "guest_tools", "netxfer"))
MIB = 1 << 20
TRANSFER = 64 * MIB
WIRE_ADDRESS = "10.77.0.1"        # the namespace's end
GUEST_ADDRESS = "10.77.0.2"
PREFIX = 24
GUEST_MAC = "52:54:00:77:00:02"
BOOT_TIMEOUT = 120                # the guest's boot under TCG on a busy machine
TRANSFER_TIMEOUT = 60             # 64 MiB through a TCG guest's TCP stack (4-8 s here), either way



class UplinkPvp(unittest.TestCase):
    def setUp(self):
        if reason := guest_case.missing(((NETXFER, f"{NETXFER} is not built"),),
                                        root_for="needs root: network namespaces and uplinks"):
            self.skipTest(reason)
        self.work = tempfile.mkdtemp(prefix="rl-uplink-pvp-")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.socket = os.path.join(self.work, "vm.sock")
        # Cleanups run last-in first-out: the namespace goes after every process in it.
        self.ns = netns_wire.WireNamespace("rlpvp")
        self.addCleanup(self.ns.close)
        self.ringlane = None

    # --- set-up per kind -------------------------------------------------------------------

    def start_ringlane(self, uplink_spec, extra=()):
        """ringlane in l2 mode on one core: the guest's vhost-user port `vm` and the uplink
        `up`. A kind ringlane does not build yet skips the test."""
        try:
            self.ringlane = peers.Ringlane(
                [{"name": "vm", "path": self.socket}], cores="1", mode="l2",
                extra=["--port", uplink_spec, *extra], workdir=self.work)
        except RuntimeError as e:
            if "not built yet" in str(e):
                self.skipTest(str(e).splitlines()[-1])
            raise
        self.addCleanup(self.ringlane.kill)

    def veth_wire(self):
        """A veth pair: the end returned stays on the host for ringlane, its peer goes into the
        namespace with the wire's address."""
        host_end = self.ns.add_veth(netns_wire.unique_ifname("rlv"), "wire0",
                                    address=f"{WIRE_ADDRESS}/{PREFIX}")
        self.ns.finish_checksums("wire0")
        return host_end

    # --- the run ---------------------------------------------------------------------------

    def log_tail(self, lines=30):
        if self.ringlane is None:
            return ""
        text = self.ringlane.process.output()
        return "\n--- ringlane's log ---\n" + "\n".join(text.splitlines()[-lines:])

    def netxfer_in_namespace(self, *args):
        return peers.Process(self.ns.argv(NETXFER, *args), "netxfer", log_dir=self.work)

    def guest_to_wire(self, guest):
        """64 MiB from the guest to a receiver in the namespace; returns the seconds taken."""
        receiver = self.netxfer_in_namespace("recv", "5001", "--timeout", TRANSFER_TIMEOUT)
        self.addCleanup(receiver.kill)
        peers.wait_for(lambda: "listening" in receiver.output() or not receiver.alive(), 10,
                       "netxfer to listen in the namespace")
        r = guest.execute(f"netxfer send {WIRE_ADDRESS} 5001 {TRANSFER} --seed 11 "
                          f"--timeout {TRANSFER_TIMEOUT}", timeout=TRANSFER_TIMEOUT + 30)
        self.assertEqual(r.status, 0, f"the guest's sender failed:\n{r.output}{self.log_tail()}")
        self.assertEqual(receiver.wait(30), 0, f"the receiver failed:\n{receiver.output()}")
        sent = guest_case.transfer_line(r.output, "sent")
        received = guest_case.transfer_line(receiver.output(), "received")
        self.assertIsNotNone(sent, r.output)
        self.assertIsNotNone(received, receiver.output())
        self.assertEqual(sent[0], TRANSFER)
        self.assertEqual(received[:2], sent[:2], "guest -> namespace: bytes and SHA-256")
        return sent[2]

    def wire_to_guest(self, guest):
        """64 MiB from a sender in the namespace to a receiver in the guest; returns the seconds
        taken."""
        r = guest.execute(f"netxfer recv 5002 --timeout {TRANSFER_TIMEOUT} > /tmp/rx.log 2>&1 &")
        self.assertEqual(r.status, 0, r.output)
        sender = self.netxfer_in_namespace("send", GUEST_ADDRESS, "5002", str(TRANSFER),
                                           "--seed", "12", "--timeout", TRANSFER_TIMEOUT)
        self.addCleanup(sender.kill)
        rc = sender.wait(TRANSFER_TIMEOUT + 30)
        self.assertEqual(rc, 0, f"the namespace's sender failed:\n{sender.output()}"
                                f"{self.log_tail()}")
        # The receiver prints its line once it saw the end of the stream, just before closing.
        output = ""
        for _ in range(100):
            output = guest.execute("cat /tmp/rx.log").output
            if "NETXFER received" in output or "netxfer:" in output:
                break
            guest.execute("sleep 0.2")
        sent = guest_case.transfer_line(sender.output(), "sent")
        received = guest_case.transfer_line(output, "received")
        self.assertIsNotNone(sent, sender.output())
        self.assertIsNotNone(received, output)
        self.assertEqual(sent[0], TRANSFER)
        self.assertEqual(received[:2], sent[:2], "namespace -> guest: bytes and SHA-256")
        return sent[2]

    def run_pvp(self, kind):
        """The guest's side of every kind: ping both ways, 64 MiB each way, then ringlane's
        summary. Returns the uplink's totals."""
        net = linux_guest.Net(socket=self.socket, mac=GUEST_MAC,
                              ip=f"{GUEST_ADDRESS}/{PREFIX}")
        with linux_guest.LinuxGuest(commands=True, nets=[net], cpus=2,
                                    extra_binaries=[NETXFER], timeout=600,
                                    echo=f"[{kind} guest] ") as guest:
            # The guest speaks first: its MAC is learned before anything is sent to it.
            r = guest.execute(f"ping -c 3 -W 5 {WIRE_ADDRESS}", timeout=BOOT_TIMEOUT)
            self.assertEqual(r.status, 0, f"guest -> namespace ping:\n{r.output}{self.log_tail()}")
            self.assertIn("3 packets received", r.output)
            # busybox's ping: iputils may not be installed on the host.
            back = self.ns.run(linux_guest.BUSYBOX, "ping", "-c", "3", "-W", "5", GUEST_ADDRESS,
                               check=False)
            self.assertEqual(back.returncode, 0,
                             f"namespace -> guest ping:\n{back.stdout}{back.stderr}")
            up_seconds = self.guest_to_wire(guest)
            down_seconds = self.wire_to_guest(guest)
            print(f"{kind}: 64 MiB guest -> namespace in {up_seconds:.1f} s, "
                  f"namespace -> guest in {down_seconds:.1f} s", flush=True)
            result = guest.finish(timeout=60)
        self.assertEqual(result.status, 0, result.reason)
        summary = self.ringlane.stop()
        uplink = next(p for p in summary["ports"] if p["name"] == "up")
        vm = next(p for p in summary["ports"] if p["name"] == "vm")
        print(f"{kind}: uplink {uplink['totals']} {uplink.get('counters', {})}\n"
              f"{kind}: vm {vm['totals']}", flush=True)
        # Every byte of both transfers crossed the uplink (headers and ACKs on top).
        self.assertGreater(uplink["totals"]["rx_bytes"], TRANSFER)
        self.assertGreater(uplink["totals"]["tx_bytes"], TRANSFER)
        self.assertEqual(sum(q["ring_errors"] for q in uplink["queues"]), 0, uplink)
        return uplink["totals"]

    # --- the kinds -------------------------------------------------------------------------

    def test_tap(self):
        tap = netns_wire.unique_ifname("rltap")
        self.start_ringlane(f"name=up,kind=tap,ifname={tap}")
        self.ns.take_link(tap, address=f"{WIRE_ADDRESS}/{PREFIX}")
        totals = self.run_pvp("tap")
        # The namespace's TCP sends 64 KiB GSO frames and the guest gets them whole: without
        # offloads passing through, no frame from the TAP would exceed the MTU.
        self.assertGreater(totals["rx_bytes"] / totals["rx_packets"], 3 * 1514, totals)
        self.assertGreater(totals["tx_bytes"] / totals["tx_packets"], 3 * 1514, totals)

    def test_afxdp(self):
        veth = self.veth_wire()
        self.start_ringlane(f"name=up,kind=afxdp,ifname={veth}")
        self.run_pvp("afxdp")

    def test_dpdk(self):
        veth = self.veth_wire()
        prefix = f"rlpvp{os.getpid()}"
        self.start_ringlane(f'name=up,kind=dpdk,devargs="net_af_packet0,iface={veth}"',
                            extra=["--dpdk-no-huge", "--dpdk-file-prefix", prefix])
        self.run_pvp("dpdk")


class TapPortRefusals(unittest.TestCase):
    """A TAP port ringlane cannot make ends it at start, status 2, with the port named and the
    reason in words; no guest needed."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root: TAP devices")
        if not os.access(peers.RINGLANE, os.X_OK):
            self.skipTest(f"{peers.RINGLANE} is not built")

    def refused(self, ifname, expected, prefix=()):
        r = subprocess.run([*prefix, peers.RINGLANE, "--mode", "l2", "--port",
                            f"name=up,kind=tap,ifname={ifname}"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("port 'up': ", r.stderr)
        self.assertIn(expected, r.stderr)

    def test_a_name_the_kernel_refuses(self):
        self.refused("a/b", "holds a character interface names cannot have")
        self.refused("sixteen-chars-xx", "must be 1-15 characters")

    def test_an_interface_that_is_not_a_tap(self):
        self.refused("lo", "exists and is not a TAP device")

    def test_a_tap_another_process_holds(self):
        tap = netns_wire.unique_ifname("rltap")
        work = tempfile.mkdtemp(prefix="rl-tap-refusals-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        holder = peers.Ringlane([], mode="l2", extra=["--port", f"name=up,kind=tap,ifname={tap}"],
                                workdir=work)
        self.addCleanup(holder.kill)
        self.refused(tap, "is in use by another process")
        holder.stop()
        self.assertFalse(os.path.exists(f"/sys/class/net/{tap}"), "the TAP outlived ringlane")

    def test_without_permission(self):
        if shutil.which("setpriv") is None:
            self.skipTest("no setpriv (util-linux)")
        tap = netns_wire.unique_ifname("rltap")
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        if subprocess.run([*nobody, "test", "-x", peers.RINGLANE]).returncode != 0:
            self.skipTest(f"{peers.RINGLANE} cannot be run by nobody")
        self.refused(tap, "needs CAP_NET_ADMIN", prefix=nobody)
        self.assertFalse(os.path.exists(f"/sys/class/net/{tap}"))


if __name__ == "__main__":
    report.main("integration_uplink_pvp")
