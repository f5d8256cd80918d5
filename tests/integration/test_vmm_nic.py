"""ringlane-vmm's NICs against real peers: the test guest (tests/guest/nic_guest.elf) boots on this
machine's KVM, finds its virtio-net-pci card on the PCI bus, and exchanges frames with a peer:
a TAP device inside a network namespace this test creates (virtio mode), or ringlane over
vhost-user with DPDK testpmd reflecting frames behind it (vhost mode). Every frame is checked on
both sides, and the guest's drivers must have caught no device error. The same guest, told to
fault, shows that its exception handler reports the fault and resets the machine."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

VMM = os.environ.get("RINGLANE_VMM_BIN", "")
GUEST = os.environ.get("RINGLANE_NIC_GUEST", "")
# Generous: without /dev/kvm here this runs in a TCG guest (tests/lib/nested_kvm.py).
TIMEOUT = 60 if os.path.exists("/dev/kvm") and not os.environ.get("RINGLANE_NESTED_GUEST") else 240
PEER = os.path.join(os.path.dirname(__file__), "..", "lib", "frame_peer.py")


def guest_report(console, prefix):
    """The guest's report line starting with `prefix`, as a dict of its numbers."""
    for line in console.splitlines():
        if line.startswith(prefix):
            words = line.replace("(", " ").replace(")", " ").replace(",", " ").split()
            numbers = {}
            for i, w in enumerate(words[:-1]):
                if w.isdigit():
                    numbers[words[i + 1]] = int(w)
            return numbers
    return None


DEVICE_ERRORS = re.compile(r"^ringlane-guest: device errors (\d+) \(double (\d+), bad id (\d+), "
                           r"overrun (\d+), bad length (\d+)\)", re.M)


def guest_device_errors(console):
    """The guest's device error counts (what its drivers caught the device doing wrong) as a dict
    with total, double, bad_id, overrun and bad_length; None when the line is missing."""
    m = DEVICE_ERRORS.search(console)
    if m is None:
        return None
    return dict(zip(("total", "double", "bad_id", "overrun", "bad_length"), map(int, m.groups())))


def assert_no_device_errors(test, console):
    errors = guest_device_errors(console)
    test.assertIsNotNone(errors, console)
    test.assertEqual(errors["total"], 0, console)


class TapModes:
    """The modes whose frames go to a TAP device: the guest's driver against a frame peer on the
    TAP inside a network namespace. Subclasses say which NIC mode and guest driver."""
    MODE = ""
    DRIVER = ""

    def setUp(self):
        self.ns = netns.NetNamespace("rlvmm")
        self.ns.add_tap("tap0")
        self.addCleanup(self.ns.close)

    def exchange(self, send, recv, size, extra=""):
        peer = peers.Process(self.ns.argv(sys.executable, PEER, "--iface", "tap0", "--expect",
                                          str(send), "--send", str(recv), "--size", str(size),
                                          "--echo", "--timeout", str(TIMEOUT)), "frame-peer")
        self.addCleanup(peer.kill)
        peers.wait_for(lambda: "ready" in peer.output(), 10, "the frame peer")
        vmm = peers.Process(self.ns.argv(VMM, "--kernel", GUEST, "--nic", f"mode={self.MODE},tap=tap0",
                                         "--cmdline", f"send={send} size={size} recv={recv} "
                                                      f"echo=1 nic={self.DRIVER} {extra}"), "ringlane-vmm")
        self.addCleanup(vmm.kill)
        rc = vmm.wait(TIMEOUT)
        self.assertEqual(rc, 0, vmm.output() + "\npeer: " + peer.output())
        self.assertEqual(peer.wait(30), 0, peer.output())
        result = json.loads(peer.output().splitlines()[-1])
        console = vmm.output()
        print(f"{self.MODE}/TAP {size} B: guest sent {send}, peer got {result['received']}; peer sent "
              f"{result['sent']}, echoes {result['echoes']}")
        return result, console

    def check(self, send, recv, size, extra=""):
        result, console = self.exchange(send, recv, size, extra)
        self.assertIn(f"ringlane-guest: nic {self.DRIVER_NAME}", console)
        self.assertEqual(result["received"], send, result)
        self.assertEqual(result["bad"], 0, result)
        self.assertEqual(result["out_of_order"], 0, result)
        self.assertEqual(result["guest_mac"], "52:54:00:12:34:56")
        self.assertEqual(result["sent"], recv)
        self.assertEqual(result["echoes"], recv, result)
        self.assertEqual(result["echo_bad"], 0, result)
        got = guest_report(console, "ringlane-guest: received")
        self.assertIsNotNone(got, console)
        self.assertEqual(got["frames"], recv, console)
        self.assertEqual(got["bad"], 0, console)
        self.assertEqual(got["out"], 0, console)  # "N out of order"
        assert_no_device_errors(self, console)
        self.assertIn("0 unhandled", console)

    def test_small_frames_both_ways(self):
        self.check(send=1000, recv=500, size=64)

    def test_full_size_frames_both_ways(self):
        self.check(send=1000, recv=500, size=1514)



