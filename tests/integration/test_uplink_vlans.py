"""VLANs on the L2 switch with real guests and a real trunk (issue 14, acceptance point 3).

Three Linux guests (QEMU TCG, tests/lib/linux_guest.py), all in one IPv4 subnet so that only
the VLANs can keep them apart, on vhost-user ports of one ringlane in l2 mode:
  a  vlan=10  10.10.0.2        b  vlan=10  10.10.0.3        c  vlan=20  10.10.0.4
and an AF_XDP uplink `trunk=10+20` on a veth pair whose other end is in a namespace the test
creates. Then:
  - a reaches b (same VLAN); a and c, and c and b, cannot reach each other (different VLANs, one
    subnet);
  - from the wire, tagged ARP requests (written with a raw socket in the namespace: this host's
    kernel has no 802.1Q module for a VLAN interface there) reach the guests of their VLAN only,
    untagged, and their answers come back over the trunk tagged: a answers in VLAN 10, c in VLAN
    20, and c never answers a VLAN 10 request for its own address;
  - a capture (tcpdump on the namespace's end of the veth) shows every guest frame on the wire
    tagged, a's and b's with VLAN 10, c's with VLAN 20, none untagged.
The namespace's veth end has its VLAN offloads off (ethtool), so tags are in the frames' bytes
both ways, as on a wire.

Processes are ended by PID (tests/lib/peers.py), the namespace and the veth pair removed
(tests/lib/netns_wire.py), also when a test fails. Environment: RINGLANE_BIN."""
import contextlib
import os
import shutil
import signal
import struct
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import linux_guest  # noqa: E402
import netns_wire  # noqa: E402
import pcap  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

GUESTS = {  # name: (VLAN, address, MAC)
    "a": (10, "10.10.0.2", "52:54:00:10:00:02"),
    "b": (10, "10.10.0.3", "52:54:00:10:00:03"),
    "c": (20, "10.10.0.4", "52:54:00:20:00:04"),
}
WIRE_ADDRESS = "10.10.0.1"
PREFIX = 24
# The stations on the wire that ask, one per VLAN (locally administered).
ASKER = {10: "02:77:00:00:00:10", 20: "02:77:00:00:00:20"}

# Sends, from the namespace, an 802.1Q-tagged broadcast ARP request per argument VID:MAC:IP
# (who has IP, tell WIRE_ADDRESS at MAC), three times each.
INJECT = r"""
import socket, struct, sys, time
def mac(m): return bytes(int(x, 16) for x in m.split(":"))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("wire0", 0))
for _ in range(3):
    for arg in sys.argv[2:]:
        vid, src, target = arg.split("/")
        arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac(src),
                          socket.inet_aton(sys.argv[1]), bytes(6), socket.inet_aton(target))
        frame = (b"\xff" * 6 + mac(src) + struct.pack("!HHH", 0x8100, int(vid), 0x0806) + arp)
        s.send(frame.ljust(64, b"\0"))
    time.sleep(0.5)
"""
BOOT_TIMEOUT = 120  # a TCG guest's boot on a busy machine


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def ping(guest, address, count=3):
    """busybox ping from a guest; its exit status (0: an answer came)."""
    return guest.execute(f"ping -c {count} -W 2 {address}", timeout=BOOT_TIMEOUT)


