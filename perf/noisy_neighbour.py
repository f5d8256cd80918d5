#!/usr/bin/env python3
"""Noisy neighbour (issue 11, acceptance point 4): do two well-behaved guests keep their Mpps
while a hostile guest attacks a third port on the same worker?

ringlane runs three vhost-user ports on ONE worker core (--cores 1, core 1): vm0 and vm1
cross-connected, and evil, connected to nothing. The traffic comes from DPDK testpmd with two
net_virtio_user ports (vm0, vm1) in io forwarding, started with tx_first, on core 0, as in
perf/vhost_compare.py: every frame ringlane delivers on one port is sent straight back in on the
other. The attacker is tests/integration/hostile_frontend in its loop mode on evil: it plays
every malformed ring, a kick flood and a flood of invalid messages, and every message after which
ringlane drops the connection, each on a fresh connection set up as a driver would.

Phases alternate, all in one run with the same ringlane and testpmd: quiet (A, no attacker) and
noisy (B, the attacker looping), A B A B ... A, --rounds B phases, each of --seconds. Each B is
compared with the mean of the A phases either side of it, which cancels a steady drift of the
machine. Reported per phase:
  Mpps         frames the generator received on both ports per second;
  gen cyc/pkt  the generator core's busy TSC cycles per frame (testpmd --record-core-cycles);
  rl cyc/pkt   ringlane's worker busy cycles per frame, and its busy share of the interval;
  rl ctl       CPU used by ringlane's control thread (every vhost-user message, connect and
               disconnect is handled there), in cores;
  attacker     CPU used by the attacker, in cores (from its own summary, over its lifetime);
  gen on CPU   the share of the interval the generator's forwarding thread was on a core, and
               Mpps per gen core, the Mpps divided by it;
  foreign      CPU used by processes this script did not start, in cores;
  and per second: how often ringlane's worker thread and the generator's forwarding thread were
  preempted (involuntary context switches), the worker's page faults, and the TLB-shootdown and
  function-call IPIs its core took: where the attacker's cost lands.
Then the ratio noisy/quiet per round and overall (mean B over mean A). The machine changes state
on its own (see docs/benchmarks.md: every figure moves by up to 2x when the host moves a vCPU), so
a round whose two quiet phases differ by more than 1.2x, or whose noisy phase has ringlane's worker
over 1.3x cheaper per packet than both quiet ones (the machine got faster: an attack cannot do
that), is marked unsteady, and the target (0.90) is judged on the median of the steady rounds. Then the attacker's own counts (connections, ring
attacks, kicks, invalid and dropping messages, anything ringlane answered unexpectedly) and
ringlane's summary counters per port (vhost-user messages, bad messages, connections,
disconnects, ring errors, drops).

Where everything runs: ringlane's worker on core 1, the generator on core 0. On a machine with 4
cores or more, the attacker gets core 2 and ringlane's control thread core 3, as in a deployment
where a hostile guest's vCPUs and ringlane's housekeeping are each on their own cores; with 3, the
attacker and the control thread share core 2. With 2 cores (the machines this was written on),
there is no core to spare: the attacker and the control thread (which by default keeps off the
worker cores) run on core 0 and take CPU from the generator, which stands for the good guests. A
kick flood, which ringlane never reads, then lowers the Mpps as much as any attack. So each phase
also reports the generator thread's time on its core ("gen on CPU") and the Mpps per second it
ran ("Mpps per gen core"): the Mpps the good guests would reach with their core to themselves.
Its ratio noisy/quiet is the attack's cost through ringlane; the plain Mpps ratio is the figure the
target is judged on. --attacker-cpu and --control-cpu move them; --rate N caps the attacker's
cycles per second (default 0: as fast as it can) and --flood-ms sets the floods' length (default
20 ms per cycle); --attacks plays only some attacks (ring, kicks, invalid, dropping), to find out
where a loss comes from.

Exit status 0 when the run completed (whether or not the target was met: it is a benchmark),
1 when something could not be set up, 130 when interrupted. Run as root:
  sudo python3 perf/noisy_neighbour.py [--seconds 3] [--rounds 5] [--rate N] [--json OUT]
Binaries default to build/ (ringlane, tests/integration/hostile_frontend, perf/ringlane_microbench);
RINGLANE_BIN and RINGLANE_HOSTILE_FRONTEND override them, as in the tests. Everything started is
stopped by PID, also on failure or Ctrl-C."""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import peers  # noqa: E402
import vhost_compare as vc  # noqa: E402  (perf/: the generator and CPU accounting)

