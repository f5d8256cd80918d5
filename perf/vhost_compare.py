#!/usr/bin/env python3
"""Compares ringlane with DPDK testpmd (net_vhost) and OVS-DPDK as vhost-user switches.

Each device under test (DUT) forwards between two vhost-user ports on ONE dedicated core (core 1).
The traffic comes from DPDK testpmd with two net_virtio_user ports in io forwarding, started
with tx_first, forwarding on the other core (core 0): every frame the DUT delivers on one port is
sent straight back in on the other, so both directions stay loaded. Only one DUT runs at a time
and no two busy pollers ever share a core. Traffic never leaves this machine: Unix sockets only.

Per DUT and frame size: warm-up, then a measured interval in which it reports
  Mpps      frames the generator received on both ports (sum of both directions) per second;
  Gbps      L1 rate, (frame bytes + 24) * 8 per frame: 4 FCS + 8 preamble + 12 inter-frame gap,
            with frame bytes as testpmd counts them (no FCS);
  cyc/pkt   the DUT core's busy TSC cycles per forwarded frame over the interval
            (ringlane: worker busy cycles; testpmd: --record-core-cycles; OVS: pmd-stats-show
            'avg processing cycles per packet');
  busy      share of the interval's TSC cycles the core spent on non-empty polls: a core near
            100% is the bottleneck. Shown for the DUT and for the generator core.
  foreign   CPU time used by processes this script did not start, in cores: above ~0.1 the
            numbers are disturbed and the run should be repeated.
  c2c ns    cache-line round trip between cores 0 and 1 before and after the case (from
            ringlane_microbench, when built): the host's vCPU placement shows here, and every
            frame crosses the two cores, so cases are comparable only at similar values.

The machine is shared and noisy: before each case the script waits for other processes to go
idle, and measures a case again when they did not or when the core-to-core round trip moved
during it. --repeat N interleaves N runs of all DUTs; ratios are reported per run and as the
median over the runs whose core-to-core round trip stayed steady. --bursts N starts the loop with N bursts of 32 frames per
port instead of one (more frames in flight: throughput- rather than round-trip-bound).

Run as root: sudo python3 perf/vhost_compare.py [--seconds 8] [--sizes 64,1518]
[--only ringlane,dpdk,ovs] [--repeat N] [--bursts N] [--json OUT]. Everything started is stopped
by PID, also on failure or Ctrl-C."""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import peers  # noqa: E402

OVS_VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
GEN_PREFIX = "pf-gen"
DUT_PREFIX = "pf-dut"
OVS_PREFIX = "ovs-pf"
DUT_CORE = 1
DUTS = ("ringlane", "dpdk", "ovs")
DUT_LABELS = {"ringlane": "ringlane", "dpdk": "DPDK testpmd/vhost", "ovs": "OVS-DPDK 3.1"}
L1_OVERHEAD = 24  # FCS 4 + preamble/SFD 8 + inter-frame gap 12
DISTURBED = 0.1  # cores used by other processes above which a measurement counts as disturbed
C2C_STEADY = 1.5  # a run whose core-to-core round trip moved more than this factor is unsteady

_FWD_CYCLES_RE = re.compile(
    r"CPU cycles/packet=([\d.]+) \(total cycles=(\d+) / total io packets=(\d+)\) at (\d+) MHz")
_ACCUMULATED_RE = re.compile(r"Accumulated forward statistics.*?TX-total:\s*\d+\s*\n\s*\+{10,}", re.S)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Failure(RuntimeError):
    pass


# --- testpmd console --------------------------------------------------------------------------

def console(tp, line, ready, timeout=15):
    """Sends one command to an interactive testpmd; waits until ready(text after it) holds."""
    mark = len(tp.output())
    tp.command(line)
    peers.wait_for(lambda: ready(tp.output()[mark:]) or not tp.process.alive(), timeout,
                   f"testpmd {tp.prefix}: '{line}'")
    if not tp.process.alive():
        raise Failure(f"testpmd {tp.prefix} exited:\n" + tp.output()[-3000:])
    return tp.output()[mark:]


def stop_testpmd(tp):
    """Stops forwarding (so testpmd prints its totals), then quits, even if stopping fails."""
    try:
        console(tp, "stop", lambda t: "Done." in t, timeout=20)
    finally:
        tp.quit()


