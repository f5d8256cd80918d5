"""Disks added and removed at runtime through the daemon's API (`ringlane --api-sock`, issue 15),
served to a real Linux guest (tests/lib/linux_guest.py: QEMU TCG, virtio_blk on
vhost-user-blk-pci). The daemon starts with no ports and no disks, on two workers where the
machine has two cores (`--idle sleep:100`, so that the workers leave the cores to QEMU's TCG
threads while nothing is to be done).

- test_disk_added_at_runtime_serves_a_guest: POST /disks a 64 MiB image with 2 queues; the guest
  writes a random pattern over 16 MiB of /dev/vda with O_DIRECT (half from each vCPU, so through
  both queues), reads it back, compares and prints the SHA-256; the host's image holds the same
  bytes there and zeros before. GET /disks/NAME shows the frontend while the guest runs (features,
  live queues), and afterwards the requests and bytes, a worker for each queue; GET /metrics
  counts them too. DELETE removes the socket file and closes the image (no fd of the daemon
  refers to it); the name is unknown then; POSTing it again with another image takes the freed
  place.
- test_refused_requests_change_nothing: every refusal of the contract (400, 404, 405, 409) with
  its status; after each, GET /disks, GET /ports, the work directory's files, the sockets' inodes
  and the daemon's open files are as they were. No guest.
- test_disk_removed_while_the_guest_does_io: DELETE while the guest reads and writes the disk in a
  loop on both vCPUs: answered 200 within seconds, the frontend is disconnected (the log says so),
  the socket and the image are let go, the daemon answers on; QEMU is killed; the same disk is
  POSTed again; SIGTERM ends the daemon with status 0 and its summary. The DELETE goes when a
  look at GET /disks/NAME finds requests in flight (or after 5 s of looking).

Two guest boots in all (5-10 s each under TCG here, tens of seconds on a busy machine); about
20 s in all. Everything started is killed by PID on the way out, failures included
(peers.Process, linux_guest's guests).

Environment: RINGLANE_BIN (meson sets it; build/dataplane/ringlane by default)."""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import daemon_api  # noqa: E402
import linux_guest  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

MIB = 1 << 20
# Two workers where there are two cores, as the other API tests choose them.
CORES = "0-1" if (os.cpu_count() or 1) >= 2 else "0"
BOOT_TIMEOUT = 180      # QEMU start to the script's first output, TCG on a busy machine
IO_TIMEOUT = 120        # the pattern's writes and reads once booted
GUEST_TIMEOUT = BOOT_TIMEOUT + IO_TIMEOUT + 60
DELETE_SECONDS = 5      # "within a few seconds"

SUMMARY_KEYS = {"name", "socket", "image", "mode", "connected", "queues", "readonly", "direct",
                "size_bytes", "requests", "bytes_read", "bytes_written", "errors"}
FULL_KEYS = SUMMARY_KEYS | {"writeback", "features", "queue_stats"}
QUEUE_KEYS = {"queue", "worker", "live", "in_flight", "requests", "completed", "reads", "writes",
              "flushes", "discards", "write_zeroes", "bytes_read", "bytes_written", "errors",
              "ring_errors"}

# 16 MiB of random bytes written at 8 MiB, the first half from vCPU 0 and the second from vCPU 1
# (blk-mq maps vCPU n to queue n), then read back whole and compared.
PATTERN_OFFSET_MIB = 8
PATTERN_MIB = 16
PATTERN_SCRIPT = f"""\
set -e
echo SIZE=$(blockdev --getsize64 /dev/vda)
echo HWQ=$(ls /sys/block/vda/mq | wc -l)
dd if=/dev/urandom of=/tmp/pattern bs=1M count={PATTERN_MIB} iflag=fullblock status=none
half={PATTERN_MIB // 2}
taskset -c 0 dd if=/tmp/pattern of=/dev/vda bs=1M count=$half seek={PATTERN_OFFSET_MIB} \\
    oflag=direct conv=notrunc status=none &
a=$!
taskset -c 1 dd if=/tmp/pattern of=/dev/vda bs=1M skip=$half count=$half \\
    seek=$(({PATTERN_OFFSET_MIB} + half)) oflag=direct conv=notrunc status=none &
b=$!
wait $a
wait $b
dd if=/dev/vda of=/tmp/readback bs=128k skip={PATTERN_OFFSET_MIB * 8} count={PATTERN_MIB * 8} \\
    iflag=direct status=none
cmp /tmp/pattern /tmp/readback
echo CMP=same
echo WROTE=$(sha256sum < /tmp/pattern | cut -d' ' -f1)
echo READ=$(sha256sum < /tmp/readback | cut -d' ' -f1)
"""

