"""Helpers of the VFIO tests that run in tests/lib/pci_guest.py's guest: giving a PCI device to
vfio-pci and back with plain sysfs writes (ringlane-ctl's `pci bind` will take this over), and,
outside the guest, the collector of the frames the guest's e1000e sends (one UDP datagram per
Ethernet frame on 127.0.0.1)."""
import os
import socket
import subprocess
import threading

DEVICES = "/sys/bus/pci/devices"


def driver_of(bdf):
    """The bound driver's name, or "" when none has the device."""
    link = os.path.join(DEVICES, bdf, "driver")
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else ""


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def bind_vfio(bdf):
    """Gives `bdf` to vfio-pci; returns the driver it had, for restore()."""
    old = driver_of(bdf)
    _write(os.path.join(DEVICES, bdf, "driver_override"), "vfio-pci")
    if old:
        _write(os.path.join(DEVICES, bdf, "driver", "unbind"), bdf)
    _write("/sys/bus/pci/drivers_probe", bdf)
    return old


def restore(bdf, driver):
    """Takes `bdf` from whatever driver has it and lets `driver` (its own) probe it again."""
    if driver_of(bdf):
        _write(os.path.join(DEVICES, bdf, "driver", "unbind"), bdf)
    _write(os.path.join(DEVICES, bdf, "driver_override"), "\n")
    if driver:
        _write("/sys/bus/pci/drivers_probe", bdf)


# In pci_guest's q35 machine the ICH9's functions share IOMMU group: LPC 00:1f.0, SATA 00:1f.2,
# SMBus 00:1f.3, with no driver bound (the guest loads only what the tests need).
SMBUS_BDF = "0000:00:1f.3"
SATA_BDF = "0000:00:1f.2"


def make_group_not_viable():
    """Gives the SMBus controller to vfio-pci while its group's SATA controller gets ahci, a kernel
    driver that does DMA: a group VFIO must refuse. Returns the SMBus controller's address; undo
    with restore(SMBUS_BDF, "")."""
    import nested_kvm  # noqa: E402 (tests/lib is on the caller's path)
    subprocess.run(["modprobe", "-d", os.path.join(nested_kvm.KERNEL_DIR, "root"), "ahci"],
                   check=True)
    if driver_of(SATA_BDF) != "ahci":
        raise RuntimeError(f"ahci did not bind {SATA_BDF} (driver: {driver_of(SATA_BDF)!r})")
    bind_vfio(SMBUS_BDF)
    return SMBUS_BDF


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
