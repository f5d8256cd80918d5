"""The test guest's own NIC drivers (tests/guest/e1000.c, tests/guest/virtio_net.c) against QEMU's
devices: QEMU boots the same ELF file ringlane-vmm boots, with an e1000 or a modern
virtio-net-pci card, so a driver bug cannot hide behind a matching bug in ringlane-vmm's own
device models. QEMU's socket netdev in UDP mode carries one Ethernet frame per datagram; this test
is the far end of that wire: it checks every frame the guest sends (count, content, order, no
duplicates), then sends frames in windows for the guest to echo and checks every echo."""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import guest_frames  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

QEMU = os.environ.get("RINGLANE_QEMU", "qemu-system-x86_64")
GUEST = os.environ.get("RINGLANE_NIC_GUEST", "")
GUEST_MAC = "52:54:00:12:34:56"
PEER_MAC = b"\x02\x00\x00\x00\x00\x01"
# A unicast address that is neither ours nor the guest's: the e1000's receive filter must drop it.
STRANGER_MAC = b"\x02\x00\x00\x00\x00\x99"
WINDOW = 64  # frames in flight to the guest: below either driver's 255 free receive buffers
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux's value; Python may lack the name
DEADLINE = 30  # seconds for one exchange; a run takes a few under TCG


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def guest_report(console, prefix):
    """The guest's report line starting with `prefix`, as a dict of its numbers by the word after
    each ("received 5 frames (0 bad, ...)" gives frames=5, bad=0, ...), and "echoed N"."""
    for line in console.splitlines():
        if line.startswith(prefix):
            words = line.replace("(", " ").replace(")", " ").replace(",", " ").split()
            numbers = {words[i + 1]: int(w) for i, w in enumerate(words[:-1]) if w.isdigit()}
            if "echoed" in words[:-1]:
                numbers["echoed"] = int(words[words.index("echoed") + 1])
            return numbers
    return None


