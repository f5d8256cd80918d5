"""Two real Linux guests on ringlane (issue 16, acceptance cases 1-4): payload patterns, TCP with
offloads on and off, two queue pairs, MTU 9000, and packed virtqueues beside split ones.

Two guests in QEMU TCG (tests/lib/linux_guest.py), booted once for every case, each with a
virtio-net-pci NIC of 2 queue pairs (`mq=on`) and `host_mtu=9000` on a port of one ringlane in l2
mode (`--api-sock`, two workers on cores 0-1 with `--idle sleep:100`, so the workers leave the
cores to the TCG guests when idle):
- guest "packed", 10.17.0.1, `packed=on` (packed virtqueues), port vm0;
- guest "split", 10.17.0.2, split virtqueues, port vm1;
so every frame crosses between a packed and a split ring, both ways. Both guests run the host's
ethtool (/usr/sbin/ethtool with its libraries, linux_guest's `dynamic_binaries`) and netxfer
(tests/guest_tools/netxfer.c: a TCP transfer whose both ends print the SHA-256 of the stream).

The cases, in order (each sets the MTU and offloads it needs first):
1. test_1_negotiated (case 4): every queue pair of both ports is live; ringlane's
   GET /ports/NAME names ring_packed among vm0's negotiated features and not among vm1's, and
   each guest's driver agrees (bit 34 of the virtio device's features in sysfs); both ports
   negotiated mq, mtu, csum, guest_csum, host_tso4 and guest_tso4. `ethtool -L eth0 combined 1`
   in a guest stops its port's queue pair 1 (QEMU's control queue disables it in ringlane) and
   `combined 2` brings it back.
2. test_2_offloads_on (case 1): MTU 1500, TSO, GSO, scatter-gather and checksum offload on in
   both guests (`ethtool -k` says so). Pings both ways with payload patterns 00, ff, a5 and 5a
   (busybox `ping -p`) at sizes 56, 1000, 1472 and 3000 (fragmented) all answered, no ICMP
   checksum error counted in either guest (busybox's ping does not compare the payload it gets
   back, but the answering kernel drops an echo request whose checksum over the patterned
   payload is wrong, and both guests ask). 64 MiB by TCP from the packed guest to the split one
   and back: the same bytes and SHA-256 at both ends, and ringlane's per-queue counters give an
   average frame well above 1514 bytes in each direction: the guests' TSO frames crossed whole
   (ringlane took them from one guest and gave them to the other unsplit).
3. test_3_two_queue_pairs (case 2): with both queue pairs in use (`ethtool -L eth0 combined 2`),
   two 8 MiB TCP connections each way at once, their senders pinned to vCPU 0 and vCPU 1 (the
   driver's XPS maps vCPU n to transmit queue n; XPS by receive queue is added so that
   transmissions from softirq context, on whichever vCPU took the shared INTx interrupt, keep a
   connection on its queue pair): ringlane's per-queue counters (GET /ports/NAME) show more than
   half a stream's bytes taken from each of the sender's queue pairs and given to each of the
   receiver's (ringlane's workers each own one queue pair of each port and deliver on the
   receiver's queue pair of their own number); every stream's SHA-256 matches.
4. test_4_offloads_off (case 1): MTU 1500, `ethtool -K eth0 tso off gso off tx off sg off` in
   both guests: the same pings, and 64 MiB each way; no frame above 1514 bytes (ringlane's
   averages stay at most that).
5. test_5_mtu_9000 (case 3): MTU 9000 in both guests (`ip link set`; the devices' `host_mtu=9000`
   allows it and ringlane was told by NET_SET_MTU), offloads still off so TCP sends 9000-byte
   frames: pings of 8972 bytes (a 9000-byte IP packet, the largest unfragmented one) both ways
   with patterns, neither guest fragmenting (FragCreates) nor reassembling (ReasmReqds), ringlane
   counting frames of 9014 bytes; 16 MiB by TCP each way, the SHA-256 equal and the average
   frame above 4000 bytes.
6. test_6_summary: the guests end, ringlane stops cleanly (SIGINT) and its summary has no ring
   error, malformed frame, broken chain or frame too large for a guest on any queue.

The TCP transfer figures (MB/s) are printed per case.

Processes are ended by PID (tests/lib/peers.py, tests/lib/linux_guest.py), also on failure.

Environment: RINGLANE_BIN, RINGLANE_NETXFER (meson sets both)."""
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import daemon_api  # noqa: E402
from guest_case import SharedBootCase, transfer_line  # noqa: E402
import linux_guest  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

