"""ringlane-ctl pci and sriov against the real kernel: inside a QEMU TCG guest with an emulated
Intel IOMMU, an e1000e NIC and an NVMe controller with SR-IOV (tests/lib/pci_guest.py), since
this machine's kernel has no VFIO. `pci bind` moves the e1000e to vfio-pci through
driver_override and `pci unbind` gives it back to e1000e (its interface returns); the chipset
functions that share an IOMMU group are refused naming each other; a NIC carrying a route is
refused unless forced. `sriov create` makes VFs on the NVMe controller (their physfn pointing at
it) bound to vfio-pci, the kernel's own refusal comes back with its reason, and `sriov destroy`
removes them. Every command is run with --json and its answer checked."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pci_guest  # noqa: E402
import report  # noqa: E402
from vfio_guest import driver_of  # noqa: E402  ("" when no driver has the device)

CTL = os.environ.get("RINGLANE_CTL_BIN", "")
NIC = os.environ.get("RINGLANE_PCI_NIC", pci_guest.NIC_BDF)
NVME = os.environ.get("RINGLANE_PCI_NVME", pci_guest.NVME_BDF)
STATE_DIR = None  # made in the guest, on its own tmpfs


def ctl(*args):
    r = subprocess.run([CTL, "--json", "--state-dir", STATE_DIR, *args], capture_output=True,
                       text=True, timeout=60)
    answer = json.loads(r.stdout) if r.stdout.strip() else None
    return r.returncode, answer, r.stderr


def interfaces_of(bdf):
    path = f"/sys/bus/pci/devices/{bdf}/net"
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


class PciTest(unittest.TestCase):
    def tearDown(self):
        # Whatever a test left, the NIC goes back to e1000e.
        if driver_of(NIC) != "e1000e":
            ctl("pci", "unbind", NIC)
        subprocess.run(["ip", "addr", "flush", "dev", "eth0"], capture_output=True)

    def test_list_reports_identity_driver_group_and_sriov(self):
        rc, answer, err = ctl("pci", "list")
        self.assertEqual(rc, 0, err)
        by_address = {d["address"]: d for d in answer["devices"]}
        nic = by_address[NIC]
        self.assertEqual((nic["vendor"], nic["device"]), ("8086", "10d3"))
        self.assertEqual(nic["class_name"], "network")
        self.assertEqual(nic["driver"], "e1000e")
        self.assertIsInstance(nic["iommu_group"], int)
        self.assertEqual(nic["interfaces"], interfaces_of(NIC))
        self.assertTrue(nic["interfaces"])
        nvme = by_address[NVME]
        self.assertEqual(nvme["sriov_role"], "pf")
        self.assertEqual(nvme["total_vfs"], pci_guest.NVME_MAX_VFS)
        self.assertEqual(nvme["driver"], "nvme")
        table = subprocess.run([CTL, "pci", "list", "--class", "network"], capture_output=True,
                               text=True, check=True).stdout.splitlines()
        self.assertTrue(table[0].startswith("DEVICE"))
        self.assertEqual([row.split()[0] for row in table[1:]], [NIC])

    def test_bind_moves_the_nic_to_vfio_and_unbind_restores_it(self):
        before = interfaces_of(NIC)
        rc, answer, err = ctl("pci", "bind", NIC)
        self.assertEqual(rc, 0, err)
        self.assertEqual(answer["driver"], "vfio-pci")
        self.assertEqual(answer["previous_driver"], "e1000e")
        self.assertTrue(answer["changed"])
        self.assertEqual(driver_of(NIC), "vfio-pci")
        self.assertTrue(os.path.exists(f"/dev/vfio/{answer['iommu_group']}"))
        self.assertEqual(interfaces_of(NIC), [])
        rc, again, err = ctl("pci", "bind", NIC)
        self.assertEqual(rc, 0, err)
        self.assertFalse(again["changed"])
        rc, shown, err = ctl("pci", "show", NIC)
        self.assertEqual(rc, 0, err)
        self.assertEqual(shown["original_driver"], "e1000e")
        self.assertEqual(shown["driver_override"], "vfio-pci")
        self.assertEqual(shown["vfio_blocked_by"], [])
        rc, answer, err = ctl("pci", "unbind", NIC)
        self.assertEqual(rc, 0, err)
        self.assertEqual(answer["driver"], "e1000e")
        self.assertIsNone(answer["driver_override"])
        self.assertEqual(driver_of(NIC), "e1000e")
        self.assertEqual(interfaces_of(NIC), before)
        rc, answer, err = ctl("pci", "unbind", NIC)
        self.assertEqual(rc, 1)
        self.assertIn("not bound by ringlane", answer["error"])

    def test_a_group_shared_with_host_drivers_is_refused_naming_them(self):
        # The chipset's LPC bridge (no driver here) shares its group with the SATA function,
        # which ahci holds.
        rc, shown, err = ctl("pci", "show", "0000:00:1f.0")
        self.assertEqual(rc, 0, err)
        members = [m["address"] for m in shown["iommu_group_devices"]]
        self.assertIn("0000:00:1f.2", members)
        self.assertEqual(shown["vfio_blocked_by"], ["0000:00:1f.2"])
        rc, answer, err = ctl("pci", "bind", "0000:00:1f.0")
        self.assertEqual(rc, 1)
        self.assertEqual(answer["errno"], "EBUSY")
        self.assertIn("is not viable for VFIO", answer["error"])
        self.assertIn("0000:00:1f.2 (ahci)", answer["error"])
        self.assertIn("is not viable for VFIO", err)
        self.assertEqual(driver_of("0000:00:1f.2"), "ahci")
        self.assertEqual(driver_of("0000:00:1f.0"), "")
        # --whole-group takes the SATA function along, and unbind gives each back.
        rc, answer, err = ctl("pci", "bind", "0000:00:1f.0", "--whole-group")
        self.assertEqual(rc, 0, err)
        self.assertEqual(driver_of("0000:00:1f.0"), "vfio-pci")
        self.assertEqual(driver_of("0000:00:1f.2"), "vfio-pci")
        self.assertTrue(os.path.exists(f"/dev/vfio/{answer['iommu_group']}"))
        for bdf in ("0000:00:1f.0", "0000:00:1f.2"):
            rc, answer, err = ctl("pci", "unbind", bdf)
            self.assertEqual(rc, 0, err)
        self.assertEqual(driver_of("0000:00:1f.0"), "")
        self.assertEqual(driver_of("0000:00:1f.2"), "ahci")

    def test_a_nic_carrying_a_route_is_refused_unless_forced(self):
        [iface] = interfaces_of(NIC)
        subprocess.run(["ip", "link", "set", iface, "up"], check=True)
        subprocess.run(["ip", "addr", "add", "10.77.0.1/24", "dev", iface], check=True)
        rc, answer, err = ctl("pci", "bind", NIC)
        self.assertEqual(rc, 1)
        self.assertIn(f"10.77.0.0/24 via {iface}", answer["error"])
        self.assertIn("--force", answer["error"])
        self.assertEqual(driver_of(NIC), "e1000e")
        rc, answer, err = ctl("pci", "bind", NIC, "--force")
        self.assertEqual(rc, 0, err)
        self.assertEqual(driver_of(NIC), "vfio-pci")

    def test_bad_addresses_are_refused_clearly(self):
        rc, answer, err = ctl("pci", "bind", "0000:00:09.0")
        self.assertEqual(rc, 1)
        self.assertIn("no PCI device 0000:00:09.0", answer["error"])
        rc, answer, err = ctl("pci", "show", "zz:00.0")
        self.assertEqual(rc, 1)
        self.assertIn("is not a PCI address", answer["error"])


class SriovTest(unittest.TestCase):
    def tearDown(self):
        ctl("sriov", "destroy", NVME)

    def test_create_lists_binds_and_destroy_removes_vfs(self):
        rc, answer, err = ctl("sriov", "list")
        self.assertEqual(rc, 0, err)
        [pf] = [p for p in answer["physical_functions"] if p["address"] == NVME]
        self.assertEqual(pf["vfs"], [])
        rc, pf, err = ctl("sriov", "create", NVME, "2", "--driver", "vfio-pci")
        self.assertEqual(rc, 0, err)
        self.assertEqual(pf["num_vfs"], 2)
        self.assertEqual([vf["index"] for vf in pf["vfs"]], [0, 1])
        for vf in pf["vfs"]:
            self.assertEqual(vf["physfn"], NVME)
            self.assertEqual(vf["sriov_role"], "vf")
            self.assertEqual(vf["driver"], "vfio-pci")
            self.assertEqual(driver_of(vf["address"]), "vfio-pci")
            link = os.readlink(f"/sys/bus/pci/devices/{vf['address']}/physfn")
            self.assertEqual(os.path.basename(link), NVME)
            self.assertTrue(os.path.exists(f"/dev/vfio/{vf['iommu_group']}"))
        rc, listed, err = ctl("pci", "list")
        self.assertEqual(rc, 0, err)
        vfs = [d for d in listed["devices"] if d.get("physfn") == NVME]
        self.assertEqual(len(vfs), 2)
        rc, again, err = ctl("sriov", "create", NVME, "2", "--driver", "vfio-pci")
        self.assertEqual(rc, 0, err)
        rc, answer, err = ctl("sriov", "create", NVME, "1")
        self.assertEqual(rc, 1)
        self.assertIn("has 2 VFs already", answer["error"])
        rc, pf, err = ctl("sriov", "destroy", NVME)
        self.assertEqual(rc, 0, err)
        self.assertEqual(pf["vfs"], [])
        self.assertEqual(pf["num_vfs"], 0)
        for vf in vfs:
            self.assertFalse(os.path.exists(f"/sys/bus/pci/devices/{vf['address']}"))

    def test_the_kernels_refusal_comes_back_with_its_reason(self):
        rc, answer, err = ctl("sriov", "create", NVME, "3")
        self.assertEqual(rc, 1)
        self.assertEqual(answer["errno"], "ERANGE")
        self.assertIn("the kernel refused 3 VFs on " + NVME, answer["error"])
        self.assertIn("sriov_totalvfs is 2", answer["error"])
        rc, answer, err = ctl("sriov", "create", NIC, "1")
        self.assertEqual(rc, 1)
        self.assertIn("no SR-IOV capability", answer["error"])


class PoolTest(unittest.TestCase):
    """The VF pool on the NVMe controller's VFs (created unbound, as a host would have them)."""

    def setUp(self):
        rc, pf, err = ctl("sriov", "create", NVME, "2")
        self.assertEqual(rc, 0, err)
        self.vfs = [vf["address"] for vf in pf["vfs"]]
        self.pool_file = os.path.join(STATE_DIR, "vf-pool.json")

    def tearDown(self):
        for guest in ("g1", "g2", "g3", "crashed"):
            ctl("sriov", "pool", "release", guest)
        ctl("sriov", "destroy", NVME)
        if os.path.exists(self.pool_file):
            os.unlink(self.pool_file)

    def test_allocate_is_idempotent_and_release_restores_the_driver(self):
        rc, vf, err = ctl("sriov", "pool", "allocate", "g1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(vf["state"], "allocated")
        self.assertEqual(vf["guest"], "g1")
        self.assertEqual(vf["pf"], NVME)
        self.assertIn(vf["address"], self.vfs)
        self.assertEqual(driver_of(vf["address"]), "vfio-pci")
        rc, again, err = ctl("sriov", "pool", "allocate", "g1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(again["address"], vf["address"])
        rc, other, err = ctl("sriov", "pool", "allocate", "g2")
        self.assertEqual(rc, 0, err)
        self.assertNotEqual(other["address"], vf["address"])
        rc, answer, err = ctl("sriov", "pool", "allocate", "g3")
        self.assertEqual(rc, 1)
        self.assertEqual(answer["errno"], "ENOSPC")
        self.assertIn("no free VF", answer["error"])
        # Destroying VFs a guest holds is refused, naming the guest.
        rc, answer, err = ctl("sriov", "destroy", NVME)
        self.assertEqual(rc, 1)
        self.assertEqual(answer["errno"], "EBUSY")
        self.assertIn("for guest 'g1'", answer["error"])
        self.assertTrue(os.path.exists(f"/sys/bus/pci/devices/{vf['address']}"))
        rc, listed, err = ctl("sriov", "pool", "list")
        self.assertEqual(rc, 0, err)
        states = {r["address"]: (r["state"], r.get("guest")) for r in listed["vfs"]}
        self.assertEqual(states[vf["address"]], ("allocated", "g1"))
        self.assertEqual(states[other["address"]], ("allocated", "g2"))
        rc, answer, err = ctl("sriov", "pool", "release", "g1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(driver_of(vf["address"]), "")
        rc, answer, err = ctl("sriov", "pool", "release", "g1")
        self.assertEqual(rc, 0, err)  # released already: nothing to do
        with open(self.pool_file) as f:
            self.assertEqual(json.load(f)["vfs"][self.vfs.index(vf["address"])]["state"], "free")

    def test_vfs_created_on_vfio_go_back_to_vfio_on_release(self):
        ctl("sriov", "destroy", NVME)
        rc, pf, err = ctl("sriov", "create", NVME, "2", "--driver", "vfio-pci")
        self.assertEqual(rc, 0, err)
        rc, vf, err = ctl("sriov", "pool", "allocate", "g1")
        self.assertEqual(rc, 0, err)
        rc, answer, err = ctl("sriov", "pool", "release", "g1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(driver_of(vf["address"]), "vfio-pci")
        # sriov create's record of the VF's driver before it (none) is still there.
        rc, answer, err = ctl("pci", "unbind", vf["address"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(driver_of(vf["address"]), "")

    def test_settings_a_pf_without_an_interface_cannot_have_are_refused_and_undone(self):
        rc, answer, err = ctl("sriov", "pool", "allocate", "g1", "--trust", "on")
        self.assertEqual(rc, 1)
        self.assertIn("has no network interface", answer["error"])
        for vf in self.vfs:
            self.assertEqual(driver_of(vf), "")
        rc, listed, err = ctl("sriov", "pool", "list")
        self.assertTrue(all(r["state"] == "free" for r in listed["vfs"]), listed)

    def test_repair_undoes_an_allocation_a_crash_interrupted(self):
        # A crash after the VF was bound but before "allocated" was saved leaves this behind.
        rc, vf, err = ctl("sriov", "pool", "allocate", "crashed")
        self.assertEqual(rc, 0, err)
        self.assertEqual(driver_of(vf["address"]), "vfio-pci")
        with open(self.pool_file) as f:
            state = json.load(f)
        record = next(r for r in state["vfs"] if r["address"] == vf["address"])
        record["state"] = "allocating"
        with open(self.pool_file, "w") as f:
            json.dump(state, f)
        rc, listed, err = ctl("sriov", "pool", "repair")
        self.assertEqual(rc, 0, err)
        self.assertTrue(all(r["state"] == "free" for r in listed["vfs"]), listed)
        self.assertEqual(driver_of(vf["address"]), "")
        # The VF is the pool's to give again.
        rc, again, err = ctl("sriov", "pool", "allocate", "g1")
        self.assertEqual(rc, 0, err)

if __name__ == "__main__":
    pci_guest.reexec_in_guest()
    STATE_DIR = tempfile.mkdtemp(prefix="rl-pci-state-")
    report.main("integration_pci_sriov")
