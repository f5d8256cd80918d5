"""Helpers of the VFIO tests that run in tests/lib/pci_guest.py's guest: giving a PCI device to
vfio-pci and back with `ringlane-ctl pci bind` / `pci unbind`, a deliberately non-viable IOMMU
group (which ringlane-ctl refuses to make, so plain sysfs writes make it), and, outside the
guest, the collector of the frames the guest's e1000e sends (one UDP datagram per Ethernet frame
on 127.0.0.1)."""
import os
import socket
import subprocess
import threading

DEVICES = "/sys/bus/pci/devices"
CTL = os.environ.get("RINGLANE_CTL_BIN", "")


def driver_of(bdf):
    """The bound driver's name, or "" when none has the device."""
    link = os.path.join(DEVICES, bdf, "driver")
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else ""


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _ctl(*args):
    r = subprocess.run([CTL, "--json", *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"ringlane-ctl {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def bind_vfio(bdf):
    """Gives `bdf` to vfio-pci with ringlane-ctl (which records its driver)."""
    _ctl("pci", "bind", bdf)


def restore(bdf):
    """Back to the driver ringlane-ctl recorded."""
    _ctl("pci", "unbind", bdf)


# In pci_guest's q35 machine the ICH9's functions share IOMMU group: LPC 00:1f.0, SATA 00:1f.2,
# SMBus 00:1f.3, with no driver bound (the guest loads only what the tests need).
SMBUS_BDF = "0000:00:1f.3"
SATA_BDF = "0000:00:1f.2"


def make_group_not_viable():
    """Gives the SMBus controller to vfio-pci while its group's SATA controller has ahci (which
    pci_guest loads), a kernel driver that does DMA: a group VFIO must refuse. ringlane-ctl would
    refuse to do this, so sysfs is written directly. Returns the SMBus controller's address; undo
    with undo_group_not_viable()."""
    if driver_of(SATA_BDF) != "ahci":
        raise RuntimeError(f"ahci does not hold {SATA_BDF} (driver: {driver_of(SATA_BDF)!r})")
    _write(os.path.join(DEVICES, SMBUS_BDF, "driver_override"), "vfio-pci")
    _write("/sys/bus/pci/drivers_probe", SMBUS_BDF)
    return SMBUS_BDF


def undo_group_not_viable():
    if driver_of(SMBUS_BDF):
        _write(os.path.join(DEVICES, SMBUS_BDF, "driver", "unbind"), SMBUS_BDF)
    _write(os.path.join(DEVICES, SMBUS_BDF, "driver_override"), "\n")


class FrameCollector:
    """Receives datagrams on 127.0.0.1 in a thread from construction (before the guest boots, so
    no frame is lost) until stop(); `frames` holds them in arrival order. send() puts a frame on
    the NIC's wire the other way, to QEMU's end of it (pci_guest's peer_port)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.frames = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            self.frames.append(data)
            self.on_frame(data)

    def on_frame(self, data):
        """Called in the receiving thread for every frame; subclasses answer traffic here."""

    def send(self, frame, peer_port):
        self.sock.sendto(frame, ("127.0.0.1", peer_port))

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()
        return self.frames