def fwd_cycles(tp):
    """'show fwd stats all': busy cycles since the last 'clear fwd stats all'."""
    mark = len(tp.output())
    console(tp, "show fwd stats all", lambda t: _ACCUMULATED_RE.search(t) is not None)
    time.sleep(0.2)  # the cycles line follows the block
    text = tp.output()[mark:]
    m = _FWD_CYCLES_RE.findall(text)
    if not m:
        return None
    cpp, cycles, packets, mhz = m[-1]
    acc = re.search(r"Accumulated.*?RX-dropped:\s*(\d+).*?TX-dropped:\s*(\d+)", text, re.S)
    return {"cycles_per_packet": float(cpp), "busy_cycles": int(cycles), "packets": int(packets),
            "tsc_hz": int(mhz) * 1e6, "drops": int(acc.group(1)) + int(acc.group(2)) if acc else None}


class Generator:
    """testpmd with two virtio_user ports, io forwarding on lcore 0 (its main lcore 1 only waits
    for console input)."""

    def __init__(self, sockets, server, size, work, bursts, vdev_extra):
        self.bursts = bursts
        vdevs = [peers.virtio_user(i, s, server=server, extra=vdev_extra) for i, s in enumerate(sockets)]
        self.tp = peers.Testpmd(vdevs, GEN_PREFIX, main_lcore=1, lcores="0,1", interactive=True,
                                extra=[f"--txpkts={size}"], workdir=work)
        # In server mode the virtio_user ports wait here until the DUT has connected.
        self.tp.wait_output("testpmd>", timeout=90)
        if "Configuring Port 1" not in self.tp.output():
            raise Failure("generator did not get both ports:\n" + self.tp.output()[-3000:])

    def start(self):
        line = "start tx_first" + (f" {self.bursts}" if self.bursts > 1 else "")
        console(self.tp, line, lambda t: "io packet forwarding" in t)

    def clear(self):
        self.tp.command("clear fwd stats all")  # prints nothing to wait for
        time.sleep(0.1)

    def port_stats(self):
        """(monotonic time the command was sent, per-port counters)."""
        sent = time.monotonic()
        text = console(self.tp, "show port stats all", lambda t: len(peers.parse_port_stats(t)) == 2)
        return sent, peers.parse_port_stats(text)

    def cycles(self):
        return fwd_cycles(self.tp)

    def stop(self):
        stop_testpmd(self.tp)

    def kill(self):
        self.tp.kill()


# --- devices under test -------------------------------------------------------------------------

class RinglaneDut:
    name = "ringlane"
    generator_server = False  # ringlane listens, the generator connects

    def __init__(self, work):
        self.ports = [{"name": n, "path": os.path.join(work, f"rl-{n}.sock")} for n in ("a", "b")]
        self.sockets = [p["path"] for p in self.ports]
        # Half-second rate lines let the measured interval be cut out of ringlane's counters.
        self.rl = peers.Ringlane(self.ports, cores=str(DUT_CORE), workdir=work,
                                 extra=["--stats-interval", "0.5"])
        self.window = None

    def ready(self):
        peers.wait_for(lambda: self.rl.process.output().count("frontend connected") >= 2, 20,
                       "both frontends to connect to ringlane")

    def begin(self):
        pass

    def end(self, wall0, wall1):
        self.window = (wall0, wall1)

    def stop(self):
        summary = self.rl.stop()
        text = self.rl.process.output()
        result = {"drops": peers.total_drops(summary)}
        w = summary["workers"][0]
        result["run_cycles_per_packet"] = w["cycles_per_packet"]
        tsc_hz = summary["tsc_hz"]
        started = re.search(r"^(\d+\.\d+) ringlane info: running:", text, re.M)
        lines = re.findall(r"^\s*([\d.]+)s\s+([\d.]+) Mpps\s+[\d.]+ Gbps\s+(\d+) cyc/pkt", text, re.M)
        if started and lines and self.window:
            t_start = float(started.group(1))
            prev, cycles, packets, seconds = 0.0, 0.0, 0.0, 0.0
            for t, mpps, cpp in lines:
                t = float(t)
                # Only rate intervals lying inside the generator's measured interval.
                if t_start + prev >= self.window[0] - 0.05 and t_start + t <= self.window[1] + 0.05:
                    n = float(mpps) * 1e6 * (t - prev)
                    packets += n
                    cycles += n * float(cpp)
                    seconds += t - prev
                prev = t
            if packets:
                result["cycles_per_packet"] = cycles / packets
                result["busy"] = cycles / (tsc_hz * seconds)
        if "cycles_per_packet" not in result:
            # Whole run (warm-up included) when the interval could not be cut out.
            result["cycles_per_packet"] = w["cycles_per_packet"]
            result["busy"] = None
        return result

    def kill(self):
        self.rl.kill()


