"""A hostile guest on one port of a running ringlane: every malformed ring of the issue's list
breaks only that guest's queue (NEEDS_RESET, counted), ringlane keeps running, and the guests on
the other ports, served by the same worker, lose nothing."""
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402

HOSTILE = os.environ.get("RINGLANE_HOSTILE_FRONTEND",
                         os.path.join(peers.ROOT, "build", "tests", "integration", "hostile_frontend"))


class HostileGuest(unittest.TestCase):
    def attack(self, case, fatal=True):
        work = tempfile.mkdtemp(prefix="rl-hostile-")
        ports = [{"name": n, "path": os.path.join(work, f"{n}.sock")} for n in ("vm0", "vm1", "evil")]
        rl = peers.Ringlane(ports, workdir=work, extra=["--xconnect", "vm0:vm1"])
        self.addCleanup(rl.kill)
        vdevs = [peers.virtio_user(i, p["path"]) for i, p in enumerate(ports[:2])]
        tp = peers.Testpmd(vdevs, "rlhostile", main_lcore=1, interactive=True, workdir=work)
        self.addCleanup(tp.kill)
        tp.wait_output("testpmd>", timeout=30)
        tp.command("start tx_first")
        time.sleep(0.5)
        before = tp.port_stats()
        evil = subprocess.run([HOSTILE, ports[2]["path"], case], capture_output=True, text=True, timeout=30)
        time.sleep(0.5)
        after = tp.port_stats()
        tp.command("stop")
        time.sleep(0.5)
        stats = tp.port_stats()
        tp.quit()
        summary = rl.stop()
        self.assertEqual(evil.returncode, 0, evil.stdout + evil.stderr)
        queues = peers.port_queues(summary, "evil")
        if fatal:
            self.assertGreaterEqual(sum(q["ring_errors"] for q in queues), 1, summary)
        else:
            self.assertEqual(sum(q["drops"]["rx_malformed"] for q in queues), 1, summary)
        # The neighbours kept forwarding during the attack and lost nothing.
        for p in (0, 1):
            self.assertGreater(after[p]["rx"] - before[p]["rx"], 10_000, "neighbours stalled")
        for name in ("vm0", "vm1"):
            totals = peers.port_totals(summary, name)
            self.assertEqual(totals["drops"], 0, summary)
            self.assertEqual(sum(q["ring_errors"] for q in peers.port_queues(summary, name)), 0)
        self.assertEqual(peers.port_totals(summary, "vm0")["rx_packets"], stats[0]["tx"])

    def test_descriptor_loop(self):
        self.attack("loop")

    def test_address_outside_guest_memory(self):
        self.attack("oob")

    def test_avail_index_jumps_past_ring_size(self):
        self.attack("avail_jump")

    def test_indirect_table_inside_indirect_table(self):
        self.attack("nested_indirect")

    def test_length_overflowing_the_region(self):
        self.attack("len_overflow")

    def test_head_index_out_of_range(self):
        self.attack("bad_head")

    def test_csum_start_beyond_packet_drops_only_that_frame(self):
        self.attack("bad_csum_start", fatal=False)


if __name__ == "__main__":
    report.main("integration_hostile_guest")
