"""Reconnection both ways with real Linux guests (issue 16, acceptance case 5): a guest's driver
reset, a guest's QEMU restarted under a running ringlane, and ringlane restarted under running
guests in both socket modes, each with split and with packed virtqueues, traffic resuming every
time without a guest reboot.

Two guests in QEMU TCG (tests/lib/linux_guest.py), g1 and g2, booted once for every case (g2
once more in the QEMU case). Four paths between them, a NIC of each guest on each, on two
ringlane processes that cross-connect them:

    path            subnet          NICs  rings   sockets
    server-split    10.16.1.0/24    eth0  split   QEMU client with reconnect=1, ringlane "rs"
    server-packed   10.16.2.0/24    eth1  packed  listens (server mode)
    client-split    10.16.3.0/24    eth2  split   QEMU listens (server=on,wait=off), ringlane
    client-packed   10.16.4.0/24    eth3  packed  "rc" connects (mode=client)

(packed rings: `packed=on` on virtio-net-pci). A ring kind that fails thus leaves the other's
path standing, and a case reports each path. Both ringlanes run one worker on core 1 with
`--idle sleep:100` (idle workers leave the cores to the TCG guests) and `--log-level debug`
(every vhost-user message logged: the features acked, the rings stopped, the positions QEMU
hands over with SET_VRING_BASE).

The cases, in order, after every path carried traffic once (no ring is at its start when a case
stops it):
1. Driver reset: both guests unbind and rebind virtio_net from their server-split and
   server-packed NICs. The driver resets the device (QEMU stops the rings: GET_VRING_BASE) and
   negotiates again (a new SET_FEATURES; the guest gets a new network interface).
2. QEMU restarted: g2's QEMU killed and booted again while both ringlanes run; "rs" accepts the
   new QEMU, "rc" reconnects to its new sockets, and g2 reaches the untouched g1 on every path.
3. ringlane in server mode restarted: "rs" killed (SIGKILL) and started again on the same
   sockets, then stopped with SIGTERM and started again; QEMU reconnects (reconnect=1) and sets
   the rings up at the position it kept. A dead backend answers no GET_VRING_BASE, so QEMU takes
   a split ring's position from its used index and a packed ring's from what it last handed over
   or read itself: the packed resume is a non-zero position ringlane never gave.
4. ringlane in client mode restarted: the same with "rc", which connects to QEMU's sockets again.
(The QEMU restart comes before ringlane's so that it starts from rings a failed resume left
alone.)

After every step, on each path it touched (all four after the boot and in case 2): a ping each
way until one answers, then 5 pings each way all answered, 2 MiB by TCP each way with the
SHA-256 of both ends compared (tests/guest_tools/netxfer.c), every port of the path negotiated
its ring kind, and no guest rebooted (a token written to /tmp at boot still there and
/proc/uptime gone on; g2's token is gone after case 2, g1's kept). ringlane logs no broken
virtqueue and no refused ring start, and every ringlane stopped cleanly (SIGTERM in cases 3 and
4, SIGINT at the end) exits 0 with no ring errors in its summary.

Processes are ended by PID (tests/lib/peers.py, tests/lib/linux_guest.py), also on failure.

Environment: RINGLANE_BIN, RINGLANE_NETXFER (meson sets both)."""
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from guest_case import SharedBootCase, transfer_line  # noqa: E402
import linux_guest  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

NETXFER = os.environ.get("RINGLANE_NETXFER",
                         os.path.join(peers.ROOT, "build", "tests", "guest_tools", "netxfer"))
TRANSFER = 2 << 20
BOOT_TIMEOUT = 180        # both guests boot at once under TCG on a busy machine (15-20 s here)
RESUME_TIMEOUT = 30       # from a restart to the first ping through (about 1 s here)
TRANSFER_TIMEOUT = 60
RINGLANE_EXTRA = ["--idle", "sleep:100", "--log-level", "debug"]
CORES = "1"
GUESTS = ("g1", "g2")


