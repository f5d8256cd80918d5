"""Real peers for ringlane's integration tests, demo and benchmarks.

Starts ringlane, DPDK testpmd (virtio_user frontends or net_vhost backends) and OVS-DPDK as
child processes in their own process groups; every one is killed by PID at cleanup, also when a
test fails or the interpreter exits."""
import atexit
import glob
import json
import os
import re
import signal as _signal
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RINGLANE = os.environ.get("RINGLANE_BIN", os.path.join(ROOT, "build", "dataplane", "ringlane"))
TESTPMD = "dpdk-testpmd"

_live = []


def _cleanup_all():
    for proc in list(_live):
        proc.kill()


atexit.register(_cleanup_all)


def _terminate(signum, _frame):
    # Meson stops a timed-out test with SIGTERM: exit through atexit so children die too.
    raise SystemExit(128 + signum)


_signal.signal(_signal.SIGTERM, _terminate)


class Process:
    """A child process in its own session, killed with its group on cleanup."""

    def __init__(self, argv, name, stdin=None, env=None, log_dir=None):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(log_dir or tempfile.gettempdir(), f"{name}-{os.getpid()}-{time.monotonic_ns()}.log")
        self.log = open(self.log_path, "w+b")
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)
        self.pid = self.proc.pid
        _live.append(self)

    def alive(self):
        return self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=_signal.SIGINT, timeout=15):
        """Signals the process and waits; kills it if it does not exit in time."""
        self.send_signal(sig)
        rc = self.wait(timeout)
        if rc is None:
            self.kill()
            rc = self.proc.returncode
        return rc

    def kill(self):
        if self.alive():
            try:
                os.killpg(self.pid, _signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        if self in _live:
            _live.remove(self)

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


def wait_for(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class Ringlane:
    """The daemon under test. ports: list of dicts name/path/mode/queues/disable."""

    def __init__(self, ports, cores="1", mode="xconnect", extra=(), workdir=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="ringlane-")
        self.summary_path = os.path.join(self.workdir, "summary.json")
        argv = [RINGLANE, "--cores", cores, "--mode", mode, "--summary", self.summary_path]
        for p in ports:
            spec = f"name={p['name']},path={p['path']}"
            for key in ("mode", "queues", "disable"):
                if p.get(key):
                    spec += f",{key}={p[key]}"
            argv += ["--port", spec]
        argv += list(extra)
        self.ports = ports
        self.process = Process(argv, "ringlane", log_dir=self.workdir)
        for p in ports:
            if p.get("mode", "server") == "server":
                wait_for(lambda: os.path.exists(p["path"]) or not self.process.alive(), 10,
                         f"ringlane to listen on {p['path']}")
        wait_for(lambda: "running:" in self.process.output() or not self.process.alive(), 10,
                 "ringlane to start its workers")
        if not self.process.alive():
            raise RuntimeError("ringlane exited at start:\n" + self.process.output())

    @property
    def pid(self):
        return self.process.pid

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def mapping_count(self):
        with open(f"/proc/{self.pid}/maps") as f:
            return sum(1 for line in f if "hugepages" in line or "memfd" in line or "/dev/shm" in line)

    def stop(self):
        """SIGINT, wait, and return the JSON summary."""
        rc = self.process.stop(_signal.SIGINT, timeout=20)
        if rc != 0:
            raise RuntimeError(f"ringlane exited with {rc}:\n" + self.process.output()[-4000:])
        with open(self.summary_path) as f:
            return json.load(f)

    def kill(self):
        self.process.kill()


# What ringlane logs when it gives up on a ring (the device then reports NEEDS_RESET) or refuses to
# start one: a test that expects neither looks for these in its log.
RING_TROUBLE = ("virtqueue broken", "refusing to start", "ring addresses", "do not fit a split ring")


def port_totals(summary, name):
    for p in summary["ports"]:
        if p["name"] == name:
            return p["totals"]
    raise KeyError(name)


def port_queues(summary, name):
    for p in summary["ports"]:
        if p["name"] == name:
            return p["queues"]
    raise KeyError(name)


def total_drops(summary):
    drops = sum(p["totals"]["drops"] for p in summary["ports"])
    drops += sum(w["drop_no_route"] + w["drop_filtered"] for w in summary["workers"])
    return drops


_STATS_RE = re.compile(
    r"Forward statistics for port (\d+)\s+-+\s+RX-packets:\s*(\d+)\s+RX-dropped:\s*(\d+)\s+RX-total:\s*(\d+)"
    r"\s+TX-packets:\s*(\d+)\s+TX-dropped:\s*(\d+)", re.S)
_PORT_STATS_RE = re.compile(
    r"NIC statistics for port (\d+)\s+#+\s+RX-packets:\s*(\d+)\s+RX-missed:\s*(\d+)\s+RX-bytes:\s*(\d+)"
    r"\s+RX-errors:\s*(\d+)\s+RX-nombuf:\s*(\d+)\s+TX-packets:\s*(\d+)\s+TX-errors:\s*(\d+)\s+TX-bytes:\s*(\d+)", re.S)


def assert_io_loop_accounted(case, summary, stats, waiting):
    """For testpmd io-forwarding a loop through ringlane's vm0 <-> vm1 (`stats`: testpmd's port
    stats after it stopped): nothing dropped, everything testpmd sent reached ringlane, ringlane
    sent on every frame it took, and what testpmd has not received yet is still waiting in its
    receive rings (at most `waiting` frames a port), nothing more."""
    case.assertEqual(total_drops(summary), 0, summary)
    vm0, vm1 = port_totals(summary, "vm0"), port_totals(summary, "vm1")
    case.assertEqual(vm0["rx_packets"], stats[0]["tx"])
    case.assertEqual(vm1["rx_packets"], stats[1]["tx"])
    case.assertEqual(vm1["tx_packets"], vm0["rx_packets"])
    case.assertEqual(vm0["tx_packets"], vm1["rx_packets"])
    case.assertEqual(vm1["tx_bytes"], vm0["rx_bytes"])
    for port, name in ((1, "vm1"), (0, "vm0")):
        delivered = port_totals(summary, name)["tx_packets"]
        case.assertLessEqual(stats[port]["rx"], delivered)
        case.assertLessEqual(delivered - stats[port]["rx"], waiting)
    return vm0, vm1


def parse_forward_stats(text):
    """Per-port forwarding statistics testpmd prints on stop or exit (the last block wins)."""
    ports = {}
    for m in _STATS_RE.finditer(text):
        ports[int(m.group(1))] = {"rx": int(m.group(2)), "rx_dropped": int(m.group(3)),
                                  "tx": int(m.group(5)), "tx_dropped": int(m.group(6))}
    return ports


def parse_port_stats(text):
    """Per-port NIC statistics from 'show port stats all' (the last block wins)."""
    ports = {}
    for m in _PORT_STATS_RE.finditer(text):
        ports[int(m.group(1))] = {"rx": int(m.group(2)), "rx_bytes": int(m.group(4)),
                                  "rx_errors": int(m.group(5)), "tx": int(m.group(7)),
                                  "tx_errors": int(m.group(8)), "tx_bytes": int(m.group(9))}
    return ports


def parse_core_cycles(text):
    """Busy CPU cycles per packet from --record-core-cycles output, or None."""
    m = re.findall(r"CPU cycles/packet=([\d.]+)", text)
    return float(m[-1]) if m else None


class Testpmd:
    """dpdk-testpmd with the given vdevs. interactive=True keeps stdin open for commands; netns
    runs it inside that network namespace (`ip netns exec` keeps the PID)."""

    def __init__(self, vdevs, prefix, main_lcore=0, lcores="0,1", fwd="io", extra_eal=(), extra=(),
                 interactive=False, tx_first=True, stats_period=None, memory_mb=512, workdir=None, netns=None,
                 lcore_map=None, nb_cores=1):
        """lcore_map: EAL's --lcores (lcore@cpu,...) instead of -l lcores, for more lcores than
        cpus; nb_cores: forwarding lcores."""
        self.prefix = prefix
        remove_hugepage_files(prefix)
        # Line-buffered: the harness reads testpmd's output while it runs.
        argv = ["ip", "netns", "exec", netns] if netns else []
        cores = ["--lcores", lcore_map] if lcore_map else ["-l", lcores]
        argv += ["stdbuf", "-oL", TESTPMD] + cores + ["--main-lcore", str(main_lcore), "--no-pci",
                 "--single-file-segments", "--file-prefix", prefix, "-m", str(memory_mb), "--log-level", "*:notice"]
        for v in vdevs:
            argv += ["--vdev", v]
        argv += list(extra_eal)
        argv += ["--", f"--forward-mode={fwd}", f"--nb-cores={nb_cores}", "--record-core-cycles"]
        if interactive:
            argv += ["-i"]
        else:
            if tx_first:
                argv += ["--tx-first"]
            argv += ["--stats-period", str(stats_period or 1)]
        argv += list(extra)
        self.interactive = interactive
        self.process = Process(argv, f"testpmd-{prefix}", stdin=subprocess.PIPE if interactive else None,
                               log_dir=workdir)

    def command(self, line):
        self.process.proc.stdin.write((line + "\n").encode())
        self.process.proc.stdin.flush()

    def wait_output(self, needle, timeout=20, start=0):
        wait_for(lambda: needle in self.process.output()[start:] or not self.process.alive(), timeout,
                 f"testpmd output '{needle}'")
        if needle not in self.process.output()[start:]:
            raise RuntimeError(f"testpmd {self.prefix} exited:\n" + self.process.output()[-3000:])

    def output(self):
        return self.process.output()

    def port_stats(self):
        """Interactive: 'show port stats all', parsed."""
        mark = len(self.output())
        self.command("show port stats all")
        self.wait_output("NIC statistics for port", timeout=10, start=mark)
        time.sleep(0.1)
        return parse_port_stats(self.output()[mark:])

    def wait_port_tx(self, port, count, timeout):
        """Interactive: waits until `port` has transmitted at least `count` packets."""
        wait_for(lambda: self.port_stats().get(port, {}).get("tx", 0) >= count, timeout,
                 f"testpmd port {port} to transmit {count} packets", interval=0.3)

    def quit(self, timeout=20):
        if self.interactive and self.process.alive():
            try:
                self.command("quit")
            except BrokenPipeError:
                pass
            rc = self.process.wait(timeout)
            if rc is None:
                self.process.kill()
        else:
            self.process.stop(_signal.SIGINT, timeout)
        self.process.kill()
        remove_hugepage_files(self.prefix)
        return self.output()

    def kill(self):
        self.process.kill()
        remove_hugepage_files(self.prefix)


def remove_hugepage_files(prefix):
    for path in glob.glob(f"/dev/hugepages/{prefix}map_*") + glob.glob(f"/var/run/dpdk/{prefix}/*"):
        try:
            os.unlink(path)
        except OSError:
            pass


def virtio_user(index, path, queues=1, server=False, mrg_rxbuf=None, packed=False, extra=""):
    v = f"net_virtio_user{index},path={path},queues={queues}"
    if server:
        v += ",server=1"
    if mrg_rxbuf is not None:
        v += f",mrg_rxbuf={1 if mrg_rxbuf else 0}"
    if packed:
        v += ",packed_vq=1"
    return v + extra


def run_io_loop(ringlane_ports, seconds, queues=1, mrg_rxbuf=True, server=True, workdir=None,
                prefix="rltest", packed=False, in_order=None):
    """testpmd (io-forwarding, tx_first) with two virtio_user ports looped through ringlane
    (packed rings with packed=True; in_order=True/False asks virtio_user for it or not).

    Returns (testpmd port stats after stop, testpmd text). Ports are stopped but testpmd quits
    only after the caller's ringlane has drained: the caller stops ringlane after this."""
    extra_dev = "" if in_order is None else f",in_order={1 if in_order else 0}"
    vdevs = [virtio_user(i, p["path"], queues=queues, server=not server, mrg_rxbuf=mrg_rxbuf,
                         packed=packed, extra=extra_dev)
             for i, p in enumerate(ringlane_ports)]
    extra = [f"--rxq={queues}", f"--txq={queues}"]
    # ringlane polls on core 1; testpmd forwards on core 0 (its main lcore 1 only reads stdin).
    tp = Testpmd(vdevs, prefix, main_lcore=1, lcores="0,1", interactive=True, extra=extra, workdir=workdir)
    try:
        tp.wait_output("testpmd>", timeout=30)
        mark = len(tp.output())
        tp.command("start tx_first")
        time.sleep(seconds)
        tp.command("stop")
        tp.wait_output("Done.", timeout=20, start=mark)
        time.sleep(0.5)  # ringlane drains what the rings still hold
        mark = len(tp.output())
        tp.command("show port stats all")
        tp.wait_output("NIC statistics for port 1", timeout=10, start=mark)
        time.sleep(0.2)
        stats = parse_port_stats(tp.output()[mark:])
        return stats, tp
    except Exception:
        tp.kill()
        raise
