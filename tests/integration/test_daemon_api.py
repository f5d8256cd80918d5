"""The daemon's control API (`ringlane --api-sock`, issue 15 point 1) against a running ringlane,
over its Unix socket with Python's http.client, one request per connection: every endpoint's
answer and each error case (400, 404, 405, 409) with the configuration left as it was; ports
added through the API serve a real frontend (dpdk-testpmd's net_virtio_user) and are removed
from under it cleanly; queues move between two workers with traffic flowing; the L2 switch's
MAC table is listed and flushed; the socket's file mode and owner, and the refusals of a bad
owner, a bad mode and a path another daemon serves."""
import grp
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import daemon_api  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

MACS = ["02:00:00:00:0a:10", "02:00:00:00:0a:11"]


def stable_ports(client):
    """GET /ports without what traffic may change: what a refused request must leave alone."""
    return [{k: v for k, v in p.items() if k not in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
                                                      "drops")}
            for p in client.ports()]


class ApiCase(unittest.TestCase):
    def workdir(self, prefix):
        work = tempfile.mkdtemp(prefix=prefix)
        self.addCleanup(subprocess.run, ["rm", "-rf", work])
        return work

    def daemon(self, work, mode="xconnect", cores="1", extra=(), ports=None):
        """A ringlane with one port given on its command line (the daemon needs one to start)
        and the API on work/api.sock."""
        sock = os.path.join(work, "api.sock")
        if ports is None:
            ports = [{"name": "seed", "path": os.path.join(work, "seed.sock")}]
        rl = daemon_api.start_daemon(sock, ports, mode=mode, cores=cores, extra=extra, workdir=work)
        self.addCleanup(rl.kill)
        return rl, daemon_api.Client(sock)

    def start_testpmd(self, work, paths, prefix, fwd="io", extra=()):
        vdevs = [peers.virtio_user(i, p, extra=f",mac={MACS[i]}") for i, p in enumerate(paths)]
        tp = peers.Testpmd(vdevs, f"{prefix}{os.getpid()}", main_lcore=1, lcores="0,1", fwd=fwd,
                           interactive=True, extra=list(extra), memory_mb=256, workdir=work)
        self.addCleanup(tp.kill)
        tp.wait_output("testpmd>", timeout=30)
        return tp

    def expect(self, client, method, target, status, body=None, raw=None, error=None):
        reply = client.call(method, target, body=body, raw=raw)
        self.assertEqual(reply.status, status, f"{method} {target} {body or raw!r}: {reply.raw}")
        self.assertTrue(reply.content_type.startswith("application/json"), reply.headers)
        if status >= 400:
            self.assertIsInstance(reply.json.get("error"), str, reply.raw)
            self.assertTrue(reply.json["error"], reply.raw)
            if error:
                self.assertIn(error, reply.json["error"])
        return reply


