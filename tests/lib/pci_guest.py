"""A QEMU TCG guest with PCI devices worth binding, for the VFIO and SR-IOV tests (this machine's
own kernel has no VFIO). The guest is nested_kvm's (this root over 9p, kvm_amd loaded, the same
cwd and environment) plus: an emulated Intel IOMMU with interrupt remapping, so that vfio-pci
accepts devices; an e1000e NIC whose frames leave through a UDP socket on this machine's loopback
(QEMU's socket netdev: each UDP datagram is one Ethernet frame); and an NVMe controller with
SR-IOV (two VFs). The kernel's e1000e, nvme, vfio-pci and ahci drivers are loaded before the
command.

    python3 tests/lib/pci_guest.py [--frames-port N] -- COMMAND ARGS...

In the guest the e1000e is 0000:00:02.0 and the NVMe physical function 0000:00:03.0; the
environment says so (RINGLANE_PCI_NIC, RINGLANE_PCI_NVME)."""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nested_kvm  # noqa: E402

NIC_BDF = "0000:00:02.0"
NIC_MAC = "52:54:00:12:34:56"
NVME_BDF = "0000:00:03.0"
NVME_MAX_VFS = 2
# ahci claims the q35 chipset's SATA function, which shares an IOMMU group with the LPC bridge
# and SMBus functions: a group that is not viable for VFIO.
MODULES = ["e1000e", "nvme", "vfio-pci", "ahci"]
# QEMU 7.2's e1000e aborts (e1000e_intrmgr_on_msix_throttling_timer: msix_enabled) when an
# MSI-X throttling timer is still armed as MSI-X goes off, as when the guest's driver lets the
# device go to vfio-pci. Linux's e1000e arms one on every MSI-X interrupt (it writes EITR 1 even
# with throttling off), so here it uses MSI (IntMode=1): no MSI-X timer is ever armed by it.
# modprobe takes the parameters from the kernel command line.
E1000E_PARAMS = "e1000e.IntMode=1 e1000e.InterruptThrottleRate=0"


def devices(frames_port, peer_port, nvme_image):
    """QEMU arguments: the IOMMU first (QEMU wants it before the devices it translates for)."""
    return [
        "-device", "intel-iommu,intremap=on",
        "-netdev", f"socket,id=nic0,udp=127.0.0.1:{frames_port},localaddr=127.0.0.1:{peer_port}",
        "-device", f"e1000e,netdev=nic0,mac={NIC_MAC},addr=02.0,romfile=",
        "-drive", f"file={nvme_image},if=none,id=nvm0,format=raw",
        "-device", "nvme-subsys,id=nvmesubsys0",
        # QEMU wants at least two queue pairs and one interrupt left to the PF besides the flexible
        # resources the VFs share.
        "-device", f"nvme,serial=ringlane0,subsys=nvmesubsys0,addr=03.0,"
                   f"sriov_max_vfs={NVME_MAX_VFS},sriov_vq_flexible=4,sriov_vi_flexible=2,"
                   "max_ioqpairs=6,msix_qsize=4",
        "-device", "nvme-ns,drive=nvm0,nsid=1",
    ]


def run(command, frames_port=0, peer_port=0, memory_mib=2048, timeout=1200, env=None):
    """Runs `command` in the guest; returns its exit status. Frames the e1000e sends arrive as UDP
    datagrams on 127.0.0.1:`frames_port` here (the test binds it); with port 0 the NIC's
    frames go to a port nobody listens on."""
    env = dict(os.environ if env is None else env)
    env.update(RINGLANE_PCI_NIC=NIC_BDF, RINGLANE_PCI_NIC_MAC=NIC_MAC, RINGLANE_PCI_NVME=NVME_BDF)
    with tempfile.TemporaryDirectory(prefix="rl-pci-guest-") as scratch:
        image = os.path.join(scratch, "nvme.img")
        with open(image, "wb") as f:
            f.truncate(16 << 20)
        return nested_kvm.run(command, memory_mib=memory_mib, timeout=timeout, env=env,
                              devices=devices(frames_port or 9, peer_port or 47999, image),
                              cmdline="intel_iommu=on iommu=pt " + E1000E_PARAMS, modules=MODULES)


def reexec_in_guest(**kwargs):
    """Returns inside the guest; elsewhere runs this very script in one and exits with its
    status."""
    if os.environ.get(nested_kvm.INSIDE):
        return
    sys.exit(run([sys.executable] + sys.argv, **kwargs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames-port", type=int, default=0,
                        help="UDP port on 127.0.0.1 that receives the e1000e's frames")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    sys.exit(run(command, frames_port=args.frames_port))


if __name__ == "__main__":
    main()