class Path:
    """A subnet between the guests: one NIC of each, of one ring kind, on one ringlane."""

    def __init__(self, index, mode, packed):
        self.index = index            # the NIC's index in each guest (eth0...)
        self.mode = mode              # ringlane's socket mode
        self.packed = packed
        self.name = f"{mode}-{'packed' if packed else 'split'}"
        self.address = {g: f"10.16.{index + 1}.{i + 1}" for i, g in enumerate(GUESTS)}
        self.mac = {g: f"52:54:00:16:{index + 1:02x}:{i + 1:02x}" for i, g in enumerate(GUESTS)}
        self.port = {g: f"{mode[0]}{'p' if packed else 's'}_{g}" for g in GUESTS}

    def socket(self, work, guest):
        return os.path.join(work, f"{self.port[guest]}.sock")

    def net(self, work, guest):
        return linux_guest.Net(socket=self.socket(work, guest), mac=self.mac[guest],
                               ip=f"{self.address[guest]}/24", packed=self.packed,
                               reconnect=1 if self.mode == "server" else None,
                               server=self.mode == "client")


class Daemon:
    """One ringlane process serving the paths of one socket mode, started again as often as a
    case asks."""

    def __init__(self, name, paths, work):
        self.name = name
        self.paths = paths
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.ports = [{"name": p.port[g], "path": p.socket(work, g), "mode": p.mode}
                      for p in paths for g in GUESTS]
        self.extra = list(RINGLANE_EXTRA)
        for p in paths:
            self.extra += ["--xconnect", f"{p.port['g1']}:{p.port['g2']}"]
        self.rl = None

    def start(self):
        self.rl = peers.Ringlane(self.ports, cores=CORES, extra=self.extra, workdir=self.dir)
        return self.rl

    def log(self):
        return self.rl.process.output() if self.rl else ""

    def kill(self):
        if self.rl is not None:
            self.rl.kill()

    def negotiations(self, port):
        """How many times the port's driver acked features (ringlane logs each)."""
        return self.log().count(f" {port}: features ")

    def features(self, port):
        """The features the port's driver acked last, as ringlane logged them; None before."""
        lines = [line for line in self.log().splitlines() if f" {port}: features " in line]
        return lines[-1].split("features ", 1)[1].split() if lines else None

    def messages(self, port, request):
        """The `first` value (the payload's first 8 bytes) of every `request` ringlane logged
        for `port`, in order."""
        return [int(m.group(1), 16) for m in re.finditer(
            rf" {re.escape(port)}: {request} size \d+ fds \d+ first 0x([0-9a-f]+)", self.log())]

    def describe_bases(self, port, packed):
        """The last two SET_VRING_BASE positions of `port` in words: a split ring's next avail
        index; a packed ring's avail and used index with their wrap counters (vhost-user's 32
        bits)."""
        words = []
        for first in self.messages(port, "SET_VRING_BASE")[-2:]:
            vring, base = first & 0xffffffff, first >> 32
            if packed:
                words.append(f"vring {vring} avail {base & 0x7fff} wrap {base >> 15 & 1} used "
                             f"{base >> 16 & 0x7fff} wrap {base >> 31}")
            else:
                words.append(f"vring {vring} at {base}")
        return f"{port}: " + ", ".join(words)

    def trouble(self):
        return [line for line in self.log().splitlines() if any(t in line for t in peers.RING_TROUBLE)]

    def stop(self, sig):
        """Stops ringlane with `sig`; AssertionError unless it exits 0 with a summary that has no
        ring errors. Returns the summary."""
        self.rl.process.send_signal(sig)
        rc = self.rl.process.wait(20)
        if rc != 0:
            self.rl.kill()
            raise AssertionError(f"ringlane {self.name} exited {rc} on {sig!r}:\n"
                                 + self.log()[-3000:])
        with open(self.rl.summary_path) as f:
            summary = json.load(f)
        for p in summary["ports"]:
            errors = sum(q["ring_errors"] for q in p["queues"])
            if errors:
                raise AssertionError(f"ringlane {self.name}: {errors} ring errors on {p['name']}:"
                                     f" {p}")
        return summary