class TestpmdDut:
    name = "dpdk"
    generator_server = False  # net_vhost listens, the generator connects

    def __init__(self, work):
        self.sockets = [os.path.join(work, f"dut-vhost{i}.sock") for i in range(2)]
        vdevs = [f"net_vhost{i},iface={s},queues=1" for i, s in enumerate(self.sockets)]
        # Main lcore 0 only waits for console input; the forwarding lcore is 1. No tx_first: the
        # generator fills the loop. No link check: ports are down until the generator connects.
        self.tp = peers.Testpmd(vdevs, DUT_PREFIX, main_lcore=0, lcores="0,1", interactive=True,
                                tx_first=False, extra=["--disable-link-check"], workdir=work)
        self.tp.wait_output("testpmd>", timeout=60)
        console(self.tp, "start", lambda t: "io packet forwarding" in t)
        peers.wait_for(lambda: all(os.path.exists(s) for s in self.sockets), 10, "net_vhost sockets")
        self.measured = None

    def ready(self):
        pass  # the generator's virtio_user ports finished vhost-user set-up before its prompt

    def begin(self):
        self.tp.command("clear fwd stats all")  # prints nothing to wait for
        time.sleep(0.1)

    def end(self, wall0, wall1):
        self.measured = fwd_cycles(self.tp)

    def stop(self):
        stop_testpmd(self.tp)
        m = self.measured or {}
        return {"cycles_per_packet": m.get("cycles_per_packet"), "busy_cycles": m.get("busy_cycles"),
                "tsc_hz": m.get("tsc_hz"), "drops": m.get("drops")}

    def kill(self):
        self.tp.kill()


class OvsDut:
    name = "ovs"
    generator_server = True  # dpdkvhostuserclient ports connect to the generator's sockets

    def __init__(self, work):
        self.dir = os.path.join(work, "ovs")
        for sub in ("run", "db", "log", "etc"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        run = os.path.join(self.dir, "run")
        self.env = dict(os.environ, OVS_RUNDIR=run, OVS_DBDIR=os.path.join(self.dir, "db"),
                        OVS_LOGDIR=os.path.join(self.dir, "log"), OVS_SYSCONFDIR=os.path.join(self.dir, "etc"))
        self.db_sock = os.path.join(run, "db.sock")
        self.vswitchd_ctl = os.path.join(run, "ovs-vswitchd.ctl")
        self.sockets = [os.path.join(work, f"gen-vu{i}.sock") for i in range(2)]
        self.procs = []
        self.measured = None
        db = os.path.join(self.dir, "db", "conf.db")
        self.run(["ovsdb-tool", "create", db, OVS_SCHEMA])
        # Not --detach: the daemons stay our children, so cleanup has their PIDs.
        self.procs.append(peers.Process(
            ["ovsdb-server", db, f"--remote=punix:{self.db_sock}",
             f"--pidfile={run}/ovsdb-server.pid", f"--unixctl={run}/ovsdb-server.ctl",
             f"--log-file={self.dir}/log/ovsdb-server.log"], "ovsdb-server", env=self.env, log_dir=work))
        peers.wait_for(lambda: os.path.exists(self.db_sock), 10, "ovsdb-server socket")
        self.vsctl("--no-wait", "init")
        # The EAL gets no PCI, its own file prefix, and at most 1 GiB of hugepages; OVS adds
        # --in-memory and '-l 0' itself (its main thread shares core 0 with the generator, idle).
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true",
                   f"other_config:pmd-cpu-mask={1 << DUT_CORE:#x}",
                   f'other_config:dpdk-extra="--no-pci --file-prefix={OVS_PREFIX} --single-file-segments"',
                   "other_config:dpdk-socket-mem=512", "other_config:dpdk-socket-limit=1024")
        self.procs.append(peers.Process(
            [OVS_VSWITCHD, f"unix:{self.db_sock}", f"--pidfile={run}/ovs-vswitchd.pid",
             f"--unixctl={self.vswitchd_ctl}", f"--log-file={self.dir}/log/ovs-vswitchd.log"],
            "ovs-vswitchd", env=self.env, log_dir=work))
        self.vsctl("--timeout=60", "wait-until", "Open_vSwitch", ".", "dpdk_initialized=true")
        self.vsctl("--timeout=60", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev")
        for i, s in enumerate(self.sockets):
            self.vsctl("--timeout=60", "add-port", "br0", f"vh{i}", "--", "set", "Interface", f"vh{i}",
                       "type=dpdkvhostuserclient", f"options:vhost-server-path={s}", f"ofport_request={i + 1}")
        # A plain cross-connect, the same job as ringlane's: no MAC learning.
        self.ofctl("del-flows", "br0")
        self.ofctl("add-flow", "br0", "in_port=1,actions=output:2")
        self.ofctl("add-flow", "br0", "in_port=2,actions=output:1")

    def run(self, argv, timeout=90):
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise Failure(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}\n" + self.log_tail())
        return r.stdout

    def vsctl(self, *args):
        return self.run(["ovs-vsctl", f"--db=unix:{self.db_sock}", *args])

    def ofctl(self, *args):
        return self.run(["ovs-ofctl", *args])

    def appctl(self, *args):
        return self.run(["ovs-appctl", "-t", self.vswitchd_ctl, *args])

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, "log", "ovs-vswitchd.log")) as f:
                return "".join(f.readlines()[-30:])
        except OSError:
            return ""

    def ready(self):
        def up():
            return all(self.vsctl("get", "Interface", f"vh{i}", "link_state").strip() == "up" for i in range(2))
        peers.wait_for(up, 30, "OVS vhost-user ports to come up", interval=0.2)
        # Both rx queues assigned to the PMD on the DUT core.
        peers.wait_for(lambda: self.appctl("dpif-netdev/pmd-rxq-show").count("(enabled)") >= 2, 20,
                       "OVS to assign both rx queues", interval=0.2)

    def begin(self):
        self.appctl("dpif-netdev/pmd-stats-clear")

    def end(self, wall0, wall1):
        self.measured = self.appctl("dpif-netdev/pmd-stats-show")

    def stop(self):
        text = self.measured or ""
        result = {"cycles_per_packet": None}
        block = re.search(rf"pmd thread numa_id \d+ core_id {DUT_CORE}:(.*?)(?:\n\S|\Z)", text, re.S)
        if block:
            b = block.group(1)
            idle = re.search(r"idle cycles:\s*(\d+)", b)
            proc = re.search(r"processing cycles:\s*(\d+)", b)
            cpp = re.search(r"avg processing cycles per packet:\s*([\d.]+)", b)
            if cpp:
                result["cycles_per_packet"] = float(cpp.group(1))
            if idle and proc:
                i, p = int(idle.group(1)), int(proc.group(1))
                result["busy"] = p / (i + p) if i + p else None
        drops = 0
        for i in range(2):
            try:
                stats = self.vsctl("get", "Interface", f"vh{i}", "statistics")
                drops += sum(int(v) for k, v in re.findall(r"(\w*drop\w*)=(\d+)", stats))
            except Failure:
                pass
        result["drops"] = drops
        self.shutdown()
        return result

    def shutdown(self):
        # vswitchd first (it holds the vhost connections and hugepages), then the database.
        for proc in reversed(self.procs):
            proc.stop(signal.SIGTERM, timeout=15)
        self.procs = []

    def kill(self):
        for proc in reversed(self.procs):
            proc.kill()
        self.procs = []