class Endpoints(ApiCase):
    def test_every_refusal_leaves_the_ports_unchanged(self):
        work = self.workdir("rl-api-err-")
        rl, api = self.daemon(work, cores="0-1")
        p = lambda name: os.path.join(work, name)  # noqa: E731
        self.expect(api, "POST", "/ports", 201, {"name": "vm0", "path": p("vm0.sock")})
        self.expect(api, "POST", "/ports", 201, {"name": "vm1", "path": p("vm1.sock"), "peer": "vm0"})
        before = stable_ports(api)
        self.assertEqual([x["name"] for x in before], ["seed", "vm0", "vm1"])
        status_before = api.get("/status")

        # Another process's live socket: the daemon must not take it over.
        other_path = p("other.sock")
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(other.close)
        other.bind(other_path)
        other.listen(8)
        # Not a socket at all.
        with open(p("file.sock"), "w") as f:
            f.write("x")

        refusals = [
            # 400: malformed JSON, not an object, wrong types, unknown keys, bodies where none go,
            # a spec the --port parser refuses
            ("POST", "/ports", 400, None, "{\"name\": \"vm9\",", "not valid JSON"),
            ("POST", "/ports", 400, None, "", "not valid JSON"),
            ("POST", "/ports", 400, None, "[1, 2]", "must be a JSON object"),
            ("POST", "/ports", 400, None, "\"vm9\"", "must be a JSON object"),
            ("POST", "/ports", 400, {"name": "vm9", "path": p("vm9.sock"), "queues": [2]}, None, "queues"),
            ("POST", "/ports", 400, {"name": "vm9", "path": p("vm9.sock"), "queues": None}, None, "queues"),
            ("POST", "/ports", 400, {"name": "vm9", "path": p("vm9.sock"), "queues": {"n": 2}}, None, "queues"),
            ("POST", "/ports", 400, {"name": "vm9", "path": p("vm9.sock"), "peer": 1}, None, "peer"),
            ("POST", "/ports", 400, {"name": "vm9", "path": p("vm9.sock"), "queues": "many"}, None, "queues"),
            ("POST", "/ports", 400, {"name": "vm9", "path": p("vm9.sock"), "colour": "red"}, None,
             "unknown key 'colour'"),
            ("POST", "/ports", 400, {"path": p("vm9.sock")}, None, None),
            ("POST", "/ports", 400, {"name": "vm9", "path": p("vm9.sock"), "vlan": 10}, None, "l2"),
            ("POST", "/ports", 400, {"name": "vm9", "path": p("no/such/dir/vm9.sock")}, None, None),
            ("GET", "/ports", 400, None, "{}", "takes no body"),
            ("GET", "/status", 400, None, "{\"a\": 1}", "takes no body"),
            ("GET", "/ports/vm0", 400, None, "x", "takes no body"),
            ("DELETE", "/ports/vm0", 400, None, "{}", "takes no body"),
            ("GET", "/ports?verbose=1", 400, None, None, "takes no query"),
            ("PUT", "/ports/vm0/queues/0", 400, None, "{\"worker\": ", "not valid JSON"),
            ("PUT", "/ports/vm0/queues/0", 400, None, "[1]", "must be a JSON object"),
            ("PUT", "/ports/vm0/queues/0", 400, {"worker": "1"}, None, "worker"),
            ("PUT", "/ports/vm0/queues/0", 400, {"worker": -1}, None, "worker"),
            ("PUT", "/ports/vm0/queues/0", 400, {"worker": 1.5}, None, "worker"),
            ("PUT", "/ports/vm0/queues/0", 400, {}, None, "missing 'worker'"),
            ("PUT", "/ports/vm0/queues/0", 400, {"worker": 1, "port": "vm1"}, None, "unknown key"),
            ("PUT", "/ports/vm0/queues/0", 400, {"worker": 2}, None, "no worker 2"),
            ("PUT", "/ports/vm0/queues/x", 400, {"worker": 1}, None, "queue pair"),
            ("POST", "/workers/rebalance", 400, {"now": True}, None, "unknown key"),
            ("POST", "/workers/rebalance", 400, None, "{", "not valid JSON"),
            ("DELETE", "/fdb?mac=02:00:00:00:00:01", 400, None, None, "port=NAME"),
            ("DELETE", "/fdb?port=", 400, None, None, None),
            # 404: unknown paths, unknown ports and queues, an unknown peer
            ("GET", "/nothing", 404, None, None, "no such endpoint"),
            ("GET", "/", 404, None, None, None),
            ("GET", "/ports/vm0/queues", 404, None, None, None),
            ("GET", "/workers/0", 404, None, None, None),
            ("GET", "/ports/nosuch", 404, None, None, "nosuch"),
            ("DELETE", "/ports/nosuch", 404, None, None, "nosuch"),
            ("PUT", "/ports/nosuch/queues/0", 404, {"worker": 1}, None, "nosuch"),
            ("PUT", "/ports/vm0/queues/3", 404, {"worker": 1}, None, "queue pair 3"),
            ("POST", "/ports", 404, {"name": "vm9", "path": p("vm9.sock"), "peer": "nosuch"}, None, "nosuch"),
            ("DELETE", "/fdb?port=nosuch", 404, None, None, "nosuch"),
            # 405: known paths, other methods
            ("DELETE", "/status", 405, None, None, "allowed: GET"),
            ("PUT", "/ports", 405, None, None, "allowed: GET, POST"),
            ("POST", "/ports/vm0", 405, None, None, "allowed: GET, DELETE"),
            ("GET", "/ports/vm0/queues/0", 405, None, None, "allowed: PUT"),
            ("GET", "/workers/rebalance", 405, None, None, "allowed: POST"),
            ("POST", "/workers", 405, None, None, "allowed: GET"),
            ("POST", "/fdb", 405, None, None, "allowed: GET, DELETE"),
            ("DELETE", "/metrics", 405, None, None, "allowed: GET"),
            ("PATCH", "/ports", 405, None, None, None),
            # 409: a name or a socket in use, a peer that has one
            ("POST", "/ports", 409, {"name": "vm0", "path": p("vm9.sock")}, None, "already exists"),
            ("POST", "/ports", 409, {"name": "seed", "path": p("vm9.sock")}, None, "already exists"),
            ("POST", "/ports", 409, {"name": "vm9", "path": p("vm1.sock")}, None, "vm1"),
            ("POST", "/ports", 409, {"name": "vm9", "path": p("seed.sock")}, None, "seed"),
            ("POST", "/ports", 409, {"name": "vm9", "path": other_path}, None, other_path),
            ("POST", "/ports", 409, {"name": "vm9", "path": p("vm9.sock"), "peer": "vm1"}, None, "vm1"),
        ]
        for method, target, status, body, raw, error in refusals:
            with self.subTest(method=method, target=target, body=body, raw=raw):
                self.expect(api, method, target, status, body=body, raw=raw, error=error)
                self.assertEqual(stable_ports(api), before)
        # A regular file where a socket would go is left alone (refused: 400 or 409, never 2xx).
        reply = api.call("POST", "/ports", {"name": "vm9", "path": p("file.sock")})
        self.assertIn(reply.status, (400, 409), reply)
        with open(p("file.sock")) as f:
            self.assertEqual(f.read(), "x")
        self.assertEqual(stable_ports(api), before)
        self.assertFalse(os.path.exists(p("vm9.sock")))

        # The other process still has its socket: a client's connection reaches it.
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.connect(other_path)
        other.settimeout(5)
        accepted = []
        while True:  # the daemon's own probe may be queued first
            conn, _ = other.accept()
            accepted.append(conn)
            probe.send(b"hello")
            conn.settimeout(0.5)
            try:
                if conn.recv(5) == b"hello":
                    break
            except socket.timeout:
                continue
        for c in accepted:
            c.close()
        probe.close()

        # Everything refused is counted.
        status = api.get("/status")
        count = len(refusals) + 1
        self.assertGreaterEqual(status["api_errors"] - status_before["api_errors"], count)
        self.assertEqual(status["ports"], 3)
        self.assertTrue(rl.process.alive())

    def test_read_endpoints(self):
        work = self.workdir("rl-api-get-")
        rl, api = self.daemon(work, cores="0-1", extra=["--idle", "sleep:200"])
        status = api.get("/status")
        for key in ("version", "mode", "idle", "uptime_seconds", "start_time_seconds", "ports", "workers",
                    "api_requests", "api_errors"):
            self.assertIn(key, status)
        self.assertEqual(status["mode"], "xconnect")
        self.assertIn("sleep", status["idle"])
        self.assertEqual(status["ports"], 1)
        self.assertEqual(status["workers"], 2)
        self.assertLess(abs(status["start_time_seconds"] + status["uptime_seconds"] - time.time()), 5)

        seed = api.port("seed")
        for key in ("name", "kind", "connected", "queue_pairs", "vlans", "peer", "features", "queues", "counters"):
            self.assertIn(key, seed)
        self.assertEqual((seed["kind"], seed["connected"], seed["queue_pairs"]), ("vhost", False, 1))
        q = seed["queues"][0]
        for key in ("queue_pair", "worker", "rx_live", "tx_live", "rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
                    "drops", "ring_errors", "kicks", "calls", "rx_occupancy", "tx_occupancy", "busy_cycles",
                    "cycles_per_packet"):
            self.assertIn(key, q)
        self.assertEqual(set(q["drops"]), {"no_buffers", "too_large", "queue_down", "malformed", "chain"})

        workers = api.workers()
        self.assertEqual([w["index"] for w in workers], [0, 1])
        self.assertEqual([w["core"] for w in workers], [0, 1])
        for w in workers:
            for key in ("packets", "busy_share", "cycles_per_packet", "idle_share", "sleeps", "queues"):
                self.assertIn(key, w)
        self.assertEqual(api.worker_of("seed"), q["worker"])

        self.assertEqual(api.fdb(), [])  # xconnect learns nothing
        self.assertEqual(self.expect(api, "DELETE", "/fdb", 200).json, {"flushed": 0})
        self.assertEqual(self.expect(api, "POST", "/workers/rebalance", 200).json, {"moved": 0})
        self.assertEqual(self.expect(api, "POST", "/workers/rebalance", 200, raw="{}").json, {"moved": 0})
        self.assertEqual(self.expect(api, "POST", "/workers/reset-gaps", 200).json, {"reset": True})

        metrics = api.call("GET", "/metrics")
        self.assertEqual(metrics.status, 200)
        self.assertTrue(metrics.content_type.startswith("text/plain; version=0.0.4"), metrics.headers)
        self.assertIn('ringlane_port_packets_total{port="seed",queue="0",direction="rx"} 0', metrics.raw)
        self.assertIn("ringlane_api_requests_total", metrics.raw)

        # Percent-encoded names reach the same port.
        self.assertEqual(api.get("/ports/%73eed")["name"], "seed")
        self.assertTrue(rl.process.alive())


