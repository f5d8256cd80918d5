"""ringlane against DPDK's virtio_user with packed virtqueues (packed_vq=1, VIRTIO_F_RING_PACKED):
traffic both ways through a cross-connect with end-to-end counts checked, in-order on and off,
mergeable buffers on and off, one and two queue pairs, both socket modes; and restarts that
resume traffic on packed rings: testpmd killed and started again against a running ringlane,
and ringlane killed and started again while testpmd's virtio_user (server=1) waits for it and
reconnects."""
import os
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402

SECONDS = 2.0
RING = 256  # testpmd's default ring size: packets that can wait unpolled in one RX queue


def packed_vdevs(ports, queues=1, server=False, mrg_rxbuf=True, in_order=False):
    extra = ",in_order=1" if in_order else ",in_order=0"
    return [peers.virtio_user(i, p["path"], queues=queues, server=server, mrg_rxbuf=mrg_rxbuf,
                              packed=True, extra=extra)
            for i, p in enumerate(ports)]


def negotiated(rl, name):
    """The features ringlane logged for port `name` when the driver acked them, last first."""
    lines = [line for line in rl.process.output().splitlines() if f"{name}: features " in line]
    return lines[-1].split("features ", 1)[1].split() if lines else []


def received(tp):
    """Frames testpmd has received on its least busy port so far (its periodic statistics)."""
    nic = peers.parse_port_stats(tp.output())
    if nic:
        return min(s["rx"] for s in nic.values())
    stats = peers.parse_forward_stats(tp.output())
    return min((s["rx"] for s in stats.values()), default=0)


class PackedTraffic(unittest.TestCase):
    def run_case(self, socket_mode="server", mrg_rxbuf=True, queues=1, in_order=False):
        work = tempfile.mkdtemp(prefix="rl-vup-")
        ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock"), "mode": socket_mode,
                  "queues": queues} for i in range(2)]
        rl = peers.Ringlane(ports, workdir=work)
        self.addCleanup(rl.kill)
        stats, tp = peers.run_io_loop(ports, SECONDS, queues=queues, mrg_rxbuf=mrg_rxbuf,
                                      server=socket_mode == "server", workdir=work,
                                      prefix="rlpacked", packed=True, in_order=in_order)
        self.addCleanup(tp.kill)
        tp.quit()
        summary = rl.stop()

        vm0, vm1 = peers.assert_io_loop_accounted(self, summary, stats, RING * queues)
        self.assertGreater(vm0["rx_packets"], 100_000, "traffic barely moved")
        self.assertGreater(vm1["rx_packets"], 100_000, "traffic barely moved")
        self.assertEqual(sum(q["ring_errors"] for p in summary["ports"] for q in p["queues"]), 0)
        # The case tests what it says: packed rings, and the features it asked for.
        for name in ("vm0", "vm1"):
            agreed = negotiated(rl, name)
            self.assertIn("ring_packed", agreed, rl.process.output()[-2000:])
            self.assertEqual("in_order" in agreed, in_order, agreed)
            self.assertEqual("mrg_rxbuf" in agreed, mrg_rxbuf, agreed)
        if queues > 1:
            for name in ("vm0", "vm1"):
                for q in peers.port_queues(summary, name):
                    self.assertGreater(q["rx_packets"], 0, f"{name} queue pair {q['queue_pair']} idle")


def _add(mode, mrg, queues, in_order):
    name = f"test_{mode}_mrg{int(mrg)}_q{queues}" + ("_in_order" if in_order else "")
    setattr(PackedTraffic, name, lambda self: self.run_case(mode, mrg, queues, in_order))


for _mode, _mrg, _q, _in_order in (("server", True, 1, False), ("server", False, 1, False),
                                   ("server", True, 1, True), ("server", False, 1, True),
                                   ("server", True, 2, False), ("server", False, 2, True),
                                   ("client", True, 1, False), ("client", False, 2, True)):
    _add(_mode, _mrg, _q, _in_order)