# Writes and reads of 1 MiB with O_DIRECT, without end, one loop per vCPU (so per queue), each
# round printed.
IO_LOOP_SCRIPT = """\
dd if=/dev/urandom of=/tmp/p bs=1M count=1 iflag=fullblock status=none
io() {
  i=0
  while :; do
    blk=$(( $1 * 16 + i % 16 ))
    taskset -c $1 dd if=/tmp/p of=/dev/vda bs=1M seek=$blk oflag=direct conv=notrunc \\
        status=none || echo "IOFAIL write cpu $1 round $i"
    taskset -c $1 dd if=/dev/vda of=/dev/null bs=1M skip=$blk count=1 iflag=direct \\
        status=none || echo "IOFAIL read cpu $1 round $i"
    echo "PROGRESS cpu $1 round $i"
    i=$((i + 1))
  done
}
io 0 &
io 1 &
wait
"""

METRIC_LINE = re.compile(r"^(\w+)\{([^}]*)\} (\S+)$", re.M)


sha256_file = linux_guest.sha256_file
value = linux_guest.output_value


def metric_samples(text, name, **labels):
    """(labels, value) of every sample of `name` in a Prometheus exposition whose labels include
    `labels`."""
    out = []
    for m in METRIC_LINE.finditer(text):
        if m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        if all(have.get(k) == v for k, v in labels.items()):
            out.append((have, float(m.group(3))))
    return out


