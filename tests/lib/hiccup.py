"""The no-hiccup scenario (issue 15, acceptance point 2), shared by the integration test
(tests/integration/test_no_hiccup.py: nothing lost) and the benchmark (perf/no_hiccup.py: the gaps
reported in docs/benchmarks.md).

Two ports forward at full rate: dpdk-testpmd io-forwards a closed loop of frames through
ringlane's cross-connect vm0 <-> vm1 (the fastest the parties can go; a frame lost anywhere shows
in a drop counter). Then, while the loop runs:
  - a baseline phase with no changes, and
  - a change phase: `cycles` times, ports vm2 and vm3 are added through the API (cross-connected
    with "peer"), a driver connects to both (tests/integration/hostile_frontend --pair) and sends
    frames from vm2 that must arrive at vm3, and both ports are removed while it is connected
    (ringlane must close its connections); and each cycle moves one of vm0's and vm1's queues to
    the other worker.
The baseline phase does the same cycles against a second daemon that forwards nothing (so the
machine is as busy: a control thread answering, a driver, this client), the change phase against
the forwarding daemon itself; quiet() measures with nothing happening at all. Each phase starts
with POST /workers/reset-gaps and ends reading every forwarding queue's longest gap between
bursts (max_gap_us) as ringlane's workers measured it."""
import os
import tempfile
import time

import daemon_api
import peers

CYCLE_TIMEOUT = 10.0  # seconds for an added pair to connect and carry frames
PAIR_FRAMES = 64
HOSTILE_FRONTEND = os.environ.get(
    "RINGLANE_HOSTILE_FRONTEND",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "tests",
                 "integration", "hostile_frontend"))


def api_ok(sock, method, path, body=None, status=200):
    """One request to ringlane's API socket that must answer `status`; returns its JSON."""
    reply = daemon_api.request(sock, method, path, body)
    if reply.status != status:
        raise RuntimeError(f"{method} {path}: {reply.status} {reply.raw}")
    return reply.json


def max_gaps_us(sock, names):
    """The longest gap between bursts of each port's queue pair 0, in microseconds."""
    return {n: api_ok(sock, "GET", f"/ports/{n}")["queues"][0]["max_gap_us"] for n in names}


