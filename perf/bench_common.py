"""What the comparison benchmarks (perf/vhost_compare.py, perf/uplink_compare.py) share: the
testpmd console, a private OVS-DPDK, ringlane's busy cycles over a measured interval, the
machine's disturbance checks (CPU time of processes we did not start, the core-to-core round
trip), the interleaved repeat/retry loop and the ratio report. Each script keeps its own devices
under test, traffic and table."""
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


class Skip(Failure):
    """A device under test that cannot run on this machine or build (a port kind not built yet,
    say): the loop skips it for the rest of the run and the report says why."""


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


def clear_fwd_stats(tp):
    tp.command("clear fwd stats all")  # prints nothing to wait for
    time.sleep(0.1)


def port_stats(tp, ports):
    """(monotonic time the command was sent, per-port counters) once all `ports` are shown."""
    sent = time.monotonic()
    text = console(tp, "show port stats all", lambda t: len(peers.parse_port_stats(t)) == ports)
    return sent, peers.parse_port_stats(text)


# --- ringlane's busy cycles over a measured interval -----------------------------------------

def ringlane_interval(summary, text, window):
    """Cycles per packet and busy share of ringlane's first worker over the wall-clock `window`
    (time.time() at the start and end of the measured interval), cut out of its rate lines
    (--stats-interval); the whole run's cycles per packet and busy None when it cannot be."""
    w = summary["workers"][0]
    result = {"run_cycles_per_packet": w["cycles_per_packet"]}
    tsc_hz = summary["tsc_hz"]
    started = re.search(r"^(\d+\.\d+) ringlane info: running:", text, re.M)
    lines = re.findall(r"^\s*([\d.]+)s\s+([\d.]+) Mpps\s+[\d.]+ Gbps\s+(\d+) cyc/pkt", text, re.M)
    if started and lines and window:
        t_start = float(started.group(1))
        prev, cycles, packets, seconds = 0.0, 0.0, 0.0, 0.0
        for t, mpps, cpp in lines:
            t = float(t)
            # Only rate intervals lying inside the generator's measured interval.
            if t_start + prev >= window[0] - 0.05 and t_start + t <= window[1] + 0.05:
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


# --- a private OVS-DPDK -------------------------------------------------------------------------