GEN_PREFIX = "nn-gen"
WORKER_CORE = 1
TARGET = 0.90
STEADY = 1.2  # quiet phases either side of a noisy one further apart than this: an unsteady round
FASTER = 1.3  # a noisy phase whose worker cycles/packet is this much below both quiet ones': unsteady
HOSTILE = os.environ.get("RINGLANE_HOSTILE_FRONTEND",
                         os.path.join(peers.ROOT, "build", "tests", "integration", "hostile_frontend"))
_HOSTILE_SUMMARY_RE = re.compile(r"^hostile_frontend loop: (.*)$", re.M)
_RATE_RE = re.compile(r"^\s*([\d.]+)s\s+([\d.]+) Mpps\s+[\d.]+ Gbps\s+(\d+) cyc/pkt", re.M)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Failure(RuntimeError):
    pass


def find_thread(pid, prefix):
    """The id of the first thread of `pid` whose name starts with `prefix`, or None."""
    try:
        for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().startswith(prefix):
                    return int(tid)
    except OSError:
        pass
    return None


def thread_sample(pid, tid):
    """A thread's CPU ticks (user + system), minor page faults and involuntary context switches
    (times it was preempted) so far; None once it is gone."""
    if tid is None:
        return None
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            nv = re.search(r"^nonvoluntary_ctxt_switches:\s*(\d+)", f.read(), re.M)
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            on_cpu_ns = int(f.read().split()[0])
        return {"ticks": int(stat[11]) + int(stat[12]), "minflt": int(stat[7]),
                "preempted": int(nv.group(1)) if nv else 0, "on_cpu": on_cpu_ns / 1e9}
    except (OSError, IndexError, ValueError):
        return None


def interrupts(core):
    """This core's interrupt counts by kind (TLB shootdowns, function calls, reschedules...)."""
    out = {}
    with open("/proc/interrupts") as f:
        ncpu = len(f.readline().split())
        for line in f:
            parts = line.split()
            if len(parts) > ncpu and parts[0].rstrip(":").isalpha():
                try:
                    out[parts[0].rstrip(":")] = int(parts[1 + core])
                except ValueError:
                    pass
    return out


def rates(before, after, seconds, scale=1.0):
    if before is None or after is None:
        return None
    return {k: (after[k] - before[k]) * scale / seconds for k in after if k in before}


def worker_window(text, window, tsc_hz):
    """ringlane's worker cycles/packet and busy share over its half-second rate lines that lie
    inside `window` (wall clock); (None, None) when none do."""
    started = re.search(r"^(\d+\.\d+) ringlane info: running:", text, re.M)
    if not started:
        return None, None
    t_start = float(started.group(1))
    prev, cycles, packets, seconds = 0.0, 0.0, 0.0, 0.0
    for t, mpps, cpp in _RATE_RE.findall(text):
        t = float(t)
        if t_start + prev >= window[0] - 0.05 and t_start + t <= window[1] + 0.05:
            n = float(mpps) * 1e6 * (t - prev)
            packets += n
            cycles += n * float(cpp)
            seconds += t - prev
        prev = t
    if not packets:
        return None, None
    return cycles / packets, (cycles / (tsc_hz * seconds) if tsc_hz and seconds else None)


def parse_hostile(text):
    m = _HOSTILE_SUMMARY_RE.findall(text)
    if not m:
        return None
    out = {}
    for pair in m[-1].split():
        k, _, v = pair.partition("=")
        out[k] = float(v) if "." in v else int(v)
    return out


