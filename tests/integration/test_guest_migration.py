"""Live migration of a Linux guest on ringlane (issue 16, acceptance case 7): guest A migrates
(QEMU `migrate` over QMP) to a second QEMU on this machine, attached to another ringlane port,
while TCP transfers run between it and guest B and B pings it; nothing breaks, and the switch
finds A on its new port at once.

ringlane runs in l2 mode with its API socket, one worker on core 1 with `--idle sleep:100` (the
worker leaves the cores to the TCG guests when idle) and `--log-level debug` (every vhost-user
message logged), and three vhost-user ports (server sockets): a_src, a_dst and b. Guest B (QEMU
TCG, tests/lib/linux_guest.py) is on b; guest A on a_src, with a QMP socket. The destination is
A's own QEMU command line (LinuxGuest.destination(): same machine, memory, kernel and initramfs,
the NIC with the same MAC on a_dst) with `-incoming unix:...`; after the migration the test
drives A through the destination's command channel (LinuxGuest.take_over()).

The cases, in order:
a. Under traffic: A sends B 32 MiB by TCP and B sends A 32 MiB (netxfer, SHA-256 at both ends;
   B to A puts ringlane's writes into A's memory during the migration, the pages the dirty log
   must name), and B pings A every 50 ms. Once 2 MiB went each way, A migrates from a_src to
   a_dst. Checked: query-migrate ends "completed" while both transfers still run (port b's byte
   counts); while it ran, ringlane's a_src had dirty logging on (`dirty_log_on` in GET
   /ports/a_src's counters, polled with query-migrate) and logged pages (`dirty_pages_logged`
   > 0); the destination runs, and A's MAC is on a_dst in ringlane's FDB (GET /fdb) within 10 s
   (how soon is printed); the source QEMU, told to `quit`, exits 0 and a_src disconnects; both
   transfers end with the same byte count and SHA-256 at both ends (no TCP stream broken, no
   page reaching the destination stale); the pings lost form at most one gap, and none was lost
   before the stop-and-copy: B stamps every reply with its uptime, mapped to the host's clock,
   and the reply after the gap came after the source's rings stopped (a_src's GET_VRING_BASE in
   ringlane's log), give or take a second of clock mapping and guest scheduling (the gap's place
   against the stop and the destination's start, a_dst's SET_VRING_KICK, is printed); A was not
   rebooted (a token in its /tmp, its uptime went on).
b. The announce alone: with no traffic at all, A migrates back to a third QEMU on a_src. The
   guest negotiated GUEST_ANNOUNCE on a_dst, and A's MAC moves to a_src in the FDB without A
   sending anything of its own (QEMU has the guest announce itself after the migration: the
   guest's gratuitous ARP). The same checks of the migration as in a, then a ping each way.
c. The dirty log switched on and off: QEMU starts a migration (to `exec:cat > /dev/null`) and
   cancels it, 10 times, while B pings A every 2 ms. ringlane gives A every frame it took from B
   and B every frame it took from A (its port counters, exact with no other traffic: checked
   first in 2 s without switches), every echo request B's kernel sent reached A's and every
   reply came back (the guests' ICMP counters), QEMU sent SET_LOG_BASE each time, and
   `dirty_log_on` is 0 afterwards.
d. Both guests end cleanly, ringlane stops cleanly and reports no ring errors on any port, and
   never logged that it gave up on a ring.

The figures (QMP query-migrate's total time, downtime, setup time, RAM transferred and dirty
sync count; ringlane's dirty_pages_logged; the ping gap and where it fell; how soon the FDB
moved; the vhost-user messages of both ports during the migration) are printed with each
migration ("MIGRATION ..." lines), case c's counts on a "LOGSWITCH" line.

Processes are ended by PID (tests/lib/peers.py, tests/lib/linux_guest.py), also on failure.

Environment: RINGLANE_BIN, RINGLANE_NETXFER (meson sets both); RL_ECHO=1 echoes the guests'
consoles."""
import dataclasses
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import daemon_api  # noqa: E402
from guest_case import transfer_line  # noqa: E402
import linux_guest  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

NETXFER = os.environ.get("RINGLANE_NETXFER",
                         os.path.join(peers.ROOT, "build", "tests", "guest_tools", "netxfer"))
