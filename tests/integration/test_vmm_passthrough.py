"""ringlane-vmm's passthrough NIC mode against a real device: in tests/lib/pci_guest.py's QEMU
guest the e1000e is given to vfio-pci, and ringlane-vmm passes it to the test guest
(`--nic mode=passthrough,pci=0000:00:02.0`), whose own e1000 driver (82574L path) sends
sequence-numbered frames from guest RAM. The NIC reads them by DMA through the IOMMU at the
guest's physical addresses, and they leave QEMU as UDP datagrams to this process, which checks
every one (count, order, bytes, the device's MAC as source). Devices not bound to vfio-pci, or
absent, are refused with a message and a non-zero exit.

The guest boots once; its half (--in-guest) records what it saw in a JSON file and the cases run
here, outside, so frame checks and guest checks count alike in the report."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import guest_frames  # noqa: E402
import pci_guest  # noqa: E402
import report  # noqa: E402
import vfio_guest  # noqa: E402

VMM = os.environ.get("RINGLANE_VMM_BIN", "")
GUEST = os.environ.get("RINGLANE_NIC_GUEST", "")
SEND = 64
SIZE = 200
ABSENT_BDF = "0000:00:09.0"


def vmm(nic, cmdline="nic=e1000", timeout=300):
    r = subprocess.run([VMM, "--kernel", GUEST, "--memory", "64", "--nic", nic,
                        "--cmdline", cmdline], capture_output=True, text=True, timeout=timeout)
    return {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr}


def in_guest(result_path):
    # A line of our own first: nested_kvm finds the exit marker only at the start of a line.
    print("\nvmm passthrough test: the guest half starts", flush=True)
    nic = pci_guest.NIC_BDF
    results = {}
    try:
        # Before binding: the e1000e is still the kernel's.
        results["not_vfio"] = vmm(f"mode=passthrough,pci={nic}")
        results["absent"] = vmm(f"mode=passthrough,pci={ABSENT_BDF}")
        old = vfio_guest.bind_vfio(nic)
        try:
            results["driver_bound"] = vfio_guest.driver_of(nic)
            results["send"] = vmm(f"mode=passthrough,pci={nic}",
                                  f"nic=e1000 msix=1 send={SEND} size={SIZE}")
        finally:
            vfio_guest.restore(nic, old)
            results["driver_after"] = vfio_guest.driver_of(nic)
    finally:
        with open(result_path, "w") as f:
            json.dump(results, f, indent=1)


class VmmPassthrough(unittest.TestCase):
    guest = None
    frames = []
    status = None

    @classmethod
    def setUpClass(cls):
        collector = vfio_guest.FrameCollector()
        with tempfile.NamedTemporaryFile(prefix="rl-vmm-pt-", suffix=".json", dir="/tmp",
                                         delete=False) as f:
            path = f.name
        try:
            cls.status = pci_guest.run([sys.executable, os.path.abspath(__file__), "--in-guest",
                                        path], frames_port=collector.port, timeout=800)
            cls.frames = collector.stop()
            with open(path) as f:
                text = f.read()
            cls.guest = json.loads(text) if text else None
        finally:
            os.unlink(path)
        for key, run in (cls.guest or {}).items():
            if isinstance(run, dict):
                print(f"--- {key}: exit {run['rc']}\n{run['stdout']}{run['stderr']}")

    def setUp(self):
        self.assertEqual(self.status, 0, "the guest half failed")
        self.assertIsNotNone(self.guest, "the guest wrote no results")

    def test_guest_drives_the_passed_through_e1000e(self):
        run = self.guest["send"]
        self.assertEqual(self.guest["driver_bound"], "vfio-pci")
        self.assertEqual(run["rc"], 0, run["stderr"])
        self.assertIn(f"ringlane-guest: nic e1000e mac {pci_guest.NIC_MAC}", run["stdout"])
        self.assertIn(f"ringlane-guest: sent {SEND} frames of {SIZE} bytes", run["stdout"])
        self.assertIn("guest reset the machine", run["stderr"])

    def test_msix_interrupt_reaches_the_guest(self):
        # Device -> host VFIO eventfd -> KVM irqfd on the GSI whose MSI route the guest's table
        # write made -> the guest's local APIC.
        self.assertIn("ringlane-guest: msix interrupt delivered", self.guest["send"]["stdout"])

    def test_frames_arrive_in_order_and_intact(self):
        mac = bytes.fromhex(pci_guest.NIC_MAC.replace(":", ""))
        test_frames = [f for f in self.frames if guest_frames.is_test_ethertype(f)]
        seqs = [guest_frames.parse(f) for f in test_frames]
        self.assertNotIn(None, seqs, "a test frame arrived corrupted")
        self.assertEqual(seqs, list(range(SEND)),
                         f"{len(self.frames)} datagrams, {len(test_frames)} test frames")
        for f in test_frames:
            self.assertEqual(len(f), SIZE)
            self.assertEqual(f[6:12], mac)

    def test_e1000e_goes_back_to_its_driver(self):
        self.assertEqual(self.guest["driver_after"], "e1000e")

    def test_device_not_bound_to_vfio_pci_is_refused(self):
        run = self.guest["not_vfio"]
        self.assertNotIn(run["rc"], (0, -6, -11), run["stderr"])  # an error, not a crash
        self.assertIn(f"PCI device {pci_guest.NIC_BDF} is bound to e1000e, not vfio-pci",
                      run["stderr"])

    def test_absent_device_is_refused(self):
        run = self.guest["absent"]
        self.assertNotIn(run["rc"], (0, -6, -11), run["stderr"])
        self.assertIn(f"no PCI device {ABSENT_BDF}", run["stderr"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--in-guest"]:
        in_guest(sys.argv[2])
        sys.exit(0)
    report.main("integration_vmm_passthrough")