class Scenario:
    """Starts ringlane (two workers) and the loop; baseline() and changes() measure; finish()
    stops and counts; close() cleans up whatever is left."""

    def __init__(self, workdir=None, cores="0-1"):
        self.work = workdir or tempfile.mkdtemp(prefix="rl-hiccup-")
        self.sock = os.path.join(self.work, "api.sock")
        self.ports = [{"name": f"vm{i}", "path": os.path.join(self.work, f"vm{i}.sock")}
                      for i in range(2)]
        self.extra_paths = [os.path.join(self.work, f"vm{i}.sock") for i in (2, 3)]
        self.cores = cores
        self.rl = None
        self.loop = None
        self.decoy = None
        try:
            self.rl = peers.Ringlane(self.ports, cores=cores, workdir=self.work,
                                     extra=["--api-sock", self.sock])
            # The loop: testpmd forwards each direction on its own lcore, one on each cpu (its
            # main lcore only reads commands), so that both of ringlane's workers share their cpu
            # with one busy forwarder: a queue moved to the other worker finds the same
            # contention it left, and its gaps measure the move, not the cpu it moved to.
            vdevs = [peers.virtio_user(i, p["path"]) for i, p in enumerate(self.ports)]
            self.loop = peers.Testpmd(vdevs, "rlhiccup0", main_lcore=0, lcore_map="0@1,1@0,2@1",
                                      nb_cores=2, interactive=True, workdir=self.work)
            self.loop.wait_output("testpmd>", timeout=30)
            self.loop.command("start tx_first")
            peers.wait_for(lambda: self._rx("vm0") > 10_000 and self._rx("vm1") > 10_000, 20,
                           "the loop to run")
        except Exception:
            self.close()
            raise

    def _rx(self, name):
        return sum(q["rx_packets"] for q in api_ok(self.sock, "GET", f"/ports/{name}")["queues"])

    def quiet(self, seconds):
        """The longest gaps over `seconds` with nothing else happening."""
        api_ok(self.sock, "POST", "/workers/reset-gaps")
        time.sleep(seconds)
        return max_gaps_us(self.sock, ("vm0", "vm1"))

    def baseline(self, cycles):
        """The same cycles as changes(), sent to a second, idle daemon (the decoy): the machine
        does the same work (a control thread answering, a driver, this client), but the
        forwarding daemon changes nothing. Returns (gaps, seconds, per-cycle times)."""
        if self.decoy is None:
            paths = [os.path.join(self.work, f"decoy{i}.sock") for i in range(2)]
            self.decoy_sock = os.path.join(self.work, "decoy-api.sock")
            self.decoy_paths = [os.path.join(self.work, f"decoy{i}.sock") for i in (2, 3)]
            os.makedirs(os.path.join(self.work, "decoy"), exist_ok=True)
            self.decoy = peers.Ringlane(
                [{"name": f"vm{i}", "path": path} for i, path in enumerate(paths)],
                cores=self.cores, workdir=os.path.join(self.work, "decoy"),
                extra=["--api-sock", self.decoy_sock, "--idle", "sleep:100"])
        return self._measured(self.decoy_sock, self.decoy_paths, cycles)

    def changes(self, cycles):
        """Returns (gaps, seconds, per-cycle times)."""
        return self._measured(self.sock, self.extra_paths, cycles)

    def _measured(self, sock, paths, cycles):
        api_ok(self.sock, "POST", "/workers/reset-gaps")
        start = time.monotonic()
        times = []
        for i in range(cycles):
            t0 = time.monotonic()
            self._cycle_pair(sock, paths, f"cycle {i}")
            moving = "vm0" if i % 2 == 0 else "vm1"
            worker = api_ok(sock, "GET", f"/ports/{moving}")["queues"][0]["worker"]
            moved = api_ok(sock, "PUT", f"/ports/{moving}/queues/0", {"worker": 1 - worker})
            now = api_ok(sock, "GET", f"/ports/{moving}")["queues"][0]["worker"]
            if moved["worker"] != 1 - worker or now != 1 - worker:
                raise RuntimeError(f"cycle {i}: {moving}'s queue is on worker {now}, not "
                                   f"{1 - worker}")
            times.append(time.monotonic() - t0)
        seconds = time.monotonic() - start
        return max_gaps_us(self.sock, ("vm0", "vm1")), seconds, times

    def _cycle_pair(self, sock, paths, what):
        """Adds vm2 and vm3, drives frames from one to the other, removes both under the driver."""
        for name, path, peer in (("vm2", paths[0], None), ("vm3", paths[1], "vm2")):
            body = {"name": name, "path": path}
            if peer:
                body["peer"] = peer
            api_ok(sock, "POST", "/ports", body, status=201)
        driver = peers.Process([HOSTILE_FRONTEND, paths[0], "--pair", paths[1], str(PAIR_FRAMES)],
                               "pair-driver", log_dir=self.work)
        try:
            peers.wait_for(lambda: "arrived=" in driver.output() or not driver.alive(),
                           CYCLE_TIMEOUT, f"{what}: the pair's frames")
            if f"arrived={PAIR_FRAMES}" not in driver.output():
                raise RuntimeError(f"{what}: frames from vm2 did not all reach vm3: "
                                   + driver.output())
            api_ok(sock, "DELETE", "/ports/vm2")
            api_ok(sock, "DELETE", "/ports/vm3")
            rc = driver.wait(CYCLE_TIMEOUT)
            if rc != 0:
                raise RuntimeError(f"{what}: the driver saw no clean close ({rc}): "
                                   + driver.output())
        finally:
            driver.kill()

    def finish(self):
        """Stops the loop; returns (testpmd's port stats, ringlane's summary)."""
        mark = len(self.loop.output())
        self.loop.command("stop")
        self.loop.wait_output("Done.", timeout=20, start=mark)
        time.sleep(0.5)  # ringlane drains what the rings still hold
        stats = self.loop.port_stats()
        text = self.loop.output()[mark:]
        self.loop.quit()
        summary = self.rl.stop()
        if self.decoy is not None:
            self.decoy.stop()
        return stats, text, summary

    def close(self):
        if self.loop is not None:
            self.loop.kill()
        for daemon in (self.rl, self.decoy):
            if daemon is not None:
                daemon.kill()
