#!/usr/bin/env python3
"""Compares ringlane's vhost-user-blk with qemu-storage-daemon and with raw io_uring (issue 13).

One backing file (a preallocated, written image on this machine's root file system), three ways
to reach it, the same workload from build/perf/ringlane_blk_bench (4 KiB random reads or writes,
QD requests in flight, O_DIRECT everywhere):
  ringlane  build/dataplane/ringlane --cores 1 --disk name=d0,path=SOCK,file=IMG: its worker
            busy-polls on core 1 (the control thread, idle while the disk runs, on core 0);
  qsd       qemu-storage-daemon --blockdev driver=file,...,cache.direct=on,aio=io_uring
            --export type=vhost-user-blk,... under taskset -c 1, every thread on core 1;
  raw       the benchmark itself, io_uring straight on the file (no virtio): the ceiling.
The benchmark is the vhost-user driver (no VM) on core 0. It negotiates VERSION_1,
INDIRECT_DESC and FLUSH (as a Linux guest does: both backends then cache writes as the image's
O_DIRECT allows, none waits for stable storage per write), kicks unless the device set NO_NOTIFY
(ringlane polls and sets it; qsd needs kicks) and asks for calls, as a VM would.

Per case: IOPS over the measured interval; the backend's CPU time over that interval (utime +
stime of the whole process from /proc/PID/stat, which includes threads that exited meanwhile,
such as io_uring io-wq workers; the sum over /proc/PID/task/*/stat is recorded beside it), in
cores = cpu seconds / wall seconds, and IOPS per core = IOPS / cores (for raw: the benchmark's
own CPU); latency percentiles from every request in the interval (put on the ring -> seen on the
used ring). Threads of the backend (and of the benchmark, for raw) are listed every 0.2 s while
a case runs, so io-wq workers ("iou-wrk-*") are caught even when they come and go.

The machine is shared and noisy: before each case the script waits for other processes to go
idle, measures a case again when they did not stay idle, and interleaves --rounds rounds of all
backends (the order rotating per round). Tables show medians over rounds; each ratio is the
median of the per-round ratios (one round pairs the backends under one machine state).

Run as root: sudo python3 perf/blk_compare.py [--build DIR] [--rounds 3] [--seconds 5]
[--quick] [--json OUT]. Everything started is stopped by PID, also on failure or Ctrl-C."""
import argparse
import json
import os
import re
import stat
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import peers  # noqa: E402

BENCH_CORE = 0
BACKEND_CORE = 1
BACKENDS = ("ringlane", "qsd", "raw")
LABELS = {"ringlane": "ringlane", "qsd": "qemu-storage-daemon", "raw": "raw io_uring"}
QDS = (1, 32, 128)
RWS = ("randread", "randwrite")
DISTURBED = 0.15  # cores used by others above which a case counts as disturbed
TICK = os.sysconf("SC_CLK_TCK")


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Failure(RuntimeError):
    pass


# --- the backing store --------------------------------------------------------------------------