class PackedRestart(unittest.TestCase):
    def test_testpmd_restarted_against_running_ringlane(self):
        """ringlane serves the sockets; testpmd is killed (no goodbye) and started again three
        times, and each new one's packed rings carry traffic from where it starts."""
        work = tempfile.mkdtemp(prefix="rl-vup-restart-")
        ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock")} for i in range(2)]
        rl = peers.Ringlane(ports, workdir=work)
        self.addCleanup(rl.kill)
        rounds = 3
        for i in range(rounds):
            tp = peers.Testpmd(packed_vdevs(ports), "rlpackedrs", main_lcore=1, workdir=work)
            self.addCleanup(tp.kill)
            peers.wait_for(lambda: received(tp) > 1000 or not tp.process.alive(), 20,
                           f"traffic in round {i}")
            self.assertTrue(tp.process.alive(), tp.output()[-2000:])
            tp.process.send_signal(signal.SIGKILL)
            tp.kill()
            self.assertTrue(rl.process.alive(), f"ringlane died in round {i}")
        summary = rl.stop()
        for p in summary["ports"]:
            self.assertGreater(p["totals"]["rx_packets"], rounds * 1000)
        self.assertEqual(sum(q["ring_errors"] for p in summary["ports"] for q in p["queues"]), 0)
        self.assertIn("ring_packed", negotiated(rl, "vm0"))

    def test_ringlane_restarted_virtio_user_reconnects(self):
        """testpmd's virtio_user ports are servers (server=1) and ringlane connects to them; ringlane
        is killed and started again twice, virtio_user reconnects each time (it sets its packed
        rings up afresh, at position 0 of lap 1), and traffic resumes in the same testpmd run. The
        frames in flight when ringlane died are lost (DPDK says so), so each round starts the
        loop again with a burst (stop, start tx_first)."""
        work = tempfile.mkdtemp(prefix="rl-vup-reconnect-")
        ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock"), "mode": "client"}
                 for i in range(2)]
        tp = peers.Testpmd(packed_vdevs(ports, server=True), "rlpackedrc", main_lcore=1,
                           interactive=True, workdir=work)
        self.addCleanup(tp.kill)
        # virtio_user's probe waits in accept() for its first connection, port by port: only the
        # first socket exists before ringlane connects (ringlane retries the others).
        peers.wait_for(lambda: os.path.exists(ports[0]["path"]) or not tp.process.alive(), 30,
                       f"virtio_user to listen on {ports[0]['path']}")
        self.assertTrue(tp.process.alive(), tp.output()[-2000:])
        for i in range(3):
            rl = peers.Ringlane(ports, workdir=work)
            self.addCleanup(rl.kill)
            for name in ("vm0", "vm1"):
                peers.wait_for(lambda: "ring_packed" in negotiated(rl, name) or not rl.process.alive(),
                               30, f"{name} to negotiate packed rings after ringlane start {i}")
            if i == 0:
                tp.wait_output("testpmd>", timeout=30)
            else:
                mark = len(tp.output())
                tp.command("stop")
                tp.wait_output("Done.", timeout=20, start=mark)
            before = min(s["rx"] for s in tp.port_stats().values())
            tp.command("start tx_first")
            peers.wait_for(lambda: min(s["rx"] for s in tp.port_stats().values()) > before + 1000
                           or not tp.process.alive(), 30,
                           f"traffic after ringlane start {i}", interval=0.3)
            self.assertTrue(tp.process.alive(), tp.output()[-2000:])
            if i < 2:
                rl.process.send_signal(signal.SIGKILL)
                rl.kill()
        summary = rl.stop()
        tp.quit()
        self.assertEqual(sum(q["ring_errors"] for p in summary["ports"] for q in p["queues"]), 0)
        for p in summary["ports"]:
            self.assertGreater(p["totals"]["rx_packets"], 1000)


if __name__ == "__main__":
    report.main("integration_virtio_user_packed")