class Traffic(ApiCase):
    def test_added_ports_serve_move_and_leave(self):
        """Two ports added through the API and cross-connected with "peer" forward testpmd's
        traffic; their queue moves between the two workers with traffic flowing; DELETE cuts
        the frontend off cleanly."""
        work = self.workdir("rl-api-xc-")
        rl, api = self.daemon(work, cores="0-1")
        paths = [os.path.join(work, f"vm{i}.sock") for i in range(2)]
        created = self.expect(api, "POST", "/ports", 201, {"name": "vm0", "path": paths[0], "queues": 1}).json
        self.assertEqual((created["name"], created["kind"], created["peer"]), ("vm0", "vhost", ""))
        created = self.expect(api, "POST", "/ports", 201, {"name": "vm1", "path": paths[1], "peer": "vm0"}).json
        self.assertEqual(created["peer"], "vm0")
        self.assertEqual(api.port("vm0")["peer"], "vm1")
        self.assertIn("added through the API", rl.process.output())

        tp = self.start_testpmd(work, paths, "rlapixc")
        peers.wait_for(lambda: api.port("vm0")["connected"] and api.port("vm1")["connected"], 20,
                       "testpmd to connect to both API ports")
        self.assertIn("mrg_rxbuf", api.port("vm0")["features"])
        tp.command("start tx_first")

        def rx(name):
            return api.port(name)["queues"][0]["rx_packets"]

        peers.wait_for(lambda: rx("vm0") > 10_000 and rx("vm1") > 10_000, 20, "traffic through the API ports")
        vm0 = api.port("vm0")
        q0 = vm0["queues"][0]
        self.assertGreater(q0["tx_packets"], 0)
        self.assertGreater(q0["rx_bytes"], q0["rx_packets"] * 59)
        self.assertTrue(q0["rx_live"] and q0["tx_live"], q0)
        summary = [p for p in api.ports() if p["name"] == "vm0"][0]
        self.assertGreaterEqual(summary["rx_packets"], q0["rx_packets"])

        # Workers list the queues, with their load.
        workers = api.workers()
        listed = {(q["port"], q["queue_pair"]): w["index"] for w in workers for q in w["queues"]}
        self.assertEqual(set(listed), {("seed", 0), ("vm0", 0), ("vm1", 0)})
        self.assertGreater(sum(w["packets"] for w in workers), 0)
        self.assertGreater(sum(q["packets"] for w in workers for q in w["queues"] if q["port"] == "vm0"), 0)

        # Move vm0's queue to the other worker, and back: traffic goes on each time.
        for _ in range(2):
            here = api.worker_of("vm0")
            there = 1 - here
            moved = self.expect(api, "PUT", "/ports/vm0/queues/0", 200, {"worker": there}).json
            self.assertEqual(moved, {"port": "vm0", "queue_pair": 0, "worker": there})
            self.assertEqual(api.worker_of("vm0"), there)
            self.assertEqual(api.port("vm0")["queues"][0]["worker"], there)
            start = rx("vm0")
            peers.wait_for(lambda: rx("vm0") > start + 10_000, 20, "traffic after the move")
            # The worker it moved to polls it now.
            w = [x for x in api.workers() if x["index"] == there][0]
            self.assertTrue(any(q["port"] == "vm0" for q in w["queues"]), w)
        # Moving a queue where it already is: answered, nothing moves.
        here = api.worker_of("vm0")
        self.expect(api, "PUT", "/ports/vm0/queues/0", 200, {"worker": here})
        self.assertEqual(api.worker_of("vm0"), here)

        reply = self.expect(api, "POST", "/workers/rebalance", 200)
        self.assertEqual(list(reply.json), ["moved"])
        self.assertIsInstance(reply.json["moved"], int)
        self.assertGreaterEqual(reply.json["moved"], 0)
        listed_after = {(q["port"], q["queue_pair"]) for w in api.workers() for q in w["queues"]}
        self.assertEqual(listed_after, {("seed", 0), ("vm0", 0), ("vm1", 0)})
        start = rx("vm1")
        peers.wait_for(lambda: rx("vm1") > start + 10_000, 20, "traffic after the rebalance")

        # DELETE the port under its frontend.
        maps_before = rl.mapping_count()
        log_mark = len(rl.process.output())
        tp_mark = len(tp.output())
        self.assertEqual(self.expect(api, "DELETE", "/ports/vm0", 200).json, {"removed": "vm0"})
        self.assertEqual([p["name"] for p in api.ports()], ["seed", "vm1"])
        self.expect(api, "GET", "/ports/vm0", 404)
        self.assertEqual(api.port("vm1")["peer"], "")
        self.assertNotIn(("vm0", 0), {(q["port"], q["queue_pair"]) for w in api.workers() for q in w["queues"]})
        removal_log = rl.process.output()[log_mark:]
        self.assertIn("vm0 removed through the API", removal_log)
        print("ringlane on DELETE /ports/vm0:\n" + removal_log.strip())
        # testpmd sees its backend go: the link of its port 0 goes down, and port 0 only.
        tp.wait_output("virtio-user port 0 is down", timeout=10, start=tp_mark)
        self.assertNotIn("virtio-user port 1 is down", tp.output()[tp_mark:])
        gone_or_dead = not os.path.exists(paths[0])
        if not gone_or_dead:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(paths[0])
            except OSError:
                gone_or_dead = True
            finally:
                s.close()
        self.assertTrue(gone_or_dead, "vm0's socket still accepts connections")
        # Its guest memory is unmapped after the grace period.
        peers.wait_for(lambda: rl.mapping_count() < maps_before, 10, "vm0's guest memory to be unmapped")
        self.assertTrue(tp.process.alive(), "testpmd died when its port was removed:\n" + tp.output()[-2000:])
        # The name and the socket are free again: the port comes back and testpmd's side may be
        # connected anew by another frontend.
        self.expect(api, "POST", "/ports", 201, {"name": "vm0", "path": paths[0], "peer": "vm1"})
        self.assertEqual(api.port("vm1")["peer"], "vm0")
        self.assertEqual(self.expect(api, "DELETE", "/ports/vm0", 200).json, {"removed": "vm0"})
        self.assertEqual(self.expect(api, "DELETE", "/ports/vm1", 200).json, {"removed": "vm1"})
        self.assertEqual([p["name"] for p in api.ports()], ["seed"])
        tp.command("stop")
        tp.quit()
        self.assertTrue(rl.process.alive())
        summary = rl.stop()
        self.assertEqual([p["name"] for p in summary["ports"]], ["seed"])

    def test_l2_fdb_listed_and_flushed(self):
        """In l2 mode the MAC table lists testpmd's two stations on the API ports they came in
        on; DELETE /fdb?port=NAME forgets one port's, DELETE /fdb the rest."""
        work = self.workdir("rl-api-l2-")
        rl, api = self.daemon(work, mode="l2", cores="1")
        paths = [os.path.join(work, f"vm{i}.sock") for i in range(2)]
        for i in range(2):
            self.expect(api, "POST", "/ports", 201, {"name": f"vm{i}", "path": paths[i]})
        self.expect(api, "POST", "/ports", 400, {"name": "vm2", "path": os.path.join(work, "vm2.sock"),
                                                 "peer": "vm0"}, error="xconnect")
        # Frames leaving port j are addressed to the other port's MAC, sent from its own.
        tp = self.start_testpmd(work, paths, "rlapil2", fwd="mac",
                          extra=[f"--eth-peer=0,{MACS[1]}", f"--eth-peer=1,{MACS[0]}"])
        peers.wait_for(lambda: all(api.port(f"vm{i}")["connected"] for i in range(2)), 20, "testpmd to connect")
        self.assertEqual(api.fdb(), [])
        tp.command("start tx_first")
        peers.wait_for(lambda: len(api.fdb()) == 2, 20, "ringlane to learn testpmd's two MACs")
        tp.command("stop")
        tp.wait_output("Done.", timeout=20)
        time.sleep(0.5)
        entries = api.fdb()
        self.assertEqual({(e["mac"], e["port"], e["vlan"]) for e in entries},
                         {(MACS[0], "vm0", 0), (MACS[1], "vm1", 0)})
        for e in entries:
            self.assertGreaterEqual(e["age_seconds"], 0)
            self.assertLess(e["age_seconds"], 60)
        self.assertGreater(api.port("vm0")["queues"][0]["tx_packets"], 0)

        self.assertEqual(self.expect(api, "DELETE", "/fdb?port=vm0", 200).json, {"flushed": 1})
        self.assertEqual([(e["mac"], e["port"]) for e in api.fdb()], [(MACS[1], "vm1")])
        self.assertEqual(self.expect(api, "DELETE", "/fdb?port=vm0", 200).json, {"flushed": 0})
        self.assertEqual(self.expect(api, "DELETE", "/fdb", 200).json, {"flushed": 1})
        self.assertEqual(api.fdb(), [])
        self.assertEqual(self.expect(api, "DELETE", "/fdb", 200).json, {"flushed": 0})

        # Learned again with traffic, then forgotten with its port.
        tp.command("start tx_first")
        peers.wait_for(lambda: len(api.fdb()) == 2, 20, "ringlane to learn the MACs again")
        tp.command("stop")
        tp.wait_output("Done.", timeout=20)
        self.assertEqual(self.expect(api, "DELETE", "/ports/vm1", 200).json, {"removed": "vm1"})
        self.assertEqual([(e["mac"], e["port"]) for e in api.fdb()], [(MACS[0], "vm0")])
        metrics = api.call("GET", "/metrics").raw
        self.assertIn("ringlane_fdb_entries 1", metrics)
        tp.quit()
        rl.stop()


