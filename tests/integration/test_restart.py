"""The frontend is killed (SIGKILL, no goodbye) and restarted 20 times while ringlane runs:
ringlane survives, traffic resumes every time, and no fd or guest-memory mapping leaks. Both
socket modes: in client mode ringlane reconnects on its own."""
import os
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402


class FrontendRestart(unittest.TestCase):
    def restart_loop(self, socket_mode, rounds):
        work = tempfile.mkdtemp(prefix="rl-restart-")
        ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock"), "mode": socket_mode}
                 for i in range(2)]
        rl = peers.Ringlane(ports, workdir=work)
        self.addCleanup(rl.kill)
        baseline_fds = rl.fd_count()
        baseline_maps = rl.mapping_count()
        previous_rx = 0
        for i in range(rounds):
            if socket_mode == "client":
                # virtio_user cannot bind over the socket file its killed predecessor left.
                for p in ports:
                    if os.path.exists(p["path"]):
                        os.unlink(p["path"])
            vdevs = [peers.virtio_user(j, p["path"], server=socket_mode == "client")
                     for j, p in enumerate(ports)]
            tp = peers.Testpmd(vdevs, "rlrestart", main_lcore=1, workdir=work)
            self.addCleanup(tp.kill)
            # Traffic must flow through ringlane in this round, seen from testpmd's side.
            peers.wait_for(lambda: self._received(tp) > 1000 or not tp.process.alive(), 20,
                           f"traffic in round {i}")
            self.assertTrue(tp.process.alive(), tp.output()[-2000:])
            self.assertTrue(rl.process.alive(), f"ringlane died in round {i}")
            tp.process.send_signal(signal.SIGKILL)
            tp.kill()
            # After the frontend is gone, ringlane has let go of its memory and fds.
            peers.wait_for(lambda: rl.mapping_count() == baseline_maps, 10,
                           f"guest memory unmapped after round {i}")
            peers.wait_for(lambda: rl.fd_count() == baseline_fds, 10, f"fds closed after round {i}")
        summary = rl.stop()
        for p in summary["ports"]:
            self.assertGreater(p["totals"]["rx_packets"], rounds * 1000)
        self.assertEqual(sum(q["ring_errors"] for p in summary["ports"] for q in p["queues"]), 0)

    @staticmethod
    def _received(tp):
        stats = peers.parse_forward_stats(tp.output()) or {}
        nic = peers.parse_port_stats(tp.output())
        return min((s["rx"] for s in nic.values()), default=0) if nic else \
            min((s["rx"] for s in stats.values()), default=0)

    def test_server_mode_20_restarts(self):
        self.restart_loop("server", 20)

    def test_client_mode_reconnects_5_times(self):
        self.restart_loop("client", 5)


if __name__ == "__main__":
    report.main("integration_restart")