class Bench:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.ports = [{"name": n, "path": os.path.join(work, f"{n}.sock")} for n in ("vm0", "vm1", "evil")]
        self.rl = None
        self.gen = None
        self.phases = []
        self.hostile_runs = []

    def start(self):
        log(f"ringlane: ports vm0 <-> vm1 and evil, one worker on core {WORKER_CORE}")
        extra = ["--xconnect", "vm0:vm1", "--stats-interval", "0.5"]
        if self.args.control_cpu is not None:
            extra += ["--control-cores", self.args.control_cpu]
        self.rl = peers.Ringlane(self.ports, cores=str(WORKER_CORE), workdir=self.work, extra=extra)
        log("ringlane: " + re.search(r"running: .*", self.rl.process.output()).group(0))
        log("generator: testpmd, two net_virtio_user ports (vm0, vm1), io forwarding on core 0")
        vc.GEN_PREFIX = GEN_PREFIX
        self.gen = vc.Generator([p["path"] for p in self.ports[:2]], False, self.args.size, self.work,
                                self.args.bursts, "")
        peers.wait_for(lambda: self.rl.process.output().count("frontend connected") >= 2, 20,
                       "both generator ports to connect to ringlane")
        self.gen.start()

    def attacker_argv(self, seconds):
        argv = [self.args.hostile, self.ports[2]["path"], "--loop", f"{seconds:g}",
                "--flood-ms", str(self.args.flood_ms), "--pause-ms", str(self.args.pause_ms),
                "--rate", f"{self.args.rate:g}", "--attacks", self.args.attacks]
        if self.args.attacker_cpu != "any":
            argv = ["taskset", "-c", self.args.attacker_cpu] + argv
        return argv

    def phase(self, kind, index):
        a = self.args
        attacker = None
        if kind == "B":
            # The attacker runs a little longer than the measured interval on both sides.
            attacker = peers.Process(self.attacker_argv(a.seconds + 2 * a.lead), "hostile", log_dir=self.work)
            time.sleep(a.lead)
            if not attacker.alive():
                raise Failure("the attacker exited at once:\n" + attacker.output()[-2000:])
        worker_tid = find_thread(self.rl.pid, "rl-worker")
        gen_tid = find_thread(self.gen.tp.process.pid, "rte-worker")
        mono0 = time.monotonic()
        ctl0, wk0 = thread_sample(self.rl.pid, self.rl.pid), thread_sample(self.rl.pid, worker_tid)
        gw0, irq0 = thread_sample(self.gen.tp.process.pid, gen_tid), interrupts(WORKER_CORE)
        self.gen.clear()
        gen_t0 = time.monotonic()
        cpu0 = vc.cpu_snapshot()
        t0, s0 = self.gen.port_stats()
        wall0 = time.time()
        time.sleep(a.seconds)
        t1, s1 = self.gen.port_stats()
        wall1 = time.time()
        cpu1 = vc.cpu_snapshot()
        gen_t1 = time.monotonic()
        gen_cycles = self.gen.cycles()
        ctl1, wk1 = thread_sample(self.rl.pid, self.rl.pid), thread_sample(self.rl.pid, worker_tid)
        gw1, irq1 = thread_sample(self.gen.tp.process.pid, gen_tid), interrupts(WORKER_CORE)
        sampled = time.monotonic() - mono0  # the threads' samples span a little more than [t0, t1]
        seconds = t1 - t0
        tick = 1.0 / os.sysconf("SC_CLK_TCK")
        pkts = sum(s1[p]["rx"] - s0[p]["rx"] for p in (0, 1))
        per_dir = [(s1[p]["rx"] - s0[p]["rx"]) / seconds / 1e6 for p in (0, 1)]
        result = {
            "phase": kind, "index": index, "seconds": seconds, "window": (wall0, wall1),
            "mpps": pkts / seconds / 1e6, "mpps_per_direction": per_dir,
            "gen_cycles_per_packet": gen_cycles and gen_cycles["cycles_per_packet"],
            "gen_busy": gen_cycles and gen_cycles["busy_cycles"] / (gen_cycles["tsc_hz"] * (gen_t1 - gen_t0)),
            "control_cores": (ctl1["ticks"] - ctl0["ticks"]) * tick / seconds
            if ctl0 and ctl1 else None,
            # Per second: the control thread's page faults, the worker's preemptions and page
            # faults, the generator thread's preemptions, and IPIs on the worker's core.
            "control": rates(ctl0, ctl1, seconds),
            "worker": rates(wk0, wk1, seconds),
            "generator_thread": rates(gw0, gw1, seconds),
            "worker_core_irqs": rates(irq0, irq1, seconds),
            "foreign_cores": vc.foreign_cores(cpu0, cpu1, seconds),
            # The share of the interval the generator's forwarding thread was on its core, and the
            # Mpps it moved per second it ran: what the good guests would reach with their core to
            # themselves. On two cores the attacker's CPU comes out of the generator's core; this
            # takes that out and leaves what the attack cost through ringlane.
            "gen_on_cpu": (gw1["on_cpu"] - gw0["on_cpu"]) / sampled if gw0 and gw1 else None,
            "worker_on_cpu": (wk1["on_cpu"] - wk0["on_cpu"]) / sampled if wk0 and wk1 else None,
            "attacker": None,
        }
        if attacker is not None:
            rc = attacker.wait(a.seconds + 30)
            if rc is None:
                attacker.kill()
                raise Failure("the attacker did not finish:\n" + attacker.output()[-2000:])
            counts = parse_hostile(attacker.output())
            if counts is None:
                raise Failure(f"the attacker exited with {rc} and no summary:\n" + attacker.output()[-2000:])
            counts["exit_status"] = rc
            counts["unexpected_lines"] = [line for line in attacker.output().splitlines()
                                          if "unexpected:" in line][:10]
            counts["cores"] = counts["cpu_seconds"] / counts["seconds"] if counts["seconds"] else None
            result["attacker"] = counts
            self.hostile_runs.append(counts)
        result["mpps_per_gen_core"] = (result["mpps"] / result["gen_on_cpu"]
                                       if result["gen_on_cpu"] else None)
        time.sleep(a.settle)
        if pkts < 1000 or min(per_dir) <= 0:
            raise Failure(f"phase {kind}{index}: traffic did not flow both ways ({per_dir} Mpps)")
        att = result["attacker"]
        log(f"phase {kind}{index}: {result['mpps']:.3f} Mpps, generator "
            f"{vc.fmt(result['gen_cycles_per_packet'], '.0f')} cyc/pkt, ringlane control "
            f"{vc.fmt(result['control_cores'], '.3f')} cores, foreign {result['foreign_cores']:.2f} cores, "
            f"worker preempted {vc.fmt(result['worker'] and result['worker']['preempted'], '.0f')}/s"
            + (f"; attacker {att['cores']:.3f} cores, {att['connections']} connections, "
               f"unexpected {att['unexpected']}" if att else ""))
        self.phases.append(result)
        return result

    def stop(self):
        """Stops the generator, then ringlane; its summary, and the worker's figures per phase."""
        self.gen.stop()
        self.gen = None
        summary = self.rl.stop()
        text = self.rl.process.output()
        tsc = summary.get("tsc_hz")
        for p in self.phases:
            cpp, busy = worker_window(text, p["window"], tsc)
            p["rl_cycles_per_packet"] = cpp
            p["rl_busy"] = busy
        return summary

    def kill(self):
        for x in (self.gen, self.rl):
            if x is not None:
                try:
                    x.kill()
                except Exception:  # noqa: BLE001 - cleanup must go on
                    pass


