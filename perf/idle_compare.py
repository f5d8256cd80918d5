"""--idle poll against --idle sleep:US (issue 15, acceptance point 4), in one run, interleaved:

  - idle CPU: a worker's CPU time (from /proc) over a quiet spell with two connected ports;
  - first frame: a driver (tests/integration/hostile_frontend --pair) sends frames one at a time,
    each after a quiet spell long enough for a sleeping worker to sleep, and times each frame's
    trip from its kick to the other port's receive ring (the added latency is sleep's minus
    poll's);
  - full load: testpmd io-forwards a closed loop through the cross-connect for a while; the rate
    is the frames ringlane forwarded per second (sleep's must stay within 5% of poll's).

    python3 perf/idle_compare.py [--rounds 3] [--sleep-us 100] [--seconds 10]"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import hiccup  # noqa: E402
import peers  # noqa: E402

LATENCY_RE = re.compile(r"latency_us p50=([\d.]+) p90=([\d.]+) max=([\d.]+)")


def worker_cpu_seconds(pid):
    ticks = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if not f.read().startswith("rl-worker"):
                continue
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def ports(work):
    return [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock")} for i in range(2)]


def quiet_and_first_frames(idle, frames, quiet_ms):
    work = tempfile.mkdtemp(prefix="rl-idle-")
    p = ports(work)
    rl = peers.Ringlane(p, cores="1", workdir=work, extra=["--idle", idle])
    driver = None
    try:
        driver = peers.Process([hiccup.HOSTILE_FRONTEND, p[0]["path"], "--pair", p[1]["path"],
                                str(frames), str(quiet_ms)], "pair-driver", log_dir=work)
        peers.wait_for(lambda: "latency_us" in driver.output() or not driver.alive(),
                       30 + frames * quiet_ms / 1000, "the driver's latencies")
        m = LATENCY_RE.search(driver.output())
        if not m:
            raise RuntimeError("driver: " + driver.output())
        # The driver stays connected, sending nothing: the quiet spell.
        before = worker_cpu_seconds(rl.pid)
        time.sleep(5)
        cpu = (worker_cpu_seconds(rl.pid) - before) / 5
        return cpu, [float(x) for x in m.groups()]
    finally:
        if driver:
            driver.kill()
        rl.kill()


def full_load(idle, seconds):
    work = tempfile.mkdtemp(prefix="rl-idle-")
    p = ports(work)
    rl = peers.Ringlane(p, cores="1", workdir=work, extra=["--idle", idle])
    try:
        _, tp = peers.run_io_loop(p, seconds, workdir=work, prefix="rlidle")
        tp.quit()
        summary = rl.stop()
        moved = sum(peers.port_totals(summary, n)["tx_packets"] for n in ("vm0", "vm1"))
        return moved / summary["seconds"] / 1e6, peers.total_drops(summary)
    finally:
        rl.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sleep-us", type=float, default=100)
    ap.add_argument("--seconds", type=float, default=10, help="each full-load run")
    ap.add_argument("--frames", type=int, default=50, help="first frames timed per round")
    ap.add_argument("--quiet-ms", type=int, default=20, help="quiet spell before each")
    a = ap.parse_args()
    modes = ["poll", f"sleep:{a.sleep_us:g}"]
    results = {m: {"cpu": [], "p50": [], "p90": [], "max": [], "mpps": []} for m in modes}
    for r in range(a.rounds):
        for m in (modes if r % 2 == 0 else modes[::-1]):
            cpu, (p50, p90, worst) = quiet_and_first_frames(m, a.frames, a.quiet_ms)
            mpps, drops = full_load(m, a.seconds)
            print(f"round {r} {m:>10}: idle worker {100 * cpu:5.1f}% of a core; first frame "
                  f"p50 {p50:.1f} us p90 {p90:.1f} us max {worst:.1f} us; full load "
                  f"{mpps:.3f} Mpps (drops {drops})", flush=True)
            for k, v in (("cpu", cpu), ("p50", p50), ("p90", p90), ("max", worst),
                         ("mpps", mpps)):
                results[m][k].append(v)
    med = {m: {k: statistics.median(v) for k, v in results[m].items()} for m in modes}
    poll, sleep = med[modes[0]], med[modes[1]]
    print(f"\n| figure (median of {a.rounds}) | poll | {modes[1]} | sleep vs poll |")
    print("|---|---|---|---|")
    print(f"| idle worker CPU, % of a core | {100 * poll['cpu']:.1f} | {100 * sleep['cpu']:.2f} | |")
    for k in ("p50", "p90", "max"):
        print(f"| first frame after {a.quiet_ms} ms quiet, {k}, us | {poll[k]:.1f} | "
              f"{sleep[k]:.1f} | +{sleep[k] - poll[k]:.1f} us |")
    print(f"| full load, Mpps | {poll['mpps']:.3f} | {sleep['mpps']:.3f} | "
          f"{sleep['mpps'] / poll['mpps']:.3f} |")


if __name__ == "__main__":
    main()
