"""The Debian kernel boots to user space under ringlane-vmm, nested (ringlane-vmm runs in a QEMU
TCG guest with KVM, see run_linux_guest.py): with two vCPUs, a virtio-net and an e1000 NIC whose
Linux drivers ping the outer guest and fetch 1 MiB from it over TCP, ending with reboot (the
keyboard controller's reset line); and a second time with one vCPU ending with poweroff (every
vCPU halted). ringlane-vmm must exit with status 0 both times. Timings are printed."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import report  # noqa: E402
import run_linux_guest as nested  # noqa: E402

# A ringlane-vmm that runs on QEMU's EPYC model; empty: run_linux_guest builds one.
VMM = os.environ.get("RINGLANE_NESTED_VMM") or None
WORK = os.environ.get("RINGLANE_NESTED_WORK") or None


class NestedLinux(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        work = os.path.join(WORK, "nics") if WORK else None
        cls.nics = nested.boot(VMM, nics=["virtio", "e1000"], vcpus=2, end="reboot", work=work)
        cls.nics.report()
        work = os.path.join(WORK, "poweroff") if WORK else None
        # This boot also takes virtio-net without MSI (pci=nomsi): INTx and the ISR, through
        # the VMM's INTx relay.
        cls.poweroff = nested.boot(
            VMM, nics=["virtio"], vcpus=1, end="poweroff", work=work,
            inner_cmdline="console=ttyS0 reboot=k panic=-1 i8042.noaux pci=nomsi")
        cls.poweroff.report()

    def failures(self, outcome, prefix=""):
        return [f for f in outcome.failures if f.startswith(prefix)]

    def test_inner_linux_reaches_user_space_with_two_vcpus(self):
        _, line = self.nics.console.first(nested.MARK + "INNER-USERSPACE")
        self.assertIsNotNone(line, self.nics.failures)
        self.assertIn("cpus=2", line)

    def test_virtio_net_passes_traffic(self):
        self.assertEqual(self.failures(self.nics, "virtio:"), [])

    def test_e1000_passes_traffic(self):
        self.assertEqual(self.failures(self.nics, "e1000:"), [])

    def test_reboot_ends_the_vmm_with_status_0(self):
        self.assertEqual([f for f in self.nics.failures if "ringlane-vmm" in f], [])

    def test_poweroff_ends_the_vmm_with_status_0(self):
        self.assertEqual(self.poweroff.failures, [])

    def test_virtio_net_without_msi_takes_intx(self):
        self.assertEqual(self.failures(self.poweroff, "virtio:"), [])
        lines = [l for l in self.poweroff.console.all(nested.MARK + "INNER-IRQ") if "virtio0" in l]
        self.assertTrue(lines, self.poweroff.failures)
        self.assertIn("IO-APIC", lines[0])
        self.assertIn("fasteoi", lines[0])  # level-triggered: INTx, not MSI


if __name__ == "__main__":
    report.main("nested_linux")
