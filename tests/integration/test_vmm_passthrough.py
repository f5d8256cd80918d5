"""ringlane-vmm's passthrough NIC mode against a real device: in tests/lib/pci_guest.py's QEMU
guest the e1000e is given to vfio-pci, and ringlane-vmm passes it to the test guest
(`--nic mode=passthrough,pci=0000:00:02.0`), whose own e1000 driver (82574L path) sends
sequence-numbered frames from guest RAM. The NIC reads them by DMA through the IOMMU at the
guest's physical addresses, and they leave QEMU as UDP datagrams to this process, which checks
every one (count, order, bytes, the device's MAC as source), then sends frames the other way,
which the NIC writes into guest RAM by DMA and the guest echoes. Then ringlane-vmm boots Linux
with the same device, and Linux's own e1000e driver (MSI-X interrupts, its configuration-space
probing) pings this process, which answers ARP and ICMP echo as the host 10.0.9.1. Devices not bound to vfio-pci, or
absent, are refused with a message and a non-zero exit.

The guest boots once; its half (--in-guest) records what it saw in a JSON file and the cases run
here, outside, so frame checks and guest checks count alike in the report."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import guest_frames  # noqa: E402
import nested_kvm  # noqa: E402
import pci_guest  # noqa: E402
import report  # noqa: E402
import vfio_guest  # noqa: E402

VMM = os.environ.get("RINGLANE_VMM_BIN", "")
GUEST = os.environ.get("RINGLANE_NIC_GUEST", "")
SEND = 64
SIZE = 200
RECV = 100  # frames sent to the guest once its own have all arrived; fewer than its 255 buffers
PEER_MAC = b"\x02\x00\x00\x00\x00\x01"
# The Linux phase: the inner guest is 10.0.9.2, this process answers for 10.0.9.1.
HOST_IP = bytes([10, 0, 9, 1])
PINGS = 5
MARK = "RINGLANE-"
LINUX_INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# No interrupt throttling (EITR 0): the e1000e here is QEMU 7.2's, which dies on an assertion
# when a throttling timer armed under MSI-X fires after MSI-X was turned off at shutdown.
for m in {modules}; do
  args=; [ "$m" = e1000e.ko ] && args=InterruptThrottleRate=0
  insmod /lib/modules/$m $args || echo "{mark}INSMOD-FAILED $m"
done
ip link set lo up
dev=$(ls /sys/class/net | grep -v lo | head -n 1)
echo "{mark}NIC $dev driver=$(basename $(readlink /sys/class/net/$dev/device/driver))"
ip addr add 10.0.9.2/24 dev $dev
ip link set $dev up
for i in $(seq 1 60); do [ "$(cat /sys/class/net/$dev/carrier 2>/dev/null)" = 1 ] && break; sleep 1; done
echo "{mark}CARRIER $(cat /sys/class/net/$dev/carrier)"
ping -c {pings} -W 10 10.0.9.1 > /tmp/ping 2>&1
echo "{mark}PING $(grep -o '[0-9]* packets received' /tmp/ping)"
grep "$dev" /proc/interrupts | tr -s ' ' | sed 's/^/{mark}IRQ /'
reboot -f
"""
ABSENT_BDF = "0000:00:09.0"


def vmm(nic, cmdline="nic=e1000", timeout=300):
    r = subprocess.run([VMM, "--kernel", GUEST, "--memory", "64", "--nic", nic,
                        "--cmdline", cmdline], capture_output=True, text=True, timeout=timeout)
    return {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr}


