"""The vfio/ library against the real kernel: in tests/lib/pci_guest.py's QEMU guest (this
machine's kernel has no VFIO) the e1000e is given to vfio-pci, and tests/integration/vfio_probe
opens it through container, group and device, reads its MAC from an mmap of BAR0, maps a DMA
buffer through the IOMMU and makes the NIC transmit frames from it, and raises an MSI-X interrupt
into an eventfd. The frames leave the guest as UDP datagrams to this process, which checks their
bytes: the IOMMU mapping is proven by what the device read through it. Also in the guest: a DMA
map past a lowered RLIMIT_MEMLOCK fails with the message that says what to raise, and devices not
bound to vfio-pci, or absent, are refused by name.

The guest boots once. Its half (--in-guest) records what it saw in a JSON file; the test cases run
here, outside, so frame checks and guest checks count alike in the report."""
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pci_guest  # noqa: E402
import report  # noqa: E402
import vfio_guest  # noqa: E402

PROBE = os.environ.get("RINGLANE_VFIO_PROBE", "")
SEND = 4
FRAME_SIZE = 128
MEMLOCK_LIMIT = 1 << 20  # bytes; the probe then maps 8 MiB
ABSENT_BDF = "0000:00:09.0"


def probe(*args, wrap=()):
    r = subprocess.run([*wrap, PROBE, *args], capture_output=True, text=True, timeout=120)
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        out = {"unparsed_stdout": r.stdout}
    return {"rc": r.returncode, "stderr": r.stderr, "out": out}


def in_guest(result_path):
    """Runs in the guest: every step's outcome into `result_path`, then exit 0 (the outer cases
    judge)."""
    nic = pci_guest.NIC_BDF
    results = {"driver_before": vfio_guest.driver_of(nic)}
    vfio_guest.bind_vfio(nic)
    try:
        results["driver_bound"] = vfio_guest.driver_of(nic)
        results["main"] = probe(nic, "--send", str(SEND), "--frame-size", str(FRAME_SIZE))
        # Without CAP_IPC_LOCK (root has it, and it exempts from the limit), under a 1 MiB limit.
        results["memlock"] = probe(
            nic, "--dma-mib", "8", "--send", "0", "--no-irq",
            wrap=("prlimit", f"--memlock={MEMLOCK_LIMIT}:{MEMLOCK_LIMIT}", "setpriv",
                  "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock", "--"))
        results["not_vfio"] = probe(pci_guest.NVME_BDF, "--send", "0", "--no-irq")
        results["nvme_driver"] = vfio_guest.driver_of(pci_guest.NVME_BDF)
        results["absent"] = probe(ABSENT_BDF, "--send", "0", "--no-irq")
    finally:
        vfio_guest.restore(nic)
        results["driver_after"] = vfio_guest.driver_of(nic)
        with open(result_path, "w") as f:
            json.dump(results, f, indent=1)


