"""The no-hiccup measurement (issue 15, acceptance point 2): the longest gap between bursts on two
ports forwarding at full rate, with and without ports coming and going and queues moving between
workers (tests/lib/hiccup.py describes the scenario). Each round runs a baseline phase and a change
phase, in alternating order, on a fresh daemon: the same cycles (a pair of ports added, driven and
removed, a queue moved), sent to a second daemon that forwards nothing (the baseline: the machine
as busy) or to the forwarding daemon itself (the changes). The report gives each phase's longest
gap per port, and a quiet phase's; the ratio changes/baseline (the target: at most 2) and the
frames lost (the target: 0).

    python3 perf/no_hiccup.py [--rounds 3] [--cycles 100]"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import hiccup  # noqa: E402
import peers  # noqa: E402


def lost(stats, summary):
    """Frames testpmd sent that neither arrived nor wait in its receive rings (at most a ring)."""
    drops = peers.total_drops(summary)
    errors = sum(stats[p]["tx_errors"] for p in (0, 1))
    return drops + errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cycles", type=int, default=100)
    a = ap.parse_args()
    ratios = []
    rows = []
    for r in range(a.rounds):
        s = hiccup.Scenario()
        try:
            quiet = s.quiet(10)
            if r % 2 == 0:
                base, _, _ = s.baseline(a.cycles)
                gaps, seconds, times = s.changes(a.cycles)
            else:
                gaps, seconds, times = s.changes(a.cycles)
                base, _, _ = s.baseline(a.cycles)
            stats, _, summary = s.finish()
        finally:
            s.close()
        n = lost(stats, summary)
        for port in ("vm0", "vm1"):
            ratio = gaps[port] / base[port]
            ratios.append(ratio)
            rows.append((r, port, quiet[port] / 1000, base[port] / 1000, gaps[port] / 1000, ratio,
                         n))
            print(f"round {r} {port}: longest gap {quiet[port] / 1000:.1f} ms quiet, "
                  f"{base[port] / 1000:.1f} ms during {a.cycles} cycles on the other daemon, "
                  f"{gaps[port] / 1000:.1f} ms during {a.cycles} cycles on this one ({seconds:.1f} "
                  f"s, longest cycle {1000 * max(times):.0f} ms): x{ratio:.2f}; frames lost {n}",
                  flush=True)
    print("\n| round | port | longest gap, quiet (ms) | same cycles on another daemon (ms) | "
          "cycles on this daemon (ms) | ratio | frames lost |")
    print("|---|---|---|---|---|---|---|")
    for r, port, q, b, g, ratio, n in rows:
        print(f"| {r} | {port} | {q:.1f} | {b:.1f} | {g:.1f} | {ratio:.2f} | {n} |")
    print(f"\nratio: median {statistics.median(ratios):.2f}, worst {max(ratios):.2f} "
          f"(target at most 2)")


if __name__ == "__main__":
    main()
