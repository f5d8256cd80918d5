"""The live mode switch: a running test guest's virtio-net card moves from virtio mode (VMM
thread, TAP) to vhost mode (ringlane) and back, by API calls, while the guest sends a stream of
sequence-numbered frames (switch_bench.py). No frame may be lost, duplicated or corrupted across
the switches, no buffer completed twice (the guest driver checks every used entry), and the two
peers' counts must add up to what the guest sent. The long form, 500 switches:
perf/switch_stress.py."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import report  # noqa: E402
from switch_bench import NESTED, SLOW, SwitchBench  # noqa: E402

FRAMES = 40000 if NESTED else 200000
# The short form of the stress test: switches done while the guest sends. perf/switch_stress.py
# runs the long form through these variables.
STRESS_SWITCHES = int(os.environ.get("RINGLANE_STRESS_SWITCHES", 10 if NESTED else 40))
STRESS_FRAMES = int(os.environ.get("RINGLANE_STRESS_FRAMES", FRAMES))


class LiveSwitch(SwitchBench):
    def check_exact(self, got, errors, tap, vm):
        print(f"guest sent {self.frames}: TAP peer reflected {tap['reflected']}, ringlane took "
              f"{vm['rx_packets']} and returned {vm['tx_packets']}; guest got back {got}; "
              f"device errors {errors}")
        # Each mode carried traffic.
        self.assertGreater(vm["rx_packets"], 0)
        self.assertGreater(tap["reflected"], 0)
        # Nothing lost, nothing doubled, nothing corrupted, on either side.
        self.assertEqual(errors["total"], 0)
        self.assertEqual(tap["reflected"], tap["unique"])
        self.assertEqual(tap["bad"], 0)
        self.assertEqual(tap["reflected"] + vm["rx_packets"], self.frames)
        self.assertEqual(vm["tx_packets"], vm["rx_packets"])
        self.assertEqual(vm["drops"], 0)
        self.assertEqual(got["frames"], self.frames)
        self.assertEqual(got["bad"], 0)
        self.assertEqual(got["duplicate"], 0)

    def finish_exact(self):
        console, got, errors = self.finish()
        tap = self.reflector_counts()
        self.testpmd.quit()
        summary = self.ringlane.stop()
        vm = next(p for p in summary["ports"] if p["name"] == "vm0")["totals"]
        self.check_exact(got, errors, tap, vm)
        return got

    def test_virtio_vhost_virtio_loses_nothing(self):
        self.start_vmm(FRAMES)
        # Switch only once frames flow through the TAP path, and again once they flow through
        # ringlane, so each phase carries traffic.
        self.wait_for_tap_traffic(2000)
        self.switch("vhost")
        time.sleep(1.0)
        self.switch("virtio")
        self.finish_exact()

    def test_many_switches_under_traffic_lose_nothing(self):
        self.start_vmm(STRESS_FRAMES)
        self.wait_for_tap_traffic(2000)
        started = time.monotonic()
        done = 0
        while done < STRESS_SWITCHES and self.vmm.alive():
            self.switch("vhost" if done % 2 == 0 else "virtio")
            done += 1
            time.sleep(0.05 * SLOW)  # a little traffic in each phase
        took = time.monotonic() - started
        self.assertEqual(done, STRESS_SWITCHES, "the guest ended before the switches did: "
                         "send more frames")
        if done % 2:
            self.switch("virtio")
        got = self.finish_exact()
        print(f"{done} switches in {took:.1f} s ({1000 * took / done:.0f} ms each with 50 ms of "
              f"traffic); frames out of order: {got['out']}")


if __name__ == "__main__":
    report.main("integration_vmm_switch", needs_kvm=True)