class SocketAccess(ApiCase):
    def test_default_mode_is_root_only(self):
        work = self.workdir("rl-api-mode-")
        _, api = self.daemon(work)
        st = os.stat(api.sock_path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual((st.st_uid, st.st_gid), (0, os.getgid()))
        self.assertEqual(st.st_uid, 0)

    def test_mode_and_group(self):
        group = f"rlapi{os.getpid() % 100000}"
        subprocess.run(["groupadd", "--system", group], check=True, capture_output=True)
        self.addCleanup(subprocess.run, ["groupdel", group], capture_output=True)
        gid = grp.getgrnam(group).gr_gid
        work = self.workdir("rl-api-group-")
        _, api = self.daemon(work, extra=["--api-sock-mode", "0660", "--api-sock-owner", f"root:{group}"])
        st = os.stat(api.sock_path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual((st.st_uid, st.st_gid), (0, gid))
        self.assertEqual(api.get("/status")["ports"], 1)
        # Numbers do as well as names.
        work2 = self.workdir("rl-api-group2-")
        _, api2 = self.daemon(work2, extra=["--api-sock-mode", "0640", "--api-sock-owner", f"0:{gid}"])
        st = os.stat(api2.sock_path)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o640, 0, gid))

    def run_refused(self, work, extra, sock=None):
        sock = sock or os.path.join(work, "api.sock")
        argv = [peers.RINGLANE, "--cores", "1", "--port", f"name=seed,path={os.path.join(work, 'r-seed.sock')}",
                "--api-sock", sock] + list(extra)
        proc = peers.Process(argv, "ringlane-refused", log_dir=work)
        self.addCleanup(proc.kill)
        rc = proc.wait(20)
        self.assertIsNotNone(rc, "ringlane did not exit:\n" + proc.output())
        return rc, proc.output()

    def test_refused_owner_and_mode(self):
        work = self.workdir("rl-api-bad-")
        cases = [
            (["--api-sock-owner", "no-such-user-rl"], "no user 'no-such-user-rl'"),
            (["--api-sock-owner", "root:no-such-group-rl"], "no group 'no-such-group-rl'"),
            (["--api-sock-mode", "0999"], "--api-sock-mode '0999'"),
            (["--api-sock-mode", "rw-rw----"], "--api-sock-mode"),
            (["--api-sock-mode", "17777"], "--api-sock-mode"),
        ]
        for extra, message in cases:
            with self.subTest(extra=extra):
                rc, out = self.run_refused(work, extra)
                self.assertEqual(rc, 2, out)
                self.assertIn(message, out)
                self.assertFalse(os.path.exists(os.path.join(work, "api.sock")), out)

    def test_second_daemon_on_the_same_path(self):
        work = self.workdir("rl-api-twice-")
        rl, api = self.daemon(work)
        ino = os.stat(api.sock_path).st_ino
        rc, out = self.run_refused(work, [], sock=api.sock_path)
        self.assertEqual(rc, 2, out)
        self.assertIn(api.sock_path, out)
        self.assertIn("in use", out)
        # The first keeps its socket and serves.
        self.assertEqual(os.stat(api.sock_path).st_ino, ino)
        self.assertEqual(api.get("/status")["ports"], 1)
        self.expect(api, "POST", "/ports", 201, {"name": "vm0", "path": os.path.join(work, "vm0.sock")})
        self.assertTrue(rl.process.alive())
        rl.stop()
        self.assertFalse(os.path.exists(api.sock_path), "the API socket outlived the daemon")


if __name__ == "__main__":
    report.main("integration_daemon_api")