DUT_CLASSES = {"ringlane": RinglaneDut, "dpdk": TestpmdDut, "ovs": OvsDut}


# --- CPU time of processes we did not start -----------------------------------------------------

def cpu_snapshot():
    """Busy CPU ticks of the whole machine, and ticks used so far by each of our processes:
    this script, its direct children and the peers it started (each leads its own session)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    machine = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait
    me = os.getpid()
    ours_pids = {p.pid for p in peers._live} | {me}
    ours = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state ppid pgrp session ... utime stime (fields 14 and 15).
        if int(pid) in ours_pids or int(stat[1]) == me or int(stat[3]) in ours_pids:
            ours[int(pid)] = int(stat[11]) + int(stat[12])
    return machine, ours


def foreign_cores(before, after, seconds):
    """Cores' worth of CPU used by everything but us between two snapshots. Counting from the
    machine total also catches processes that came and went in between, and interrupts."""
    ours = sum(t - before[1].get(pid, 0) for pid, t in after[1].items())
    return max(0, after[0] - before[0] - ours) / os.sysconf("SC_CLK_TCK") / seconds


def wait_quiet(limit, max_wait):
    """Waits (up to max_wait s) until processes we did not start use under `limit` cores."""
    deadline = time.monotonic() + max_wait
    while True:
        a = cpu_snapshot()
        time.sleep(1.0)
        load = foreign_cores(a, cpu_snapshot(), 1.0)
        if load < limit or time.monotonic() >= deadline:
            if load >= limit:
                log(f"  warning: other processes use {load:.2f} cores; numbers may be disturbed")
            return load
        log(f"  other processes use {load:.2f} cores; waiting for the machine to calm down")


def core_to_core_ns(bench):
    """Cache-line round trip between cores 0 and 1 in ns (ringlane_microbench), or None. On a
    shared machine it changes with the host's vCPU placement, and every frame crosses cores."""
    if not bench or not os.access(bench, os.X_OK):
        return None
    try:
        r = subprocess.run([bench, "--benchmark_filter=BM_CoreToCoreRoundTrip", "--benchmark_min_time=0.2",
                            "--benchmark_format=json"], capture_output=True, text=True, timeout=60)
        b = json.loads(r.stdout)["benchmarks"][0]
        return b["real_time"] if b.get("time_unit") == "ns" else None
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError):
        return None