def run_text(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def sysfs(path, default="?"):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def backing_store(image):
    """What the image lives on: df -T's line and the block device under it."""
    df = run_text(["df", "-T", os.path.dirname(os.path.abspath(image))]).splitlines()
    fields = df[-1].split() if df else []
    source, fstype = (fields[0], fields[1]) if len(fields) > 1 else ("?", "?")
    dev = os.path.basename(source)
    # A partition's queue settings are its disk's.
    block = f"/sys/class/block/{dev}"
    disk = dev
    if os.path.exists(os.path.join(block, "partition")):
        disk = os.path.basename(os.path.dirname(os.path.realpath(block)))
    q = f"/sys/block/{disk}/queue"
    driver = os.path.basename(os.path.realpath(f"/sys/block/{disk}/device/driver")) \
        if os.path.exists(f"/sys/block/{disk}/device/driver") else "?"
    scheduler = re.search(r"\[(\S+)\]", sysfs(f"{q}/scheduler", "[?]"))
    size_gib = int(sysfs(f"/sys/block/{disk}/size", "0")) * 512 / 2**30
    hw_queues = len(os.listdir(f"/sys/block/{disk}/mq")) if os.path.isdir(f"/sys/block/{disk}/mq") else "?"
    irqs = disk_interrupts(disk)
    return {
        "df": "\n".join(df),
        "fstype": fstype,
        "device": source,
        "disk": disk,
        "driver": driver,
        "size_gib": round(size_gib, 1),
        "rotational": sysfs(f"{q}/rotational"),
        "scheduler": scheduler.group(1) if scheduler else "?",
        "nr_requests": sysfs(f"{q}/nr_requests"),
        "hw_queues": hw_queues,
        "interrupts_by_cpu": irqs,
        "summary": (f"{fstype} on {source} ({driver} disk {disk}, {size_gib:.0f} GiB, {hw_queues} hw "
                    f"queue(s), nr_requests {sysfs(f'{q}/nr_requests')}, scheduler "
                    f"{scheduler.group(1) if scheduler else '?'}, rotational={sysfs(f'{q}/rotational')}"
                    + (f"; its interrupts so far by CPU: {irqs}" if irqs else "") + ")"),
    }


def disk_interrupts(disk):
    """The disk's interrupt counts per CPU (a virtio disk's request queues, virtioN-req.*): the
    CPU that takes them also runs the block layer's completion work (softirqs, and ext4's
    O_DIRECT write completions on a kworker), which competes with whatever polls there."""
    dev = os.path.basename(os.path.realpath(f"/sys/block/{disk}/device"))
    try:
        with open("/proc/interrupts") as f:
            cpus = f.readline().split()
            totals = [0] * len(cpus)
            for line in f:
                if f"{dev}-req" in line or (not dev.startswith("virtio") and disk in line):
                    counts = line.split()[1:1 + len(cpus)]
                    totals = [t + int(c) for t, c in zip(totals, counts)]
    except (OSError, ValueError):
        return None
    return {cpu.replace("CPU", ""): n for cpu, n in zip(cpus, totals)} if any(totals) else None


def qsd_driver(image):
    """QEMU's block driver for the image: host_device for a block device (zram, say), which
    QEMU's file driver refuses."""
    return "host_device" if stat.S_ISBLK(os.stat(image).st_mode) else "file"


def prepare_image(path, size):
    """A file of `size` bytes with every block written, so reads and writes hit allocated,
    initialised blocks (neither holes nor unwritten extents, which ext4 answers or converts
    without the same work)."""
    if os.path.exists(path) and stat.S_ISBLK(os.stat(path).st_mode):
        # A block device (zram, say): written whole each time, its size is its own.
        log(f"writing {size >> 20} MiB of random data to the block device {path}")
        subprocess.run(["dd", "if=/dev/urandom", f"of={path}", "bs=1M", f"count={size >> 20}",
                        "oflag=direct", "conv=fsync", "status=none"], check=True)
        return True
    if os.path.exists(path) and os.path.getsize(path) == size:
        st = os.stat(path)
        extents = run_text(["filefrag", "-v", path])
        if st.st_blocks * 512 >= size and "unwritten" not in extents:
            return False
    log(f"writing {size >> 20} MiB of random data to {path}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    subprocess.run(["dd", "if=/dev/urandom", f"of={path}", "bs=1M", f"count={size >> 20}",
                    "oflag=direct", "conv=fsync", "status=none"], check=True)
    return True


# --- CPU accounting -----------------------------------------------------------------------------

def machine_ticks():
    """(busy, steal) ticks of the whole machine. Busy is user + nice + system: interrupts and
    softirqs, which our own I/O causes, are left out; steal (the hypervisor running others on
    our vCPUs) is reported on its own."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2], v[7]


def process_ticks(pid):
    """utime + stime of a whole process (exited threads included), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
        return int(stat[11]) + int(stat[12])
    except (OSError, IndexError):
        return None


def self_ticks():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * TICK