def open_files(pid):
    """The paths the process's file descriptors refer to (sockets, pipes and anonymous inodes
    left out)."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("/"):
            out.add(target)
    return out


def accepts_connections(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class DaemonDisks(unittest.TestCase):
    def setUp(self):
        if not os.access(peers.RINGLANE, os.X_OK):
            self.skipTest(f"{peers.RINGLANE} is not built")
        # Not tmpfs: the images are opened with O_DIRECT.
        self.work = tempfile.mkdtemp(prefix="rl-disks-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.rl = None

    # --- helpers ---------------------------------------------------------------------------

    def need_guest(self):
        if reason := linux_guest.unavailable():
            self.skipTest(reason)

    def path(self, name):
        return os.path.join(self.work, name)

    def image(self, name, mib):
        """A sparse image file of `mib` MiB."""
        path = self.path(name)
        with open(path, "wb") as f:
            f.truncate(mib * MIB)
        return path

    def daemon(self):
        """ringlane with the API on work/api.sock and neither ports nor disks."""
        sock = self.path("api.sock")
        self.rl = daemon_api.start_daemon(sock, [], cores=CORES, extra=["--idle", "sleep:100"],
                                          workdir=self.work)
        self.addCleanup(self.rl.kill)
        api = daemon_api.Client(sock)
        status = api.get("/status")
        self.assertEqual((status["ports"], status["disks"]), (0, 0), status)
        return self.rl, api

    def log(self):
        return self.rl.process.output()

    def log_tail(self, lines=30):
        if self.rl is None:
            return ""
        return "\n--- ringlane's log ---\n" + "\n".join(self.log().splitlines()[-lines:])

    def expect(self, api, method, target, status, body=None, raw=None, error=None):
        reply = api.call(method, target, body=body, raw=raw)
        self.assertEqual(reply.status, status,
                         f"{method} {target} {body if raw is None else raw!r}: {reply.raw}")
        self.assertTrue(reply.content_type.startswith("application/json"), reply.headers)
        if status >= 400:
            self.assertIsInstance(reply.json.get("error"), str, reply.raw)
            self.assertTrue(reply.json["error"], reply.raw)
            if error:
                self.assertIn(error, reply.json["error"], f"{method} {target} {body or raw!r}")
        return reply

    def assert_full_view(self, view, name, sock, image, size, queues, workers):
        """A disk's full view (POST's answer, GET /disks/NAME) as the contract has it."""
        self.assertLessEqual(FULL_KEYS, set(view), view)
        self.assertEqual((view["name"], view["socket"], view["image"], view["mode"]),
                         (name, sock, image, "server"), view)
        self.assertEqual((view["queues"], view["size_bytes"]), (queues, size), view)
        for key in ("connected", "readonly", "direct", "writeback"):
            self.assertIsInstance(view[key], bool, f"{key}: {view}")
        for key in ("requests", "bytes_read", "bytes_written", "errors"):
            self.assertIsInstance(view[key], int, f"{key}: {view}")
        self.assertIsInstance(view["features"], list, view)
        self.assertEqual([q["queue"] for q in view["queue_stats"]], list(range(queues)), view)
        for q in view["queue_stats"]:
            self.assertLessEqual(QUEUE_KEYS, set(q), q)
            self.assertIn(q["worker"], range(workers), f"queue {q['queue']}: {q}")
            self.assertIsInstance(q["live"], bool, q)

    def wait_closed(self, image, what):
        peers.wait_for(lambda: image not in open_files(self.rl.pid), 5,
                       f"the daemon to close {image} ({what})")

    # --- 1. a disk added at runtime serves a guest, then leaves ---------------------------

    def test_disk_added_at_runtime_serves_a_guest(self):
        self.need_guest()
        rl, api = self.daemon()
        workers = api.get("/status")["workers"]
        img = os.path.realpath(self.image("d0.img", 64))
        sock = self.path("d0.sock")
        created = self.expect(api, "POST", "/disks", 201,
                              {"name": "d0", "path": sock, "file": img, "queues": 2}).json
        self.assert_full_view(created, "d0", sock, img, 64 * MIB, 2, workers)
        self.assertEqual((created["connected"], created["requests"], created["features"]),
                         (False, 0, []), created)
        self.assertTrue(os.path.exists(sock), "no socket file after POST /disks answered 201")
        self.assertEqual(api.get("/status")["disks"], 1)
        self.assertIn(img, open_files(rl.pid), "the daemon has not opened the image")
        print(f"daemon_disks: d0's queues on workers "
              f"{[q['worker'] for q in created['queue_stats']]} of {workers}", flush=True)

        with linux_guest.LinuxGuest(commands=True, disks=[linux_guest.Disk(sock, queues=2)],
                                    cpus=2, timeout=GUEST_TIMEOUT, echo="[guest] ") as guest:
            ran = guest.execute(PATTERN_SCRIPT, timeout=BOOT_TIMEOUT + IO_TIMEOUT)
            self.assertEqual(ran.status, 0, f"the guest's script failed:\n{ran.output[-3000:]}"
                             f"{self.log_tail()}")
            # While the guest is up: its frontend is there, both queues live.
            live = api.disk("d0")
            self.assertTrue(live["connected"], live)
            self.assertTrue(live["features"], f"no negotiated features: {live}")
            self.assertEqual([q["live"] for q in live["queue_stats"]], [True, True], live)
            listed = api.disks()
            self.assertEqual([(d["name"], d["connected"]) for d in listed], [("d0", True)])
            self.assertLessEqual(SUMMARY_KEYS, set(listed[0]), listed[0])
            metrics = api.call("GET", "/metrics").raw
            self.assertEqual([v for _, v in metric_samples(metrics, "ringlane_disk_connected",
                                                           disk="d0")], [1.0], metrics[-3000:])
            result = guest.finish(timeout=60)
        print(f"daemon_disks: guest booted in {result.boot_seconds or 0:.1f} s, "
              f"{result.seconds:.1f} s in all", flush=True)
        out = ran.output
        self.assertEqual(value(out, "SIZE"), str(64 * MIB))
        self.assertEqual(value(out, "HWQ"), "2", "the guest does not see 2 queues")
        self.assertEqual(value(out, "CMP"), "same")
        wrote = value(out, "WROTE")
        self.assertRegex(wrote or "", r"^[0-9a-f]{64}$")
        self.assertEqual(value(out, "READ"), wrote)
        self.assertEqual(sha256_file(img, PATTERN_OFFSET_MIB * MIB, PATTERN_MIB * MIB), wrote,
                         "the image does not hold what the guest wrote")
        self.assertEqual(sha256_file(img, 0, PATTERN_OFFSET_MIB * MIB),
                         hashlib.sha256(bytes(PATTERN_OFFSET_MIB * MIB)).hexdigest(),
                         "bytes before the pattern changed")

        peers.wait_for(lambda: not api.disk("d0")["connected"], 10,
                       "GET /disks/d0 to show the frontend gone after QEMU exited")
        d0 = api.disk("d0")
        print(f"daemon_disks: d0 after the guest: {json.dumps(d0)}", flush=True)
        self.assert_full_view(d0, "d0", sock, img, 64 * MIB, 2, workers)
        pattern = PATTERN_MIB * MIB
        self.assertGreater(d0["requests"], 0, d0)
        self.assertGreaterEqual(d0["bytes_written"], pattern, d0)
        self.assertGreaterEqual(d0["bytes_read"], pattern, d0)
        self.assertEqual(d0["errors"], 0, d0)
        queues = d0["queue_stats"]
        for q in queues:
            self.assertGreater(q["writes"], 0, f"queue {q['queue']} carried no writes: {q}")
            self.assertEqual((q["errors"], q["ring_errors"], q["in_flight"]), (0, 0, 0), q)
            self.assertEqual(q["completed"], q["requests"], q)
        self.assertEqual(sum(q["requests"] for q in queues), d0["requests"], d0)
        self.assertEqual(sum(q["bytes_written"] for q in queues), d0["bytes_written"], d0)
        self.assertEqual(sum(q["bytes_read"] for q in queues), d0["bytes_read"], d0)

        metrics = api.call("GET", "/metrics").raw
        requests = metric_samples(metrics, "ringlane_disk_requests_total", disk="d0")
        self.assertTrue(requests, "no ringlane_disk_requests_total for d0:\n" + metrics[-3000:])
        self.assertEqual({s["queue"] for s, _ in requests}, {"0", "1"}, requests)
        self.assertEqual(sum(v for _, v in requests), d0["requests"], requests)
        self.assertEqual(sum(v for s, v in requests if s["type"] == "out"),
                         sum(q["writes"] for q in queues), requests)
        written = metric_samples(metrics, "ringlane_disk_bytes_total", disk="d0",
                                 direction="write")
        self.assertEqual(sum(v for _, v in written), d0["bytes_written"], written)
        self.assertEqual([v for _, v in metric_samples(metrics, "ringlane_disk_connected",
                                                       disk="d0")], [0.0])

        # DELETE: socket gone, image closed, name unknown.
        self.assertEqual(self.expect(api, "DELETE", "/disks/d0", 200).json, {"removed": "d0"})
        self.assertFalse(os.path.exists(sock), "d0's socket file outlived DELETE")
        self.wait_closed(img, "after DELETE /disks/d0")
        self.expect(api, "GET", "/disks/d0", 404, error="no disk named 'd0'")
        self.assertEqual(api.disks(), [])
        self.assertEqual(api.get("/status")["disks"], 0)
        self.assertEqual(metric_samples(api.call("GET", "/metrics").raw,
                                        "ringlane_disk_requests_total", disk="d0"), [])

        # The name and the socket path are free again: another image under the same name.
        img2 = os.path.realpath(self.image("d0-again.img", 32))
        again = self.expect(api, "POST", "/disks", 201,
                            {"name": "d0", "path": sock, "file": img2, "queues": 2}).json
        self.assert_full_view(again, "d0", sock, img2, 32 * MIB, 2, workers)
        self.assertEqual((again["requests"], again["bytes_written"]), (0, 0), again)
        self.assertEqual([(d["name"], d["image"]) for d in api.disks()], [("d0", img2)])
        self.assertTrue(accepts_connections(sock), "the re-added d0 does not listen")
        self.assertIn(img2, open_files(rl.pid))
        self.assertNotIn(img, open_files(rl.pid))
        rc = rl.process.stop(signal.SIGTERM, timeout=20)
        self.assertEqual(rc, 0, f"ringlane exited {rc}{self.log_tail()}")
        with open(rl.summary_path) as f:
            summary = json.load(f)
        self.assertEqual([d["name"] for d in summary["disks"]], ["d0"], summary["disks"])

    # --- 2. refusals ----------------------------------------------------------------------

    def test_refused_requests_change_nothing(self):
        rl, api = self.daemon()
        workers = api.get("/status")["workers"]
        p = self.path
        img0 = os.path.realpath(self.image("d0.img", 64))
        img1 = os.path.realpath(self.image("d1.img", 16))
        spare = os.path.realpath(self.image("spare.img", 16))
        odd = p("odd.img")
        with open(odd, "wb") as f:
            f.write(b"x" * 1000)  # not whole 512-byte sectors

        d0 = self.expect(api, "POST", "/disks", 201,
                         {"name": "d0", "path": p("d0.sock"), "file": img0, "queues": 2}).json
        self.assert_full_view(d0, "d0", p("d0.sock"), img0, 64 * MIB, 2, workers)
        self.assertEqual((d0["connected"], d0["readonly"], d0["features"]), (False, False, []))
        # Values as --disk's spec spells them, and as JSON's own types.
        d1 = self.expect(api, "POST", "/disks", 201,
                         {"name": "d1", "path": p("d1.sock"), "file": img1, "queues": 1,
                          "readonly": "on", "direct": False}).json
        self.assert_full_view(d1, "d1", p("d1.sock"), img1, 16 * MIB, 1, workers)
        self.assertEqual((d1["readonly"], d1["direct"]), (True, False), d1)
        self.expect(api, "POST", "/ports", 201, {"name": "vm0", "path": p("vm0.sock")})

        # Another process's live socket: the daemon must not take it over.
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(other.close)
        other.bind(p("other.sock"))
        other.listen(8)

        before = api.disks()
        self.assertEqual([(d["name"], d["queues"], d["readonly"]) for d in before],
                         [("d0", 2, False), ("d1", 1, True)])
        ports_before = api.ports()
        status_before = api.get("/status")
        self.assertEqual((status_before["disks"], status_before["ports"]), (2, 1))
        files_before = sorted(os.listdir(self.work))
        inodes_before = {n: os.stat(p(n)).st_ino for n in ("d0.sock", "d1.sock", "vm0.sock",
                                                            "other.sock")}
        open_before = open_files(rl.pid)
        self.assertLessEqual({img0, img1}, open_before)

        new = {"name": "d9", "path": p("d9.sock"), "file": spare}
        refusals = [
            # 400: not JSON, not an object, missing keys, unknown keys, bad values, an image that
            # is missing or not whole sectors, a socket directory that is missing
            ("POST", "/disks", 400, None, "{\"name\": \"d9\",", None),
            ("POST", "/disks", 400, None, "", None),
            ("POST", "/disks", 400, None, "[1, 2]", None),
            ("POST", "/disks", 400, {"name": "d9", "path": p("d9.sock")}, None, "file"),
            ("POST", "/disks", 400, {"name": "d9", "file": spare}, None, "path"),
            ("POST", "/disks", 400, {"path": p("d9.sock"), "file": spare}, None, "name"),
            ("POST", "/disks", 400, {**new, "file": p("nosuch.img")}, None, None),
            ("POST", "/disks", 400, {**new, "file": odd}, None, None),
            ("POST", "/disks", 400, {**new, "colour": "red"}, None, "colour"),
            ("POST", "/disks", 400, {**new, "queues": 0}, None, "queues"),
            ("POST", "/disks", 400, {**new, "queues": 17}, None, "queues"),
            ("POST", "/disks", 400, {**new, "queues": [2]}, None, "queues"),
            ("POST", "/disks", 400, {**new, "mode": "sideways"}, None, "mode"),
            ("POST", "/disks", 400, {**new, "readonly": "maybe"}, None, "readonly"),
            ("POST", "/disks", 400, {**new, "path": p("no/such/dir/d9.sock")}, None, None),
            # 409: a name a disk or a port has, a socket path a disk or a port or another
            # process has, an image another disk serves; a port may not take a disk's name
            ("POST", "/disks", 409, {**new, "name": "d0"}, None, "d0"),
            ("POST", "/disks", 409, {**new, "name": "vm0"}, None, "vm0"),
            ("POST", "/disks", 409, {**new, "path": p("d0.sock")}, None, None),
            ("POST", "/disks", 409, {**new, "path": p("vm0.sock")}, None, None),
            ("POST", "/disks", 409, {**new, "path": p("other.sock")}, None, None),
            ("POST", "/disks", 409, {**new, "file": img0}, None, None),
            ("POST", "/ports", 409, {"name": "d0", "path": p("vm9.sock")}, None, "d0"),
            # 404: unknown disks
            ("GET", "/disks/nosuch", 404, None, None, "no disk named 'nosuch'"),
            ("DELETE", "/disks/nosuch", 404, None, None, "no disk named 'nosuch'"),
            # 405: known paths, other methods
            ("PUT", "/disks", 405, None, None, None),
            ("DELETE", "/disks", 405, None, None, None),
            ("POST", "/disks/d0", 405, None, None, None),
            ("PUT", "/disks/d0", 405, None, None, None),
        ]
        for method, target, status, body, raw, error in refusals:
            what = f"{method} {target} {body if raw is None else raw!r}"
            with self.subTest(what):
                self.expect(api, method, target, status, body=body, raw=raw, error=error)
                self.assertEqual(api.disks(), before, f"{what} changed GET /disks")
                self.assertEqual(api.ports(), ports_before, f"{what} changed GET /ports")
                status_now = api.get("/status")
                self.assertEqual((status_now["disks"], status_now["ports"]), (2, 1), what)
                self.assertEqual(sorted(os.listdir(self.work)), files_before,
                                 f"{what} left files behind or took some away")
                self.assertEqual({n: os.stat(p(n)).st_ino for n in inodes_before},
                                 inodes_before, f"{what} replaced a socket")
                self.assertEqual(open_files(rl.pid), open_before,
                                 f"{what} left the daemon with other files open")
        self.assertTrue(rl.process.alive(), self.log_tail())
        self.assertTrue(accepts_connections(p("d0.sock")), "d0 stopped listening")

        # What was refused did not block what is right: both go, and the spare takes a place.
        for name in ("d1", "d0"):
            self.assertEqual(self.expect(api, "DELETE", f"/disks/{name}", 200).json,
                             {"removed": name})
        self.assertEqual(api.disks(), [])
        self.assertFalse(os.path.exists(p("d0.sock")) or os.path.exists(p("d1.sock")))
        self.expect(api, "POST", "/disks", 201, new)
        self.assertEqual([d["name"] for d in api.disks()], ["d9"])
        rc = rl.process.stop(signal.SIGTERM, timeout=20)
        self.assertEqual(rc, 0, f"ringlane exited {rc}{self.log_tail()}")

    # --- 3. DELETE under a guest's I/O ---------------------------------------------------

    def test_disk_removed_while_the_guest_does_io(self):
        self.need_guest()
        rl, api = self.daemon()
        img = os.path.realpath(self.image("d0.img", 64))
        sock = self.path("d0.sock")
        spec = {"name": "d0", "path": sock, "file": img, "queues": 2}
        self.expect(api, "POST", "/disks", 201, spec)

        with linux_guest.LinuxGuest(IO_LOOP_SCRIPT, disks=[linux_guest.Disk(sock, queues=2)],
                                    cpus=2, timeout=GUEST_TIMEOUT, echo="[guest] ") as guest:
            guest.wait_for_line("PROGRESS", timeout=BOOT_TIMEOUT)
            seen = guest.wait_for_line("round 10", timeout=IO_TIMEOUT)
            busy = api.disk("d0")
            self.assertTrue(busy["connected"], busy)
            self.assertGreater(busy["requests"], 0, busy)
            self.assertEqual(busy["errors"], 0, busy)
            # DELETE when a look finds requests in flight (the guest keeps some there most of
            # the time); after a few seconds of looking, whenever.
            looks = 0
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                looks += 1
                busy = api.disk("d0")
                if sum(q["in_flight"] for q in busy["queue_stats"]) > 0:
                    break

            log_mark = len(self.log())
            started = time.monotonic()
            reply = api.call("DELETE", "/disks/d0", timeout=30)
            took = time.monotonic() - started
            in_flight = [q["in_flight"] for q in busy["queue_stats"]]
            print(f"daemon_disks: DELETE under I/O answered {reply.status} in {took:.3f} s "
                  f"(requests so far {busy['requests']}, in flight per queue {in_flight} at "
                  f"look {looks} just before)", flush=True)
            self.assertEqual(reply.status, 200, f"{reply.raw}{self.log_tail()}")
            self.assertEqual(reply.json, {"removed": "d0"})
            self.assertLess(took, DELETE_SECONDS, "DELETE under I/O took too long")

            status = api.call("GET", "/status", timeout=5)
            self.assertEqual(status.status, 200, status.raw)
            self.assertEqual(status.json["disks"], 0, status.json)
            self.expect(api, "GET", "/disks/d0", 404, error="no disk named 'd0'")
            self.assertFalse(os.path.exists(sock), "d0's socket file outlived DELETE")
            self.wait_closed(img, "after DELETE /disks/d0 under I/O")
            disconnected = re.compile(r"d0\b.*disconnect", re.I)
            peers.wait_for(lambda: disconnected.search(self.log()[log_mark:]), 5,
                           "the daemon's log to say d0's frontend was disconnected")
            print("daemon_disks: ringlane on DELETE /disks/d0:\n"
                  + self.log()[log_mark:].strip(), flush=True)
            self.assertTrue(rl.process.alive(), self.log_tail())
            qemu_alive = guest.process.alive()
            guest.process.kill()   # by PID (its process group)
        result = guest.finish(timeout=5)
        print(f"daemon_disks: QEMU was {'running' if qemu_alive else 'gone'} when killed; "
              f"guest booted in {result.boot_seconds or 0:.1f} s", flush=True)
        # No I/O failed before the DELETE.
        lines = result.output.splitlines()
        before_delete = lines[:lines.index(seen) + 1] if seen in lines else lines
        self.assertFalse([x for x in before_delete if "IOFAIL" in x], result.output[-2000:])

        # The daemon answers on, and takes the same disk again.
        status = api.call("GET", "/status", timeout=5)
        self.assertEqual((status.status, status.json["disks"]), (200, 0), status.raw)
        again = self.expect(api, "POST", "/disks", 201, spec).json
        self.assertEqual((again["name"], again["connected"]), ("d0", False), again)
        self.assertTrue(accepts_connections(sock), "the re-added d0 does not listen")
        self.assertEqual(api.get("/status")["disks"], 1)

        rc = rl.process.stop(signal.SIGTERM, timeout=20)
        self.assertEqual(rc, 0, f"ringlane exited {rc}{self.log_tail()}")
        with open(rl.summary_path) as f:
            summary = json.load(f)
        self.assertEqual([d["name"] for d in summary["disks"]], ["d0"], summary["disks"])
        self.assertFalse(os.path.exists(sock), "d0's socket outlived the daemon")


if __name__ == "__main__":
    report.main("integration_daemon_disks")
