"""ringlane as an L2 learning switch between three virtio_user ports. testpmd forwards in a ring
(port i's traffic leaves on port i+1, addressed to the next port's MAC), so after the first
frames ringlane must have learned every station and deliver by unicast, not by flooding."""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402

MACS = ["02:00:00:00:00:10", "02:00:00:00:00:11", "02:00:00:00:00:12"]


class L2Switch(unittest.TestCase):
    def test_learns_and_forwards_unicast(self):
        work = tempfile.mkdtemp(prefix="rl-l2-")
        ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock")} for i in range(3)]
        rl = peers.Ringlane(ports, mode="l2", workdir=work)
        self.addCleanup(rl.kill)
        vdevs = [peers.virtio_user(i, p["path"], extra=f",mac={MACS[i]}") for i, p in enumerate(ports)]
        # Frames leaving port j are addressed to port j+1's MAC.
        peers_args = [f"--eth-peer={j},{MACS[(j + 1) % 3]}" for j in range(3)]
        tp = peers.Testpmd(vdevs, "rll2", main_lcore=1, fwd="mac", interactive=True,
                           extra=["--port-topology=chained"] + peers_args, workdir=work)
        self.addCleanup(tp.kill)
        tp.wait_output("testpmd>", timeout=30)
        tp.command("start tx_first")
        time.sleep(2)
        tp.command("stop")
        time.sleep(0.5)
        stats = tp.port_stats()
        tp.quit()
        summary = rl.stop()

        worker = summary["workers"][0]
        forwarded = worker["packets"]
        self.assertGreater(forwarded, 100_000, "traffic barely moved")
        self.assertEqual(peers.total_drops(summary), 0, summary)
        # Only frames seen before their destination was learned are flooded.
        self.assertLess(worker["flooded"], 3 * 32 * 4, summary)
        for i in range(3):
            name = f"vm{i}"
            totals = peers.port_totals(summary, name)
            self.assertEqual(totals["rx_packets"], stats[i]["tx"], name)
            self.assertGreater(totals["tx_packets"], 10_000, name)
        # Unicast: what ringlane delivered equals what it received, plus each flood's extra copy.
        delivered = sum(peers.port_totals(summary, f"vm{i}")["tx_packets"] for i in range(3))
        self.assertEqual(delivered, forwarded + worker["flooded"])


if __name__ == "__main__":
    report.main("integration_l2_switch")