class Ovs:
    """ovsdb-server and ovs-vswitchd (DPDK) with their own run/db/log directories under `work`,
    one netdev bridge br0 and one PMD thread on `pmd_core`. Not --detach: the daemons stay our
    children, so cleanup has their PIDs. `other_config`: more "other_config:KEY=VALUE" settings,
    made before ovs-vswitchd starts (some, userspace-tso-enable say, are read only then)."""

    def __init__(self, work, pmd_core, file_prefix, other_config=()):
        self.dir = os.path.join(work, "ovs")
        self.pmd_core = pmd_core
        for sub in ("run", "db", "log", "etc"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        run = os.path.join(self.dir, "run")
        self.env = dict(os.environ, OVS_RUNDIR=run, OVS_DBDIR=os.path.join(self.dir, "db"),
                        OVS_LOGDIR=os.path.join(self.dir, "log"), OVS_SYSCONFDIR=os.path.join(self.dir, "etc"))
        self.db_sock = os.path.join(run, "db.sock")
        self.vswitchd_ctl = os.path.join(run, "ovs-vswitchd.ctl")
        self.procs = []
        db = os.path.join(self.dir, "db", "conf.db")
        self.run(["ovsdb-tool", "create", db, OVS_SCHEMA])
        self.procs.append(peers.Process(
            ["ovsdb-server", db, f"--remote=punix:{self.db_sock}",
             f"--pidfile={run}/ovsdb-server.pid", f"--unixctl={run}/ovsdb-server.ctl",
             f"--log-file={self.dir}/log/ovsdb-server.log"], "ovsdb-server", env=self.env, log_dir=work))
        peers.wait_for(lambda: os.path.exists(self.db_sock), 10, "ovsdb-server socket")
        self.vsctl("--no-wait", "init")
        # The EAL gets no PCI, its own file prefix, and at most 1 GiB of hugepages; OVS adds
        # --in-memory and '-l 0' itself (its main thread shares core 0 with the generator, idle).
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true",
                   f"other_config:pmd-cpu-mask={1 << pmd_core:#x}",
                   f'other_config:dpdk-extra="--no-pci --file-prefix={file_prefix} --single-file-segments"',
                   "other_config:dpdk-socket-mem=512", "other_config:dpdk-socket-limit=1024", *other_config)
        self.procs.append(peers.Process(
            [OVS_VSWITCHD, f"unix:{self.db_sock}", f"--pidfile={run}/ovs-vswitchd.pid",
             f"--unixctl={self.vswitchd_ctl}", f"--log-file={self.dir}/log/ovs-vswitchd.log"],
            "ovs-vswitchd", env=self.env, log_dir=work))
        self.vsctl("--timeout=60", "wait-until", "Open_vSwitch", ".", "dpdk_initialized=true")
        self.vsctl("--timeout=60", "add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev")

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

    def log_tail(self, lines=30):
        try:
            with open(os.path.join(self.dir, "log", "ovs-vswitchd.log")) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def cross_connect(self, a, b):
        """A plain cross-connect between OpenFlow ports a and b, the same job as ringlane's
        xconnect mode: no MAC learning."""
        self.ofctl("del-flows", "br0")
        self.ofctl("add-flow", "br0", f"in_port={a},actions=output:{b}")
        self.ofctl("add-flow", "br0", f"in_port={b},actions=output:{a}")

    def wait_rxqs(self, count):
        """Until `count` rx queues are assigned to the PMD."""
        peers.wait_for(lambda: self.appctl("dpif-netdev/pmd-rxq-show").count("(enabled)") >= count, 20,
                       f"OVS to assign {count} rx queues", interval=0.2)

    def clear_pmd_stats(self):
        self.appctl("dpif-netdev/pmd-stats-clear")

    def pmd_stats(self):
        return self.appctl("dpif-netdev/pmd-stats-show")

    def parse_pmd_stats(self, text):
        """{"cycles_per_packet", "busy"} of the PMD thread on our core from pmd-stats-show."""
        result = {"cycles_per_packet": None}
        block = re.search(rf"pmd thread numa_id \d+ core_id {self.pmd_core}:(.*?)(?:\n\S|\Z)", text or "", re.S)
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
        return result

    def interface_drops(self, names):
        drops = 0
        for name in names:
            try:
                stats = self.vsctl("get", "Interface", name, "statistics")
                drops += sum(int(v) for k, v in re.findall(r"(\w*drop\w*)=(\d+)", stats))
            except Failure:
                pass
        return drops

    def shutdown(self):
        # vswitchd first (it holds the vhost connections and hugepages), then the database.
        for proc in reversed(self.procs):
            proc.stop(signal.SIGTERM, timeout=15)
        self.procs = []

    def kill(self):
        for proc in reversed(self.procs):
            proc.kill()
        self.procs = []


# --- CPU time of processes we did not start -----------------------------------------------------


# --- a DUT's measured interval, by kind -------------------------------------------------------
# Each comparison's DUT classes set their peers going in __init__ and say in ready() when the
# generator is attached; what happens around the measured interval is the same for a kind of DUT
# in every comparison, and lives here.


class RinglaneMeasurement:
    """For a DUT whose ringlane (self.rl, with --stats-interval) is cut to the interval from its
    rate lines."""
    window = None

    def begin(self):
        pass

    def end(self, wall0, wall1):
        self.window = (wall0, wall1)

    def stop(self):
        summary = self.rl.stop()
        result = {"drops": peers.total_drops(summary)}
        result.update(ringlane_interval(summary, self.rl.process.output(), self.window))
        return result

    def kill(self):
        self.rl.kill()


class TestpmdMeasurement:
    """For a DUT that is a testpmd (self.tp) in io forwarding, with --record-core-cycles."""
    measured = None

    def begin(self):
        clear_fwd_stats(self.tp)

    def end(self, wall0, wall1):
        self.measured = fwd_cycles(self.tp)

    def stop(self):
        stop_testpmd(self.tp)
        m = self.measured or {}
        return {"cycles_per_packet": m.get("cycles_per_packet"), "busy_cycles": m.get("busy_cycles"),
                "tsc_hz": m.get("tsc_hz"), "drops": m.get("drops")}

    def kill(self):
        self.tp.kill()