# --- one measurement ----------------------------------------------------------------------------

def measure(dut_name, size, args, work_root):
    work = tempfile.mkdtemp(prefix=f"{dut_name}-{size}-", dir=work_root)
    dut = gen = None
    try:
        log(f"{DUT_LABELS[dut_name]}, {size} B: starting the DUT on core {DUT_CORE}")
        dut = DUT_CLASSES[dut_name](work)
        log(f"{DUT_LABELS[dut_name]}, {size} B: starting the generator on core 0")
        gen = Generator(dut.sockets, dut.generator_server, size, work, args.bursts, args.vdev_extra)
        dut.ready()
        gen.start()
        log(f"{DUT_LABELS[dut_name]}, {size} B: warming up {args.warmup:g} s")
        time.sleep(args.warmup)
        # Each side's counters are cleared and read at its own moments: rates over the
        # generator's port-stats interval, busy shares over each counter's own interval.
        dut_t0 = time.monotonic()
        dut.begin()
        gen_t0 = time.monotonic()
        gen.clear()
        cpu0 = cpu_snapshot()
        t0, s0 = gen.port_stats()
        wall0 = time.time()
        log(f"{DUT_LABELS[dut_name]}, {size} B: measuring {args.seconds:g} s")
        time.sleep(args.seconds)
        t1, s1 = gen.port_stats()
        wall1 = time.time()
        cpu1 = cpu_snapshot()
        gen_t1 = time.monotonic()
        gen_cycles = gen.cycles()
        dut_t1 = time.monotonic()
        dut.end(wall0, wall1)
        gen.stop()
        gen = None
        d = dut.stop()
        dut = None
    except BaseException:
        for p in (gen, dut):
            if p is not None:
                try:
                    p.kill()
                except Exception:  # noqa: BLE001 - cleanup must go on
                    pass
        raise
    seconds = t1 - t0
    pkts = sum(s1[p]["rx"] - s0[p]["rx"] for p in (0, 1))
    frame_bytes = sum(s1[p]["rx_bytes"] - s0[p]["rx_bytes"] for p in (0, 1))
    per_dir = [(s1[p]["rx"] - s0[p]["rx"]) / seconds / 1e6 for p in (0, 1)]
    result = {
        "dut": dut_name, "size": size, "seconds": seconds,
        "mpps": pkts / seconds / 1e6,
        "mpps_per_direction": per_dir,
        "gbps_l1": (frame_bytes + L1_OVERHEAD * pkts) * 8 / seconds / 1e9,
        "gbps_frames": frame_bytes * 8 / seconds / 1e9,
        "dut_cycles_per_packet": d.get("cycles_per_packet"),
        "dut_busy": d.get("busy"),
        "dut_drops": d.get("drops"),
        "gen_cycles_per_packet": gen_cycles and gen_cycles["cycles_per_packet"],
        "gen_busy": gen_cycles and gen_cycles["busy_cycles"] / (gen_cycles["tsc_hz"] * (gen_t1 - gen_t0)),
        "foreign_cores": foreign_cores(cpu0, cpu1, seconds),
    }
    if dut_name == "dpdk" and d.get("busy_cycles") and d.get("tsc_hz"):
        result["dut_busy"] = d["busy_cycles"] / (d["tsc_hz"] * (dut_t1 - dut_t0))
    if dut_name == "ringlane":
        result["dut_run_cycles_per_packet"] = d.get("run_cycles_per_packet")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    log(f"{DUT_LABELS[dut_name]}, {size} B: {result['mpps']:.3f} Mpps, {result['gbps_l1']:.2f} Gbps, "
        f"DUT {fmt(result['dut_cycles_per_packet'], '.0f')} cyc/pkt, generator "
        f"{fmt(result['gen_cycles_per_packet'], '.0f')} cyc/pkt, DUT drops {fmt(result['dut_drops'], 'd')}, "
        f"foreign {result['foreign_cores']:.2f} cores")
    if pkts < 1000 or min(per_dir) <= 0:
        raise Failure(f"{dut_name} {size} B: traffic did not flow both ways ({per_dir} Mpps)")
    return result


# --- report -------------------------------------------------------------------------------------