def port_report(summary, name):
    p = next(x for x in summary["ports"] if x["name"] == name)
    vu = p.get("vhost_user", {})
    return {"messages": vu.get("messages"), "bad_messages": vu.get("bad_messages"),
            "connections": vu.get("connections"), "disconnects": vu.get("disconnects"),
            "ring_errors": sum(q["ring_errors"] for q in p["queues"]),
            "drops": p["totals"]["drops"], "rx_packets": p["totals"]["rx_packets"],
            "tx_packets": p["totals"]["tx_packets"]}


def report(bench, summary, args):
    phases = bench.phases
    print()
    print(f"Noisy neighbour: {args.size}-byte frames, {args.seconds:g} s per phase, attacker on "
          f"{'any core' if args.attacker_cpu == 'any' else 'core ' + args.attacker_cpu}, "
          f"--flood-ms {args.flood_ms} --pause-ms {args.pause_ms} --rate {args.rate:g} --attacks {args.attacks}"
          + f", ringlane's control thread on core(s) {args.control_cpu or 'apart from the worker (its default)'}")
    print()
    print("| phase | Mpps | gen on CPU | Mpps per gen core | gen cyc/pkt | gen busy | rl cyc/pkt | rl busy | rl control | attacker | foreign "
          "| worker preempted/s | worker faults/s | gen preempted/s | core 1 TLB/s | core 1 CAL/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def per_s(d, k):
        return vc.fmt(d and d.get(k), ".0f")

    for p in phases:
        att = p["attacker"]
        print(f"| {p['phase']}{p['index']} | {p['mpps']:.3f} | {vc.pct(p['gen_on_cpu'])} | "
              f"{vc.fmt(p['mpps_per_gen_core'], '.3f')} | {vc.fmt(p['gen_cycles_per_packet'], '.0f')} | "
              f"{vc.pct(p['gen_busy'])} | {vc.fmt(p.get('rl_cycles_per_packet'), '.0f')} | "
              f"{vc.pct(p.get('rl_busy'))} | {vc.fmt(p['control_cores'], '.3f')} | "
              f"{vc.fmt(att and att['cores'], '.3f')} | {p['foreign_cores']:.2f} | "
              f"{per_s(p['worker'], 'preempted')} | {per_s(p['worker'], 'minflt')} | "
              f"{per_s(p['generator_thread'], 'preempted')} | {per_s(p['worker_core_irqs'], 'TLB')} | "
              f"{per_s(p['worker_core_irqs'], 'CAL')} |")
    quiet = [p for p in phases if p["phase"] == "A"]
    noisy = [p for p in phases if p["phase"] == "B"]
    rounds = []
    for b in noisy:
        before = next(p for p in quiet if p["index"] == b["index"])
        after = next(p for p in quiet if p["index"] == b["index"] + 1)
        ref = statistics.mean([before["mpps"], after["mpps"]])
        # The machine changes state on its own (the core-to-core round trip moves, and with it
        # every figure by up to 2x): a round whose quiet phases disagree is not comparable, nor
        # one whose noisy phase has the worker cheaper per packet than both quiet ones (an attack
        # cannot do that; the machine got faster in between). A change to the slow state during
        # the noisy phase alone is not caught: it counts against ringlane.
        steady = max(before["mpps"], after["mpps"]) <= STEADY * min(before["mpps"], after["mpps"])
        cpps = [p.get("rl_cycles_per_packet") for p in (before, b, after)]
        if None not in cpps and cpps[1] * FASTER < min(cpps[0], cpps[2]):
            steady = False
        per_core = [p["mpps_per_gen_core"] for p in (before, b, after)]
        core_ratio = (per_core[1] / statistics.mean([per_core[0], per_core[2]])
                      if None not in per_core else None)
        rounds.append({"round": b["index"], "quiet_mpps": ref, "noisy_mpps": b["mpps"], "ratio": b["mpps"] / ref,
                       "per_gen_core_ratio": core_ratio, "steady": steady})
    overall = statistics.mean(p["mpps"] for p in noisy) / statistics.mean(p["mpps"] for p in quiet)
    steady = [r["ratio"] for r in rounds if r["steady"]]
    verdict = statistics.median(steady) if steady else overall
    steady_core = [r["per_gen_core_ratio"] for r in rounds if r["steady"] and r["per_gen_core_ratio"]]
    core_verdict = statistics.median(steady_core) if steady_core else None
    print()
    for r in rounds:
        print(f"round {r['round']}: noisy {r['noisy_mpps']:.3f} Mpps / quiet {r['quiet_mpps']:.3f} Mpps "
              f"(mean of the quiet phases either side) = {r['ratio']:.3f}; per generator core "
              f"{vc.fmt(r['per_gen_core_ratio'], '.3f')}"
              + ("" if r["steady"] else "  (unsteady: the machine changed state)"))
    met = verdict >= TARGET
    print(f"overall: mean noisy {statistics.mean(p['mpps'] for p in noisy):.3f} / mean quiet "
          f"{statistics.mean(p['mpps'] for p in quiet):.3f} Mpps = {overall:.3f}")
    print(f"median of the {len(steady)} steady round(s): "
          + (f"{verdict:.3f}" if steady else "none steady, the overall ratio counts")
          + f"; target >= {TARGET:.2f}: {'met' if met else 'NOT met'}")
    if core_verdict is not None:
        print(f"per generator core (Mpps / the generator thread's time on its core), median of the steady "
              f"rounds: {core_verdict:.3f}: the loss left when the attacker's and ringlane's control "
              f"thread's CPU on the generator's core is taken out")
    att = {}
    for k in ("seconds", "cycles", "connections", "setup_failures", "ring_attacks", "ring_expected", "kicks",
              "invalid_sent", "invalid_refused", "valid_sent", "dropping_sent", "dropped", "unexpected",
              "cpu_seconds"):
        att[k] = sum(h.get(k, 0) for h in bench.hostile_runs)
    print()
    print(f"attacker, all noisy phases: {att['connections']} connections in {att['seconds']:.1f} s "
          f"({att['connections'] / att['seconds']:.0f}/s), {att['ring_attacks']} malformed rings "
          f"({att['ring_expected']} answered as expected), {att['kicks']} kicks, {att['invalid_sent']} invalid "
          f"messages ({att['invalid_refused']} refused with an error reply), {att['dropping_sent']} "
          f"connection-ending messages ({att['dropped']} dropped), set-up failures {att['setup_failures']}, "
          f"unexpected answers {att['unexpected']}, {att['cpu_seconds'] / att['seconds']:.3f} cores")
    for h in bench.hostile_runs:
        for line in h["unexpected_lines"]:
            print(f"  {line}")
    ports = {n: port_report(summary, n) for n in ("vm0", "vm1", "evil")}
    print()
    print("| ringlane summary | messages | bad messages | connections | disconnects | ring errors | drops |")
    print("|---|---|---|---|---|---|---|")
    for n, r in ports.items():
        print(f"| {n} | {vc.fmt(r['messages'], 'd')} | {vc.fmt(r['bad_messages'], 'd')} | "
              f"{vc.fmt(r['connections'], 'd')} | {vc.fmt(r['disconnects'], 'd')} | {r['ring_errors']} | {r['drops']} |")
    return {"rounds": rounds, "overall_ratio": overall, "steady_median_ratio": statistics.median(steady)
            if steady else None, "target": TARGET, "target_met": met,
            "steady_median_per_gen_core_ratio": core_verdict,
            "attacker_totals": att, "ringlane_ports": ports}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0, help="measured interval per phase (default 3)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="noisy phases, each between two quiet ones: A B A ... B A (default 5)")
    ap.add_argument("--warmup", type=float, default=2.0, help="traffic before the first phase (default 2)")
    ap.add_argument("--lead", type=float, default=0.5,
                    help="the attacker starts this long before a noisy phase and runs as long after (default 0.5)")
    ap.add_argument("--settle", type=float, default=0.5, help="pause after each phase (default 0.5)")
    ap.add_argument("--size", type=int, default=64, help="frame size in bytes (default 64)")
    ap.add_argument("--bursts", type=int, default=1,
                    help="bursts of 32 frames per port the generator starts with (tx_first N, default 1)")
    ap.add_argument("--flood-ms", type=int, default=20,
                    help="the attacker's kick flood and invalid-message flood, each per cycle (default 20)")
    ap.add_argument("--pause-ms", type=int, default=0, help="the attacker's pause between cycles (default 0)")
    ap.add_argument("--rate", type=float, default=0,
                    help="the attacker's cycles per second at most (default 0: as fast as it can); a fixed "
                         "rate keeps the attack the same wherever ringlane's control thread runs")
    ap.add_argument("--attacks", default="ring,kicks,invalid,dropping",
                    help="the attacks the attacker plays (hostile_frontend --attacks; default all)")
    cores = os.cpu_count() or 1
    ap.add_argument("--control-cpu", default="3" if cores >= 4 else "2" if cores == 3 else None,
                    help="ringlane --control-cores for its control thread (default: core 3 when the machine "
                         "has 4 cores or more, 2 when it has 3, else ringlane's own default, every core "
                         "but the worker's)")
    ap.add_argument("--attacker-cpu", default="2" if cores >= 3 else "0",
                    help="core the attacker is pinned to (taskset), or 'any' (default: core 2 when the "
                         "machine has 3 cores or more, a core of its own as a hostile guest's vCPU would "
                         "have; else 0, the guests' core)")
    ap.add_argument("--ringlane", default=peers.RINGLANE, help=f"ringlane binary (default {peers.RINGLANE})")
    ap.add_argument("--hostile", default=HOSTILE, help=f"hostile_frontend binary (default {HOSTILE})")
    ap.add_argument("--microbench", default=os.path.join(peers.ROOT, "build", "perf", "ringlane_microbench"),
                    help="ringlane_microbench, to record the core-to-core round trip before and after")
    ap.add_argument("--wait-quiet", type=float, default=30.0,
                    help="first wait up to this many seconds for other processes to go idle (default 30)")
    ap.add_argument("--json", metavar="OUT", help="write all results as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep logs and sockets in the work directory")
    args = ap.parse_args()
    if args.rounds < 1 or args.seconds <= 0:
        ap.error("--rounds must be at least 1 and --seconds positive")
    if not 60 <= args.size <= 1518:
        ap.error("--size must lie in 60..1518")
    if args.attacker_cpu != "any" and not args.attacker_cpu.isdigit():
        ap.error("--attacker-cpu takes a core number or 'any'")

    args.hostile = os.path.abspath(args.hostile)
    peers.RINGLANE = os.path.abspath(args.ringlane)
    missing = [p for p in (peers.RINGLANE, args.hostile) if not os.access(p, os.X_OK)]
    if not shutil.which(peers.TESTPMD):
        missing.append(peers.TESTPMD)
    if missing:
        log(f"failed: missing programs: {', '.join(missing)} (build first; see --help)")
        return 1

    signal.signal(signal.SIGTERM, vc._interrupt)
    signal.signal(signal.SIGINT, vc._interrupt)
    work = tempfile.mkdtemp(prefix="noisy-neighbour-")
    bench = Bench(args, work)
    result = None
    try:
        # Private copies: a rebuild of the tree during the run must not mix binaries.
        provenance = {"ringlane_sha256": vc.sha256(peers.RINGLANE), "hostile_sha256": vc.sha256(args.hostile),
                      "git_head": vc.git_head()}
        peers.RINGLANE = shutil.copy2(peers.RINGLANE, os.path.join(work, "ringlane"))
        args.hostile = shutil.copy2(args.hostile, os.path.join(work, "hostile_frontend"))
        if args.wait_quiet > 0:
            vc.wait_quiet(vc.DISTURBED, args.wait_quiet)
        c2c_before = vc.core_to_core_ns(args.microbench)
        if c2c_before is not None:
            log(f"core-to-core cache-line round trip {c2c_before:.0f} ns")
        bench.start()
        log(f"warming up {args.warmup:g} s")
        time.sleep(args.warmup)
        for i in range(args.rounds):
            bench.phase("A", i)
            bench.phase("B", i)
        bench.phase("A", args.rounds)
        summary = bench.stop()
        c2c_after = vc.core_to_core_ns(args.microbench)
        if c2c_after is not None:
            log(f"core-to-core cache-line round trip {c2c_after:.0f} ns")
        result = report(bench, summary, args)
        result.update({"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "args": vars(args), **provenance,
                       "core_to_core_ns": [c2c_before, c2c_after], "phases": bench.phases,
                       "ringlane_summary": summary})
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
        return 130
    except (Failure, vc.Failure, TimeoutError, RuntimeError, OSError) as e:
        log(f"failed: {e}")
        return 1
    finally:
        bench.kill()
        for proc in list(peers._live):
            proc.kill()
        peers.remove_hugepage_files(GEN_PREFIX)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"logs kept in {work}")
    if args.json and result:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