NETXFER = os.environ.get("RINGLANE_NETXFER",
                         os.path.join(peers.ROOT, "build", "tests", "guest_tools", "netxfer"))
ETHTOOL = "/usr/sbin/ethtool"
MIB = 1 << 20
TRANSFER = 64 * MIB           # case 1, offloads on: each way
STREAM = 8 * MIB              # case 2: each of the four connections
JUMBO_TRANSFER = 16 * MIB     # case 3: each way
BOOT_TIMEOUT = 240            # both guests boot at once under TCG on a busy machine
TRANSFER_TIMEOUT = 180        # netxfer's own bound on every wait
ETH_FRAME = 1514              # the largest frame at MTU 1500
CORES = "0-1" if (os.cpu_count() or 1) >= 2 else "0"
RINGLANE_EXTRA = ["--idle", "sleep:100"]

# name -> (ringlane port, address, MAC, packed virtqueues)
GUESTS = {"packed": ("vm0", "10.17.0.1", "52:54:00:17:00:01", True),
          "split": ("vm1", "10.17.0.2", "52:54:00:17:00:02", False)}
PATTERNS = ["00", "ff", "a5", "5a"]
PING_SIZES = [56, 1000, 1472, 3000]
JUMBO_PING = 8972
VIRTIO_F_RING_PACKED = 34
REQUIRED_FEATURES = {"mq", "mtu", "csum", "guest_csum", "host_tso4", "guest_tso4"}
OFFLOAD_FEATURES = ["tso", "gso", "tx", "sg"]   # `ethtool -K` names, switched together



def snmp(text):
    """/proc/net/snmp as {"Ip": {"FragCreates": n, ...}, "Icmp": {...}, ...}."""
    tables = {}
    lines = [line.split() for line in text.splitlines() if ":" in line]
    for head, values in zip(lines[::2], lines[1::2]):
        if head[0] == values[0]:
            tables[head[0].rstrip(":")] = dict(zip(head[1:], map(int, values[1:])))
    return tables


def queue_delta(before, after):
    """Per queue pair of one port: the counters' growth between two GET /ports/NAME answers."""
    keys = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes")
    return [{k: a[k] - b[k] for k in keys} for b, a in zip(before["queues"], after["queues"])]


def totals(queues):
    return {k: sum(q[k] for q in queues) for k in queues[0]}


def average(total, direction):
    packets = total[f"{direction}_packets"]
    return total[f"{direction}_bytes"] / packets if packets else 0.0


