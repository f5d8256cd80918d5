"""No hiccup (issue 15, acceptance point 2): while testpmd forwards a closed loop of frames at
full rate through ringlane's vm0 <-> vm1, a pair of ports is added through the API, connected by a
driver, used and removed under it 100 times, and the forwarding ports' queues are moved between
the two workers 100 times. The forwarding ports lose nothing: no drop anywhere, and every frame
testpmd sent is accounted for. The longest gap between bursts with and without the changes is
printed here and measured as a benchmark by perf/no_hiccup.py (docs/benchmarks.md)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hiccup  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

CYCLES = int(os.environ.get("RINGLANE_HICCUP_CYCLES", "100"))
RING = 256  # testpmd's ring size: frames that can wait unpolled in one of its receive queues


class NoHiccup(unittest.TestCase):
    def test_changes_under_full_rate_lose_nothing(self):
        s = hiccup.Scenario()
        self.addCleanup(s.close)
        quiet = s.quiet(5.0)
        baseline, _, _ = s.baseline(CYCLES)
        gaps, seconds, times = s.changes(CYCLES)
        stats, _, summary = s.finish()
        print(f"\n{CYCLES} cycles (a pair added, used, removed; a queue moved) in {seconds:.1f} s, "
              f"{1000 * max(times):.0f} ms the longest; longest gap between bursts (us): "
              f"quiet {quiet}, the same cycles on another daemon {baseline}, during changes "
              f"{gaps}")

        vm0, vm1 = peers.assert_io_loop_accounted(self, summary, stats, RING)
        for port in (0, 1):
            self.assertEqual(stats[port]["tx_errors"], 0)
        self.assertGreater(vm0["rx_packets"] + vm1["rx_packets"], 100_000, "the loop barely moved")
        # The pairs are gone: only the forwarding ports are left to summarise.
        names = [p["name"] for p in summary["ports"]]
        self.assertEqual(sorted(names), ["vm0", "vm1"], "the added ports are gone")


if __name__ == "__main__":
    report.main("integration_no_hiccup")