A_IP, B_IP = "10.17.0.1", "10.17.0.2"
A_MAC, B_MAC = "52:54:00:17:00:0a", "52:54:00:17:00:0b"
TRANSFER = 32 << 20           # each way; long enough to outlast the migration
PROGRESS = 2 << 20            # bytes each way before the migration starts
PING_INTERVAL = 0.05
SWITCH_PING_INTERVAL = 0.002  # case c: dense, to catch a switch that loses frames for a moment
SWITCHES = 10
BOOT_TIMEOUT = 180            # both guests boot at once under TCG on a busy machine
TRANSFER_TIMEOUT = 120        # netxfer's bound on every wait on its socket
MIGRATE_TIMEOUT = 90
FDB_TIMEOUT = 10
RINGLANE_EXTRA = ["--idle", "sleep:100", "--log-level", "debug"]


def ping_replies(output):
    """{seq: the guest's uptime when the reply came} from the ping log the test's wrapper
    writes (each line of busybox ping's output after the guest's /proc/uptime), and the
    number of requests ping says it sent (its statistics, printed at SIGINT)."""
    replies = {}
    for m in re.finditer(r"^([\d.]+) \d+ bytes from [\d.]+: seq=(\d+) ", output, re.M):
        replies.setdefault(int(m.group(2)), float(m.group(1)))
    m = re.search(r"(\d+) packets transmitted, (\d+) packets received", output)
    if m is None:
        raise AssertionError(f"no ping statistics in:\n{output[-2000:]}")
    return replies, int(m.group(1))


def gaps_of(replies, sent):
    """The runs of requests without a reply: [(first seq, count, uptime of the reply before,
    uptime of the reply after)]. The last request, in flight when ping was stopped, is not
    counted as lost."""
    gaps = []
    seq = 0
    while seq < sent - 1:
        if seq in replies:
            seq += 1
            continue
        first = seq
        while seq < sent - 1 and seq not in replies:
            seq += 1
        before = max((replies[s] for s in replies if s < first), default=None)
        after = replies.get(seq)
        gaps.append((first, seq - first, before, after))
    return gaps