class OvsMeasurement:
    """For a DUT that is OVS-DPDK (self.ovs) whose interfaces self.interfaces count drops."""
    measured = None

    def begin(self):
        self.ovs.clear_pmd_stats()

    def end(self, wall0, wall1):
        self.measured = self.ovs.pmd_stats()

    def stop(self):
        result = self.ovs.parse_pmd_stats(self.measured)
        result["drops"] = self.ovs.interface_drops(self.interfaces)
        self.ovs.shutdown()
        return result

    def kill(self):
        self.ovs.kill()



class TestpmdGeneratorControl:
    """What the comparisons' generators (a testpmd, self.tp, with two ports in io forwarding)
    are asked between start and stop."""

    def clear(self):
        clear_fwd_stats(self.tp)

    def port_stats(self):
        """(monotonic time the command was sent, per-port counters)."""
        return port_stats(self.tp, 2)

    def cycles(self):
        return fwd_cycles(self.tp)

    def stop(self):
        stop_testpmd(self.tp)

    def kill(self):
        self.tp.kill()


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


# --- one case's measured interval --------------------------------------------------------------

def cpu_times(cpus):
    """Per-CPU (kernel, steal, total) ticks from /proc/stat for the CPUs in `cpus`."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                v = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal
                out[int(name[3:])] = (v[2] + v[5] + v[6], v[7], sum(v))
    return out


def cpu_shares(before, after):
    """{cpu: {"kernel": share in system+irq+softirq, "steal": share stolen by the host}}."""
    shares = {}
    for cpu, (k1, s1, t1) in after.items():
        k0, s0, t0 = before[cpu]
        total = max(1, t1 - t0)
        shares[str(cpu)] = {"kernel": (k1 - k0) / total, "steal": (s1 - s0) / total}
    return shares


def measure_interval(dut, gen, args, label, size, ports, cpus=(0, 1)):
    """Warm-up, then the measured interval of a running loop, then both sides stopped.
    dut: begin() clears its counters, end(wall0, wall1) reads them, stop() -> its figures;
    gen: clear(), port_stats(), cycles(), stop(). Returns the interval's seconds, the
    generator's per-port rx/tx/rx_bytes deltas, its busy share and cycles per packet, the DUT's
    figures (busy worked out from busy_cycles where it reports those), the CPU time of others
    (foreign_cores) and `cpus`' kernel and steal shares."""
    log(f"{label}, {size} B: warming up {args.warmup:g} s")
    time.sleep(args.warmup)
    # Each side's counters are cleared and read at its own moments: rates over the
    # generator's port-stats interval, busy shares over each counter's own interval.
    dut_t0 = time.monotonic()
    dut.begin()
    gen_t0 = time.monotonic()
    gen.clear()
    cpu0, cores0 = cpu_snapshot(), cpu_times(set(cpus))
    t0, s0 = gen.port_stats()
    wall0 = time.time()
    log(f"{label}, {size} B: measuring {args.seconds:g} s")
    time.sleep(args.seconds)
    t1, s1 = gen.port_stats()
    wall1 = time.time()
    cpu1, cores1 = cpu_snapshot(), cpu_times(set(cpus))
    gen_t1 = time.monotonic()
    gen_cycles = gen.cycles()
    dut_t1 = time.monotonic()
    dut.end(wall0, wall1)
    gen.stop()
    d = dut.stop()
    if d.get("busy_cycles") and d.get("tsc_hz"):
        d["busy"] = d["busy_cycles"] / (d["tsc_hz"] * (dut_t1 - dut_t0))
    seconds = t1 - t0
    return {
        "seconds": seconds,
        "rx": {p: s1[p]["rx"] - s0[p]["rx"] for p in ports},
        "tx": {p: s1[p]["tx"] - s0[p]["tx"] for p in ports},
        "rx_bytes": {p: s1[p]["rx_bytes"] - s0[p]["rx_bytes"] for p in ports},
        "gen_cycles_per_packet": gen_cycles and gen_cycles["cycles_per_packet"],
        "gen_busy": gen_cycles and gen_cycles["busy_cycles"] / (gen_cycles["tsc_hz"] * (gen_t1 - gen_t0)),
        "dut": d,
        "foreign_cores": foreign_cores(cpu0, cpu1, seconds),
        "cpu": cpu_shares(cores0, cores1),
    }


def kill_quietly(*parts):
    """Kills what a failed case started (None for parts not started), whatever else fails."""
    for p in parts:
        if p is not None:
            try:
                p.kill()
            except Exception:  # noqa: BLE001 - cleanup must go on
                pass


