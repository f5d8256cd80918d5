#!/usr/bin/env python3
"""Where a vhost-user-blk backend's time goes, for one case of perf/blk_compare.py.

Starts the backend as blk_compare.py does (ringlane or qemu-storage-daemon on core 1, the same
image), runs build/perf/ringlane_blk_bench against it on core 0, and inside the measured
interval, on the backend's threads:
  - counts system calls and io_uring events (perf stat on tracepoints: this machine has no PMU,
    but tracepoints work) and divides them by the requests served;
  - samples where the CPU time goes (perf record -e cpu-clock, the software clock, with call
    graphs) and prints the top symbols, with the share spent polling an empty ring when the
    backend polls.

Run as root: sudo python3 perf/blk_profile.py [--backend ringlane|qsd] [--qd 32]
[--rw randread] [--seconds 6] [--build DIR]."""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import blk_compare as bc  # noqa: E402

EVENTS = ["raw_syscalls:sys_enter", "io_uring:io_uring_submit_req", "io_uring:io_uring_complete",
          "io_uring:io_uring_task_work_run", "io_uring:io_uring_queue_async_work",
          "io_uring:io_uring_local_work_run"]


def thread_ids(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        out[int(tid)] = bc.sysfs(f"/proc/{pid}/task/{tid}/comm")
    return out


def perf_stat(pid, seconds, work):
    path = os.path.join(work, "stat.txt")
    subprocess.run(["perf", "stat", "--per-thread", "-x", ",", "-o", path, "-e", ",".join(EVENTS),
                    "-p", str(pid), "--", "sleep", str(seconds)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.strip().split(",")
            # thread-tid,count,unit,event,...
            if len(parts) < 4 or parts[0].startswith("#") or not parts[1].isdigit():
                continue
            thread, count, event = parts[0], int(parts[1]), parts[3]
            counts.setdefault(thread, {})[event] = count
    return counts


def perf_record(pid, seconds, work, tid=None):
    data = os.path.join(work, "perf.data")
    target = ["-t", str(tid)] if tid else ["-p", str(pid)]
    subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "4999", "-g", "-o", data] + target +
                   ["--", "sleep", str(seconds)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    flat = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "symbol",
                           "-g", "none", "--percent-limit", "0.7"],
                          capture_output=True, text=True).stdout
    rows = []
    for line in flat.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.*\S)", line)
        if m:
            rows.append((float(m.group(1)), "kernel" if m.group(2) == "k" else "user", m.group(3)))
    # Kernel against user time: in a polling worker the kernel's share is the I/O work proper
    # (submission down to the device, completions); the user share is the poll loop with the
    # request parsing inlined into it.
    by_dso = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso",
                             "-g", "none"], capture_output=True, text=True).stdout
    dsos = []
    for line in by_dso.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)", line)
        if m:
            dsos.append((float(m.group(1)), m.group(2)))
    return rows, dsos


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_build = os.path.join(bc.peers.ROOT, "build")
    ap.add_argument("--build", default=default_build)
    ap.add_argument("--backend", default="ringlane", choices=("ringlane", "qsd"))
    ap.add_argument("--qd", type=int, default=32)
    ap.add_argument("--rw", default="randread", choices=bc.RWS)
    ap.add_argument("--seconds", type=float, default=6.0, help="each of perf stat and perf record")
    ap.add_argument("--image", default="/var/tmp/ringlane-blk-bench.img")
    ap.add_argument("--qsd", default="qemu-storage-daemon")
    args = ap.parse_args()
    args.backend_core, args.bench_core = bc.BACKEND_CORE, bc.BENCH_CORE
    args.ringlane = os.path.join(args.build, "dataplane", "ringlane")
    args.bench = os.path.join(args.build, "perf", "ringlane_blk_bench")
    if not os.path.exists(args.image):
        raise bc.Failure(f"{args.image} is missing: run perf/blk_compare.py first (it writes it)")
    work = tempfile.mkdtemp(prefix="blk-profile-")
    backend = bench = None
    try:
        backend = (bc.RinglaneBackend if args.backend == "ringlane" else bc.QsdBackend)(args, work, args.image)
        warmup = 1.0
        total = 2 * args.seconds + 2.0
        argv = bc.bench_argv(args, args.image, backend, args.qd, args.rw, total, warmup)
        bench = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True)
        time.sleep(warmup + 0.5)
        threads = thread_ids(backend.pid)
        stat = perf_stat(backend.pid, args.seconds, work)
        worker = next((t for t, n in threads.items() if n.startswith("rl-worker")), None)
        profile, dsos = perf_record(backend.pid, args.seconds, work, tid=worker)
        out, _ = bench.communicate(timeout=total + 60)
        result = json.loads(out.strip().splitlines()[-1])
        bench = None
        backend.stop()
        backend = None
    finally:
        if bench is not None and bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
            bench.wait()
        if backend is not None:
            backend.kill()
        shutil.rmtree(work, ignore_errors=True)

    iops = result["iops"]
    ios = iops * args.seconds  # requests served while perf stat counted (the rate was steady)
    print(f"{bc.LABELS[args.backend]} QD{args.qd} {args.rw}: {iops:.0f} IOPS, backend "
          f"{result['backend_cpu']['cores']:.2f} cores, p50 {result['lat_us']['p50']:.0f} "
          f"p99 {result['lat_us']['p99']:.0f} us, kicks/IO {result['kicks_per_io']:.2f}")
    print(f"threads: {', '.join(f'{t}:{n}' for t, n in sorted(threads.items()))}")
    print("per request, per thread (perf stat over %.0f s):" % args.seconds)
    for thread, counts in sorted(stat.items()):
        if not any(counts.values()):
            continue
        print(f"  {thread:<24} " + "  ".join(f"{e.split(':')[1]} {c / ios:.3f}" for e, c in counts.items()))
    label = "worker thread" if worker else "all threads"
    print(f"top symbols, {label} (perf record -e cpu-clock over {args.seconds:.0f} s):")
    for pct, space, sym in profile[:25]:
        print(f"  {pct:6.2f}%  {space:<6} {sym}")
    cores = result["backend_cpu"]["cores"]
    print("by object: " + ", ".join(f"{name} {pct:.1f}%" for pct, name in dsos))
    kernel = sum(pct for pct, name in dsos if name.startswith("[kernel"))
    print(f"kernel time per request: {kernel / 100 * cores / iops * 1e6:.2f} us "
          f"({kernel:.1f}% of {cores:.2f} cores at {iops:.0f} IOPS); all of it: "
          f"{cores / iops * 1e6:.2f} us")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bc.Failure as e:
        print(f"blk_profile: {e}", file=sys.stderr)
        sys.exit(1)