def wait_quiet(limit, max_wait):
    """Waits (up to max_wait s) until other processes use under `limit` cores; returns that load."""
    deadline = time.monotonic() + max_wait
    while True:
        m0, s0 = machine_ticks()[0], self_ticks()
        time.sleep(1.0)
        load = max(0.0, (machine_ticks()[0] - m0 - (self_ticks() - s0)) / TICK)
        if load < limit or time.monotonic() >= deadline:
            if load >= limit:
                log(f"  warning: other processes use {load:.2f} cores; numbers may be disturbed")
            return load
        log(f"  other processes use {load:.2f} cores; waiting for the machine to calm down")


class ThreadWatch:
    """Lists the threads of some processes every 0.2 s (io-wq workers come and go)."""

    def __init__(self):
        self.pids = []
        self.seen = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, pids):
        self.pids = list(pids)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            for pid in self.pids:
                try:
                    for tid in os.listdir(f"/proc/{pid}/task"):
                        name = sysfs(f"/proc/{pid}/task/{tid}/comm", None)
                        if name is not None:
                            self.seen.setdefault(pid, {})[int(tid)] = name
                except OSError:
                    pass
            self._stop.wait(0.2)

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def names(self, pid):
        return sorted(set(self.seen.get(pid, {}).values()))


# --- backends -----------------------------------------------------------------------------------

class RinglaneBackend:
    name = "ringlane"

    def __init__(self, args, work, image):
        self.sock = os.path.join(work, "ringlane-d0.sock")
        self.summary = os.path.join(work, "ringlane-summary.json")
        self.argv = [args.ringlane, "--cores", str(args.backend_core), "--disk",
                     f"name=d0,path={self.sock},file={image}", "--stats-interval", "0",
                     "--summary", self.summary]
        self.proc = peers.Process(self.argv, "ringlane-blk", log_dir=work)
        peers.wait_for(lambda: os.path.exists(self.sock) or not self.proc.alive(), 15,
                       "ringlane to listen")
        peers.wait_for(lambda: "running:" in self.proc.output() or not self.proc.alive(), 15,
                       "ringlane to start its worker")
        if not self.proc.alive():
            raise Failure("ringlane exited at start:\n" + self.proc.output()[-3000:])
        self.pid = self.proc.pid

    def stop(self):
        rc = self.proc.stop(signal.SIGINT, timeout=20)
        if rc != 0:
            raise Failure(f"ringlane exited with {rc}:\n" + self.proc.output()[-3000:])
        with open(self.summary) as f:
            summary = json.load(f)
        totals = summary["disks"][0]["totals"]
        errors = sum(totals["errors"].values())
        if errors:
            raise Failure(f"ringlane counted {errors} request errors: {totals['errors']}")
        return {"completed": totals["completed"]}

    def kill(self):
        self.proc.kill()


class QsdBackend:
    name = "qsd"

    def __init__(self, args, work, image):
        self.sock = os.path.join(work, "qsd.sock")
        # taskset execs the daemon: the PID is qemu-storage-daemon's, and every thread it makes
        # (io-wq workers too) inherits the one-core mask.
        self.argv = ["taskset", "-c", str(args.backend_core), args.qsd,
                     "--blockdev", f"driver={qsd_driver(image)},node-name=f,filename={image},"
                     "cache.direct=on,aio=io_uring",
                     "--export", f"type=vhost-user-blk,id=e,node-name=f,addr.type=unix,"
                                 f"addr.path={self.sock},writable=on"]
        self.proc = peers.Process(self.argv, "qsd", log_dir=work)
        peers.wait_for(lambda: os.path.exists(self.sock) or not self.proc.alive(), 15,
                       "qemu-storage-daemon to listen")
        if not self.proc.alive():
            raise Failure("qemu-storage-daemon exited at start:\n" + self.proc.output()[-3000:])
        self.pid = self.proc.pid

    def stop(self):
        rc = self.proc.stop(signal.SIGTERM, timeout=20)
        if rc not in (0, -signal.SIGTERM):
            raise Failure(f"qemu-storage-daemon exited with {rc}:\n" + self.proc.output()[-3000:])
        return {}

    def kill(self):
        self.proc.kill()


# --- one case -----------------------------------------------------------------------------------

