"""Idle workers sleep (issue 15 point 4, the measured part): ringlane with `--idle sleep:100`
cross-connects two vhost ports to dpdk-testpmd (virtio_user, rxonly when forwarding). With no
traffic its worker threads use under 1% of a core, read from /proc/PID/task/TID/stat; the first
frames after each idle period (testpmd's `start tx_first` burst) are all delivered, five times
over; GET /workers counts the sleeps and the queues count the kicks that woke them. The same
idle measurement with `--idle poll` shows what sleeping saves (a whole core)."""
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import daemon_api  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

IDLE_SECONDS = 5.0
ROUNDS = 5
BURST = 32  # testpmd's tx_first: one burst of its default size on each port
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def worker_threads(pid):
    """TIDs of the process's worker threads (named rl-worker*)."""
    tids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip().startswith("rl-worker"):
                tids.append(int(tid))
    return sorted(tids)


def cpu_ticks(pid, tids):
    """utime + stime of each thread, in clock ticks."""
    total = 0
    for tid in tids:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            # The name, in parentheses, may hold spaces: fields are counted after its end.
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of the whole line
    return total


def scheduled_ns(pid, tids):
    """Nanoseconds the threads ran plus those they waited runnable for a CPU (schedstat)."""
    total = 0
    for tid in tids:
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            ran, waited = f.read().split()[:2]
        total += int(ran) + int(waited)
    return total


def idle_share(pid, seconds=IDLE_SECONDS):
    """The workers' CPU over `seconds` of nothing to do, in cores (1.0: one core busy), and the
    time they wanted a CPU (ran or waited runnable), in cores too: on a machine other work keeps
    busy a polling worker gets less than its core but still wants all of it."""
    tids = worker_threads(pid)
    assert tids, "no rl-worker threads"
    start_ticks, start_ns, start = cpu_ticks(pid, tids), scheduled_ns(pid, tids), time.monotonic()
    time.sleep(seconds)
    ticks, elapsed = cpu_ticks(pid, tids) - start_ticks, time.monotonic() - start
    wanted = (scheduled_ns(pid, tids) - start_ns) / 1e9
    return ticks / CLOCK_TICKS / elapsed, wanted / elapsed


class IdleSleep(unittest.TestCase):
    def start(self, idle, tag):
        work = tempfile.mkdtemp(prefix=f"rl-idle-{tag}-")
        self.addCleanup(subprocess.run, ["rm", "-rf", work])
        ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock")} for i in range(2)]
        sock = os.path.join(work, "api.sock")
        rl = daemon_api.start_daemon(sock, ports, cores="1", extra=["--idle", idle], workdir=work)
        self.addCleanup(rl.kill)
        api = daemon_api.Client(sock)
        self.assertEqual(api.get("/status")["idle"].split(":")[0], idle.split(":")[0])
        vdevs = [peers.virtio_user(i, p["path"]) for i, p in enumerate(ports)]
        tp = peers.Testpmd(vdevs, f"rlidle{tag}{os.getpid()}", main_lcore=1, lcores="0,1", fwd="rxonly",
                           interactive=True, memory_mb=256, workdir=work)
        self.addCleanup(tp.kill)
        tp.wait_output("testpmd>", timeout=30)
        peers.wait_for(lambda: all(q["rx_live"] and q["tx_live"] for i in range(2)
                                   for q in api.port(f"vm{i}")["queues"]), 20, "both queues live")
        time.sleep(0.5)  # the connection's own work done
        return rl, api, tp

    def burst(self, tp):
        """`start tx_first` on a quiet switch: returns (seconds until testpmd counted every frame
        at the other port, stats before, stats after), or fails if they do not all arrive."""
        before = tp.port_stats()
        mark = len(tp.output())
        start = time.monotonic()
        tp.command("start tx_first")
        seen = None
        deadline = start + 5
        while time.monotonic() < deadline:
            now = tp.port_stats()
            if all(now[p]["rx"] - before[p]["rx"] >= BURST for p in (0, 1)):
                seen = time.monotonic() - start
                break
        tp.command("stop")
        tp.wait_output("Done.", timeout=20, start=mark)
        after = tp.port_stats()
        self.assertIsNotNone(seen, f"the burst after an idle period was not delivered: before {before}, "
                                   f"after {after}")
        for p in (0, 1):
            sent = after[1 - p]["tx"] - before[1 - p]["tx"]
            self.assertEqual(sent, BURST, (before, after))
            self.assertEqual(after[p]["rx"] - before[p]["rx"], sent, f"port {p}: {before} -> {after}")
        return seen

    def test_sleeping_workers_are_idle_and_wake_on_the_first_frame(self):
        rl, api, tp = self.start("sleep:100", "sleep")
        kicks_before = sum(api.port(f"vm{i}")["queues"][0]["kicks"] for i in range(2))
        shares, wanted, seen = [], [], []
        for _ in range(ROUNDS):
            share, want = idle_share(rl.pid)
            shares.append(share)
            wanted.append(want)
            seen.append(self.burst(tp))
        workers = api.workers()
        sleeps = sum(w["sleeps"] for w in workers)
        kicks = sum(api.port(f"vm{i}")["queues"][0]["kicks"] for i in range(2))
        print(f"--idle sleep:100: workers' CPU over {IDLE_SECONDS:.0f} s idle, per round: "
              + ", ".join(f"{s * 100:.2f}%" for s in shares)
              + " (ran or runnable: " + ", ".join(f"{w * 100:.2f}%" for w in wanted) + ")"
              + f"; each round's {BURST}+{BURST} frames after the idle period all delivered, seen by testpmd "
              f"within " + ", ".join(f"{s * 1000:.0f}" for s in seen) + " ms (polling its counters); "
              f"sleeps {sleeps}, kicks {kicks_before} -> {kicks}")
        for share in shares:
            self.assertLess(share, 0.01)
        self.assertGreater(sleeps, 0, workers)
        self.assertGreaterEqual(sleeps, ROUNDS, workers)
        self.assertGreater(kicks, kicks_before)
        summary_text = api.get("/metrics")
        self.assertIn("ringlane_worker_sleeps_total", summary_text)
        tp.quit()
        summary = rl.stop()
        self.assertEqual(peers.total_drops(summary), 0, summary)

    def test_polling_workers_take_a_core(self):
        """The contrast: the same idle switch with --idle poll."""
        rl, api, tp = self.start("poll", "poll")
        share, want = idle_share(rl.pid)
        seen = self.burst(tp)
        workers = api.workers()
        print(f"--idle poll: workers' CPU over {IDLE_SECONDS:.0f} s idle {share * 100:.1f}% (ran or runnable "
              f"{want * 100:.1f}%, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); the burst "
              f"seen within {seen * 1000:.0f} ms; sleeps {sum(w['sleeps'] for w in workers)}")
        # A polling worker wants its whole core; what it gets depends on what else runs here.
        self.assertGreater(want, 0.5)
        self.assertEqual(sum(w["sleeps"] for w in workers), 0)
        tp.quit()
        rl.stop()


if __name__ == "__main__":
    report.main("integration_idle_sleep")
