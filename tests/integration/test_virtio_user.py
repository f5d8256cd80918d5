"""ringlane against DPDK's virtio_user, a real vhost-user frontend: traffic both ways through a
cross-connect, with end-to-end counts checked, over both socket modes, mergeable buffers on and
off, one and two queue pairs, and event-idx and in-order on and off."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402

SECONDS = 2.0
RING = 256  # testpmd's default ring size: packets that can wait unpolled in one RX queue


class VirtioUserTraffic(unittest.TestCase):
    def run_case(self, socket_mode="server", mrg_rxbuf=True, queues=1, disable=""):
        work = tempfile.mkdtemp(prefix="rl-vu-")
        ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock"), "mode": socket_mode,
                  "queues": queues, "disable": disable} for i in range(2)]
        rl = peers.Ringlane(ports, workdir=work)
        self.addCleanup(rl.kill)
        stats, tp = peers.run_io_loop(ports, SECONDS, queues=queues, mrg_rxbuf=mrg_rxbuf,
                                      server=socket_mode == "server", workdir=work)
        self.addCleanup(tp.kill)
        tp.quit()
        summary = rl.stop()

        vm0, vm1 = peers.assert_io_loop_accounted(self, summary, stats, RING * queues)
        self.assertGreater(vm0["rx_packets"], 100_000, "traffic barely moved")
        self.assertGreater(vm1["rx_packets"], 100_000, "traffic barely moved")
        # The features both ends agreed on, as ringlane logged them: the case tests what it says.
        agreed = [line for line in rl.process.output().splitlines() if "vm0: features " in line]
        self.assertTrue(agreed, "ringlane did not log the negotiated features")
        for feature in ("in_order", "event_idx", "indirect"):
            if feature in disable:
                self.assertNotIn(feature, agreed[-1].split())
        self.assertEqual("in_order" in agreed[-1].split(), "in_order" not in disable, agreed[-1])
        self.assertEqual("mrg_rxbuf" in agreed[-1].split(), mrg_rxbuf, agreed[-1])
        if queues > 1:
            for name in ("vm0", "vm1"):
                for q in peers.port_queues(summary, name):
                    self.assertGreater(q["rx_packets"], 0, f"{name} queue pair {q['queue_pair']} idle")
        return summary


def _add(mode, mrg, queues, disable=""):
    name = f"test_{mode}_mrg{int(mrg)}_q{queues}" + (f"_no_{disable}" if disable else "")
    setattr(VirtioUserTraffic, name,
            lambda self: self.run_case(mode, mrg, queues, disable))


for _mode in ("server", "client"):
    for _mrg in (True, False):
        for _q in (1, 2):
            _add(_mode, _mrg, _q)
_add("server", True, 1, "event_idx")
_add("server", False, 2, "event_idx")
_add("client", True, 1, "indirect")
# DPDK's virtio driver takes other paths without VIRTIO_F_IN_ORDER (free-list descriptors).
_add("server", True, 2, "in_order")
_add("client", False, 1, "in_order")

if __name__ == "__main__":
    report.main("integration_virtio_user")