class VirtioTap(TapModes, unittest.TestCase):
    MODE = "virtio"
    DRIVER = "virtio"
    DRIVER_NAME = "virtio-net"

    def test_without_event_idx(self):
        # The NO_NOTIFY / NO_INTERRUPT flags instead of event indexes.
        self.check(send=1000, recv=300, size=200, extra="event_idx=0")


class EmulatedTap(TapModes, unittest.TestCase):
    """emulated mode: the 82540EM model, one VM exit per doorbell and per register access."""
    MODE = "emulated"
    DRIVER = "e1000"
    DRIVER_NAME = "e1000"

    def test_exits_per_frame_are_counted(self):
        result, console = self.exchange(2000, 0, 64)
        self.assertEqual(result["received"], 2000, result)
        exits = int(console.split("after ")[1].split(" exits")[0])
        doorbells = int(console.split("net0 (emulated): ")[1].split(" doorbells")[0].split()[-1])
        # Every doorbell (TDT write) is an exit, and the driver rings at least once per ring's
        # worth of frames: an emulated NIC cannot get near zero exits as vhost mode does.
        self.assertGreaterEqual(doorbells, 2000 // 256, console)
        self.assertGreaterEqual(exits, doorbells, console)
        self.assertIn("2000 frames from the guest", console)
        assert_no_device_errors(self, console)


class VhostRinglane(unittest.TestCase):
    """vhost mode: the guest's rings are served by ringlane, which cross-connects the VM's port to
    a testpmd virtio_user port in macswap mode, so every frame the guest sends comes back to it:
    guest -> ringlane -> testpmd -> ringlane -> guest, with the VMM off the data path."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rlvmm-vhost-")
        self.vm_sock = os.path.join(self.dir, "vm0.sock")
        peer_sock = os.path.join(self.dir, "peer.sock")
        self.ringlane = peers.Ringlane([{"name": "vm0", "path": self.vm_sock},
                                        {"name": "peer", "path": peer_sock}], workdir=self.dir)
        self.addCleanup(self.ringlane.kill)
        self.testpmd = peers.Testpmd([peers.virtio_user(0, peer_sock)], f"rlvmm{os.getpid()}",
                                     main_lcore=1, lcores="0,1", fwd="macswap", tx_first=False,
                                     workdir=self.dir)
        self.addCleanup(self.testpmd.kill)
        # Frames sent before testpmd forwards would be dropped at ringlane (queue down).
        self.testpmd.wait_output("Port statistics", timeout=30)
        peers.wait_for(lambda: "peer: features" in self.ringlane.process.output(), 30,
                       "testpmd to set up its rings on ringlane")

    def loop(self, frames, size, extra=""):
        vmm = peers.Process([VMM, "--kernel", GUEST, "--nic", f"mode=vhost,socket={self.vm_sock}",
                             "--cmdline", f"send={frames} size={size} recv={frames} window=128 "
                                          f"{extra}"], "ringlane-vmm", log_dir=self.dir)
        self.addCleanup(vmm.kill)
        rc = vmm.wait(120)
        console = vmm.output()
        self.assertEqual(rc, 0, console)
        self.testpmd.quit()
        summary = self.ringlane.stop()
        vm = next(p for p in summary["ports"] if p["name"] == "vm0")["totals"]
        got = guest_report(console, "ringlane-guest: received")
        print(f"vhost {size} B: guest sent {frames}, ringlane took {vm['rx_packets']} from the VM "
              f"and gave {vm['tx_packets']} back, guest received {got and got['frames']}")
        return console, vm, got

    def check(self, frames, size, extra=""):
        console, vm, got = self.loop(frames, size, extra)
        self.assertIn("ringlane-guest: nic virtio-net", console)
        # The VMM handled no doorbell and no frame: only set-up exits (tens, not thousands).
        exits = int(console.split("after ")[1].split(" exits")[0])
        self.assertLess(exits, 1000, console)
        self.assertEqual(vm["rx_packets"], frames)
        self.assertEqual(vm["tx_packets"], frames)
        self.assertEqual(vm["drops"], 0)
        self.assertIsNotNone(got, console)
        self.assertEqual(got["frames"], frames, console)
        self.assertEqual(got["bad"], 0, console)
        self.assertEqual(got["duplicate"], 0, console)
        self.assertEqual(got["out"], 0, console)
        assert_no_device_errors(self, console)

    def test_small_frames_round_trip(self):
        self.check(frames=20000, size=64)

    def test_full_size_frames_round_trip(self):
        self.check(frames=5000, size=1514)


class GuestExceptions(unittest.TestCase):
    """The guest's IDT (tests/guest/entry.S, exception.c): fault=ud and fault=pf make guest_main
    fault at CPL3 before it looks for a NIC; the handler prints the vector, error code, RIP and
    CR2 and resets through the i8042, which ends ringlane-vmm with status 0 (without an IDT the
    fault was a triple fault: status 1, and no report)."""
    LINE = re.compile(r"^ringlane-guest: exception vector (\d+) error 0x([0-9a-f]{16}) "
                      r"rip 0x([0-9a-f]{16}) cr2 0x([0-9a-f]{16})$", re.M)

    def symbol(self, name):
        """The address and size of a symbol of the guest's ELF file."""
        out = subprocess.run(["nm", "-S", GUEST], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            words = line.split()
            if len(words) == 4 and words[3] == name:
                return int(words[0], 16), int(words[1], 16)
        self.fail(f"no symbol {name} in {GUEST}")

    def fault(self, kind):
        r = subprocess.run([VMM, "--kernel", GUEST, "--cmdline", f"fault={kind}"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("guest reset the machine", r.stderr)
        self.assertNotIn("triple fault", r.stderr)
        m = self.LINE.search(r.stdout)
        self.assertIsNotNone(m, r.stdout)
        # The report is the guest's last word: the handler resets right after it.
        self.assertTrue(r.stdout.endswith(m[0] + "\n"), r.stdout)
        vector, error, rip, cr2 = int(m[1]), int(m[2], 16), int(m[3], 16), int(m[4], 16)
        # The faulting instruction is in nic_main.c's raise_fault: the frame's layout is right.
        start, size = self.symbol("raise_fault")
        self.assertTrue(start <= rip < start + size, f"rip {rip:#x} not in raise_fault {start:#x}")
        print(f"fault={kind}: {m[0]}")
        return vector, error, cr2

    def test_invalid_opcode(self):
        vector, error, _ = self.fault("ud")
        self.assertEqual(vector, 6)
        self.assertEqual(error, 0)  # #UD pushes none: the stub's 0

    def test_page_fault_above_4gib(self):
        vector, error, cr2 = self.fault("pf")
        self.assertEqual(vector, 14)
        self.assertEqual(cr2, 0x123456780)  # nic_main.c's FAULT_ADDRESS, beyond the identity map
        self.assertEqual(error, 0x4)  # a read from user mode of a page that is not present


if __name__ == "__main__":
    report.main("integration_vmm_nic", needs_kvm=True)