# --- the run: DUTs interleaved over repeats, disturbed cases measured again ----------------------

def add_run_arguments(ap, duts, seconds=None):
    """The options every comparison takes; --seconds, --warmup and --sizes only for one whose cases
    are timed frame loops (seconds: the default measured interval), not for one whose cases are
    fixed-size transfers, say."""
    if seconds is not None:
        ap.add_argument("--seconds", type=float, default=seconds,
                        help=f"measured interval per case (default {seconds:g})")
        ap.add_argument("--warmup", type=float, default=2.0, help="warm-up before measuring (default 2)")
        ap.add_argument("--sizes", default="64,1518", help="frame sizes in bytes, comma-separated (default 64,1518)")
    ap.add_argument("--only", default=",".join(duts), help=f"DUTs to run, comma-separated, of {', '.join(duts)}")
    ap.add_argument("--json", metavar="OUT", help="write all results as JSON here")
    ap.add_argument("--repeat", type=int, default=1,
                    help="measure every case this many times, interleaved; ratios of medians too")
    ap.add_argument("--ringlane", default=peers.RINGLANE, help=f"ringlane binary (default {peers.RINGLANE})")
    ap.add_argument("--microbench", default=os.path.join(peers.ROOT, "build", "perf", "ringlane_microbench"),
                    help="ringlane_microbench, to record the core-to-core round trip before each case")
    ap.add_argument("--wait-quiet", type=float, default=30.0,
                    help="before each case wait up to this many seconds for other processes to go idle")
    ap.add_argument("--retries", type=int, default=2,
                    help=f"measure a case again when others used over {DISTURBED} cores meanwhile or the "
                         f"core-to-core round trip moved by over {C2C_STEADY}x (default %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep per-case logs and sockets in the work directory")


def parse_run_arguments(ap, args, duts):
    """Checks --only and --sizes (where the comparison has it); returns the sizes, or None."""
    args.only = [d.strip() for d in args.only.split(",") if d.strip()]
    unknown = [d for d in args.only if d not in duts]
    if unknown:
        ap.error(f"unknown DUT(s) {unknown}; choose from {duts}")
    peers.RINGLANE = os.path.abspath(args.ringlane)
    if not hasattr(args, "sizes"):
        return None
    sizes = [int(s) for s in args.sizes.split(",")]
    if any(s < 60 or s > 1518 for s in sizes):
        ap.error("frame sizes must lie in 60..1518")
    return sizes


def run_cases(args, sizes, measure, results, skipped):
    """Every DUT in args.only at every size, args.repeat times, interleaved so a slow drift of
    the machine hits all DUTs alike. measure(dut, size) returns one case's result; a case whose
    machine was disturbed is measured again (chosen by how quiet and steady the machine was,
    never by the result). A DUT raising Skip is left out from then on, its reason in `skipped`.
    Appends to `results` as cases finish, so a failure keeps the finished ones."""
    for rep in range(args.repeat):
        for size in sizes:
            for dut in args.only:
                if dut in skipped:
                    continue
                best, best_rank = None, None
                for attempt in range(args.retries + 1):
                    if args.wait_quiet > 0:
                        wait_quiet(DISTURBED, args.wait_quiet)
                    c2c = core_to_core_ns(args.microbench)
                    if c2c is not None:
                        log(f"core-to-core cache-line round trip {c2c:.0f} ns")
                    try:
                        result = measure(dut, size)
                    except Skip as e:
                        skipped[dut] = str(e)
                        log(f"skipping {dut}: {e}")
                        break
                    result["core_to_core_ns"] = c2c
                    result["core_to_core_ns_after"] = core_to_core_ns(args.microbench)
                    result["attempt"] = attempt + 1
                    c2c = c2c_range([result])
                    moved = c2c is not None and c2c[1] > C2C_STEADY * c2c[0]
                    rank = (moved, result["foreign_cores"])
                    if best is None or rank < best_rank:
                        best, best_rank = result, rank
                    if not moved and result["foreign_cores"] <= DISTURBED:
                        break
                    if attempt < args.retries:
                        why = (f"{result['foreign_cores']:.2f} cores used by others" if not moved else
                               f"core-to-core round trip moved {c2c[0]:.0f}-{c2c[1]:.0f} ns")
                        log(f"  disturbed ({why}); measuring again")
                if best is not None:
                    best["repeat"] = rep
                    results.append(best)