class GuestMigration(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root")
        if not os.access(peers.RINGLANE, os.X_OK):
            raise unittest.SkipTest(f"{peers.RINGLANE} is not built")
        if not os.access(NETXFER, os.X_OK):
            raise unittest.SkipTest(f"{NETXFER} is not built")
        if reason := linux_guest.unavailable():
            raise unittest.SkipTest(reason)
        cls.started = time.monotonic()
        cls.work = tempfile.mkdtemp(prefix="rl-guest-migration-")
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        cls.sockets = {name: os.path.join(cls.work, f"{name}.sock")
                       for name in ("a_src", "a_dst", "b")}
        api = os.path.join(cls.work, "api.sock")
        cls.rl = daemon_api.start_daemon(
            api, ports=[{"name": n, "path": p} for n, p in cls.sockets.items()], mode="l2",
            cores="1", extra=RINGLANE_EXTRA, workdir=cls.work)
        cls.addClassCleanup(cls.rl.kill)
        cls.api = daemon_api.Client(api)
        echo = os.environ.get("RL_ECHO")
        cls.guests = {}
        for name, port, ip, mac in (("b", "b", B_IP, B_MAC), ("a", "a_src", A_IP, A_MAC)):
            net = linux_guest.Net(socket=cls.sockets[port], mac=mac, ip=f"{ip}/24")
            guest = linux_guest.LinuxGuest(commands=True, nets=[net], cpus=1, memory_mib=256,
                                           extra_binaries=[NETXFER], timeout=900,
                                           qmp=name == "a", echo=f"[{name}] " if echo else None)
            guest.start()
            cls.addClassCleanup(guest._end, "the test ended")
            cls.guests[name] = guest
        cls.token = secrets.token_hex(8)
        for name, guest in cls.guests.items():
            r = guest.execute(f"echo {cls.token} > /tmp/boot-token; cat /proc/uptime",
                              timeout=BOOT_TIMEOUT)
            if r.status != 0:
                raise AssertionError(f"guest {name}: {r.output}")
            if name == "a":
                cls.uptime = float(r.output.split()[0])
        cls.port_of_a = "a_src"
        print(f"both guests up after {time.monotonic() - cls.started:.1f} s", flush=True)

    # --- helpers --------------------------------------------------------------------------

    def log(self):
        return self.rl.process.output()

    def log_tail(self, lines=40):
        return "\n--- ringlane's log ---\n" + "\n".join(self.log().splitlines()[-lines:])

    def execute(self, name, command, timeout=60):
        """guest `name`'s execute(); a GuestError (the guest ended, or no answer in time) fails
        the test with QEMU's exit status and ringlane's log added."""
        guest = self.guests[name]
        try:
            return guest.execute(command, timeout=timeout)
        except linux_guest.GuestError as e:
            events = guest._qmp_client.events if guest._qmp_client is not None else []
            self.fail(f"guest {name}: {e}\nits QEMU's exit status: "
                      f"{guest.process.proc.returncode}, its last QMP events: {events[-5:]}"
                      f"{self.log_tail()}")

    def run_in(self, name, command, timeout=60):
        r = self.execute(name, command, timeout=timeout)
        self.assertEqual(r.status, 0, f"guest {name}: {command!r}:\n{r.output}{self.log_tail()}")
        return r.output

    def fdb_port(self, mac):
        """The port ringlane's FDB has `mac` on, or None."""
        for entry in self.api.fdb():
            if entry.get("mac", "").lower() == mac:
                return entry.get("port")
        return None

    def port_counters(self, name):
        port = self.api.port(name)
        return port.get("counters", {}), port

    def wait_file_line(self, name, path, needle, timeout):
        """The contents of `path` in guest `name` once it holds `needle` (or "netxfer:", its
        error prefix); the last contents at the timeout."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.execute(name, f"cat {path}").output
            if needle in text or "netxfer:" in text:
                break
            time.sleep(0.5)
        return text

    def assert_not_rebooted(self):
        out = self.run_in("a", "cat /tmp/boot-token; cat /proc/uptime")
        token, uptime = out.split()[0], float(out.split()[1])
        self.assertEqual(token, self.token, "guest A was rebooted")
        self.assertGreater(uptime, type(self).uptime, "guest A's uptime went back")
        type(self).uptime = uptime

    def icmp_counters(self, name):
        """The echo counters of guest `name`'s /proc/net/snmp."""
        lines = [line.split() for line in self.execute(name, "grep ^Icmp: /proc/net/snmp")
                 .output.splitlines()]
        if len(lines) < 2:
            return {}
        values = dict(zip(lines[0][1:], lines[1][1:]))
        return {k: int(values[k]) for k in ("InEchos", "InEchoReps", "OutEchos", "OutEchoReps",
                                            "InErrors", "OutErrors") if k in values}

    def guest_clock(self, name):
        """(offset, error): what to add to guest `name`'s /proc/uptime to get the host's
        time.time(), give or take `error` seconds."""
        before = time.time()
        out = self.execute(name, "cat /proc/uptime").output
        after = time.time()
        return (before + after) / 2 - float(out.split()[0]), (after - before) / 2

    def messages(self, ports, since):
        """(time, port, request, first) of every vhost-user message ringlane logged for one of
        `ports` from the time `since` (time.time()) on."""
        found = []
        for m in re.finditer(r"^([\d.]+) ringlane debug: (\S+): ([A-Z_]+) size \d+ fds \d+ "
                             r"first (0x[0-9a-f]+)$", self.log(), re.M):
            if float(m.group(1)) >= since and m.group(2) in ports:
                found.append((float(m.group(1)), m.group(2), m.group(3), m.group(4)))
        return found

    def migrate(self, to_port, label):
        """Migrates A to a new QEMU whose NIC is on `to_port`, and lets the new one carry on.
        Returns a dict: query-migrate's last answer ("status"), the counters of A's old port at
        every poll while it ran ("seen"), the seconds from "completed" until the FDB had A on
        `to_port` ("learned"), the times (time.time()) of the migrate command ("started") and of
        the poll that saw it completed ("completed"), and the vhost-user messages of both
        ports meanwhile ("messages")."""
        cls = type(self)
        source = cls.guests["a"]
        from_port = cls.port_of_a
        net = dataclasses.replace(source.nets[0], socket=cls.sockets[to_port])
        dest = source.destination(nets=[net], echo=f"[a@{to_port}] " if os.environ.get("RL_ECHO")
                                  else None)
        dest.start()   # returns once QEMU listens for the stream (its NIC set up on to_port)
        cls.addClassCleanup(dest._end, "the test ended")
        if not dest.process.alive() or not self.api.port(to_port)["connected"]:
            result = dest._end("QEMU ended")
            self.fail(f"the destination QEMU did not start (status "
                      f"{dest.process.proc.returncode}): {result.qemu_messages}{self.log_tail()}")
        q = source.qmp_client()
        q.command("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        started = time.time()
        q.command("migrate", uri=dest.incoming_uri())
        seen = []
        while True:
            status = q.command("query-migrate")
            seen.append((time.time() - started, status.get("status"),
                         self.port_counters(from_port)[0]))
            if status.get("status") in ("completed", "failed", "cancelled"):
                break
            if time.time() - started > MIGRATE_TIMEOUT:
                q.command("migrate_cancel")
                self.fail(f"{label}: no end to the migration after {MIGRATE_TIMEOUT} s: "
                          f"{status}{self.log_tail()}")
            time.sleep(0.05)
        completed = time.time()
        if status.get("status") != "completed":
            said = source._end("the migration failed").qemu_messages
            dest_said = dest._end("the migration failed").qemu_messages
            self.fail(f"{label}: {status}\nthe source QEMU said:\n{said}\nthe destination "
                      f"QEMU (status {dest.process.proc.returncode}) said:\n{dest_said}"
                      f"{self.log_tail()}")
        # The destination runs once it loaded the last of the state (about when the source
        # says "completed"); the FDB moves when the guest announced itself on to_port.
        learned = running = None
        dest_qmp = dest.qmp_client()
        while time.time() - completed < FDB_TIMEOUT and (learned is None or running is None):
            if running is None and dest_qmp.command("query-status")["status"] == "running":
                running = time.time() - completed
            if learned is None and self.fdb_port(A_MAC) == to_port:
                learned = time.time() - completed
            time.sleep(0.01)
        self.assertIsNotNone(running, f"{label}: the destination is not running "
                                      f"{FDB_TIMEOUT} s after the migration: "
                                      f"{dest_qmp.command('query-status')}")
        source_result = dest.take_over(source, f"migrated to {to_port}")
        cls.guests["a"] = dest
        cls.port_of_a = to_port
        # The source QEMU ended by itself at `quit`, and its port lost its frontend.
        self.assertEqual(source.process.proc.returncode, 0, source_result.qemu_messages)
        peers.wait_for(lambda: not self.api.port(from_port)["connected"], 10,
                       f"{from_port} to disconnect after the source QEMU quit")
        self.assertIsNotNone(learned, f"{label}: A's MAC not on {to_port} {FDB_TIMEOUT} s after "
                                      f"the migration: FDB {self.api.fdb()}{self.log_tail()}")
        self.assertTrue([s for s in seen if s[2].get("dirty_log_on")],
                        f"{label}: {from_port} never had dirty logging on while QEMU migrated: "
                        f"{seen}")
        messages = self.messages((from_port, to_port), started)
        timeline = ", ".join(f"{t - started:+.3f} {p} {r}" for t, p, r, _ in messages)
        ram = status.get("ram", {})
        print(f"MIGRATION {label}: {from_port} -> {to_port}: total-time {status.get('total-time')} "
              f"ms, downtime {status.get('downtime')} ms, setup-time {status.get('setup-time')} "
              f"ms, ram transferred {ram.get('transferred')} B ({ram.get('normal')} normal "
              f"pages, {ram.get('duplicate')} zero), dirty-sync-count "
              f"{ram.get('dirty-sync-count')}; ringlane {from_port} counters at the end "
              f"{seen[-1][2]}; 'completed' seen {completed - started:.3f} s after migrate, FDB "
              f"moved {learned * 1000:.0f} ms after that\n"
              f"MIGRATION {label}: vhost-user messages (s from migrate): {timeline}", flush=True)
        if source_result.qemu_messages.strip():
            print(f"source QEMU said: {source_result.qemu_messages.strip()}", flush=True)
        return {"status": status, "seen": seen, "learned": learned, "started": started,
                "completed": completed, "messages": messages}

    # --- the cases ------------------------------------------------------------------------

    def test_a_under_traffic(self):
        """A migrates from a_src to a_dst while TCP runs both ways and B pings it."""
        self.run_in("a", f"ping -c 3 -W 5 {B_IP}")
        self.run_in("b", f"ping -c 3 -W 5 {A_IP}")
        self.assertEqual(self.fdb_port(A_MAC), "a_src", self.api.fdb())
        self.assertEqual(self.fdb_port(B_MAC), "b", self.api.fdb())
        timeout = f"--timeout {TRANSFER_TIMEOUT}"
        self.run_in("b", f"netxfer recv 5001 {timeout} > /tmp/rx.log 2>&1 &")
        self.run_in("a", f"netxfer recv 5002 {timeout} > /tmp/rx.log 2>&1 &")
        # Every line of ping's output (busybox flushes each) after B's uptime when it came; awk
        # reads its input a buffer at a time (a shell's `read` takes a pipe byte by byte, too
        # slow for a busy TCG guest: its stamps fell seconds behind).
        self.run_in("b", f"ping -i {PING_INTERVAL} {A_IP} 2>&1 | awk '{{ getline up < "
                         f"\"/proc/uptime\"; close(\"/proc/uptime\"); split(up, u, \" \"); "
                         f"print u[1], $0; fflush() }}' > /tmp/ping.log &")
        self.run_in("a", f"netxfer send {B_IP} 5001 {TRANSFER} --seed 1 {timeout} "
                         f"> /tmp/tx.log 2>&1 &")
        self.run_in("b", f"netxfer send {A_IP} 5002 {TRANSFER} --seed 2 {timeout} "
                         f"> /tmp/tx.log 2>&1 &")

        def moved(name):
            queues = self.api.port(name)["queues"]
            return sum(q["rx_bytes"] for q in queues), sum(q["tx_bytes"] for q in queues)

        peers.wait_for(lambda: min(moved("a_src")) > PROGRESS, 60,
                       f"{PROGRESS >> 20} MiB each way before the migration")
        at_start = moved("a_src")
        drops_before = self.api.port("a_src")["queues"]
        m = self.migrate("a_dst", "a (under traffic)")
        at_end = moved("b")
        print(f"a: bytes through a_src (rx, tx) at the migration's start {at_start}, through b at "
              f"its end {at_end}", flush=True)
        # Both transfers still ran when the migration ended.
        self.assertLess(max(at_end), TRANSFER, "a transfer ended before the migration did: "
                                               "make TRANSFER larger")
        seen = m["seen"]
        logged = max(s[2].get("dirty_pages_logged", 0) for s in seen)
        self.assertGreater(logged, 0, f"ringlane logged no page on a_src: {seen}")
        counters, port = self.port_counters("a_src")
        print(f"a: a_src after the source QEMU quit: connected {port['connected']}, counters "
              f"{counters}; queue drops before the migration {[q['drops'] for q in drops_before]}"
              f", after {[q['drops'] for q in port['queues']]}", flush=True)
        # Both transfers end whole.
        for sender, receiver in (("a", "b"), ("b", "a")):
            sent_text = self.wait_file_line(sender, "/tmp/tx.log", "NETXFER sent",
                                            TRANSFER_TIMEOUT)
            received_text = self.wait_file_line(receiver, "/tmp/rx.log", "NETXFER received", 30)
            sent = transfer_line(sent_text, "sent")
            received = transfer_line(received_text, "received")
            self.assertIsNotNone(sent, f"{sender} -> {receiver}: {sent_text}{self.log_tail()}")
            self.assertIsNotNone(received, f"{sender} -> {receiver}: {received_text}")
            self.assertEqual(sent[0], TRANSFER)
            self.assertEqual(received[:2], sent[:2], f"{sender} -> {receiver}: bytes and SHA-256")
        # The pings: B stops its ping (SIGINT: busybox prints its statistics).
        clock, error = self.guest_clock("b")
        out = self.run_in("b", "kill -INT $(pidof ping); sleep 1; cat /tmp/ping.log")
        replies, sent = ping_replies(out)
        gaps = gaps_of(replies, sent)
        icmp = {n: self.icmp_counters(n) for n in ("a", "b")}
        self.assertGreater(len(replies), 0, out[-2000:])
        # Where the stop-and-copy was, in ringlane's terms: from the source's rings stopped
        # (GET_VRING_BASE on a_src) to the destination's started (its last SET_VRING_KICK).
        stopped = min((t for t, p, r, _ in m["messages"] if p == "a_src" and
                       r == "GET_VRING_BASE"), default=None)
        resumed = max((t for t, p, r, _ in m["messages"] if p == "a_dst" and
                       r == "SET_VRING_KICK"), default=None)
        self.assertIsNotNone(stopped, f"QEMU never stopped a_src's rings: {m['messages']}")
        self.assertIsNotNone(resumed, f"QEMU never started a_dst's rings: {m['messages']}")
        t0 = m["started"]
        described = []
        for first, count, before, after in gaps:
            begin = before + clock - t0 if before is not None else float("nan")
            end = after + clock - t0 if after is not None else float("nan")
            described.append(f"seq {first}-{first + count - 1} ({count} lost) between replies at "
                             f"{begin:+.3f} and {end:+.3f} s")
        lost = sum(g[1] for g in gaps)
        print(f"MIGRATION a: ping B -> A every {PING_INTERVAL * 1000:.0f} ms: {sent} sent, "
              f"{lost} lost in {len(gaps)} gap(s): {'; '.join(described) or 'none'}; the "
              f"stop-and-copy (s from migrate): a_src stopped {stopped - t0:+.3f}, a_dst started "
              f"{resumed - t0:+.3f}, 'completed' seen {m['completed'] - t0:+.3f} (B's clock "
              f"mapped to the host's within {error * 1000:.0f} ms); ICMP counters A {icmp['a']}, "
              f"B {icmp['b']}", flush=True)
        for first, count, _, _ in gaps:
            around = [f"{q}@{replies[q] + clock - t0:+.3f}"
                      for q in range(first - 3, first + count + 3) if q in replies]
            print(f"a: replies around the gap at seq {first}: {' '.join(around)}", flush=True)
        self.assertLessEqual(len(gaps), 1, f"pings lost apart from one gap: {described}")
        # And no ping was lost before the stop-and-copy (while QEMU turned the dirty log on and
        # copied memory): the reply after the gap came after the source's rings stopped, give
        # or take the clocks' mapping and a second. B stamps a reply when it reads it, late
        # when the busy guest runs it late: a stamp may be late, never early.
        margin = error + 1.0
        for first, count, before, after in gaps:
            self.assertTrue(after is not None and after + clock >= stopped - margin,
                            f"pings lost before the stop-and-copy: {described}")
        self.assert_not_rebooted()
        self.assertEqual(self.trouble(), [], self.log_tail())

    def trouble(self):
        return [line for line in self.log().splitlines() if any(b in line for b in peers.RING_TROUBLE)]

    def test_b_announce_alone(self):
        """A migrates back to a_src with no traffic: the guest's announce alone moves its MAC."""
        if type(self).port_of_a != "a_dst":
            self.skipTest("case a did not leave A on a_dst")
        features = self.api.port("a_dst").get("features", [])
        self.assertIn("guest_announce", features, "the guest did not negotiate GUEST_ANNOUNCE")
        self.assertEqual(self.fdb_port(A_MAC), "a_dst", self.api.fdb())
        self.migrate("a_src", "b (announce alone)")
        self.run_in("b", f"ping -c 3 -W 5 {A_IP}")
        self.run_in("a", f"ping -c 3 -W 5 {B_IP}")
        self.assert_not_rebooted()
        self.assertEqual(self.trouble(), [], self.log_tail())

    def test_c_log_switch(self):
        """QEMU turns the dirty log on and off (a migration started and cancelled) while B pings
        A every 2 ms: ringlane passes on every frame, as it does without the switches."""
        cls = type(self)
        port = cls.port_of_a
        q = self.guests["a"].qmp_client()
        # Slow enough that no migration completes in the 0.2 s it runs.
        q.command("migrate-set-parameters", **{"max-bandwidth": 1 << 20})
        since = time.time()

        def frames():
            def total(name, key):
                return sum(x[key] for x in self.api.port(name)["queues"])
            # from B, to A; from A, to B
            return (total("b", "rx_packets"), total(port, "tx_packets"),
                    total(port, "rx_packets"), total("b", "tx_packets"))

        def period(cycles, seconds):
            """(pings sent, pings lost, frames ringlane took from B, frames it gave A, frames it
            took from A, frames it gave B, ping's statistics line, the guests' echo counters
            meanwhile: A's InEchos and OutEchoReps, B's OutEchos and InEchoReps)."""
            icmp_before = self.icmp_counters("a"), self.icmp_counters("b")
            before = frames()
            self.run_in("b", f"ping -i {SWITCH_PING_INTERVAL} {A_IP} > /tmp/flood.log 2>&1 &")
            time.sleep(0.5)
            for _ in range(cycles):
                q.command("migrate", uri="exec:cat > /dev/null")
                time.sleep(0.2)
                q.command("migrate_cancel")
                peers.wait_for(lambda: q.command("query-migrate").get("status") in
                               ("cancelled", "failed"), 10, "the migration to be cancelled")
                time.sleep(0.2)
            time.sleep(seconds)
            out = self.run_in("b", "kill -INT $(pidof ping); sleep 0.5; cat /tmp/flood.log")
            # The last request may still be in flight when ping stops, and its reply then
            # comes after the counts: wait for it.
            time.sleep(0.5)
            after = frames()
            m = re.search(r"(\d+) packets transmitted, (\d+) packets received.*", out)
            self.assertIsNotNone(m, out[-2000:])
            sent, received = int(m.group(1)), int(m.group(2))
            icmp_after = self.icmp_counters("a"), self.icmp_counters("b")
            echoes = tuple(icmp_after[g][k] - icmp_before[g][k] for g, k in
                           ((0, "InEchos"), (0, "OutEchoReps"), (1, "OutEchos"), (1, "InEchoReps")))
            return (sent, sent - received, *(x - y for x, y in zip(after, before)), m.group(0),
                    echoes)

        quiet = period(0, 2)
        switching = period(SWITCHES, 0)
        counters, _ = self.port_counters(port)
        switched = [r for _, p, r, _ in self.messages((port,), since) if r == "SET_LOG_BASE"]
        print(f"LOGSWITCH: B pings A every {SWITCH_PING_INTERVAL * 1000:.0f} ms on {port}: "
              f"without switches {quiet[0]} sent, {quiet[1]} lost, frames from B {quiet[2]}, to A "
              f"{quiet[3]}, from A {quiet[4]}, to B {quiet[5]}; with {SWITCHES} dirty-log "
              f"switches on and off {switching[0]} sent, {switching[1]} lost, frames from B "
              f"{switching[2]}, to A {switching[3]}, from A {switching[4]}, to B {switching[5]} "
              f"({switching[2] - switching[3]} lost in ringlane on the way to A, "
              f"{switching[4] - switching[5]} on the way from A; ping said '{switching[6]}'; echo "
              f"counters A in/out {switching[7][0]}/{switching[7][1]}, B out/in "
              f"{switching[7][2]}/{switching[7][3]}); {len(switched)} "
              f"SET_LOG_BASE; {port} counters after {counters}", flush=True)
        self.assertEqual(len(switched), SWITCHES, "QEMU did not switch the dirty log each time")
        self.assertEqual(counters.get("dirty_log_on"), 0, "the dirty log stayed on")
        # Without switches every frame from B reaches A and back (the counts are exact: there
        # is no other traffic; ringlane's port counters, and the guests' own echo counters).
        # busybox ping's own count is not: at 2 ms a busy guest's ping misses a reply its
        # kernel took now and then.
        self.assertEqual((quiet[2], quiet[4]), (quiet[3], quiet[5]),
                         f"frames lost with no switch at all: {quiet}")
        self.assertEqual((quiet[7][0], quiet[7][3]), (quiet[7][2], quiet[7][1]), quiet)
        self.assertEqual(switching[2], switching[3],
                         f"ringlane lost {switching[2] - switching[3]} of {switching[2]} frames "
                         f"for A while QEMU turned the dirty log on and off {SWITCHES} times "
                         f"(the frames the switch had for {port} while its queues were stopped)"
                         f"{self.log_tail()}")
        self.assertEqual(switching[4], switching[5], f"frames from A lost: {switching}")
        self.assertEqual((switching[7][0], switching[7][3]), (switching[7][2], switching[7][1]),
                         switching)

    def test_d_clean_stop(self):
        """ringlane stops cleanly and reports no ring errors."""
        for name, guest in self.guests.items():
            if guest._result is not None:
                self.fail(f"guest {name} ended before: {guest._result.reason}")
            result = guest.finish(timeout=60)
            self.assertEqual(result.status, 0, f"guest {name}: {result.reason}")
        summary = self.rl.stop()
        for p in summary["ports"]:
            self.assertEqual(sum(q["ring_errors"] for q in p["queues"]), 0, p)
            print(f"c: {p['name']}: totals {p['totals']} counters {p.get('counters')} vhost_user "
                  f"{p.get('vhost_user')}", flush=True)
        self.assertEqual(self.trouble(), [], self.log()[-3000:])
        print(f"the whole run took {time.monotonic() - type(self).started:.1f} s", flush=True)


if __name__ == "__main__":
    report.main("integration_guest_migration")