class UplinkVlans(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root: network namespaces, AF_XDP")
        if not os.access(peers.RINGLANE, os.X_OK):
            self.skipTest(f"{peers.RINGLANE} is not built")
        if reason := linux_guest.unavailable():
            self.skipTest(reason)
        if shutil.which("tcpdump") is None or shutil.which("ethtool") is None:
            self.skipTest("tcpdump and ethtool are needed (scripts/setup.sh installs them)")
        self.work = tempfile.mkdtemp(prefix="rl-vlans-")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.ns = netns_wire.WireNamespace("rlvlan")
        self.addCleanup(self.ns.close)

    def start(self):
        host_end = self.ns.add_veth(netns_wire.unique_ifname("rlvt"), "wire0")
        # Tags in the bytes, checksums finished: what a wire carries.
        self.ns.run("ethtool", "-K", "wire0", "txvlan", "off", "rxvlan", "off", "tx", "off")
        ports = [{"name": n, "path": os.path.join(self.work, f"{n}.sock")} for n in GUESTS]
        extra = []
        for p, (vlan, _, _) in zip(ports, GUESTS.values()):
            extra += ["--port", f"name={p['name']},path={p['path']},vlan={vlan}"]
        extra += ["--port", f"name=up,kind=afxdp,ifname={host_end},trunk=10+20"]
        try:
            self.ringlane = peers.Ringlane([], cores="1", mode="l2", extra=extra,
                                           workdir=self.work)
        except RuntimeError as e:
            if "not built yet" in str(e):
                self.skipTest(str(e).splitlines()[-1])
            raise
        self.addCleanup(self.ringlane.process.kill)
        for p in ports:
            peers.wait_for(lambda p=p: os.path.exists(p["path"]), 10, f"{p['path']}")
        self.capture_path = os.path.join(self.work, "wire0.pcap")
        self.capture = peers.Process(
            self.ns.argv("tcpdump", "-i", "wire0", "-U", "-n", "-w", self.capture_path),
            "tcpdump", log_dir=self.work)
        self.addCleanup(self.capture.kill)
        peers.wait_for(lambda: "listening on" in self.capture.output(), 10, "tcpdump to start")
        return ports

    def wire_frames(self):
        """(destination MAC, source MAC, VLAN id or None, EtherType) of every captured frame."""
        self.capture.stop(signal.SIGINT, timeout=10)
        out = []
        for f in pcap.read(self.capture_path):
            if len(f) < 14:
                continue
            ether_type = struct.unpack_from("!H", f, 12)[0]
            vid = None
            if ether_type == 0x8100 and len(f) >= 18:
                vid = struct.unpack_from("!H", f, 14)[0] & 0xfff
                ether_type = struct.unpack_from("!H", f, 16)[0]
            out.append((f[0:6], f[6:12], vid, ether_type))
        return out

    def test_access_vlans_isolate_and_the_trunk_carries_tags(self):
        ports = self.start()
        with contextlib.ExitStack() as stack:
            guests = {}
            for port, (n, (vlan, address, mac)) in zip(ports, GUESTS.items()):
                net = linux_guest.Net(socket=port["path"], mac=mac, ip=f"{address}/{PREFIX}")
                guests[n] = stack.enter_context(linux_guest.LinuxGuest(
                    commands=True, nets=[net], cpus=1, memory_mib=256, timeout=900,
                    echo=f"[guest {n}] "))
                # One boot at a time: they are quicker in turn than together under TCG.
                r = guests[n].execute("true", timeout=BOOT_TIMEOUT)
                self.assertEqual(r.status, 0, f"guest {n} did not boot:\n{r.output}")
            a, b, c = guests["a"], guests["b"], guests["c"]
            # Same VLAN: a and b reach each other.
            r = ping(a, GUESTS["b"][1])
            self.assertEqual(r.status, 0, f"a -> b (both VLAN 10):\n{r.output}")
            # Different VLANs, one subnet: nothing gets through, either way.
            r = ping(c, GUESTS["a"][1], count=2)
            self.assertNotEqual(r.status, 0, f"c (VLAN 20) reached a (VLAN 10):\n{r.output}")
            r = ping(a, GUESTS["c"][1], count=2)
            self.assertNotEqual(r.status, 0, f"a (VLAN 10) reached c (VLAN 20):\n{r.output}")
            r = ping(c, GUESTS["b"][1], count=2)
            self.assertNotEqual(r.status, 0, f"c (VLAN 20) reached b (VLAN 10):\n{r.output}")
            # From the wire: who has a's and c's addresses, asked in VLAN 10, and c's in VLAN 20.
            self.ns.run("python3", "-c", INJECT, WIRE_ADDRESS,
                        f"10/{ASKER[10]}/{GUESTS['a'][1]}", f"10/{ASKER[10]}/{GUESTS['c'][1]}",
                        f"20/{ASKER[20]}/{GUESTS['c'][1]}")
            time.sleep(2)  # the guests' answers cross back
            for g in guests.values():
                self.assertEqual(g.finish(timeout=60).status, 0)
        frames = self.wire_frames()
        summary = self.ringlane.stop()

        def from_guest(n):
            return [(dst, vid, et) for dst, src, vid, et in frames
                    if src == mac_bytes(GUESTS[n][2])]
        for n, (vlan, _, _) in GUESTS.items():
            seen = from_guest(n)
            # b need never broadcast (a's request taught it a's address), a and c did.
            if n != "b":
                self.assertTrue(seen, f"no frame of guest {n} on the wire: {frames[:20]}")
            self.assertLessEqual({vid for _, vid, _ in seen}, {vlan},
                             f"guest {n}'s frames on the trunk carry VLANs "
                             f"{ {vid for _, vid, _ in seen} }")
        # Answers to the wire's questions: a in VLAN 10, c in VLAN 20 only.
        def answers(n, asker_vlan):
            return [f for f in from_guest(n)
                    if f[0] == mac_bytes(ASKER[asker_vlan]) and f[2] == 0x0806]
        self.assertTrue(answers("a", 10), "a did not answer the VLAN 10 ARP request from the wire")
        self.assertTrue(answers("c", 20), "c did not answer the VLAN 20 ARP request from the wire")
        self.assertFalse(answers("c", 10), "c answered a question asked in VLAN 10")
        self.assertFalse(answers("b", 20), "b answered a question asked in VLAN 20")
        drops = sum(w["drop_vlan"] for w in summary["workers"])
        up = next(p for p in summary["ports"] if p["name"] == "up")
        print(f"frames on the wire: {len(frames)}; per guest "
              f"{ {n: len(from_guest(n)) for n in GUESTS} }; workers' drop_vlan {drops}; "
              f"uplink {up['totals']}", flush=True)


if __name__ == "__main__":
    report.main("integration_uplink_vlans")