def linux_initrd(work):
    """An initramfs for the inner Linux: busybox, the e1000e driver and its dependencies, and an
    init that pings 10.0.9.1 through the passed-through NIC."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "nested"))
    import run_linux_guest as nested  # noqa: E402 (its initramfs helpers)
    vmlinuz, moddir = nested.fetch_kernel(nested.default_cache())
    root = os.path.join(work, "root")
    mods = nested.base_tree(root, moddir, nested.module_order(moddir, ["e1000e"]))
    with open(os.path.join(root, "init"), "w") as f:
        f.write(LINUX_INIT.format(modules=mods, mark=MARK, pings=PINGS))
    os.chmod(os.path.join(root, "init"), 0o755)
    initrd = os.path.join(work, "initrd.gz")
    nested.write_cpio(root, initrd)
    return vmlinuz, initrd


def vmm_linux(nic, work):
    vmlinuz, initrd = linux_initrd(work)
    r = subprocess.run([VMM, "--kernel", vmlinuz, "--initrd", initrd, "--memory", "256",
                        "--nic", nic, "--cmdline",
                        "console=ttyS0 reboot=k panic=-1 i8042.noaux quiet"],
                       capture_output=True, text=True, timeout=400)
    return {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr}


def in_guest(result_path):
    nic = pci_guest.NIC_BDF
    results = {}
    try:
        # Before binding: the e1000e is still the kernel's.
        results["not_vfio"] = vmm(f"mode=passthrough,pci={nic}")
        results["absent"] = vmm(f"mode=passthrough,pci={ABSENT_BDF}")
        smbus = vfio_guest.make_group_not_viable()
        try:
            results["smbus_driver"] = vfio_guest.driver_of(smbus)
            results["not_viable"] = vmm(f"mode=passthrough,pci={smbus}")
        finally:
            vfio_guest.undo_group_not_viable()
        vfio_guest.bind_vfio(nic)
        try:
            results["driver_bound"] = vfio_guest.driver_of(nic)
            results["send"] = vmm(f"mode=passthrough,pci={nic}",
                                  f"nic=e1000 msix=1 send={SEND} size={SIZE} recv={RECV} echo=1")
            with tempfile.TemporaryDirectory() as work:
                results["linux"] = vmm_linux(f"mode=passthrough,pci={nic}", work)
        finally:
            vfio_guest.restore(nic)
            results["driver_after"] = vfio_guest.driver_of(nic)
    finally:
        with open(result_path, "w") as f:
            json.dump(results, f, indent=1)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def arp_or_ping_reply(frame):
    """The host 10.0.9.1 on the wire: the answer to an ARP request for it or an ICMP echo request
    to it, or None."""
    me = PEER_MAC
    if len(frame) >= 42 and frame[12:14] == b"\x08\x06" and frame[20:22] == b"\x00\x01" \
            and frame[38:42] == HOST_IP:
        sender_mac, sender_ip = frame[22:28], frame[28:32]
        return (sender_mac + me + b"\x08\x06" + frame[14:20] + b"\x00\x02" + me + HOST_IP +
                sender_mac + sender_ip)
    if len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 1 \
            and frame[30:34] == HOST_IP:
        ihl = (frame[14] & 0xf) * 4
        total = struct.unpack("!H", frame[16:18])[0]
        icmp = frame[14 + ihl:14 + total]
        if len(icmp) < 8 or icmp[0] != 8:
            return None
        reply = b"\x00\x00\x00\x00" + icmp[4:]
        reply = reply[:2] + struct.pack("!H", checksum(reply)) + reply[4:]
        ip = bytearray(frame[14:14 + ihl])
        ip[12:16], ip[16:20] = frame[30:34], frame[26:30]
        ip[8] = 64
        ip[10:12] = b"\0\0"
        ip[10:12] = struct.pack("!H", checksum(bytes(ip)))
        return frame[6:12] + me + b"\x08\x00" + bytes(ip) + reply
    return None


class EchoPeer(vfio_guest.FrameCollector):
    """Once the guest's last test frame has arrived, sends RECV test frames to it (even ones to
    its address, odd ones broadcast) for it to echo."""

    def __init__(self):
        self.peer_port = free_udp_port()
        self.sent = 0
        super().__init__()

    def on_frame(self, data):
        answer = arp_or_ping_reply(data)
        if answer is not None:
            self.send(answer, self.peer_port)
            return
        if self.sent == 0 and guest_frames.parse(data) == SEND - 1:
            guest = bytes.fromhex(pci_guest.NIC_MAC.replace(":", ""))
            for seq in range(RECV):
                dst = guest if seq % 2 == 0 else guest_frames.BROADCAST
                self.send(guest_frames.build(seq, SIZE, src=PEER_MAC, dst=dst), self.peer_port)
                self.sent += 1


class VmmPassthrough(unittest.TestCase):
    guest = None
    frames = []
    status = None

    @classmethod
    def setUpClass(cls):
        collector = EchoPeer()
        cls.peer_sent = 0
        with tempfile.NamedTemporaryFile(prefix="rl-vmm-pt-", suffix=".json", dir="/tmp",
                                         delete=False) as f:
            path = f.name
        try:
            cls.status = pci_guest.run([sys.executable, os.path.abspath(__file__), "--in-guest",
                                        path], frames_port=collector.port,
                                       peer_port=collector.peer_port, timeout=800)
            cls.frames = collector.stop()
            cls.peer_sent = collector.sent
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
        # The guest's own frames are broadcast; its echoes go to the peer.
        test_frames = [f for f in self.frames if guest_frames.is_test_ethertype(f)
                       and f[:6] == guest_frames.BROADCAST]
        seqs = [guest_frames.parse(f) for f in test_frames]
        self.assertNotIn(None, seqs, "a test frame arrived corrupted")
        self.assertEqual(seqs, list(range(SEND)),
                         f"{len(self.frames)} datagrams, {len(test_frames)} test frames")
        for f in test_frames:
            self.assertEqual(len(f), SIZE)
            self.assertEqual(f[6:12], mac)

    def test_frames_to_the_guest_come_back_echoed(self):
        # The NIC wrote them into guest RAM by DMA; the guest echoes each, addresses swapped.
        self.assertEqual(self.peer_sent, RECV)
        guest = bytes.fromhex(pci_guest.NIC_MAC.replace(":", ""))
        echoes = [f for f in self.frames if guest_frames.is_test_ethertype(f)
                  and f[:6] == PEER_MAC]
        expected = [guest_frames.build(seq, SIZE, src=guest, dst=PEER_MAC) for seq in range(RECV)]
        self.assertEqual(len(echoes), RECV)
        self.assertEqual(echoes, expected)
        self.assertIn(f"ringlane-guest: received {RECV} frames (0 bad, 0 out of order, "
                      f"0 duplicate", self.guest["send"]["stdout"])

    def test_e1000e_goes_back_to_its_driver(self):
        self.assertEqual(self.guest["driver_after"], "e1000e")

    def test_device_not_bound_to_vfio_pci_is_refused(self):
        run = self.guest["not_vfio"]
        self.assertNotIn(run["rc"], (0, -6, -11), run["stderr"])  # an error, not a crash
        self.assertIn(f"PCI device {pci_guest.NIC_BDF} is bound to e1000e, not vfio-pci",
                      run["stderr"])

    def test_linux_e1000e_driver_pings_through_the_passed_through_nic(self):
        run = self.guest["linux"]
        console = run["stdout"]
        self.assertEqual(run["rc"], 0, run["stderr"][-2000:])
        self.assertIn(MARK + "NIC eth0 driver=e1000e", console)
        self.assertIn(MARK + "CARRIER 1", console)
        self.assertIn(f"{MARK}PING {PINGS} packets received", console, console[-3000:])
        # Linux's e1000e takes MSI-X vectors (eth0-rx-0, eth0-tx-0, eth0): routed by irqfd.
        irqs = [line for line in console.splitlines() if line.startswith(MARK + "IRQ")]
        self.assertTrue(any("eth0-rx-0" in line for line in irqs), irqs)
        rx = next(line for line in irqs if "eth0-rx-0" in line)
        self.assertGreater(int(rx.split()[2]), 0, rx)  # interrupts on the vector, vCPU 0

    def test_group_that_is_not_viable_is_refused(self):
        # The SMBus controller is vfio-pci's, but its group's SATA controller is ahci's.
        run = self.guest["not_viable"]
        self.assertEqual(self.guest["smbus_driver"], "vfio-pci")
        self.assertNotIn(run["rc"], (0, -6, -11), run["stderr"])
        self.assertRegex(run["stderr"], r"IOMMU group \d+ of 0000:00:1f.3 is not viable: every "
                                        r"device in it must be bound to vfio-pci")
        self.assertIn("ringlane-ctl pci bind --whole-group 0000:00:1f.3", run["stderr"])
        self.assertIn(f"{vfio_guest.SATA_BDF} (ahci)", run["stderr"])

    def test_absent_device_is_refused(self):
        run = self.guest["absent"]
        self.assertNotIn(run["rc"], (0, -6, -11), run["stderr"])
        self.assertIn(f"no PCI device {ABSENT_BDF}", run["stderr"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--in-guest"]:
        in_guest(sys.argv[2])
        sys.exit(0)
    report.main("integration_vmm_passthrough")
