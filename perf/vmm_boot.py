#!/usr/bin/env python3
"""Boot figures of ringlane-vmm with the project's test guest (issue 3, point 4).

For each of N runs: the time from spawning the process to the guest's first instruction, and
the VMM's own resident memory beyond guest RAM. The first instruction runs between the vCPU's
first entry and its first exit, which the VMM stamps with CLOCK_MONOTONIC (--boot-report); this
script stamps the spawn with the same clock, so both bounds are reported. pvh_hello's first exit
is its first serial write, a few instructions in. Memory: RssAnon + RssFile of the VMM at exit
(guest RAM is a memfd and shows as RssShmem, left out). Targets: under 10 ms and under 5 MiB.

Run as root: python3 perf/vmm_boot.py [--runs 50] [--memory 256] [--json OUT]"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50, help="boots to measure (default 50)")
    ap.add_argument("--memory", type=int, default=256, help="guest memory in MiB (default 256)")
    ap.add_argument("--vmm", default=os.path.join(ROOT, "build", "vmm", "ringlane-vmm"))
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build", "tests", "guest", "pvh_hello.elf"))
    ap.add_argument("--json", metavar="OUT", help="write every run's figures here")
    args = ap.parse_args()
    # Without /dev/kvm, in a QEMU TCG guest with nested KVM: the figures are then that guest's.
    sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
    import nested_kvm  # noqa: E402
    nested_kvm.reexec_with_kvm()
    if args.runs < 1:
        sys.exit("--runs must be at least 1")
    for path in (args.vmm, args.kernel):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: build first (./scripts/test.sh or ./scripts/demo.sh)")
    runs = []
    with tempfile.TemporaryDirectory() as work:
        report = os.path.join(work, "boot.json")
        for i in range(args.runs):
            spawn = time.monotonic_ns()
            r = subprocess.run([args.vmm, "--kernel", args.kernel, "--memory", str(args.memory),
                                "--boot-report", report], capture_output=True, text=True, timeout=60)
            done = time.monotonic_ns()
            if r.returncode != 0:
                sys.exit(f"run {i + 1}: ringlane-vmm exited {r.returncode}: {r.stderr.strip()}")
            with open(report) as f:
                b = json.load(f)
            runs.append({"to_main_ms": (b["main_ns"] - spawn) / 1e6,
                         "main_to_first_exit_ms": (b["first_exit_ns"] - b["main_ns"]) / 1e6,
                         "to_first_entry_ms": (b["first_entry_ns"] - spawn) / 1e6,
                         "to_first_exit_ms": (b["first_exit_ns"] - spawn) / 1e6,
                         "whole_run_ms": (done - spawn) / 1e6,
                         "vmm_rss_kib": b["rss_anon_kib"] + b["rss_file_kib"],
                         "rss_anon_kib": b["rss_anon_kib"], "rss_file_kib": b["rss_file_kib"],
                         "rss_shmem_kib": b["rss_shmem_kib"]})

    def summary(key):
        values = sorted(r[key] for r in runs)
        return statistics.median(values), values[min(len(values) - 1, int(0.9 * len(values)))], values[-1]

    print(f"ringlane-vmm boot, {args.runs} runs, {args.memory} MiB guest, {os.path.basename(args.kernel)}")
    print(f"{'figure':<42} {'median':>9} {'p90':>9} {'max':>9}")
    for key, label, unit in (("to_main_ms", "spawn -> main() (exec, process start-up)", "ms"),
                             ("main_to_first_exit_ms", "main() -> first guest exit (VMM set-up)", "ms"),
                             ("to_first_entry_ms", "spawn -> first vCPU entry", "ms"),
                             ("to_first_exit_ms", "spawn -> first guest exit (upper bound)", "ms"),
                             ("whole_run_ms", "spawn -> VMM exit (boot, print, reset)", "ms"),
                             ("vmm_rss_kib", "VMM RSS beyond guest RAM (anon + file)", "KiB"),
                             ("rss_anon_kib", "  of which anonymous", "KiB")):
        med, p90, mx = summary(key)
        print(f"{label:<42} {med:>9.2f} {p90:>9.2f} {mx:>9.2f}  {unit}")
    med_exit = summary("to_first_exit_ms")[0]
    med_rss = summary("vmm_rss_kib")[0] / 1024
    print(f"targets: first instruction under 10 ms: {'met' if med_exit < 10 else 'NOT met'} "
          f"({med_exit:.2f} ms median); VMM memory under 5 MiB: {'met' if med_rss < 5 else 'NOT met'} "
          f"({med_rss:.2f} MiB median)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": runs, "memory_mib": args.memory, "kernel": args.kernel}, f, indent=1)


if __name__ == "__main__":
    main()
