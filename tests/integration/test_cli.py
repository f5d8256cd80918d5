"""The ringlane command line and configuration file: --help tells the truth, bad input gets a
clear message and exit status 2 (never a crash), and a TOML file alone can run the switch."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402


def run(*args, timeout=10):
    return subprocess.run([peers.RINGLANE, *args], capture_output=True, text=True, timeout=timeout)


class CommandLine(unittest.TestCase):
    def test_help_lists_every_option(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for option in ("--cores", "--control-cores", "--mode", "--port", "--disk", "--xconnect", "--config", "--stats-interval",
                       "--duration", "--summary", "--mac-aging", "--log-level"):
            self.assertIn(option, r.stdout)

    def assert_refused(self, args, *needles):
        r = run(*args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        for needle in needles:
            self.assertIn(needle, r.stderr)

    def test_errors_the_parser_finds_exit_2_too(self):
        # Unknown options, missing arguments and failed validators are CLI11's to find; they
        # must exit 2 like every other command-line error, not with CLI11's own codes.
        port = ["--port", "name=a,path=/tmp/a.sock"]
        self.assert_refused([*port, "--colour", "red"], "--colour")
        self.assert_refused([*port, "--stats-interval"], "--stats-interval")
        self.assert_refused([*port, "--stats-interval", "-1"], "--stats-interval")
        self.assert_refused([*port, "--mac-aging", "0"], "--mac-aging")
        self.assert_refused([*port, "--duration", "soon"], "--duration")
        self.assert_refused(["--config", "/nonexistent/ringlane.toml"], "/nonexistent/ringlane.toml")

    def test_help_exits_0_even_with_other_options(self):
        for args in (["--help"], ["-h"], ["--port", "name=a", "--help"]):
            r = run(*args)
            self.assertEqual(r.returncode, 0, args)
            self.assertIn("--stats-interval", r.stdout)

    def test_bad_port_specs_are_refused_with_the_reason(self):
        self.assert_refused(["--port", "name=a"], "missing path=")
        self.assert_refused(["--port", "name=a,path=/tmp/x.sock,queues=99"], "queues must be 1-16")
        self.assert_refused(["--port", "name=a,path=/tmp/x.sock,mode=sideways"], "server' or 'client")
        self.assert_refused(["--port", "name=a,path=/tmp/x.sock,colour=red"], "unknown key 'colour'")
        self.assert_refused(["--port", "name=a,path=/tmp/x.sock,disable=warp"], "unknown feature 'warp'")
        self.assert_refused(["--port", "name=a,path=/tmp/a.sock", "--port", "name=a,path=/tmp/b.sock"],
                            "duplicate port name")

    def test_bad_disks_are_refused_before_anything_starts(self):
        work = tempfile.mkdtemp(prefix="rl-cli-disk-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        good = os.path.join(work, "good.img")
        odd = os.path.join(work, "odd.img")
        with open(good, "wb") as f:
            f.truncate(1 << 20)
        with open(odd, "wb") as f:
            f.truncate(1000)
        sock = os.path.join(work, "d.sock")
        self.assert_refused(["--disk", f"name=d,path={sock}"], "missing file=")
        self.assert_refused(["--disk", f"name=d,path={sock},file={work}/none.img"],
                            f"disk 'd': disk image {work}/none.img: No such file or directory")
        self.assert_refused(["--disk", f"name=d,path={sock},file={odd}"],
                            "size 1000 is not a multiple of 512 bytes")
        self.assert_refused(["--disk", f"name=d,path={sock},file={work}"],
                            "Is a directory")
        self.assert_refused(["--disk", f"name=d,path={sock},file={good},queues=17"],
                            "queues must be 1-16")
        self.assert_refused(["--disk", f"name=d,path={sock},file={good}",
                             "--disk", f"name=d,path={sock}2,file={good}"], "duplicate")
        self.assert_refused(["--disk", f"name=a,path={sock},file={good}",
                             "--port", f"name=a,path={sock}3"], "a port has that name too")
        self.assertFalse(os.path.exists(sock), "a refused configuration must not listen")

    def test_other_bad_flags_are_refused(self):
        self.assert_refused(["--port", "name=a,path=/tmp/a.sock", "--cores", "999"], "not online")
        self.assert_refused(["--port", "name=a,path=/tmp/a.sock", "--mode", "hub"], "mode must be")
        self.assert_refused(["--port", "name=a,path=/tmp/a.sock", "--xconnect", "a:b"], "unknown port 'b'")
        self.assert_refused([], "no ports or disks configured")
        self.assert_refused(["--port", "name=a,path=" + "x" * 200], "longer than")
        for flag in ("--stats-interval", "--duration", "--mac-aging"):
            for value in ("nan", "inf"):
                self.assert_refused(["--port", "name=a,path=/tmp/a.sock", flag, value], "finite number", flag)
        self.assert_refused(["--port", "name=a,path=/tmp/a.sock", "--control-cores", "999"],
                            "--control-cores: core 999 is not online")
        self.assert_refused(["--port", "name=a,path=/tmp/a.sock", "--control-cores", "0-x"],
                            "--control-cores: bad core number 'x'")

    def test_bad_config_files_name_file_and_line(self):
        work = tempfile.mkdtemp(prefix="rl-cli-")
        path = os.path.join(work, "bad.toml")
        with open(path, "w") as f:
            f.write('cores = "1"\nmode = "l2"\n[[port]\nname = "x"\n')
        self.assert_refused(["--config", path], "bad.toml:3")
        with open(path, "w") as f:
            f.write('cores = "1"\nwheels = 4\n')
        self.assert_refused(["--config", path], "unknown key 'wheels'")
        with open(path, "w") as f:
            f.write('[[port]]\nname = "a"\npath = "/tmp/a.sock"\nqueues = "two"\n')
        self.assert_refused(["--config", path], "'queues' must be an integer")

    def test_a_config_file_runs_the_switch(self):
        work = tempfile.mkdtemp(prefix="rl-cli-")
        ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock")} for i in range(2)]
        config = os.path.join(work, "ringlane.toml")
        with open(config, "w") as f:
            # Top-level keys first: in TOML, a key after [[port]] belongs to that port.
            f.write('cores = "1"\nmode = "xconnect"\nxconnect = [["vm0", "vm1"]]\n')
            for p in ports:
                f.write(f'[[port]]\nname = "{p["name"]}"\npath = "{p["path"]}"\n')
        rl = peers.Ringlane([], workdir=work, extra=["--config", config])
        self.addCleanup(rl.kill)
        peers.wait_for(lambda: all(os.path.exists(p["path"]) for p in ports), 10, "sockets")
        stats, tp = peers.run_io_loop(ports, 1.0, workdir=work)
        tp.quit()
        summary = rl.stop()
        self.assertEqual(peers.port_totals(summary, "vm0")["rx_packets"], stats[0]["tx"])
        self.assertGreater(stats[0]["tx"], 10_000)
        self.assertEqual(peers.total_drops(summary), 0)


def thread_named(pid, prefix):
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().startswith(prefix):
                return int(tid)
    return None


class ControlThread(unittest.TestCase):
    """The control thread (every vhost-user message, connect and statistics line) keeps off the
    worker cores by default, so a frontend flooding messages never preempts a worker."""

    def start(self, extra=(), cores="1"):
        work = tempfile.mkdtemp(prefix="rl-ctl-cores-")
        rl = peers.Ringlane([{"name": "a", "path": os.path.join(work, "a.sock")}], cores=cores,
                            workdir=work, extra=list(extra))
        self.addCleanup(rl.kill)
        peers.wait_for(lambda: thread_named(rl.pid, "rl-worker") is not None, 10, "the worker thread")
        worker = thread_named(rl.pid, "rl-worker")
        # The worker pins itself once running: wait for that rather than race it.
        peers.wait_for(lambda: os.sched_getaffinity(worker) == {1}, 10, "the worker to pin itself to core 1")
        return rl

    def test_default_is_every_allowed_core_but_the_workers(self):
        others = sorted(os.sched_getaffinity(0) - {1})
        if not others or 1 not in os.sched_getaffinity(0):
            self.skipTest("needs core 1 and another core this test may use")
        rl = self.start()
        self.assertEqual(os.sched_getaffinity(rl.pid), set(others))
        self.assertRegex(rl.process.output(), r"running: 1 worker\(s\) on core\(s\) 1, control thread on core\(s\) "
                         + ("0" if others == [0] else r"[\d,-]+"))
        rl.stop()

    def test_flag_chooses_the_cores(self):
        if 1 not in os.sched_getaffinity(0):
            self.skipTest("needs core 1")
        rl = self.start(["--control-cores", "1"])
        self.assertEqual(os.sched_getaffinity(rl.pid), {1})
        self.assertIn("control thread on core(s) 1,", rl.process.output())
        rl.stop()

    def test_config_file_chooses_the_cores_and_the_flag_wins(self):
        if not {0, 1} <= os.sched_getaffinity(0):
            self.skipTest("needs cores 0 and 1")
        work = tempfile.mkdtemp(prefix="rl-ctl-cores-")
        config = os.path.join(work, "ringlane.toml")
        with open(config, "w") as f:
            f.write("control_cores = 1\n")
        rl = self.start(["--config", config])
        self.assertEqual(os.sched_getaffinity(rl.pid), {1})
        rl.stop()
        rl = self.start(["--config", config, "--control-cores", "0"])
        self.assertEqual(os.sched_getaffinity(rl.pid), {0})
        rl.stop()


if __name__ == "__main__":
    report.main("integration_cli")