def bench_argv(args, image, backend, qd, rw, seconds, warmup):
    argv = [args.bench, "--rw", rw, "--qd", str(qd), "--seconds", str(seconds), "--warmup", str(warmup),
            "--pin", str(args.bench_core)]
    if backend is None:
        return argv + ["--raw", image, "--raw-reap", args.raw_reap]
    return argv + ["--vhost-user", backend.sock, "--file", image, "--cpu-pid", str(backend.pid)]


def measure_once(name, qd, rw, args, image, work_root):
    work = tempfile.mkdtemp(prefix=f"{name}-qd{qd}-{rw}-", dir=work_root)
    backend = None
    bench = None
    watch = ThreadWatch()
    try:
        if name == "ringlane":
            backend = RinglaneBackend(args, work, image)
        elif name == "qsd":
            backend = QsdBackend(args, work, image)
        argv = bench_argv(args, image, backend, qd, rw, args.seconds, args.warmup)
        m0, st0 = machine_ticks()
        s0 = self_ticks()
        t0 = time.monotonic()
        b0 = process_ticks(backend.pid) if backend else 0
        out_path = os.path.join(work, "bench.out")
        with open(out_path, "w+") as out:
            bench = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            watch.start([backend.pid, bench.pid] if backend else [bench.pid])
            deadline = time.monotonic() + args.warmup + args.seconds + 60
            while True:
                pid, status, usage = os.wait4(bench.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    raise Failure(f"{name} QD{qd} {rw}: the benchmark did not finish")
                time.sleep(0.05)
            bench.returncode = os.waitstatus_to_exitcode(status)
            watch.stop()
            m1, st1 = machine_ticks()
            b1 = process_ticks(backend.pid) if backend else 0
            bench_ticks = (usage.ru_utime + usage.ru_stime) * TICK
            wall = time.monotonic() - t0
            foreign = max(0.0, (m1 - m0 - (self_ticks() - s0) - bench_ticks - (b1 - b0)) / TICK / wall)
            steal = (st1 - st0) / TICK / wall
            out.seek(0)
            text = out.read()
        if bench.returncode != 0:
            raise Failure(f"{name} QD{qd} {rw}: the benchmark failed ({bench.returncode}):\n{text[-3000:]}")
        result = json.loads(text.strip().splitlines()[-1])
        extra = backend.stop() if backend else {}
        backend = None
        cpu = result["backend_cpu"] if name != "raw" else result["bench_cpu"]
        watched_pid = cpu["pid"]
        threads = watch.names(watched_pid)
        return {
            "backend": name, "qd": qd, "rw": rw,
            "iops": result["iops"],
            "cores": cpu["cores"],
            "iops_per_core": result["iops"] / cpu["cores"] if cpu["cores"] > 0 else None,
            "cpu_s": cpu["cpu_s"], "cpu_s_tasks": cpu["cpu_s_tasks"],
            "p50": result["lat_us"]["p50"], "p99": result["lat_us"]["p99"],
            "p999": result["lat_us"]["p99.9"], "mean": result["lat_us"]["mean"],
            "kicks_per_io": result.get("kicks_per_io"),
            "kernel_entries_per_io": result.get("kernel_entries_per_io"),
            "threads": threads,
            "io_wq_workers": [t for t in threads if t.startswith("iou-wrk")],
            "foreign_cores": foreign, "steal_cores": steal,
            "bench": result, "backend_extra": extra,
        }
    finally:
        watch.stop()
        if bench is not None and bench.poll() is None:
            try:
                os.killpg(bench.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            bench.wait(timeout=10)
        if backend is not None:
            backend.kill()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def measure(name, qd, rw, args, image, work_root):
    """A case, measured again (up to --retries times) when other processes disturbed it; the
    least disturbed attempt is kept."""
    attempts = []
    for attempt in range(args.retries + 1):
        quiet = wait_quiet(DISTURBED, args.wait_quiet)
        r = measure_once(name, qd, rw, args, image, work_root)
        r["quiet_before"] = quiet
        r["attempt"] = attempt + 1
        attempts.append(r)
        log(f"  {LABELS[name]:<20} QD{qd:<4} {rw:<9} {r['iops']:>9.0f} IOPS  {r['cores']:.2f} cores  "
            f"p50 {r['p50']:.0f} p99 {r['p99']:.0f} p99.9 {r['p999']:.0f} us  foreign {r['foreign_cores']:.2f}"
            f"  steal {r['steal_cores']:.2f}" + (f"  io-wq {r['io_wq_workers']}" if r["io_wq_workers"] else ""))
        if r["foreign_cores"] <= DISTURBED:
            break
        log(f"  disturbed (others used {r['foreign_cores']:.2f} cores); measuring again")
    best = min(attempts, key=lambda r: r["foreign_cores"])
    best["attempts"] = len(attempts)
    return best


# --- the report ---------------------------------------------------------------------------------

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec=".0f"):
    return "-" if v is None else format(v, spec)


def ratios_of(cases):
    """The issue's ratios from one set of cases (a round's, or the medians)."""
    by = {(c["backend"], c["qd"], c["rw"]): c for c in cases}
    out = {}
    for rw in RWS:
        rl, q = by.get(("ringlane", 32, rw)), by.get(("qsd", 32, rw))
        if rl and q and rl.get("iops_per_core") and q.get("iops_per_core"):
            out[f"per_core_rl_over_qsd_qd32_{rw}"] = rl["iops_per_core"] / q["iops_per_core"]
        if rl and q:
            out[f"p99_rl_over_qsd_qd32_{rw}"] = rl["p99"] / q["p99"]
        for qd in (32, 128):
            rl, raw = by.get(("ringlane", qd, rw)), by.get(("raw", qd, rw))
            if rl and raw:
                out[f"iops_rl_over_raw_qd{qd}_{rw}"] = rl["iops"] / raw["iops"]
    return out


TARGETS = {
    "per_core_rl_over_qsd_qd32": ("ringlane IOPS per core / qsd IOPS per core, QD32", ">=", 2.0),
    "p99_rl_over_qsd_qd32": ("ringlane p99 / qsd p99, QD32", "<", 1.0),
    "iops_rl_over_raw_qd32": ("ringlane IOPS / raw IOPS, QD32", ">=", 0.85),
    "iops_rl_over_raw_qd128": ("ringlane IOPS / raw IOPS, QD128", ">=", 0.85),
}


def verdict(key, value):
    for prefix, (text, op, target) in TARGETS.items():
        if key.startswith(prefix):
            rw = key[len(prefix) + 1:]
            met = value >= target if op == ">=" else value < target
            return f"{text}, {rw}", f"{op} {target:g}", met
    return key, "", None


def report(results, rounds, env):
    lines = []
    lines.append(f"backing store: {env['store']['summary']}")
    lines.append(f"image: {env['image']} ({env['image_bytes'] >> 20} MiB, written)")
    lines.append("")
    # Per-round detail.
    head = (f"{'rnd':>3} {'QD':>4} {'rw':<9} {'backend':<20} {'IOPS':>9} {'cores':>5} {'IOPS/core':>9} "
            f"{'p50':>7} {'p99':>7} {'p99.9':>7} {'foreign':>7} {'steal':>5}")
    lines += [head, "-" * len(head)]
    for r in sorted(results, key=lambda r: (r["qd"], RWS.index(r["rw"]), r["round"], BACKENDS.index(r["backend"]))):
        lines.append(f"{r['round']:>3} {r['qd']:>4} {r['rw']:<9} {LABELS[r['backend']]:<20} {r['iops']:>9.0f} "
                     f"{r['cores']:>5.2f} {fmt(r['iops_per_core']):>9} {r['p50']:>7.0f} {r['p99']:>7.0f} "
                     f"{r['p999']:>7.0f} {r['foreign_cores']:>7.2f} {r['steal_cores']:>5.2f}")
    lines.append("")
    # Medians.
    medians = []
    for qd in sorted({r["qd"] for r in results}):
        for rw in RWS:
            for b in BACKENDS:
                rs = [r for r in results if r["qd"] == qd and r["rw"] == rw and r["backend"] == b]
                if not rs:
                    continue
                threads = sorted({t for r in rs for t in r["threads"]})
                medians.append({
                    "backend": b, "qd": qd, "rw": rw, "n": len(rs),
                    **{k: med(r[k] for r in rs) for k in
                       ("iops", "cores", "iops_per_core", "p50", "p99", "p999", "kicks_per_io",
                        "kernel_entries_per_io", "foreign_cores")},
                    "threads": threads,
                    "io_wq_workers": sorted({t for r in rs for t in r["io_wq_workers"]}),
                })
    md = ["| QD | rw | backend | IOPS | backend cores | IOPS per core | p50 µs | p99 µs | p99.9 µs | "
          "kicks/IO | threads seen |",
          "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for m in medians:
        kicks = fmt(m["kicks_per_io"], ".2f") if m["backend"] != "raw" else \
            f"({fmt(m['kernel_entries_per_io'], '.2f')} syscalls)"
        md.append(f"| {m['qd']} | {m['rw']} | {LABELS[m['backend']]} | {m['iops']:.0f} | {m['cores']:.2f} | "
                  f"{fmt(m['iops_per_core'])} | {m['p50']:.0f} | {m['p99']:.0f} | {m['p999']:.0f} | {kicks} | "
                  f"{', '.join(m['threads'])} |")
    lines.append(f"medians over {rounds} round(s):")
    lines += md
    lines.append("")
    # Ratios: the median of per-round ratios.
    per_round = []
    for rnd in sorted({r["round"] for r in results}):
        per_round.append(ratios_of([r for r in results if r["round"] == rnd]))
    keys = sorted({k for e in per_round for k in e})
    ratio_rows = ["| ratio | target | per round | median | met |", "|---|---|---|---:|---|"]
    ratios = {}
    for k in keys:
        vals = [e[k] for e in per_round if k in e]
        m = statistics.median(vals)
        text, target, met = verdict(k, m)
        ratios[k] = {"median": m, "rounds": vals, "target": target, "met": met}
        ratio_rows.append(f"| {text} | {target} | {', '.join(f'{v:.2f}' for v in vals)} | {m:.2f} | "
                          f"{'yes' if met else 'no' if met is not None else ''} |")
    lines.append("ratios (median of per-round ratios):")
    lines += ratio_rows
    io_wq = sorted({f"{LABELS[r['backend']]}: {t}" for r in results for t in r["io_wq_workers"]})
    lines.append("")
    lines.append("io_uring io-wq workers seen: " + (", ".join(io_wq) if io_wq else
                 "none (every request was issued inline, without a kernel worker thread)"))
    disturbed = [r for r in results if r["foreign_cores"] > DISTURBED]
    if disturbed:
        lines.append("disturbed cases (other processes above %.2f cores): " % DISTURBED + ", ".join(
            f"round {r['round']} {LABELS[r['backend']]} QD{r['qd']} {r['rw']} ({r['foreign_cores']:.2f})"
            for r in disturbed))
    print("\n".join(lines), flush=True)
    return medians, ratios, "\n".join(md), "\n".join(ratio_rows)


def git_head():
    return run_text(["git", "-C", os.path.join(HERE, ".."), "describe", "--always", "--dirty"]) or None


def _interrupt(signum, frame):
    raise KeyboardInterrupt()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_build = os.path.join(peers.ROOT, "build")
    ap.add_argument("--build", default=default_build, help=f"build directory (default {default_build})")
    ap.add_argument("--ringlane", help="ringlane binary (default BUILD/dataplane/ringlane)")
    ap.add_argument("--bench", help="ringlane_blk_bench (default BUILD/perf/ringlane_blk_bench)")
    ap.add_argument("--qsd", default="qemu-storage-daemon", help="qemu-storage-daemon binary")
    ap.add_argument("--image", default="/var/tmp/ringlane-blk-bench.img",
                    help="backing file, created and written once (default /var/tmp/ringlane-blk-bench.img)")
    ap.add_argument("--image-mib", type=int, default=1024, help="its size in MiB (default 1024)")
    ap.add_argument("--seconds", type=float, default=5.0, help="measured interval per case (default 5)")
    ap.add_argument("--warmup", type=float, default=2.0, help="warm-up before it (default 2)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every case (default 3)")
    ap.add_argument("--qds", default=",".join(map(str, QDS)), help="queue depths (default 1,32,128)")
    ap.add_argument("--rws", default=",".join(RWS), help="randread,randwrite")
    ap.add_argument("--only", default=",".join(BACKENDS), help="backends: ringlane,qsd,raw")
    ap.add_argument("--raw-reap", default="poll", choices=("poll", "wait"),
                    help="raw io_uring: busy-poll completions as ringlane's worker does (default), or wait")
    ap.add_argument("--wait-quiet", type=float, default=30.0,
                    help="before each case wait up to this many seconds for other processes to go idle")
    ap.add_argument("--retries", type=int, default=2,
                    help=f"measure a case again when others used over {DISTURBED} cores meanwhile (default 2)")
    ap.add_argument("--backend-core", type=int, default=BACKEND_CORE,
                    help=f"core for ringlane's worker and qemu-storage-daemon (default {BACKEND_CORE})")
    ap.add_argument("--bench-core", type=int, default=BENCH_CORE,
                    help=f"core for the benchmark, and for raw io_uring (default {BENCH_CORE})")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 round, 1.5 s cases, 0.5 s warm-up")
    ap.add_argument("--json", metavar="OUT", help="write every result as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep per-case logs in the work directory")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup, args.retries, args.wait_quiet = 1, 1.5, 0.5, 0, 5.0
    args.ringlane = os.path.abspath(args.ringlane or os.path.join(args.build, "dataplane", "ringlane"))
    args.bench = os.path.abspath(args.bench or os.path.join(args.build, "perf", "ringlane_blk_bench"))
    qds = [int(q) for q in args.qds.split(",")]
    rws = [r for r in args.rws.split(",") if r]
    only = [b for b in args.only.split(",") if b]
    if any(b not in BACKENDS for b in only) or any(r not in RWS for r in rws):
        ap.error(f"backends are {BACKENDS}, rw {RWS}")
    if os.geteuid() != 0:
        raise Failure("run as root (the benchmark pins itself and reads other processes' /proc)")
    if os.cpu_count() < 2:
        raise Failure("needs two cores: one for the backend, one for the benchmark")
    for path in ([args.bench] + ([args.ringlane] if "ringlane" in only else [])):
        if not os.access(path, os.X_OK):
            raise Failure(f"missing {path} (ninja -C BUILD dataplane/ringlane perf/ringlane_blk_bench)")
    if "qsd" in only and not shutil.which(args.qsd):
        raise Failure("qemu-storage-daemon not found (apt-get install qemu-system-common)")

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)

    size = args.image_mib << 20
    prepare_image(args.image, size)
    env = {
        "command": " ".join([sys.executable] + sys.argv),
        "git": git_head(),
        "kernel": os.uname().release,
        "qsd_version": run_text([args.qsd, "--version"]).splitlines()[0] if "qsd" in only else None,
        "image": args.image, "image_bytes": size,
        "store": backing_store(args.image),
        "cores": {"bench": args.bench_core, "backend": args.backend_core},
        "seconds": args.seconds, "warmup": args.warmup, "rounds": args.rounds, "raw_reap": args.raw_reap,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    log(f"backing store: {env['store']['summary']}")
    work_root = tempfile.mkdtemp(prefix="blk-compare-")
    results = []
    try:
        for rnd in range(args.rounds):
            order = only[rnd % len(only):] + only[:rnd % len(only)]
            log(f"round {rnd + 1}/{args.rounds} (order {', '.join(order)})")
            for qd in qds:
                for rw in rws:
                    for b in order:
                        r = measure(b, qd, rw, args, args.image, work_root)
                        r["round"] = rnd + 1
                        results.append(r)
    except KeyboardInterrupt:
        log("interrupted; reporting what was measured")
    finally:
        for proc in list(peers._live):
            proc.kill()
        if not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)
    if not results:
        return 1
    medians, ratios, md_table, md_ratios = report(results, args.rounds, env)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"env": env, "results": results, "medians": medians, "ratios": ratios,
                       "markdown": {"table": md_table, "ratios": md_ratios}}, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"blk_compare: {e}", file=sys.stderr)
        sys.exit(1)