def preflight(args):
    """What every comparison needs: root, two cores, hugepages, testpmd, and the programs of the
    DUTs asked for."""
    if os.geteuid() != 0:
        raise Failure("run as root (hugepages, vhost-user peers)")
    if os.cpu_count() < 2:
        raise Failure("needs two cores: one for the DUT, one for the generator")
    if not os.path.ismount("/dev/hugepages"):
        raise Failure("hugetlbfs is not mounted on /dev/hugepages (see scripts/setup.sh)")
    needs = [shutil.which(peers.TESTPMD)]
    if any(d.startswith("ringlane") for d in args.only):
        needs.append(peers.RINGLANE if os.access(peers.RINGLANE, os.X_OK) else None)
    if "ovs" in args.only:
        needs += [OVS_VSWITCHD if os.access(OVS_VSWITCHD, os.X_OK) else None, shutil.which("ovsdb-server")]
    if None in needs:
        raise Failure(f"missing programs (need {peers.TESTPMD}, {peers.RINGLANE}, {OVS_VSWITCHD}, ovsdb-server)")


def run_comparison(args, sizes, name, measure, report, hugepage_prefixes, settings, cleanup=None, plan=None):
    """A comparison's whole run: checks, a work directory, the cases (run_cases), then the
    report and --json, also after a failure or Ctrl-C for the cases that finished. Everything
    started is killed by PID (peers), `cleanup` removes the rest (namespaces, say).
    measure(dut, size, args, work_root) -> result; report(results, skipped) -> ratios;
    `settings` go into the JSON. `sizes` are the cases' keys (frame sizes, or whatever else a
    comparison varies besides the DUT); `plan` says what each case does, for the log, where it is
    not a timed frame loop of --warmup and --seconds. Returns the exit status."""
    trap_signals()
    work_root = tempfile.mkdtemp(prefix=f"{name}-")
    results = []
    skipped = {}
    provenance = {}
    try:
        preflight(args)
        if any(d.startswith("ringlane") for d in args.only):
            # A private copy: a rebuild of the tree during the run must not mix two binaries.
            provenance = {"ringlane_binary": peers.RINGLANE, "ringlane_sha256": sha256(peers.RINGLANE),
                          "git_head": git_head()}
            peers.RINGLANE = shutil.copy2(peers.RINGLANE, os.path.join(work_root, "ringlane"))
        if plan is None:
            plan = f"sizes {sizes}; {args.warmup:g} s warm-up + {args.seconds:g} s measured each"
        log(f"work directory {work_root}; DUTs {', '.join(args.only)}; {plan}")
        run_cases(args, sizes, lambda dut, size: measure(dut, size, args, work_root), results, skipped)
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
        return 130
    except (Failure, TimeoutError, RuntimeError) as e:
        log(f"failed: {e}")
        return 1
    finally:
        kill_all_peers()
        for prefix in hugepage_prefixes:
            peers.remove_hugepage_files(prefix)
        if cleanup:
            cleanup()
        if not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)
        if results or skipped:
            print()
            ratios = report(results, skipped)
            if args.json:
                timing = {k: getattr(args, k) for k in ("seconds", "warmup") if hasattr(args, k)}
                doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **timing, "repeat": args.repeat,
                       **settings, **provenance, "skipped": skipped, "results": results,
                       "ratios": {str(k): v for k, v in ratios.items()}}
                with open(args.json, "w") as f:
                    json.dump(doc, f, indent=2)
                log(f"wrote {args.json}")
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt()


