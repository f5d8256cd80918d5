"""An AF_XDP uplink's XDP program across crashes and stops (issue 14, acceptance point 4).
ringlane killed with SIGKILL leaves its program attached (nothing ran to detach it); the next
ringlane finds it by name, sees its owner is gone, removes it and attaches its own: after the
restart exactly one XDP program is on each uplink, the old program and its maps are gone from
the kernel, and traffic flows again. A clean stop (SIGTERM) leaves nothing of ringlane attached
or loaded. A program a running ringlane owns is refused, not taken over, and so is another
party's XDP program."""
import os
import re
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402
from afxdp_topology import AfXdpTopology, map_exists, program_loaded, program_maps  # noqa: E402

UPLINKS = ("up0", "up1")
PORTS = ["--mode", "xconnect", "--port", "name=up0,kind=afxdp,ifname=up0",
         "--port", "name=up1,kind=afxdp,ifname=up1"]
FOREIGN_OBJECT = "/usr/lib/x86_64-linux-gnu/bpf/xsk_def_xdp_prog.o"  # from libxdp-dev


class AfXdpRestart(unittest.TestCase):
    def setUp(self):
        self.topo = AfXdpTopology(stations=2)
        self.addCleanup(self.topo.close)

    def start(self):
        rl = self.topo.start_ringlane(PORTS)
        self.addCleanup(rl.process.kill)
        return rl

    def programs(self):
        """{uplink: [(id, name)]} of what is attached now."""
        return {ifname: self.topo.xdp_programs(ifname) for ifname in UPLINKS}

    def assert_traffic(self):
        for src, dst in ((0, 1), (1, 0)):
            r = self.topo.station(src).run(*self.topo.probe("ping", self.topo.address(dst),
                                                            "--count", 3), check=False)
            self.assertEqual(r.returncode, 0, f"{src}->{dst}: {r.stdout}{r.stderr}")
        server = peers.Process(self.topo.station(1).argv(
            *self.topo.probe("serve", 5401, "--timeout", 60)), "probe-serve",
            log_dir=self.topo.workdir)
        self.addCleanup(server.kill)
        peers.wait_for(lambda: "listening" in server.output() or not server.alive(), 10,
                       "the TCP listener")
        r = self.topo.station(0).run(*self.topo.probe("send", self.topo.address(1), 5401,
                                                      "--bytes", 1 << 20, "--timeout", 60),
                                     check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(server.wait(60), 0, server.output())
        self.assertIn(f"received {1 << 20} {r.stdout.split()[2]}", server.output())

    def wait_gone(self, prog_ids, map_ids):
        # The kernel frees a program and its maps once the last reference drops (after an RCU
        # grace period): wait for that, however long it takes, up to a generous bound.
        peers.wait_for(lambda: not any(program_loaded(p) for p in prog_ids), 20,
                       f"programs {prog_ids} to be freed")
        peers.wait_for(lambda: not any(map_exists(m) for m in map_ids), 20,
                       f"maps {map_ids} to be freed")

    def test_sigkill_then_restart_replaces_the_stale_program(self):
        rl = self.start()
        self.assert_traffic()
        for cycle in range(2):
            before = self.programs()
            for ifname in UPLINKS:
                self.assertEqual(len(before[ifname]), 1, before)
                self.assertEqual(before[ifname][0][1], "ringlane_steer", before)
            old_ids = [before[i][0][0] for i in UPLINKS]
            old_maps = [m for p in old_ids for m in program_maps(p)]
            self.assertEqual(len(old_maps), 2 * 5, old_maps)  # config, steer, xsks, stats, copies
            old_pid = rl.process.pid
            rl.process.kill()  # SIGKILL to the process group
            # Nothing detached it: the stale program is still there, steering to no socket.
            self.assertEqual(self.programs(), before, f"cycle {cycle}")

            rl = self.start()
            log = rl.output()
            for ifname, old in zip(UPLINKS, old_ids):
                self.assertRegex(log, rf"port {ifname}: removed a stale ringlane XDP program "
                                      rf"\(id {old}, loaded by pid {old_pid}, which is gone\)")
            after = self.programs()
            for ifname, old in zip(UPLINKS, old_ids):
                self.assertEqual(len(after[ifname]), 1, after)
                new_id, name = after[ifname][0]
                self.assertEqual(name, "ringlane_steer")
                self.assertNotEqual(new_id, old)
            self.wait_gone(old_ids, old_maps)
            self.assert_traffic()

        ids = [self.programs()[i][0][0] for i in UPLINKS]
        maps = [m for p in ids for m in program_maps(p)]
        rc, summary = rl.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, rl.output()[-3000:])
        self.assertIsNotNone(summary)
        self.assertEqual(self.programs(), {i: [] for i in UPLINKS})
        for ifname in UPLINKS:
            out = self.topo.hub.run("ip", "-d", "link", "show", "dev", ifname).stdout
            self.assertNotIn("xdp", re.sub(r"xdp_\w+", "", out.split("\n", 1)[0]), out)
        self.wait_gone(ids, maps)

    def test_a_running_ringlanes_program_is_not_taken_over(self):
        rl = self.start()
        before = self.programs()
        r = self.topo.run_ringlane(["--mode", "xconnect", "--port", "name=again,kind=afxdp,"
                                    "ifname=up0", "--port", "name=other,kind=afxdp,ifname=up1"])
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"port 'again': interface 'up0' is in use by another ringlane "
                      f"(pid {rl.process.pid})", r.stderr)
        self.assertEqual(self.programs(), before)
        self.assert_traffic()
        rc, _ = rl.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, rl.output()[-3000:])

    @unittest.skipUnless(os.path.exists(FOREIGN_OBJECT), "libxdp's xsk_def_xdp_prog.o missing")
    def test_another_partys_program_is_left_alone(self):
        self.topo.hub.run("ip", "link", "set", "dev", "up0", "xdpgeneric", "obj", FOREIGN_OBJECT,
                          "sec", "xdp")
        foreign = self.topo.xdp_programs("up0")
        self.assertEqual(len(foreign), 1, foreign)
        r = self.topo.run_ringlane(PORTS)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"port 'up0': interface 'up0' already has XDP program '{foreign[0][1]}' "
                      f"(id {foreign[0][0]}, generic mode), which ringlane cannot share", r.stderr)
        self.assertEqual(self.topo.xdp_programs("up0"), foreign)
        self.assertEqual(self.topo.xdp_programs("up1"), [])  # never reached, nothing left


if __name__ == "__main__":
    report.main("integration_afxdp_restart")
