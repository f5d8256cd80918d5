"""ringlane-ctl against a running ringlane daemon (issue 15, acceptance point 1 for the client):
every daemon command (status; port list|show|add|del; disk list|show|add|del; worker
list|rebalance; queue move; fdb show|flush; top) against `ringlane --api-sock --cores 0-1 --mode
l2`, human output and --json, and each error with its exit status: refused by the daemon (1, its
message and the HTTP status), a bad command line (2), no daemon (3). Ports added with `port add`
really serve a frontend: testpmd (net_virtio_user, mac forwarding between two added ports) moves
frames through them, which `port show`, `top` and `fdb show` see; `fdb flush` empties the table;
`port del` really removes them. Disks are added on sparse image files the test makes and served
without a frontend; `disk del` removes the socket file. A second daemon in xconnect mode takes
`port add --peer`."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402

CTL = os.environ.get("RINGLANE_CTL_BIN", "")
MACS = ["02:00:00:00:00:a0", "02:00:00:00:00:a1"]
MIB = 1 << 20
DISK_LIST_HEADER = ["NAME", "CONNECTED", "MODE", "QUEUES", "RO", "SIZE", "REQUESTS", "READ",
                    "WRITTEN", "ERRORS"]
DISK_QUEUE_HEADER = ["QUEUE", "WORKER", "LIVE", "IN_FLIGHT", "REQUESTS", "READS", "WRITES",
                     "FLUSHES", "DISCARDS", "BYTES_READ", "BYTES_WRITTEN", "ERRORS", "RING_ERRORS"]


def ctl(*args, timeout=30):
    return subprocess.run([CTL, *args], capture_output=True, text=True, timeout=timeout)


class Daemon:
    """What the checks share: a daemon, its API socket and ringlane-ctl pointed at it."""
    sock = None
    rl = None
    dir = None

    @classmethod
    def start(cls, mode, ports):
        cls.dir = tempfile.mkdtemp(prefix=f"rl-ctl-daemon-{mode}-")
        cls.sock = os.path.join(cls.dir, "api.sock")
        cls.rl = peers.Ringlane([{"name": n, "path": os.path.join(cls.dir, f"{n}.sock")}
                                 for n in ports], cores="0-1", mode=mode, workdir=cls.dir,
                                extra=["--api-sock", cls.sock])
        cls.addClassCleanup(cls.rl.kill)
        peers.wait_for(lambda: os.path.exists(cls.sock) or not cls.rl.process.alive(), 10,
                       "the API socket")

    def setUp(self):
        self.assertTrue(self.rl.process.alive(), self.rl.process.output()[-3000:])

    def tearDown(self):
        self.assertTrue(self.rl.process.alive(), self.rl.process.output()[-3000:])

    def path(self, name):
        return os.path.join(self.dir, f"{name}.sock")

    def run_ctl(self, *args, sock=None, timeout=30):
        return ctl("--sock", sock or self.sock, *args, timeout=timeout)

    def ok(self, *args):
        r = self.run_ctl(*args)
        self.assertEqual(r.returncode, 0, f"{args}: {r.stdout} {r.stderr}")
        self.assertEqual(r.stderr, "", args)
        return r.stdout

    def ok_json(self, *args):
        return json.loads(self.ok("--json", *args))

    def refused(self, status, *args, sock=None, timeout=30):
        """Runs a command that must fail with `status`: nothing on stdout, the reason on stderr."""
        r = self.run_ctl(*args, sock=sock, timeout=timeout)
        self.assertEqual(r.returncode, status, f"{args}: {r.stdout} {r.stderr}")
        self.assertEqual(r.stdout, "", args)
        self.assertNotEqual(r.stderr, "", args)
        if status != 2:
            self.assertTrue(r.stderr.startswith("ringlane-ctl: "), r.stderr)
        return r.stderr

    def port_names(self):
        return [p["name"] for p in self.ok_json("port", "list")["ports"]]

    def add(self, name, *extra, spec=None):
        spec = spec or f"name={name},path={self.path(name)}"
        out = self.ok("port", "add", spec, *extra)
        self.addCleanup(self.run_ctl, "port", "del", name)
        return out

    def disk_names(self):
        return [d["name"] for d in self.ok_json("disk", "list")["disks"]]

    def image(self, name, size=8 * MIB):
        """A sparse image file of `size` bytes in the work directory, removed after the test."""
        path = os.path.join(self.dir, f"{name}.img")
        with open(path, "wb") as f:
            f.truncate(size)
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        return path

    def add_disk(self, name, extra="", json_out=False):
        """`disk add name=NAME,path=DIR/NAME.sock,file=DIR/NAME.img` + `extra`; deleted after."""
        spec = f"name={name},path={self.path(name)},file={self.image(name)}{extra}"
        out = self.ok_json("disk", "add", spec) if json_out else self.ok("disk", "add", spec)
        self.addCleanup(self.run_ctl, "disk", "del", name)
        return out


class L2Daemon(Daemon, unittest.TestCase):
    """ringlane --mode l2 --cores 0-1 with one port from its command line (st0, no frontend)."""

    @classmethod
    def setUpClass(cls):
        cls.start("l2", ["st0"])

    # --- reading ------------------------------------------------------------------------------

    def test_help_names_every_command(self):
        r = ctl("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for text in ("--sock", "/run/ringlane/api.sock", "port list", "port show NAME",
                     "port add SPEC [--peer NAME]", "port del NAME", "disk list",
                     "disk show NAME", "disk add SPEC", "disk del NAME", "worker list",
                     "worker rebalance", "queue move PORT QP WORKER", "fdb show",
                     "fdb flush [--port NAME]", "top [--interval S] [--count N]",
                     "3 no answer"):
            self.assertIn(text, r.stdout)
        for args, needle in ((["status"], "GET /status"), (["port", "list"], "GET /ports"),
                             (["port", "show"], "GET /ports/NAME"), (["port", "add"], "--peer"),
                             (["port", "del"], "DELETE /ports/NAME"),
                             (["disk"], "list, show, add, del"), (["disk", "list"], "GET /disks"),
                             (["disk", "show"], "GET /disks/NAME"),
                             (["disk", "add"], "POST /disks"), (["disk", "add"], "--disk"),
                             (["disk", "del"], "DELETE /disks/NAME"),
                             (["worker", "list"], "GET /workers"),
                             (["worker", "rebalance"], "POST /workers/rebalance"),
                             (["queue", "move"], "WORKER"), (["fdb", "show"], "GET /fdb"),
                             (["fdb", "flush"], "--port"), (["top"], "--interval"),
                             (["top"], "--count")):
            r = ctl(*args, "--help")
            self.assertEqual(r.returncode, 0, f"{args}: {r.stderr}")
            self.assertIn(needle, r.stdout, args)

    def test_status(self):
        out = self.ok("status")
        lines = dict(line.split(":", 1) for line in out.splitlines())
        self.assertEqual(lines["mode"].strip(), "l2")
        self.assertEqual(lines["idle"].strip(), "poll")
        self.assertEqual(lines["workers"].strip(), "2")
        self.assertRegex(lines["uptime"], r"^\s+\d+\.\d s$")
        self.assertRegex(lines["api requests"], r"^\s+\d+ \(\d+ refused\)$")
        self.assertRegex(lines["disks"], r"^\s+\d+$")
        status = self.ok_json("status")
        self.assertEqual(status["mode"], "l2")
        self.assertEqual(status["workers"], 2)
        self.assertIsInstance(status["disks"], int)
        self.assertGreater(status["tsc_hz"], 0)

    def test_port_list_and_show(self):
        out = self.ok("port", "list")
        header, *rows = out.splitlines()
        self.assertEqual(header.split(), ["NAME", "KIND", "CONNECTED", "QUEUES", "VLANS", "PEER",
                                          "RX_PACKETS", "TX_PACKETS", "DROPS"])
        st0 = [r.split() for r in rows if r.split()[0] == "st0"]
        self.assertEqual(st0, [["st0", "vhost", "no", "1", "-", "-", "0", "0", "0"]])
        ports = self.ok_json("port", "list")["ports"]
        self.assertIn("st0", [p["name"] for p in ports])

        out = self.ok("port", "show", "st0")
        self.assertIn("name:         st0\n", out)
        self.assertIn("connected:    no\n", out)
        self.assertRegex(out, r"\nQP +WORKER +RX +TX +RX_PACKETS .* CYCLES/PKT\n0 +[01] +down +down ")
        port = self.ok_json("port", "show", "st0")
        self.assertEqual(port["name"], "st0")
        self.assertEqual(len(port["queues"]), 1)
        self.assertIn("drops", port["queues"][0])

    def test_worker_list(self):
        out = self.ok("worker", "list")
        header, *rows = out.splitlines()
        self.assertEqual(header.split(), ["WORKER", "CORE", "PACKETS", "BUSY%", "CYCLES/PKT",
                                          "IDLE%", "SLEEPS", "QUEUES"])
        self.assertEqual([r.split()[:2] for r in rows], [["0", "0"], ["1", "1"]])
        self.assertIn("st0:0", out)
        workers = self.ok_json("worker", "list")["workers"]
        self.assertEqual([w["core"] for w in workers], [0, 1])

    # --- changing -----------------------------------------------------------------------------

    def test_port_add_and_del(self):
        self.assertFalse(os.path.exists(self.path("ad0")))
        out = self.ok("port", "add", f"name=ad0,path={self.path('ad0')},queues=2")
        self.addCleanup(self.run_ctl, "port", "del", "ad0")
        self.assertEqual(out, "added port ad0 (vhost, 2 queue pairs)\n")
        self.assertIn("ad0", self.port_names())
        self.assertTrue(os.path.exists(self.path("ad0")), "ringlane listens on the new socket")
        self.assertEqual(len(self.ok_json("port", "show", "ad0")["queues"]), 2)
        self.assertEqual(self.ok("port", "del", "ad0"), "removed port ad0\n")
        self.assertNotIn("ad0", self.port_names())
        peers.wait_for(lambda: not os.path.exists(self.path("ad0")), 5, "the socket to go")
        # --json: the daemon's answers as they are (201's body is the new port).
        added = self.ok_json("port", "add", f"name=ad1,path={self.path('ad1')},disable=event_idx")
        self.addCleanup(self.run_ctl, "port", "del", "ad1")
        self.assertEqual(added["name"], "ad1")
        self.assertEqual(added["queue_pairs"], 1)
        self.assertEqual(self.ok_json("port", "del", "ad1"), {"removed": "ad1"})
        self.assertNotIn("ad1", self.port_names())

    def test_port_add_with_quoted_value(self):
        # A value in quotes keeps its commas: here the socket's path holds one.
        path = os.path.join(self.dir, "q,1.sock")
        out = self.ok("port", "add", f'name=q1,path="{path}",mode=server')
        self.addCleanup(self.run_ctl, "port", "del", "q1")
        self.assertEqual(out, "added port q1 (vhost, 1 queue pair)\n")
        self.assertTrue(os.path.exists(path))
        self.ok("port", "del", "q1")

    def test_port_add_refused(self):
        before = self.port_names()
        self.add("dup")
        err = self.refused(1, "port", "add", f"name=dup,path={self.path('dup2')}")
        self.assertEqual(err, "ringlane-ctl: port 'dup' already exists (HTTP 409)\n")
        err = self.refused(1, "port", "add", f"name=dup2,path={self.path('dup')}")
        self.assertIn("already used by port 'dup'", err)
        self.assertTrue(err.endswith(" (HTTP 409)\n"), err)
        err = self.refused(1, "port", "add", f"name=c1,path={self.path('c1')},colour=blue")
        self.assertIn("unknown key 'colour'", err)
        self.assertTrue(err.endswith(" (HTTP 400)\n"), err)
        err = self.refused(1, "port", "add", f"name=c1,path={self.path('c1')},queues=abc")
        self.assertIn("queues", err)
        self.assertTrue(err.endswith(" (HTTP 400)\n"), err)
        err = self.refused(1, "port", "add", "name=c1,kind=tap")  # no ifname
        self.assertTrue(err.endswith(" (HTTP 400)\n"), err)
        err = self.refused(1, "port", "add", f"name=c1,path={self.path('c1')}", "--peer", "st0")
        self.assertEqual(err, "ringlane-ctl: peer is for --mode xconnect only (HTTP 400)\n")
        # What is no spec at all never reaches the daemon.
        for spec, needle in (("name=c1,path", "expected key=value, got 'path'"),
                             ("name=c1,name=c2", "'name' given twice"),
                             ('name=c1,devargs="a,b', "unterminated quote"),
                             ("name=c1,peer=st0", "--peer NAME"),
                             ("", "expected key=value")):
            err = self.refused(2, "port", "add", spec)
            self.assertEqual(err, f"ringlane-ctl: SPEC: {err.split('SPEC: ', 1)[1]}")
            self.assertIn(needle, err)
        self.assertEqual(sorted(self.port_names()), sorted(before + ["dup"]), "nothing changed")

    def test_unknown_port(self):
        for args in (["port", "show", "nope"], ["port", "del", "nope"],
                     ["queue", "move", "nope", "0", "1"], ["fdb", "flush", "--port", "nope"]):
            err = self.refused(1, *args)
            self.assertEqual(err, "ringlane-ctl: no port named 'nope' (HTTP 404)\n", args)
        # Names are sent percent-encoded: one with '/' or ' ' is just another unknown name.
        err = self.refused(1, "port", "del", "a/b c")
        self.assertEqual(err, "ringlane-ctl: no port named 'a/b c' (HTTP 404)\n")

    def test_queue_move(self):
        self.add("qm0", spec=f"name=qm0,path={self.path('qm0')},queues=2")
        for qp in (0, 1):
            for worker in (1, 0, 1):
                out = self.ok("queue", "move", "qm0", str(qp), str(worker))
                self.assertEqual(out, f"qm0 queue pair {qp} is on worker {worker}\n")
                workers = self.ok_json("worker", "list")["workers"]
                self.assertIn({"port": "qm0", "queue_pair": qp},
                              [{"port": q["port"], "queue_pair": q["queue_pair"]}
                               for q in workers[worker]["queues"]])
                self.assertNotIn("qm0", [q["port"] for q in workers[1 - worker]["queues"]
                                         if q["queue_pair"] == qp])
        # Both on worker 1 now; the human table says so too.
        row = [r for r in self.ok("worker", "list").splitlines() if r.split()[0] == "1"][0]
        self.assertIn("qm0:0", row.split()[-1])
        self.assertIn("qm0:1", row.split()[-1])
        self.assertEqual(self.ok_json("queue", "move", "qm0", "1", "0"),
                         {"port": "qm0", "queue_pair": 1, "worker": 0})
        self.assertEqual(self.ok_json("port", "show", "qm0")["queues"][1]["worker"], 0)
        err = self.refused(1, "queue", "move", "qm0", "2", "0")
        self.assertEqual(err, "ringlane-ctl: port 'qm0' has no queue pair 2 (it has 2) (HTTP 404)\n")
        err = self.refused(1, "queue", "move", "qm0", "0", "7")
        self.assertEqual(err, "ringlane-ctl: no worker 7 (there are 2) (HTTP 400)\n")

    def test_rebalance(self):
        self.assertRegex(self.ok("worker", "rebalance"),
                         r"^rebalanced: moved \d+ queue pairs?\n$")
        moved = self.ok_json("worker", "rebalance")
        self.assertEqual(list(moved), ["moved"])
        self.assertIsInstance(moved["moved"], int)

    # --- disks --------------------------------------------------------------------------------

    def test_disk_add_list_show_del(self):
        disks_before = self.ok_json("status")["disks"]
        sock = self.path("dk0")
        self.assertFalse(os.path.exists(sock))
        out = self.add_disk("dk0", ",queues=2")
        img = os.path.join(self.dir, "dk0.img")
        self.assertEqual(out, f"added disk dk0 (socket {sock}, image {img})\n")
        self.assertTrue(os.path.exists(sock), "ringlane listens on the disk's socket")
        self.assertEqual(self.ok_json("status")["disks"], disks_before + 1)
        self.assertIn(f"disks:         {disks_before + 1}\n", self.ok("status"))

        # disk list: the table, and the answer as it is.
        header, *rows = self.ok("disk", "list").splitlines()
        self.assertEqual(header.split(), DISK_LIST_HEADER)
        row = [r.split() for r in rows if r.split()[0] == "dk0"]
        self.assertEqual(row, [["dk0", "no", "server", "2", "no", "8.0", "MiB", "0", "0.0", "MiB",
                                "0.0", "MiB", "0"]])
        listed = {d["name"]: d for d in self.ok_json("disk", "list")["disks"]}
        self.assertEqual({k: listed["dk0"][k] for k in ("socket", "image", "mode", "connected",
                                                          "queues", "readonly", "size_bytes",
                                                          "requests", "errors")},
                         {"socket": sock, "image": img, "mode": "server", "connected": False,
                          "queues": 2, "readonly": False, "size_bytes": 8 * MIB, "requests": 0,
                          "errors": 0})

        # disk show: key: value lines and a row per queue, each on a worker, not live (no
        # frontend), nothing in flight.
        out = self.ok("disk", "show", "dk0")
        for line in ("name:           dk0", f"socket:         {sock}", f"image:          {img}",
                     "mode:           server", "connected:      no", "queues:         2",
                     "readonly:       no", f"size:           8.0 MiB ({8 * MIB} bytes)",
                     "features:       -", "requests:       0", "errors:         0"):
            self.assertIn(line + "\n", out)
        table = out.split("\n\n")[1]
        header, *rows = table.splitlines()
        self.assertEqual(header.split(), DISK_QUEUE_HEADER)
        self.assertEqual(len(rows), 2, out)
        for q, r in enumerate(rows):
            cells = r.split()
            self.assertEqual(cells[0], str(q))
            self.assertIn(cells[1], ("0", "1"))
            self.assertEqual(cells[2:], ["no"] + ["0"] * 10, out)
        disk = self.ok_json("disk", "show", "dk0")
        self.assertEqual(disk["name"], "dk0")
        self.assertEqual(disk["features"], [])
        self.assertEqual([q["queue"] for q in disk["queue_stats"]], [0, 1])
        self.assertTrue(all(q["worker"] in (0, 1) for q in disk["queue_stats"]), disk)

        # disk del: gone from the list, the socket file removed.
        self.assertEqual(self.ok("disk", "del", "dk0"), "removed disk dk0\n")
        self.assertNotIn("dk0", self.disk_names())
        peers.wait_for(lambda: not os.path.exists(sock), 5, "the disk's socket to go")
        self.assertEqual(self.ok_json("status")["disks"], disks_before)
        self.assertTrue(os.path.exists(img), "the image stays, only closed")

        # --json: 201's body is the new disk as disk show gives it; a read-only disk shows so.
        added = self.add_disk("dk1", ",readonly=on,direct=off", json_out=True)
        self.assertEqual(added["name"], "dk1")
        self.assertEqual(added["readonly"], True)
        self.assertEqual(added["direct"], False)
        self.assertEqual(len(added["queue_stats"]), 1)
        row = [r.split() for r in self.ok("disk", "list").splitlines()[1:]
               if r.split()[0] == "dk1"]
        self.assertEqual(row[0][4], "yes", row)
        self.assertIn("readonly:       yes\n", self.ok("disk", "show", "dk1"))
        self.assertEqual(self.ok_json("disk", "del", "dk1"), {"removed": "dk1"})
        self.assertNotIn("dk1", self.disk_names())
        peers.wait_for(lambda: not os.path.exists(self.path("dk1")), 5, "the socket to go")

    def test_disk_add_with_quoted_value(self):
        # The image's name holds a comma: in quotes it stays one value.
        img = os.path.join(self.dir, "q,d.img")
        with open(img, "wb") as f:
            f.truncate(MIB)
        self.addCleanup(os.unlink, img)
        out = self.ok("disk", "add", f'name=qd,path={self.path("qd")},file="{img}"')
        self.addCleanup(self.run_ctl, "disk", "del", "qd")
        self.assertEqual(out, f"added disk qd (socket {self.path('qd')}, image {img})\n")
        self.assertEqual(self.ok_json("disk", "show", "qd")["image"], img)
        self.assertEqual(self.ok("disk", "del", "qd"), "removed disk qd\n")

    def test_disk_add_refused(self):
        ports_before = self.port_names()
        before = self.disk_names()
        self.add_disk("dup")
        other = self.image("other")

        def refused_409(spec):
            err = self.refused(1, "disk", "add", spec)
            self.assertTrue(err.startswith("ringlane-ctl: ") and err.endswith(" (HTTP 409)\n"),
                            f"{spec}: {err}")
            return err

        # Names: a disk's or a port's.
        err = refused_409(f"name=dup,path={self.path('dup2')},file={other}")
        self.assertEqual(err, "ringlane-ctl: disk 'dup' already exists (HTTP 409)\n")
        err = refused_409(f"name=st0,path={self.path('dup2')},file={other}")
        self.assertIn("'st0'", err)
        # Sockets: a disk's or a port's.
        err = refused_409(f"name=dup2,path={self.path('dup')},file={other}")
        self.assertIn("already used by disk 'dup'", err)
        err = refused_409(f"name=dup2,path={self.path('st0')},file={other}")
        self.assertIn("already used by port 'st0'", err)

        def refused_400(spec, needle):
            err = self.refused(1, "disk", "add", spec)
            self.assertTrue(err.startswith("ringlane-ctl: ") and err.endswith(" (HTTP 400)\n"),
                            f"{spec}: {err}")
            self.assertIn(needle, err, spec)

        sock = self.path("bad")
        missing = os.path.join(self.dir, "no-such.img")
        ragged = self.image("ragged", size=1000)  # not whole 512-byte sectors
        refused_400(f"name=bad,path={sock}", "file")                       # no file=
        refused_400(f"name=bad,file={other}", "path")                      # no path=
        refused_400(f"path={sock},file={other}", "name")                   # no name=
        refused_400(f"name=bad,path={sock},file={missing}", missing)       # no such image
        refused_400(f"name=bad,path={sock},file={ragged}", ragged)         # not whole sectors
        refused_400(f"name=bad,path={sock},file={other},colour=blue", "colour")
        refused_400(f"name=bad,path={sock},file={other},queues=17", "queues")
        refused_400(f"name=bad,path={sock},file={other},readonly=maybe", "readonly")
        refused_400(f"name=bad,path={self.dir}/no-dir/bad.sock,file={other}", "no-dir")
        # "peer" is no --disk key either, but it is the daemon's to say so.
        refused_400(f"name=bad,path={sock},file={other},peer=st0", "peer")
        self.assertFalse(os.path.exists(sock), "a refused disk leaves no socket")

        # What is no spec at all never reaches the daemon.
        for spec, needle in ((f"name=bad,path={sock},file", "expected key=value, got 'file'"),
                             ("name=a,name=b", "'name' given twice"),
                             ('name=a,file="x,y', "unterminated quote"),
                             ("", "expected key=value")):
            err = self.refused(2, "disk", "add", spec)
            self.assertTrue(err.startswith("ringlane-ctl: SPEC: "), err)
            self.assertIn(needle, err)
        self.assertEqual(sorted(self.disk_names()), sorted(before + ["dup"]), "nothing changed")
        self.assertEqual(sorted(self.port_names()), sorted(ports_before))

    def test_unknown_disk(self):
        for args in (["disk", "show", "nope"], ["disk", "del", "nope"]):
            err = self.refused(1, *args)
            self.assertEqual(err, "ringlane-ctl: no disk named 'nope' (HTTP 404)\n", args)
        # A port is no disk: neither shown nor removed as one.
        for args in (["disk", "show", "st0"], ["disk", "del", "st0"]):
            err = self.refused(1, *args)
            self.assertEqual(err, "ringlane-ctl: no disk named 'st0' (HTTP 404)\n", args)
        self.assertIn("st0", self.port_names())
        err = self.refused(1, "disk", "del", "a/b c")
        self.assertEqual(err, "ringlane-ctl: no disk named 'a/b c' (HTTP 404)\n")
        # ... and a disk is no port.
        self.add_disk("dk9")
        err = self.refused(1, "port", "show", "dk9")
        self.assertEqual(err, "ringlane-ctl: no port named 'dk9' (HTTP 404)\n")
        self.assertIn("dk9", self.disk_names())

    # --- traffic through added ports ----------------------------------------------------------

    def test_traffic_through_added_ports(self):
        for i in range(2):
            self.add(f"tp{i}")
        vdevs = [peers.virtio_user(i, self.path(f"tp{i}"), extra=f",mac={MACS[i]}")
                 for i in range(2)]
        # mac forwarding: what port i receives leaves on the other port from that port's MAC to
        # port i's, so ringlane learns each MAC on its own port.
        tp = peers.Testpmd(vdevs, f"rlctld{os.getpid()}", main_lcore=1, fwd="mac",
                           interactive=True, workdir=self.dir,
                           extra=[f"--eth-peer=0,{MACS[1]}", f"--eth-peer=1,{MACS[0]}"])
        self.addCleanup(tp.kill)
        tp.wait_output("testpmd>", timeout=30)
        tp.command("start tx_first")

        def rx(name):
            return self.ok_json("port", "show", name)["queues"][0]["rx_packets"]

        peers.wait_for(lambda: rx("tp0") > 1000 and rx("tp1") > 1000, 20, "frames through tp0/tp1",
                       interval=0.2)
        port = self.ok_json("port", "show", "tp0")
        self.assertTrue(port["connected"])
        self.assertGreater(port["queues"][0]["tx_packets"], 0)
        out = self.ok("port", "show", "tp0")
        self.assertIn("connected:    yes\n", out)
        row = [r.split() for r in out.splitlines() if r.startswith("0 ")][0]
        self.assertEqual(row[2:4], ["live", "live"])
        self.assertGreater(int(row[4]), 1000)  # RX_PACKETS
        listed = {r.split()[0]: r.split() for r in self.ok("port", "list").splitlines()[1:]}
        self.assertEqual(listed["tp0"][2], "yes")
        self.assertGreater(int(listed["tp0"][6]), 0)

        # top, into a pipe: two views one after the other, rates from traffic.
        r = self.run_ctl("top", "--count", "2", "--interval", "0.5")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertNotIn("\033[", r.stdout, "no screen control codes into a pipe")
        views = r.stdout.split("\n\nringlane ")
        self.assertEqual(len(views), 2, r.stdout)
        for view in views:
            self.assertRegex(view, r"mode l2, idle poll; rates over \d+\.\d\d s\n")
            rows = {line.split()[0]: line.split() for line in view.splitlines()
                    if re.match(r"^tp[01] ", line)}
            for name in ("tp0", "tp1"):
                self.assertEqual(rows[name][1:3], ["vhost", "yes"], view)
                self.assertGreater(int(rows[name][3]), 0, view)  # RX_PPS
                self.assertGreater(int(rows[name][4]), 0, view)  # TX_PPS
            self.assertIn("WORKER  CORE  BUSY%  CYCLES/PKT  QUEUES  SLEEPS/S", view)
        # --json: one object per view and line, the raw answers beside the rates.
        r = self.run_ctl("--json", "top", "--count", "2", "--interval", "0.3")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, r.stdout)
        for line in lines:
            sample = json.loads(line)
            self.assertEqual(set(sample), {"status", "ports", "workers", "rates"})
            self.assertIn("tp0", [p["name"] for p in sample["ports"]["ports"]])
            self.assertEqual(len(sample["workers"]["workers"]), 2)
            rates = {p["name"]: p for p in sample["rates"]["ports"]}
            self.assertGreater(rates["tp0"]["rx_pps"], 0)
            self.assertGreater(rates["tp1"]["tx_pps"], 0)
            self.assertGreater(sample["rates"]["seconds"], 0.2)
            busy = [w["busy_percent"] for w in sample["rates"]["workers"]]
            self.assertTrue(all(b is not None and 0 <= b <= 100 for b in busy), busy)
            self.assertTrue(any(w["cycles_per_packet"] for w in sample["rates"]["workers"]))

        # The MAC table: stop the traffic so nothing is learned again behind the flushes.
        mark = len(tp.output())
        tp.command("stop")
        tp.wait_output("Done.", timeout=20, start=mark)
        time.sleep(0.3)  # ringlane takes what testpmd sent last
        entries = self.ok_json("fdb", "show")["entries"]
        self.assertEqual(sorted((e["mac"], e["port"], e["vlan"]) for e in entries),
                         [(MACS[0], "tp0", 0), (MACS[1], "tp1", 0)])
        out = self.ok("fdb", "show")
        self.assertEqual(out.splitlines()[0].split(), ["MAC", "PORT", "VLAN", "AGE_S"])
        self.assertEqual(sorted(line.split()[:3] for line in out.splitlines()[1:]),
                         [[MACS[0], "tp0", "0"], [MACS[1], "tp1", "0"]])
        self.assertEqual(self.ok("fdb", "flush", "--port", "tp0"), "flushed 1 entry\n")
        self.assertEqual([e["mac"] for e in self.ok_json("fdb", "show")["entries"]], [MACS[1]])
        self.assertEqual(self.ok_json("fdb", "flush"), {"flushed": 1})
        self.assertEqual(self.ok("fdb", "show"), "no entries\n")
        self.assertEqual(self.ok_json("fdb", "show"), {"entries": []})
        self.assertEqual(self.ok("fdb", "flush"), "flushed 0 entries\n")

        # Removed under a connected frontend: gone from the list, testpmd sees its link drop.
        tp.quit()
        for name in ("tp0", "tp1"):
            self.assertEqual(self.ok("port", "del", name), f"removed port {name}\n")
        self.assertFalse({"tp0", "tp1"} & set(self.port_names()))

    # --- no daemon, bad command lines ---------------------------------------------------------

    def test_no_daemon(self):
        path = os.path.join(self.dir, "nothing-here.sock")
        for args in (["status"], ["port", "list"], ["top", "--count", "1"],
                     ["port", "add", "name=x,path=/tmp/x"], ["fdb", "flush"], ["disk", "list"],
                     ["disk", "add", "name=x,path=/tmp/x,file=/tmp/x.img"],
                     ["disk", "del", "x"]):
            err = self.refused(3, *args, sock=path)
            self.assertEqual(err, f"ringlane-ctl: cannot connect to API at {path}: "
                                  "No such file or directory\n", args)
        dead = os.path.join(self.dir, "dead.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(dead)
        s.close()
        err = self.refused(3, "worker", "list", sock=dead)
        self.assertEqual(err, f"ringlane-ctl: cannot connect to API at {dead}: "
                              "Connection refused\n")
        silent = os.path.join(self.dir, "silent.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.bind(silent)
        s.listen(4)  # the kernel accepts; nobody answers
        start = time.monotonic()
        err = self.refused(3, "--timeout", "0.5", "fdb", "show", sock=silent)
        self.assertEqual(err, f"ringlane-ctl: no answer from API at {silent} within "
                              "0.5 s\n")
        self.assertLess(time.monotonic() - start, 5)

    def test_usage_errors(self):
        for args in (["port"], ["port", "frob"], ["port", "show"], ["port", "add"],
                     ["port", "show", ""], ["port", "del", ""], ["worker"], ["queue", "move"],
                     ["queue", "move", "st0", "0"], ["queue", "move", "st0", "x", "1"],
                     ["queue", "move", "st0", "70000", "1"], ["queue", "move", "st0", "0", "-1"],
                     ["queue", "move", "", "0", "1"], ["fdb"], ["fdb", "flush", "--port", ""],
                     ["fdb", "flush", "--port"], ["top", "--count", "0"],
                     ["top", "--interval", "0"], ["top", "--interval", "x"],
                     ["port", "list", "extra"], ["port", "add", "name=a", "--peer", ""],
                     ["disk"], ["disk", "frob"], ["disk", "show"], ["disk", "add"], ["disk", "del"],
                     ["disk", "show", ""], ["disk", "del", ""], ["disk", "list", "extra"],
                     ["disk", "show", "a", "b"], ["disk", "add", "name=a", "--peer", "b"]):
            r = self.run_ctl(*args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stdout} {r.stderr}")
            self.assertEqual(r.stdout, "", args)
            self.assertNotEqual(r.stderr, "", args)

    def test_json_output_parses(self):
        for args in (["status"], ["port", "list"], ["port", "show", "st0"], ["worker", "list"],
                     ["worker", "rebalance"], ["fdb", "show"], ["fdb", "flush"],
                     ["disk", "list"]):
            self.assertIsInstance(self.ok_json(*args), dict, args)
            # --json after the command too.
            self.assertIsInstance(json.loads(self.ok(*args, "--json")), dict, args)


class XconnectDaemon(Daemon, unittest.TestCase):
    """ringlane --mode xconnect: `port add --peer` cross-connects with a port that has none."""

    @classmethod
    def setUpClass(cls):
        cls.start("xconnect", ["lone"])

    def test_port_add_with_peer(self):
        out = self.add("mate", "--peer", "lone")
        self.assertEqual(out, "added port mate (vhost, 1 queue pair)\n")
        listed = {r.split()[0]: r.split() for r in self.ok("port", "list").splitlines()[1:]}
        self.assertEqual(listed["mate"][5], "lone")
        self.assertEqual(listed["lone"][5], "mate")
        self.assertEqual(self.ok_json("port", "show", "lone")["peer"], "mate")
        err = self.refused(1, "port", "add", f"name=m2,path={self.path('m2')}", "--peer", "lone")
        self.assertEqual(err, "ringlane-ctl: port 'lone' is already cross-connected (HTTP 409)\n")
        err = self.refused(1, "port", "add", f"name=m2,path={self.path('m2')}", "--peer", "ghost")
        self.assertEqual(err, "ringlane-ctl: no port named 'ghost' to connect to (HTTP 404)\n")
        self.assertNotIn("m2", self.port_names())
        self.ok("port", "del", "mate")
        self.assertEqual(self.ok_json("port", "show", "lone")["peer"], "")

    def test_fdb_is_empty_without_the_switch(self):
        self.assertEqual(self.ok_json("fdb", "show"), {"entries": []})


if __name__ == "__main__":
    report.main("integration_ctl_daemon")