class GuestNet(SharedBootCase):
    """The cases share one boot of the guests and run in order (unittest sorts them by name)."""
    programs = ((NETXFER, f"{NETXFER} is not built"),
                (ETHTOOL, f"no {ETHTOOL} (scripts/setup.sh installs ethtool)"))
    figures = []    # (case, direction, MiB, MB/s) of every transfer
    ended = {}      # guest -> why it ended before test_6 (the first line of a GuestError)

    @classmethod
    def start_all(cls):
        cls.started = time.monotonic()
        cls.work = tempfile.mkdtemp(prefix="rl-guest-net-")
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        cls.api_path = os.path.join(cls.work, "api.sock")
        cls.ringlane = peers.Ringlane(
            [{"name": port, "path": os.path.join(cls.work, f"{port}.sock"), "queues": 2}
             for port, _, _, _ in GUESTS.values()],
            cores=CORES, mode="l2", extra=["--api-sock", cls.api_path, *RINGLANE_EXTRA],
            workdir=cls.work)
        cls.addClassCleanup(cls.ringlane.kill)
        cls.api = daemon_api.Client(cls.api_path)
        cls.guests = {}
        for name, (port, address, mac, packed) in GUESTS.items():
            net = linux_guest.Net(socket=os.path.join(cls.work, f"{port}.sock"), queues=2, mac=mac,
                                  ip=f"{address}/24", packed=packed, mtu=9000)
            guest = linux_guest.LinuxGuest(commands=True, nets=[net], cpus=2,
                                           extra_binaries=[NETXFER],
                                           dynamic_binaries=[ETHTOOL], timeout=3600,
                                           echo=f"[{name}] ")
            cls.addClassCleanup(guest._end, "the test ended; killed")
            guest.start()
            cls.guests[name] = guest
        for name, guest in cls.guests.items():
            r = guest.execute("true", timeout=BOOT_TIMEOUT)
            if r.status != 0:
                raise RuntimeError(f"guest {name}: {r.output}")
        print(f"both guests up after {time.monotonic() - cls.started:.1f} s", flush=True)

    # --- helpers ---------------------------------------------------------------------------

    def log_tail(self, lines=30):
        text = self.ringlane.process.output()
        return "\n--- ringlane's log ---\n" + "\n".join(text.splitlines()[-lines:])

    def sh(self, name, command, timeout=120):
        """Runs `command` in guest `name`; its output, the status asserted 0."""
        if name in self.ended:
            self.fail(f"guest {name} ended in an earlier case: {self.ended[name]}")
        try:
            r = self.guests[name].execute(command, timeout=timeout)
        except linux_guest.GuestError as e:
            self.ended[name] = str(e).splitlines()[0][:160]
            raise
        self.assertEqual(r.status, 0, f"guest {name}: {command!r} failed:\n{r.output}")
        return r.output

    def port(self, name):
        return self.api.get(f"/ports/{GUESTS[name][0]}")

    def live(self, name):
        """Whether each queue pair of guest `name`'s port is live, both directions."""
        return [q["rx_live"] and q["tx_live"] for q in self.port(name)["queues"]]

    def ports(self):
        return {name: self.port(name) for name in GUESTS}

    def deltas(self, before):
        """{guest: per-queue growth of its port's counters} since the ports() answer `before`."""
        after = self.ports()
        return {name: queue_delta(before[name], after[name]) for name in GUESTS}

    def other(self, name):
        return next(n for n in GUESTS if n != name)

    def set_link(self, mtu, offloads):
        """Both guests: eth0's MTU, and TSO/GSO/scatter-gather/checksum offload on or off,
        checked with `ethtool -k`."""
        state = "on" if offloads else "off"
        switches = " ".join(f"{f} {state}" for f in OFFLOAD_FEATURES)
        for name in GUESTS:
            out = self.sh(name, f"ip link set eth0 mtu {mtu} && ethtool -K eth0 {switches}; "
                                f"ip link show eth0; ethtool -k eth0")
            self.assertIn(f"mtu {mtu} ", out)
            for feature in ("tcp-segmentation-offload", "generic-segmentation-offload",
                            "tx-checksumming", "scatter-gather"):
                self.assertRegex(out, rf"(?m)^{feature}: {state}\b", f"guest {name}:\n{out}")

    def snmp(self, name):
        return snmp(self.sh(name, "cat /proc/net/snmp"))

    def pings(self, sizes, patterns=PATTERNS, count=3):
        """Each guest pings the other with every pattern at every size: all answered, no ICMP
        checksum error counted on either side. Returns each guest's /proc/net/snmp before and
        after."""
        before = {name: self.snmp(name) for name in GUESTS}
        for name in GUESTS:
            target = GUESTS[self.other(name)][1]
            script = "\n".join(
                f"echo \"PING p={p} s={s} $(ping -q -c {count} -i 0.2 -W 5 -p {p} -s {s} "
                f"{target} 2>&1 | grep 'packets transmitted')\""
                for p in patterns for s in sizes)
            out = self.sh(name, script, timeout=60 + 5 * len(patterns) * len(sizes))
            for p in patterns:
                for s in sizes:
                    self.assertRegex(
                        out, rf"PING p={p} s={s} {count} packets transmitted, {count} packets "
                             rf"received", f"guest {name} -> {target}:\n{out}{self.log_tail()}")
        after = {name: self.snmp(name) for name in GUESTS}
        for name in GUESTS:
            for table, key in (("Icmp", "InCsumErrors"), ("Icmp", "InErrors"),
                               ("Ip", "InHdrErrors")):
                self.assertEqual(after[name][table][key], before[name][table][key],
                                 f"guest {name}: {table} {key}")
        return before, after

    def start_receiver(self, name, port):
        self.sh(name, f"netxfer recv {port} --timeout {TRANSFER_TIMEOUT} "
                      f"> /tmp/rx-{port}.log 2>&1 &")

    def received(self, name, port):
        """netxfer's closing line in guest `name`'s log of the receiver on `port`, waited for."""
        deadline = time.monotonic() + TRANSFER_TIMEOUT
        output = ""
        while time.monotonic() < deadline:
            output = self.sh(name, f"cat /tmp/rx-{port}.log")
            if "NETXFER received" in output or "netxfer:" in output:
                break
            self.sh(name, "sleep 0.2")
        line = transfer_line(output, "received")
        self.assertIsNotNone(line, f"guest {name}, receiver on {port}:\n{output}"
                                   f"{self.log_tail()}")
        return line

    def transfer(self, sender, size, case, port=5001, seed=1):
        """`size` bytes by TCP from guest `sender` to the other guest; asserts both ends saw the
        same bytes and SHA-256; returns the per-queue counter growth of both ports."""
        receiver = self.other(sender)
        self.start_receiver(receiver, port)
        before = self.ports()
        out = self.sh(sender, f"netxfer send {GUESTS[receiver][1]} {port} {size} --seed {seed} "
                              f"--timeout {TRANSFER_TIMEOUT}", timeout=TRANSFER_TIMEOUT + 60)
        sent = transfer_line(out, "sent")
        self.assertIsNotNone(sent, out)
        received = self.received(receiver, port)
        delta = self.deltas(before)
        self.assertEqual(sent[0], size)
        self.assertEqual(received[:2], sent[:2], f"{sender} -> {receiver}: bytes and SHA-256")
        mbs = size / sent[2] / 1e6
        self.figures.append((case, f"{sender} -> {receiver}", size // MIB, mbs))
        print(f"{case}: {size // MIB} MiB {sender} -> {receiver} in {sent[2]:.1f} s, "
              f"{mbs:.1f} MB/s; {sender}'s frames average "
              f"{average(totals(delta[sender]), 'rx'):.0f} bytes, {receiver}'s "
              f"{average(totals(delta[receiver]), 'tx'):.0f}", flush=True)
        return delta

    # --- the cases -------------------------------------------------------------------------

    def test_1_negotiated(self):
        """Case 4: one guest on packed rings, the other on split ones, as ringlane and the
        guests' drivers both say; every feature the other cases rely on negotiated."""
        ports = self.ports()
        for name, (port, _, _, packed) in GUESTS.items():
            for q in ports[name]["queues"]:
                self.assertTrue(q["rx_live"] and q["tx_live"],
                                f"{port}'s queue pair {q['queue_pair']} is not live: {q}"
                                f"{self.log_tail()}")
            features = set(ports[name]["features"])
            self.assertEqual("ring_packed" in features, packed, f"{port}: {sorted(features)}")
            self.assertLessEqual(REQUIRED_FEATURES, features, f"{port}: {sorted(features)}")
            self.assertEqual(ports[name]["queue_pairs"], 2)
            bits = self.sh(name, "cat /sys/class/net/eth0/device/features").strip()
            self.assertEqual(bits[VIRTIO_F_RING_PACKED], "1" if packed else "0",
                             f"guest {name}'s driver features: {bits}")
            self.assertIn(f"{port}: features ", self.ringlane.process.output())
            # The control queue is QEMU's: it disables and enables ringlane's queue pair 1
            # (SET_VRING_ENABLE).
            out = self.sh(name, "ethtool -L eth0 combined 1 && ethtool -l eth0")
            self.assertEqual(self.live(name), [True, False], f"{port} after combined 1")
            out += self.sh(name, "ethtool -L eth0 combined 2 && ethtool -l eth0")
            self.assertEqual(self.live(name), [True, True], f"{port} after combined 2")
            self.assertEqual(re.findall(r"Current hardware settings:[^C]*Combined:\s+(\d+)", out),
                             ["1", "2"], f"guest {name}:\n{out}")
        log = self.ringlane.process.output()
        self.assertRegex(log, r"vm0: features [a-z0-9_ ]*\bring_packed\b")

    def test_2_offloads_on(self):
        """Case 1 with TSO and checksum offload: patterned pings, 64 MiB each way, frames above
        the MTU crossing whole."""
        self.set_link(1500, offloads=True)
        self.pings(PING_SIZES)
        for sender, seed in (("packed", 21), ("split", 22)):
            receiver = self.other(sender)
            delta = self.transfer(sender, TRANSFER, "offloads on", port=5002, seed=seed)
            took = totals(delta[sender])
            gave = totals(delta[receiver])
            self.assertGreater(took["rx_bytes"], TRANSFER)
            self.assertGreater(gave["tx_bytes"], TRANSFER)
            # 64 MiB in frames of at most 1514 bytes would average below that; TSO frames of
            # up to 64 KiB, even diluted by the ACKs of the same queues, average far above.
            self.assertGreater(average(took, "rx"), 3 * ETH_FRAME, f"{sender}: {took}")
            self.assertGreater(average(gave, "tx"), 3 * ETH_FRAME, f"{receiver}: {gave}")

    def test_3_two_queue_pairs(self):
        """Case 2: two connections each way, senders on vCPU 0 and vCPU 1: both queue pairs of
        both ports carry frames."""
        self.set_link(1500, offloads=True)
        for name in GUESTS:
            # XPS by receive queue beside XPS by CPU: a connection's frames leave on the queue
            # pair its peer's frames arrive on, so that softirq transmissions (ACK-clocked, on
            # whichever vCPU took the shared INTx interrupt) stay on the queue pair the sender's
            # vCPU chose for its first frame.
            self.sh(name, "ethtool -L eth0 combined 2 && "
                          "echo 1 > /sys/class/net/eth0/queues/tx-0/xps_rxqs && "
                          "echo 2 > /sys/class/net/eth0/queues/tx-1/xps_rxqs && "
                          "grep . /sys/class/net/eth0/queues/tx-*/xps_*")
        for sender, base in (("packed", 5100), ("split", 5200)):
            receiver = self.other(sender)
            ports = [base + cpu for cpu in (0, 1)]
            for port in ports:
                self.start_receiver(receiver, port)
            before = self.ports()
            target = GUESTS[receiver][1]
            out = self.sh(sender, " ".join(
                f"taskset -c {cpu} netxfer send {target} {port} {STREAM} --seed {port} "
                f"--timeout {TRANSFER_TIMEOUT} > /tmp/tx-{port}.log 2>&1 &"
                for cpu, port in enumerate(ports)) + " wait; cat /tmp/tx-*.log",
                timeout=TRANSFER_TIMEOUT + 60)
            for port in ports:
                received = self.received(receiver, port)
                sent = transfer_line(self.sh(sender, f"cat /tmp/tx-{port}.log"), "sent")
                self.assertIsNotNone(sent, out)
                self.assertEqual(sent[0], STREAM)
                self.assertEqual(received[:2], sent[:2], f"{sender} -> {receiver} on {port}")
                self.figures.append(("two queue pairs", f"{sender} -> {receiver} ({port})",
                                     STREAM // MIB, STREAM / sent[2] / 1e6))
            delta = self.deltas(before)
            print(f"two queue pairs, {sender} -> {receiver}: {sender}'s queues {delta[sender]}; "
                  f"{receiver}'s queues {delta[receiver]}", flush=True)
            for qp in (0, 1):
                # Each connection's data leaves its sender on its vCPU's queue pair (here each
                # carried one whole stream; half of one is asked for), and ringlane's worker of
                # that queue pair delivers it on the receiver's queue pair of the same number.
                self.assertGreater(delta[sender][qp]["rx_bytes"], STREAM // 2,
                                   f"{sender}'s queue pair {qp}: {delta[sender]}")
                self.assertGreater(delta[receiver][qp]["tx_bytes"], STREAM // 2,
                                   f"{receiver}'s queue pair {qp}: {delta[receiver]}")

    def test_4_offloads_off(self):
        """Case 1 without offloads: patterned pings, 64 MiB each way, no frame above the MTU."""
        self.set_link(1500, offloads=False)
        self.pings(PING_SIZES)
        for sender, size, seed in (("packed", TRANSFER, 41), ("split", TRANSFER, 42)):
            receiver = self.other(sender)
            delta = self.transfer(sender, size, "offloads off", port=5004, seed=seed)
            took = totals(delta[sender])
            gave = totals(delta[receiver])
            self.assertGreater(took["rx_bytes"], size)
            self.assertGreater(took["rx_packets"], size // ETH_FRAME)
            self.assertLessEqual(average(took, "rx"), ETH_FRAME, f"{sender}: {took}")
            self.assertLessEqual(average(gave, "tx"), ETH_FRAME, f"{receiver}: {gave}")

    def test_5_mtu_9000(self):
        """Case 3: MTU 9000 end to end: 9000-byte packets unfragmented both ways, by ping and
        by TCP."""
        self.set_link(9000, offloads=False)
        before_ports = self.ports()
        before, after = self.pings([JUMBO_PING], count=2)
        delta = self.deltas(before_ports)
        for name in GUESTS:
            for table, key in (("Ip", "FragCreates"), ("Ip", "ReasmReqds")):
                self.assertEqual(after[name][table][key], before[name][table][key],
                                 f"guest {name}: {table} {key} (a packet was fragmented)")
            took = totals(delta[name])
            # Requests and replies of 8972 data bytes: 9014-byte frames (an ARP at most
            # besides).
            self.assertGreater(average(took, "rx"), 8000, f"{name}: {took}")
            self.assertLessEqual(average(took, "rx"), 9014, f"{name}: {took}")
        for sender, seed in (("packed", 51), ("split", 52)):
            receiver = self.other(sender)
            delta = self.transfer(sender, JUMBO_TRANSFER, "MTU 9000", port=5005, seed=seed)
            took = totals(delta[sender])
            self.assertGreater(average(took, "rx"), 4000, f"{sender}: {took}")
            self.assertLessEqual(average(took, "rx"), 9014, f"{sender}: {took}")
            self.assertGreater(average(totals(delta[receiver]), "tx"), 4000)

    def test_6_summary(self):
        """The guests end, ringlane stops cleanly, and no queue saw a broken ring or frame."""
        for name, guest in self.guests.items():
            if name in self.ended:
                self.fail(f"guest {name} ended early: {self.ended[name]}")
            result = guest.finish(timeout=60)
            self.assertEqual(result.status, 0, f"guest {name}: {result.reason}")
        summary = self.ringlane.stop()
        for port in summary["ports"]:
            for q in port["queues"]:
                self.assertEqual(q["ring_errors"], 0, port)
                for drop in ("rx_chain", "rx_malformed", "tx_too_large"):
                    self.assertEqual(q["drops"][drop], 0, f"{port['name']}: {drop}: {port}")
            print(f"{port['name']}: {port['totals']}, drops by queue pair: "
                  f"{[q['drops'] for q in port['queues']]}", flush=True)
        for case, direction, mib, mbs in self.figures:
            print(f"figure: {case}: {direction}: {mib} MiB at {mbs:.1f} MB/s", flush=True)
        print(f"whole run {time.monotonic() - self.started:.1f} s", flush=True)


if __name__ == "__main__":
    report.main("integration_guest_net")