class GuestReconnect(SharedBootCase):
    """The cases share the guests and run in order (unittest sorts them by name)."""
    programs = ((NETXFER, f"{NETXFER} is not built"),)

    @classmethod
    def start_all(cls):
        """Both ringlanes, then both guests; returns once both guests run commands."""
        cls.started = time.monotonic()
        cls.work = tempfile.mkdtemp(prefix="rl-guest-reconnect-")
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        cls.paths = [Path(0, "server", False), Path(1, "server", True),
                     Path(2, "client", False), Path(3, "client", True)]
        cls.daemons = {mode: Daemon("rs" if mode == "server" else "rc",
                                    [p for p in cls.paths if p.mode == mode], cls.work)
                       for mode in ("server", "client")}
        for d in cls.daemons.values():
            cls.addClassCleanup(d.kill)
            d.start()
        cls.guests, cls.tokens, cls.uptime = {}, {}, {}
        cls.transfers = 0
        for g in GUESTS:
            cls.boot(g)
        for g in GUESTS:
            cls.mark(g)
        print(f"both guests up after {time.monotonic() - cls.started:.1f} s", flush=True)

    @classmethod
    def boot(cls, g):
        """Starts guest `g` (QEMU waits for ringlane on every socket before the guest runs)."""
        guest = linux_guest.LinuxGuest(
            commands=True, nets=[p.net(cls.work, g) for p in cls.paths], cpus=1, memory_mib=256,
            extra_binaries=[NETXFER], timeout=1200,
            echo=f"[{g}] " if os.environ.get("RINGLANE_GUEST_ECHO") else None)
        guest.start()
        cls.addClassCleanup(guest._end, "the test ended")
        cls.guests[g] = guest

    @classmethod
    def mark(cls, g):
        """Waits for guest `g` to boot and writes a token to its /tmp; a fresh boot has none."""
        token = secrets.token_hex(8)
        r = cls.guests[g].execute(f"[ ! -e /tmp/boot-token ] || exit 1; "
                                  f"echo {token} > /tmp/boot-token; cat /proc/uptime",
                                  timeout=BOOT_TIMEOUT)
        if r.status != 0:
            raise AssertionError(f"guest {g}: {r.output}")
        cls.tokens[g] = token
        cls.uptime[g] = float(r.output.split()[0])

    # --- checks ---------------------------------------------------------------------------

    def daemon(self, path):
        return self.daemons[path.mode]

    def run_in(self, g, command, timeout=60):
        r = self.guests[g].execute(command, timeout=timeout)
        self.assertEqual(r.status, 0, f"guest {g}: {command!r}:\n{r.output}")
        return r.output

    def logs_tail(self, lines=20):
        text = ""
        for d in self.daemons.values():
            tail = [line for line in d.log().splitlines() if " ringlane debug: " not in line]
            text += f"\n--- ringlane {d.name}'s log (no debug lines) ---\n"
            text += "\n".join(tail[-lines:])
        return text

    def assert_not_rebooted(self, g):
        """The token written at boot is still in /tmp and the uptime went on."""
        out = self.run_in(g, "cat /tmp/boot-token; cat /proc/uptime")
        token, uptime = out.split()[0], float(out.split()[1])
        self.assertEqual(token, self.tokens[g], f"guest {g} was rebooted")
        self.assertGreater(uptime, self.uptime[g], f"guest {g}'s uptime went back")
        self.uptime[g] = uptime

    def wait_for_ping(self, path):
        """Pings g2 from g1 over `path` until one answer comes; returns the seconds it took."""
        started = time.monotonic()
        address = path.address["g2"]
        self.run_in("g1", f"i=0; while [ $i -lt {RESUME_TIMEOUT} ]; do "
                          f"ping -c 1 -W 1 {address} > /dev/null 2>&1 && exit 0; i=$((i+1)); "
                          f"done; cat /proc/net/dev; exit 1", timeout=RESUME_TIMEOUT * 3)
        return time.monotonic() - started

    def transfer(self, sender, receiver, path):
        """TRANSFER bytes by TCP from guest `sender` to guest `receiver` over `path`; the SHA-256
        of both ends compared."""
        cls = type(self)
        cls.transfers += 1
        port = 5000 + cls.transfers
        log = f"/tmp/rx{port}.log"
        self.run_in(receiver, f"netxfer recv {port} --timeout {TRANSFER_TIMEOUT} > {log} 2>&1 &")
        # netxfer send retries its connect until the receiver listens.
        out = self.run_in(sender, f"netxfer send {path.address[receiver]} {port} {TRANSFER} "
                                  f"--seed {port} --timeout {TRANSFER_TIMEOUT}",
                          timeout=TRANSFER_TIMEOUT + 30)
        sent = transfer_line(out, "sent")
        self.assertIsNotNone(sent, out)
        received_text = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            received_text = self.guests[receiver].execute(f"cat {log}").output
            if "NETXFER received" in received_text or "netxfer:" in received_text:
                break
            time.sleep(0.2)
        received = transfer_line(received_text, "received")
        self.assertIsNotNone(received, f"{sender} -> {receiver}: {received_text}")
        self.assertEqual(sent[0], TRANSFER)
        self.assertEqual(received[:2], sent[:2], f"{sender} -> {receiver}: bytes and SHA-256")

    def check_path(self, path):
        """Traffic both ways over `path`, and its ports negotiated its ring kind. Returns the
        seconds until the first ping came through."""
        resumed = self.wait_for_ping(path)
        for g, other in (("g1", "g2"), ("g2", "g1")):
            out = self.run_in(g, f"ping -c 5 -A -W 3 {path.address[other]}")
            self.assertIn("5 packets received", out, f"{g} -> {other}")
        self.transfer("g1", "g2", path)
        self.transfer("g2", "g1", path)
        for g in GUESTS:
            agreed = self.daemon(path).features(path.port[g])
            self.assertIsNotNone(agreed, f"{path.port[g]} never negotiated")
            self.assertEqual("ring_packed" in agreed, path.packed, f"{path.port[g]}: {agreed}")
        return resumed

    def check_paths(self, paths, label, not_rebooted=GUESTS, notes=None):
        """check_path on every path in `paths` (all of them, whichever fails), then that no guest
        in `not_rebooted` rebooted and that no ringlane gave up on a ring; one failure naming
        every path that failed, with `notes[path.name]` (what QEMU handed over, say)."""
        failed = []
        for path in paths:
            t0 = time.monotonic()
            try:
                resumed = self.check_path(path)
            except AssertionError as e:
                failed.append(f"{label}: path {path.name} failed"
                              f"{(notes or {}).get(path.name, '')}\n{e}")
                print(f"{label}: path {path.name} FAILED", flush=True)
                continue
            print(f"{label}: path {path.name} answered after {resumed:.1f} s; pings and "
                  f"{TRANSFER >> 20} MiB each way in {time.monotonic() - t0:.1f} s", flush=True)
        for g in not_rebooted:
            self.assert_not_rebooted(g)
        for d in self.daemons.values():
            self.assertEqual(d.trouble(), [], f"ringlane {d.name} gave up on a ring")
        if failed:
            ok = [p.name for p in paths if not any(f"path {p.name} failed" in f for f in failed)]
            self.fail("\n\n".join(failed) + f"\n\npaths that worked: {ok}" + self.logs_tail())

    def restart_ringlane(self, mode, sig, label):
        """Ends ringlane `mode` with `sig` and starts it again on the same sockets while the
        guests run; then its paths must carry traffic again."""
        d = self.daemons[mode]
        if sig == signal.SIGKILL:
            d.rl.process.send_signal(signal.SIGKILL)
            d.rl.kill()
        else:
            d.stop(sig)
        self.assertEqual(d.trouble(), [], f"{label}: ringlane {d.name} gave up on a ring")
        # The guests' links go down before ringlane is back.
        time.sleep(1)
        d.start()
        for path in d.paths:
            for g in GUESTS:
                self.wait_rings_set(d, path.port[g], 0, 0)
        notes = {p.name: "\nQEMU's SET_VRING_BASE after the restart: " + "; ".join(
            d.describe_bases(p.port[g], p.packed) for g in GUESTS) for p in d.paths}
        for path in d.paths:
            print(f"{label}: {notes[path.name].strip()}", flush=True)
        self.check_paths(d.paths, label, notes=notes)

    def wait_rings_set(self, d, port, negotiated, bases):
        """Waits until `port` of ringlane `d` negotiated features more than `negotiated` times and
        was sent both rings' positions (SET_VRING_BASE) more than `bases` times."""
        peers.wait_for(lambda: (d.negotiations(port) > negotiated
                                and len(d.messages(port, "SET_VRING_BASE")) >= bases + 2)
                       or not d.rl.process.alive(), RESUME_TIMEOUT,
                       f"{port} to negotiate and set its rings up")
        self.assertTrue(d.rl.process.alive(), d.log()[-3000:])

    # --- the cases ------------------------------------------------------------------------

    def test_0_traffic_after_boot(self):
        """Every path carries traffic before anything is restarted."""
        self.check_paths(self.paths, "after boot")

    def test_1_driver_reset(self):
        """Both guests unbind and rebind virtio_net on their server-split and server-packed NICs:
        a device reset and a new negotiation, both seen by ringlane; traffic resumes."""
        d = self.daemons["server"]
        paths = d.paths
        ports = [p.port[g] for p in paths for g in GUESTS]
        negotiated = {port: d.negotiations(port) for port in ports}
        bases = {port: len(d.messages(port, "SET_VRING_BASE")) for port in ports}
        stopped = {port: len(d.messages(port, "GET_VRING_BASE")) for port in ports}
        for g in GUESTS:
            for path in paths:
                mac = path.mac[g]
                out = self.run_in(g, f"""
drv=/sys/bus/virtio/drivers/virtio_net
dev=
for n in /sys/class/net/*; do
  [ "$(cat $n/address)" = "{mac}" ] && dev=$(basename $(readlink -f $n/device))
done
[ -n "$dev" ] || {{ echo "no NIC with {mac}"; exit 1; }}
old=$(cat /sys/bus/virtio/devices/$dev/net/*/ifindex)
echo $dev > $drv/unbind || exit 1
[ -e /sys/bus/virtio/devices/$dev/net ] && {{ echo "still bound"; exit 1; }}
echo $dev > $drv/bind || exit 1
name=$(ls /sys/bus/virtio/devices/$dev/net)
new=$(cat /sys/bus/virtio/devices/$dev/net/$name/ifindex)
echo 1 > /proc/sys/net/ipv6/conf/$name/disable_ipv6
ip link set dev $name up && ip addr add {path.address[g]}/24 dev $name || exit 1
echo "REBOUND dev=$dev name=$name ifindex=$old->$new"
""")
                m = re.search(r"REBOUND dev=(\S+) name=(\S+) ifindex=(\d+)->(\d+)", out)
                self.assertIsNotNone(m, out)
                # A new network interface: the driver probed the device afresh.
                self.assertNotEqual(m.group(3), m.group(4), out)
        for port in ports:
            self.wait_rings_set(d, port, negotiated[port], bases[port])
            # QEMU stopped the rings when the driver reset the device.
            self.assertGreater(len(d.messages(port, "GET_VRING_BASE")), stopped[port],
                               f"{port}: no ring stopped")
        print("driver reset: QEMU's SET_VRING_BASE after it: " + "; ".join(
            d.describe_bases(p.port[g], p.packed) for p in paths for g in GUESTS), flush=True)
        self.check_paths(paths, "driver reset")

    def test_2_qemu_restarted(self):
        """g2's QEMU killed and booted again while both ringlanes run: "rs" accepts it, "rc"
        reconnects to it, and it reaches the untouched g1 on every path."""
        cls = type(self)
        negotiated = {p.port["g2"]: self.daemon(p).negotiations(p.port["g2"]) for p in self.paths}
        bases = {p.port["g2"]: len(self.daemon(p).messages(p.port["g2"], "SET_VRING_BASE"))
                 for p in self.paths}
        self.guests["g2"].process.kill()
        self.guests["g2"]._end("killed by the test (QEMU restarted)")
        cls.boot("g2")
        cls.mark("g2")   # also: the new guest has no token, it did boot afresh
        for p in self.paths:
            port = p.port["g2"]
            self.wait_rings_set(self.daemon(p), port, negotiated[port], bases[port])
        self.check_paths(self.paths, "QEMU restarted")

    def restart_twice(self, mode):
        """SIGKILL, then SIGTERM: both rounds run, and the failures of both are reported."""
        name = self.daemons[mode].name
        failures = []
        for sig in (signal.SIGKILL, signal.SIGTERM):
            try:
                self.restart_ringlane(mode, sig, f"{name} {sig.name}")
            except AssertionError as e:
                failures.append(str(e))
        if failures:
            self.fail("\n\n".join(failures))

    def test_3_ringlane_server_restarted(self):
        """ringlane in server mode killed, then stopped cleanly, under the running guests; QEMU
        reconnects (reconnect=1) and traffic resumes without a guest reboot."""
        self.restart_twice("server")

    def test_4_ringlane_client_restarted(self):
        """ringlane in client mode killed, then stopped cleanly; it connects to QEMU's sockets
        again and traffic resumes without a guest reboot."""
        self.restart_twice("client")

    def test_5_clean_stop(self):
        """Both ringlanes stop cleanly at the end (SIGINT), with no ring errors."""
        for d in self.daemons.values():
            self.assertTrue(d.rl.process.alive(), d.log()[-3000:])
            d.stop(signal.SIGINT)
            self.assertEqual(d.trouble(), [], f"ringlane {d.name} gave up on a ring")
        print(f"the whole run took {time.monotonic() - type(self).started:.1f} s", flush=True)


if __name__ == "__main__":
    report.main("integration_guest_reconnect")