def fmt(v, spec, missing="-"):
    return missing if v is None else format(v, spec)


def pct(v):
    return "-" if v is None else f"{100 * v:.0f}%"


def ratios_for(by):
    """ringlane against the others, from {dut: {"mpps": .., "dut_cycles_per_packet": ..}}."""
    rl = by.get("ringlane")
    entry = {}
    if not rl:
        return entry
    for other in ("dpdk", "ovs"):
        if other in by:
            entry[f"mpps_vs_{other}"] = rl["mpps"] / by[other]["mpps"]
            if rl["dut_cycles_per_packet"] and by[other]["dut_cycles_per_packet"]:
                entry[f"cycles_vs_{other}"] = rl["dut_cycles_per_packet"] / by[other]["dut_cycles_per_packet"]
    return entry


def ratio_text(size, entry):
    parts = []
    if "mpps_vs_dpdk" in entry:
        parts.append(f"Mpps ringlane/DPDK {entry['mpps_vs_dpdk']:.2f}x" + (" (target >= 1.3)" if size == 64 else ""))
    if "mpps_vs_ovs" in entry:
        parts.append(f"Mpps ringlane/OVS {entry['mpps_vs_ovs']:.2f}x" + (" (target >= 1.5)" if size == 64 else ""))
    if "cycles_vs_dpdk" in entry:
        parts.append(f"cyc/pkt ringlane/DPDK {entry['cycles_vs_dpdk']:.2f}x (target <= 0.75)")
    if "cycles_vs_ovs" in entry:
        parts.append(f"cyc/pkt ringlane/OVS {entry['cycles_vs_ovs']:.2f}x")
    return "; ".join(parts)


def c2c_range(cases):
    values = [v for r in cases for v in (r.get("core_to_core_ns"), r.get("core_to_core_ns_after")) if v]
    return (min(values), max(values)) if values else None


def state_groups(cases):
    """Cases whose core-to-core round trip held steady, grouped by its level (the machine's
    state): within a group the DUTs met the same conditions, whichever run they were in."""
    steady = []
    for r in cases:
        c = c2c_range([r])
        if c and c[1] <= C2C_STEADY * c[0]:
            steady.append((c, r))
    steady.sort(key=lambda x: x[0][1])
    groups = []
    for c, r in steady:
        if groups and c[1] <= C2C_STEADY * groups[-1]["low"]:
            groups[-1]["cases"].append(r)
            groups[-1]["high"] = max(groups[-1]["high"], c[1])
        else:
            groups.append({"low": c[0], "high": c[1], "cases": [r]})
    return groups