def trap_signals():
    """SIGTERM unwinds like Ctrl-C, so the finally blocks and peers' atexit hook stop every
    child; SIGINT too when started with SIGINT ignored (in the background)."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def kill_all_peers():
    for proc in list(peers._live):
        proc.kill()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def git_head():
    r = subprocess.run(["git", "-C", os.path.join(HERE, ".."), "describe", "--always", "--dirty"],
                       capture_output=True, text=True)
    return r.stdout.strip() or None


# --- report -------------------------------------------------------------------------------------

def fmt(v, spec, missing="-"):
    return missing if v is None else format(v, spec)


def pct(v):
    return "-" if v is None else f"{100 * v:.0f}%"


def ratios_for(by, base, others, fields):
    """`base` against each of `others`, from {dut: result}: for every (name, field) in `fields`
    the entry f"{name}_vs_{other}" = base[field] / other[field], where both are known."""
    b = by.get(base)
    entry = {}
    if not b:
        return entry
    for other in others:
        if other not in by:
            continue
        for name, field in fields:
            if b.get(field) and by[other].get(field):
                entry[f"{name}_vs_{other}"] = b[field] / by[other][field]
    return entry


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


def ratio_report(results, duts, ratios, ratio_text, median_text, fields, case_label=None):
    """The ratio lines under a comparison's table: per run (the DUTs of one run met one machine
    state), the median over the runs whose core-to-core round trip held steady, and medians per
    core-to-core level. ratios({dut: result}) -> entry; ratio_text(size, entry) -> str;
    median_text(dut, medians) -> str; `fields` the result fields whose medians the levels
    compare; case_label(size) -> str names a case key (default: a frame size, "  64 B").
    Returns (lines, {size: ratios})."""
    case_label = case_label or (lambda size: f"{size:>4} B")
    repeats = max(r["repeat"] for r in results) + 1
    lines = []
    out = {}
    for size in sorted({r["size"] for r in results}):
        per_run = []
        for rep in range(repeats):
            cases = [r for r in results if r["size"] == size and r["repeat"] == rep]
            entry = ratios({r["dut"]: r for r in cases})
            if entry:
                c2c = c2c_range(cases)
                entry["core_to_core_ns"] = c2c
                per_run.append(entry)
                lines.append(f"run {rep + 1}, {case_label(size)}: " + ratio_text(size, entry)
                             + (f"  [c2c {c2c[0]:.0f}-{c2c[1]:.0f} ns]" if c2c else ""))
        out[size] = {"runs": per_run}
        # Each run pairs the DUTs under one machine state, so the median of per-run ratios is
        # sturdier than a ratio of medians; runs in which the state moved are left out.
        steady = [e for e in per_run if not e["core_to_core_ns"] or
                  e["core_to_core_ns"][1] <= C2C_STEADY * e["core_to_core_ns"][0]]
        if len(per_run) > 1 and steady:
            keys = sorted({k for e in steady for k in e if k != "core_to_core_ns"})
            med = {k: statistics.median(e[k] for e in steady if k in e) for k in keys}
            out[size]["median"] = med
            out[size]["median_of_runs"] = len(steady)
            lines.append(f"median of {len(steady)} steady run(s), {case_label(size)}: " + ratio_text(size, med))
    lines.append("")
    for size in sorted({r["size"] for r in results}):
        for group in state_groups([r for r in results if r["size"] == size]):
            med = {}
            for dut in duts:
                rs = [r for r in group["cases"] if r["dut"] == dut]
                if rs:
                    med[dut] = {"cases": len(rs)}
                    for field in fields:
                        vals = [r[field] for r in rs if r.get(field)]
                        med[dut][field] = statistics.median(vals) if vals else None
            entry = ratios(med)
            out[size].setdefault("by_core_to_core", []).append(
                {"core_to_core_ns": [group["low"], group["high"]], "medians": med, "ratios": entry})
            lines.append(f"c2c {group['low']:.0f}-{group['high']:.0f} ns, {case_label(size)}, medians: " + ", ".join(
                median_text(d, m) for d, m in med.items()))
            if entry:
                lines.append("    ratios: " + ratio_text(size, entry))
    return lines, out


def disturbance_notes(results, label, case_label=None):
    """Notes on cases others disturbed and on the core-to-core round trip moving. label(result)
    names the DUT, case_label(size) the case key (default: a frame size, "64 B")."""
    case_label = case_label or (lambda size: f"{size} B")
    notes = []
    disturbed = [r for r in results if r["foreign_cores"] > DISTURBED]
    if disturbed:
        notes.append("note: other processes used CPU during: " +
                     ", ".join(f"{label(r)} {case_label(r['size'])} ({r['foreign_cores']:.2f} cores)"
                               for r in disturbed) +
                     "; rerun for clean numbers")
    ranges = [c2c_range([r]) for r in results]
    ranges = [x for x in ranges if x]
    if ranges and max(x[1] for x in ranges) > 1.5 * min(x[0] for x in ranges):
        notes.append("note: the core-to-core round trip moved between "
                     f"{min(x[0] for x in ranges):.0f} and {max(x[1] for x in ranges):.0f} ns during the run (host "
                     "vCPU placement): compare cases at similar c2c values, or runs, not single cases")
    return notes