class VfioDevice(unittest.TestCase):
    guest = None
    frames = []
    status = None

    @classmethod
    def setUpClass(cls):
        collector = vfio_guest.FrameCollector()
        with tempfile.NamedTemporaryFile(prefix="rl-vfio-", suffix=".json", dir="/tmp",
                                         delete=False) as f:
            path = f.name
        try:
            cls.status = pci_guest.run([sys.executable, os.path.abspath(__file__), "--in-guest",
                                        path], frames_port=collector.port, timeout=500)
            cls.frames = collector.stop()
            with open(path) as f:
                text = f.read()
            cls.guest = json.loads(text) if text else None
        finally:
            os.unlink(path)
        print(json.dumps(cls.guest, indent=1) if cls.guest else "no guest results")

    def setUp(self):
        self.assertEqual(self.status, 0, "the guest half failed")
        self.assertIsNotNone(self.guest, "the guest wrote no results")

    def main_probe(self, *fields):
        """The main probe run's output; each of `fields` must be there (a step that failed leaves
        its own and later ones out, and says why in "error")."""
        p = self.guest["main"]
        for field in fields:
            self.assertIn(field, p["out"], f"vfio_probe: {p['out'].get('error')}\n{p['stderr']}")
        return p["out"]

    def test_binding_and_restore(self):
        self.assertEqual(self.guest["driver_before"], "e1000e")
        self.assertEqual(self.guest["driver_bound"], "vfio-pci")
        self.assertEqual(self.guest["driver_after"], "e1000e")

    def test_device_regions_and_interrupts(self):
        out = self.main_probe("regions", "irqs")
        self.assertEqual((out["vendor"], out["device_id"]), (0x8086, 0x10d3))
        regions = {r["index"]: r for r in out["regions"]}
        # The e1000e's BAR0: 128 KiB of registers, mappable whole.
        self.assertEqual(regions[0]["size"], 128 << 10)
        self.assertEqual(regions[0]["mmap_areas"], [[0, 128 << 10]])
        # Its MSI-X table lives in BAR3, which the kernel says may be mapped anyway.
        self.assertTrue(regions[3]["msix_mappable"], regions[3])
        self.assertGreater(regions[7]["size"], 0)  # config space
        irqs = {i["index"]: i for i in out["irqs"]}
        self.assertEqual(irqs["INTx"]["count"], 1)
        self.assertGreaterEqual(irqs["MSI-X"]["count"], 5)

    def test_mac_read_through_bar0_mapping(self):
        out = self.main_probe("mac", "mac_after_reset")
        self.assertEqual(out["mac"], pci_guest.NIC_MAC)
        self.assertEqual(out.get("mac_after_reset"), pci_guest.NIC_MAC)

    def test_transmit_ring_completes(self):
        tx = self.main_probe("tx")["tx"]
        self.assertEqual(tx["tdh"], SEND)
        self.assertEqual(tx["descriptors_done"], SEND)

    def test_frames_read_by_dma_arrive_intact(self):
        self.main_probe("tx")
        mac = bytes.fromhex(pci_guest.NIC_MAC.replace(":", ""))
        ours = [f for f in self.frames if len(f) >= 22 and f[12:14] == b"\x88\xb5"
                and f[14:18] == b"RLVP"]
        self.assertEqual(len(ours), SEND,
                         f"{len(self.frames)} datagrams arrived, {len(ours)} of them the probe's")
        for seq, frame in enumerate(ours):
            self.assertEqual(len(frame), FRAME_SIZE)
            self.assertEqual(frame[:6], b"\xff" * 6)
            self.assertEqual(frame[6:12], mac)
            self.assertEqual(struct.unpack(">I", frame[18:22])[0], seq)
            expected = bytes((seq + j) & 0xff for j in range(FRAME_SIZE - 22))
            self.assertEqual(frame[22:], expected, f"frame {seq}: payload differs")

    def test_msix_msi_and_intx_reach_an_eventfd(self):
        out = self.main_probe("msix_interrupts", "msi_interrupts", "intx_interrupts")
        self.assertGreaterEqual(out["msix_interrupts"], 1)
        self.assertGreaterEqual(out["msi_interrupts"], 1)
        # Two INTx interrupts: the second proves unmask_intx re-armed the masked line.
        self.assertGreaterEqual(out["intx_interrupts"], 2)
        p = self.guest["main"]
        self.assertEqual(p["rc"], 0, f"vfio_probe: {out.get('error')}\n{p['stderr']}")

    def test_dma_map_over_memlock_limit_says_how_to_raise_it(self):
        p = self.guest["memlock"]
        self.assertEqual(p["rc"], 1, p)
        message = p["out"].get("dma_map_error", "")
        self.assertIn("RLIMIT_MEMLOCK of 1 MiB", message)
        self.assertIn("8 MiB", message)
        self.assertIn("ulimit -l 8192", message)
        self.assertIn("LimitMEMLOCK=8192K", message)

    def test_device_not_bound_to_vfio_pci_is_refused_by_name(self):
        p = self.guest["not_vfio"]
        self.assertEqual(p["rc"], 1)
        self.assertEqual(self.guest["nvme_driver"], "nvme")
        self.assertIn(f"PCI device {pci_guest.NVME_BDF} is bound to nvme, not vfio-pci",
                      p["out"]["error"])

    def test_absent_device_is_refused_by_name(self):
        p = self.guest["absent"]
        self.assertEqual(p["rc"], 1)
        self.assertIn(f"no PCI device {ABSENT_BDF}", p["out"]["error"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--in-guest"]:
        in_guest(sys.argv[2])
        sys.exit(0)
    report.main("integration_vfio_device")