def report(results):
    repeats = max(r["repeat"] for r in results) + 1
    head = (f"{'run':>3} {'size':>5}  {'DUT':<20} {'Mpps':>7} {'Gbps L1':>8} {'DUT cyc/pkt':>11} "
            f"{'DUT busy':>8} {'gen cyc/pkt':>11} {'gen busy':>8} {'foreign':>7} {'c2c ns':>9}")
    lines = [head, "-" * len(head)]
    for r in sorted(results, key=lambda r: (r["size"], r["repeat"])):
        c2c = c2c_range([r])
        lines.append(f"{r['repeat'] + 1:>3} {r['size']:>5}  {DUT_LABELS[r['dut']]:<20} {r['mpps']:>7.3f} "
                     f"{r['gbps_l1']:>8.2f} {fmt(r['dut_cycles_per_packet'], '.0f'):>11} {pct(r['dut_busy']):>8} "
                     f"{fmt(r['gen_cycles_per_packet'], '.0f'):>11} {pct(r['gen_busy']):>8} "
                     f"{r['foreign_cores']:>7.2f} {f'{c2c[0]:.0f}-{c2c[1]:.0f}' if c2c else '-':>9}")
    lines.append("")
    ratios = {}
    for size in sorted({r["size"] for r in results}):
        per_run = []
        for rep in range(repeats):
            cases = [r for r in results if r["size"] == size and r["repeat"] == rep]
            entry = ratios_for({r["dut"]: r for r in cases})
            if entry:
                c2c = c2c_range(cases)
                entry["core_to_core_ns"] = c2c
                per_run.append(entry)
                lines.append(f"run {rep + 1}, {size:>4} B: " + ratio_text(size, entry)
                             + (f"  [c2c {c2c[0]:.0f}-{c2c[1]:.0f} ns]" if c2c else ""))
        ratios[size] = {"runs": per_run}
        # Each run pairs the DUTs under one machine state, so the median of per-run ratios is
        # sturdier than a ratio of medians; runs in which the state moved are left out.
        steady = [e for e in per_run if not e["core_to_core_ns"] or
                  e["core_to_core_ns"][1] <= C2C_STEADY * e["core_to_core_ns"][0]]
        if len(per_run) > 1 and steady:
            keys = sorted({k for e in steady for k in e if k != "core_to_core_ns"})
            med = {k: statistics.median(e[k] for e in steady if k in e) for k in keys}
            ratios[size]["median"] = med
            ratios[size]["median_of_runs"] = len(steady)
            lines.append(f"median of {len(steady)} steady run(s), {size:>4} B: " + ratio_text(size, med))
    lines.append("")
    for size in sorted({r["size"] for r in results}):
        for group in state_groups([r for r in results if r["size"] == size]):
            med = {}
            for dut in DUTS:
                rs = [r for r in group["cases"] if r["dut"] == dut]
                if rs:
                    cyc = [r["dut_cycles_per_packet"] for r in rs if r["dut_cycles_per_packet"]]
                    med[dut] = {"mpps": statistics.median(r["mpps"] for r in rs), "cases": len(rs),
                                "dut_cycles_per_packet": statistics.median(cyc) if cyc else None}
            entry = ratios_for(med)
            ratios[size].setdefault("by_core_to_core", []).append(
                {"core_to_core_ns": [group["low"], group["high"]], "medians": med, "ratios": entry})
            lines.append(f"c2c {group['low']:.0f}-{group['high']:.0f} ns, {size:>4} B, medians: " + ", ".join(
                f"{DUT_LABELS[d]} {m['mpps']:.2f} Mpps {fmt(m['dut_cycles_per_packet'], '.0f')} cyc/pkt "
                f"(n={m['cases']})" for d, m in med.items()))
            if entry:
                lines.append(f"    ratios: " + ratio_text(size, entry))
    print("\n".join(lines), flush=True)
    saturated = [r for r in results if r["gen_busy"] and r["gen_busy"] > 0.9]
    if saturated:
        print("note: the generator core was over 90% busy in: " +
              ", ".join(f"{DUT_LABELS[r['dut']]} {r['size']} B" for r in saturated) +
              " (it may limit those results, not the DUT)")
    disturbed = [r for r in results if r["foreign_cores"] > DISTURBED]
    if disturbed:
        print("note: other processes used CPU during: " +
              ", ".join(f"{DUT_LABELS[r['dut']]} {r['size']} B ({r['foreign_cores']:.2f} cores)" for r in disturbed) +
              "; rerun for clean numbers")
    ranges = [c2c_range([r]) for r in results]
    ranges = [x for x in ranges if x]
    if ranges and max(x[1] for x in ranges) > 1.5 * min(x[0] for x in ranges):
        print("note: the core-to-core round trip moved between "
              f"{min(x[0] for x in ranges):.0f} and {max(x[1] for x in ranges):.0f} ns during the run (host vCPU "
              "placement): compare cases at similar c2c values, or runs, not single cases")
    return ratios


def preflight(args):
    if os.geteuid() != 0:
        raise Failure("run as root (hugepages, vhost-user peers)")
    if os.cpu_count() < 2:
        raise Failure("needs two cores: one for the DUT, one for the generator")
    if not os.path.ismount("/dev/hugepages"):
        raise Failure("hugetlbfs is not mounted on /dev/hugepages (see scripts/setup.sh)")
    needs = [shutil.which(peers.TESTPMD)]
    if "ringlane" in args.only:
        needs.append(peers.RINGLANE if os.access(peers.RINGLANE, os.X_OK) else None)
    if "ovs" in args.only:
        needs += [OVS_VSWITCHD if os.access(OVS_VSWITCHD, os.X_OK) else None, shutil.which("ovsdb-server")]
    if None in needs:
        raise Failure(f"missing programs (need {peers.TESTPMD}, {peers.RINGLANE}, {OVS_VSWITCHD}, ovsdb-server)")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def git_head():
    r = subprocess.run(["git", "-C", os.path.join(HERE, ".."), "describe", "--always", "--dirty"],
                       capture_output=True, text=True)
    return r.stdout.strip() or None