class Wire:
    """The peer end of QEMU's UDP socket netdev."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # The guest sends its frames unpaced: room for all of them even if this process lags
        # (the forced size needs root, which the suite has; the plain one is capped lower).
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
        except PermissionError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.qemu_port = free_udp_port()
        self.deadline = time.monotonic() + DEADLINE

    def netdev(self):
        return (f"socket,id=n0,udp=127.0.0.1:{self.port},"
                f"localaddr=127.0.0.1:{self.qemu_port}")

    def recv(self):
        """The next frame, or None once the deadline has passed."""
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                return self.sock.recv(65536)
            except socket.timeout:
                return None

    def send(self, frame):
        self.sock.sendto(frame, ("127.0.0.1", self.qemu_port))

    def close(self):
        self.sock.close()


class GuestDrivers(unittest.TestCase):
    def exchange(self, nic, device, send, recv, size, stranger=False, extra=""):
        """Boots the guest under QEMU, takes its `send` frames, gives it `recv` to echo; returns
        the peer's counts and the guest's console."""
        wire = Wire()
        self.addCleanup(wire.close)
        qemu = peers.Process([QEMU, "-accel", "tcg", "-machine", "q35", "-m", "256",
                              "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
                              "-kernel", GUEST,
                              "-append",
                              f"nic={nic} send={send} size={size} recv={recv} echo=1 {extra}",
                              "-netdev", wire.netdev(),
                              # No option ROM: iPXE would only slow the boot down.
                              "-device", f"{device},netdev=n0,mac={GUEST_MAC},romfile="],
                             f"qemu-{nic}")
        self.addCleanup(qemu.kill)

        got = {"received": 0, "bad": 0, "out_of_order": 0, "duplicates": 0, "sources": set(),
               "sent": 0, "echoes": 0, "echo_bad": 0}
        seen = set()
        while got["received"] + got["bad"] < send:
            f = wire.recv()
            if f is None:
                break
            seq = guest_frames.parse(f)
            if seq is None or len(f) != size or f[0:6] != guest_frames.BROADCAST:
                got["bad"] += 1
                continue
            got["sources"].add(f[6:12].hex(":"))
            if seq != got["received"]:
                got["out_of_order"] += 1
            if seq in seen:
                got["duplicates"] += 1
            seen.add(seq)
            got["received"] += 1

        # Even frames go to the guest's address, odd ones are broadcast: both receive filters.
        guest = bytes.fromhex(GUEST_MAC.replace(":", ""))
        for start in range(0, recv, WINDOW):
            end = min(recv, start + WINDOW)
            for seq in range(start, end):
                if stranger and seq == start:
                    wire.send(guest_frames.build(0xdead0000 + seq, size, src=PEER_MAC,
                                                 dst=STRANGER_MAC))
                dst = guest if seq % 2 == 0 else guest_frames.BROADCAST
                wire.send(guest_frames.build(seq, size, src=PEER_MAC, dst=dst))
                got["sent"] += 1
            # The guest echoes in order: addresses swapped, body untouched.
            for seq in range(start, end):
                f = wire.recv()
                if f is None:
                    break
                ok = f == guest_frames.build(seq, size, src=guest, dst=PEER_MAC)
                got["echoes" if ok else "echo_bad"] += 1

        rc = qemu.wait(max(1, wire.deadline - time.monotonic()))
        console = qemu.output()
        self.assertEqual(rc, 0, f"QEMU did not end cleanly (status {rc}):\n{console}")
        print(f"{nic} {size} B: guest sent {send}, peer got {got['received']}; peer sent "
              f"{got['sent']}, echoes {got['echoes']}")
        return got, console

    def check(self, nic, device, send, recv, size, stranger=False, extra=""):
        got, console = self.exchange(nic, device, send, recv, size, stranger, extra)
        self.assertIn(f"ringlane-guest: nic {nic}", console)
        self.assertEqual(got["received"], send, got)
        self.assertEqual(got["bad"], 0, got)
        self.assertEqual(got["out_of_order"], 0, got)
        self.assertEqual(got["duplicates"], 0, got)
        self.assertEqual(got["sources"], {GUEST_MAC}, got)
        self.assertEqual(got["sent"], recv, got)
        self.assertEqual(got["echoes"], recv, got)
        self.assertEqual(got["echo_bad"], 0, got)
        sent = guest_report(console, guest_frames.REPORT_SENT)
        self.assertEqual(sent and sent["frames"], send, console)
        done = guest_report(console, guest_frames.REPORT_RECEIVED)
        self.assertIsNotNone(done, console)
        self.assertEqual(done["frames"], recv, console)
        self.assertEqual(done["echoed"], recv, console)
        for word in ("bad", "out", "duplicate", "other"):
            self.assertEqual(done[word], 0, console)
        # The e1000 driver reports frames it dropped for errors and a link that stayed down.
        self.assertNotIn("dropped", console)
        self.assertNotIn("link is down", console)

    def test_e1000_small_frames(self):
        self.check("e1000", "e1000", send=1000, recv=500, size=64, stranger=True)

    def test_e1000_full_size_frames(self):
        # 1514 bytes: a 1500-byte payload, the largest frame without jumbo frames.
        self.check("e1000", "e1000", send=1000, recv=500, size=1514, stranger=True)

    def test_e1000_on_an_82574l(self):
        # QEMU's e1000e: the 82574L the passthrough tests hand the guest. msix=1: the guest's
        # MSI-X check against QEMU's own interrupt delivery, the second opinion on it.
        got, console = self.exchange("e1000", "e1000e", send=1000, recv=500, size=200,
                                     stranger=True, extra="msix=1")
        self.assertIn("ringlane-guest: nic e1000e", console)
        self.assertIn("ringlane-guest: msix interrupt delivered", console)
        self.assertEqual((got["received"], got["bad"], got["out_of_order"]), (1000, 0, 0), got)
        self.assertEqual((got["echoes"], got["echo_bad"]), (500, 0), got)
        self.assertNotIn("dropped", console)

    def test_virtio_small_frames(self):
        self.check("virtio", "virtio-net-pci,disable-legacy=on", send=1000, recv=500, size=64)

    def test_virtio_full_size_frames(self):
        self.check("virtio", "virtio-net-pci,disable-legacy=on", send=1000, recv=500, size=1514)

    def test_virtio_without_event_idx(self):
        # The NO_NOTIFY / NO_INTERRUPT flags instead of event indexes.
        self.check("virtio", "virtio-net-pci,disable-legacy=on", send=1000, recv=500, size=200,
                   extra="event_idx=0")


if __name__ == "__main__":
    report.main("integration_guest_drivers")