def _interrupt(signum, frame):
    raise KeyboardInterrupt()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="measured interval per case (default 8)")
    ap.add_argument("--warmup", type=float, default=2.0, help="warm-up before measuring (default 2)")
    ap.add_argument("--sizes", default="64,1518", help="frame sizes in bytes, comma-separated (default 64,1518)")
    ap.add_argument("--only", default=",".join(DUTS), help=f"DUTs to run, comma-separated, of {', '.join(DUTS)}")
    ap.add_argument("--json", metavar="OUT", help="write all results as JSON here")
    ap.add_argument("--repeat", type=int, default=1,
                    help="measure every case this many times, interleaved; ratios of medians too")
    ap.add_argument("--bursts", type=int, default=1,
                    help="bursts of 32 frames per port the generator sends to start (tx_first N, default 1)")
    ap.add_argument("--vdev-extra", default="", help="extra net_virtio_user devargs, e.g. ',in_order=0'")
    ap.add_argument("--ringlane", default=peers.RINGLANE, help=f"ringlane binary (default {peers.RINGLANE})")
    ap.add_argument("--microbench", default=os.path.join(peers.ROOT, "build", "perf", "ringlane_microbench"),
                    help="ringlane_microbench, to record the core-to-core round trip before each case")
    ap.add_argument("--wait-quiet", type=float, default=30.0,
                    help="before each case wait up to this many seconds for other processes to go idle")
    ap.add_argument("--retries", type=int, default=2,
                    help=f"measure a case again when others used over {DISTURBED} cores meanwhile or the "
                         f"core-to-core round trip moved by over {C2C_STEADY}x (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep per-case logs and sockets in the work directory")
    args = ap.parse_args()
    args.only = [d.strip() for d in args.only.split(",") if d.strip()]
    unknown = [d for d in args.only if d not in DUTS]
    if unknown:
        ap.error(f"unknown DUT(s) {unknown}; choose from {DUTS}")
    sizes = [int(s) for s in args.sizes.split(",")]
    if any(s < 60 or s > 1518 for s in sizes):
        ap.error("frame sizes must lie in 60..1518")
    peers.RINGLANE = os.path.abspath(args.ringlane)

    # SIGTERM unwinds like Ctrl-C, so the finally blocks and peers' atexit hook stop every child.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started with SIGINT ignored (background)
    work_root = tempfile.mkdtemp(prefix="vhost-compare-")
    results = []
    provenance = {}
    try:
        preflight(args)
        if "ringlane" in args.only:
            # A private copy: a rebuild of the tree during the run must not mix two binaries.
            provenance = {"ringlane_binary": peers.RINGLANE, "ringlane_sha256": sha256(peers.RINGLANE),
                          "git_head": git_head()}
            peers.RINGLANE = shutil.copy2(peers.RINGLANE, os.path.join(work_root, "ringlane"))
        log(f"work directory {work_root}; DUTs {', '.join(args.only)}; sizes {sizes}; "
            f"{args.warmup:g} s warm-up + {args.seconds:g} s measured each")
        # Repeats interleave the DUTs so a slow drift of the machine hits all of them alike.
        for rep in range(args.repeat):
            for size in sizes:
                for dut in args.only:
                    best, best_rank = None, None
                    for attempt in range(args.retries + 1):
                        if args.wait_quiet > 0:
                            wait_quiet(DISTURBED, args.wait_quiet)
                        c2c = core_to_core_ns(args.microbench)
                        if c2c is not None:
                            log(f"core-to-core cache-line round trip {c2c:.0f} ns")
                        result = measure(dut, size, args, work_root)
                        result["core_to_core_ns"] = c2c
                        result["core_to_core_ns_after"] = core_to_core_ns(args.microbench)
                        result["attempt"] = attempt + 1
                        c2c = c2c_range([result])
                        moved = c2c is not None and c2c[1] > C2C_STEADY * c2c[0]
                        # Chosen by how quiet and steady the machine was, never by the result.
                        rank = (moved, result["foreign_cores"])
                        if best is None or rank < best_rank:
                            best, best_rank = result, rank
                        if not moved and result["foreign_cores"] <= DISTURBED:
                            break
                        if attempt < args.retries:
                            why = (f"{result['foreign_cores']:.2f} cores used by others" if not moved else
                                   f"core-to-core round trip moved {c2c[0]:.0f}-{c2c[1]:.0f} ns")
                            log(f"  disturbed ({why}); measuring again")
                    best["repeat"] = rep
                    results.append(best)
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
        return 130
    except (Failure, TimeoutError, RuntimeError) as e:
        log(f"failed: {e}")
        return 1
    finally:
        for proc in list(peers._live):
            proc.kill()
        for prefix in (GEN_PREFIX, DUT_PREFIX):
            peers.remove_hugepage_files(prefix)
        if not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)
        if results:
            print()
            ratios = report(results)
            if args.json:
                doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": args.seconds, "repeat": args.repeat,
                       "warmup": args.warmup, "bursts": args.bursts, "vdev_extra": args.vdev_extra,
                       **provenance, "results": results, "ratios": {str(k): v for k, v in ratios.items()}}
                with open(args.json, "w") as f:
                    json.dump(doc, f, indent=2)
                log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
