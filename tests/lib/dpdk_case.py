"""A unittest base for tests that run ringlane with DPDK ports (kind=dpdk): a work directory,
a DPDK file prefix per run whose runtime directory is removed afterwards, ringlane started with
--dpdk-no-huge (no hugepages needed, none left behind) and ended by PID (tests/lib/peers.py),
and the summary read back. A ringlane built without DPDK skips the test."""
import itertools
import json
import os
import shutil
import tempfile
import unittest

import peers

_runs = itertools.count()

# Drops a dpdk port counts on transmit, by counter name.
TX_DROPS = ("tx_no_mbufs", "tx_ring_full", "tx_too_large", "tx_malformed")


def port_entry(summary, name):
    """The summary's entry of port `name`."""
    for p in summary["ports"]:
        if p["name"] == name:
            return p
    raise KeyError(name)


class DpdkCase(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (DPDK, network namespaces, packet sockets)")
        self.work = tempfile.mkdtemp(prefix="rl-dpdk-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.summary_path = os.path.join(self.work, "summary.json")

    def new_prefix(self):
        """A DPDK file prefix of this run's own; its runtime directory goes at cleanup."""
        prefix = f"rldpdk{os.getpid()}-{next(_runs)}"
        self.addCleanup(shutil.rmtree, f"/var/run/dpdk/{prefix}", True)
        return prefix

    def ringlane_argv(self, port_specs, cores="1", mode="xconnect", extra=()):
        argv = [peers.RINGLANE, "--cores", cores, "--mode", mode, "--dpdk-no-huge",
                "--dpdk-file-prefix", self.new_prefix(), "--summary", self.summary_path]
        for spec in port_specs:
            argv += ["--port", spec]
        return argv + list(extra)

    def start_ringlane(self, port_specs, cores="1", mode="xconnect", extra=()):
        """ringlane with these --port specs, once its workers run."""
        proc = peers.Process(self.ringlane_argv(port_specs, cores, mode, extra), "ringlane",
                             log_dir=self.work)
        self.addCleanup(proc.kill)
        peers.wait_for(lambda: "running:" in proc.output() or not proc.alive(), 30,
                       "ringlane to start its workers")
        if "built without DPDK" in proc.output():
            self.skipTest("this ringlane was built without DPDK")
        if not proc.alive():
            self.fail("ringlane exited at start:\n" + proc.output()[-4000:])
        return proc

    def finish(self, proc, stop=True, timeout=20):
        """Stops ringlane (SIGINT), or with stop=False waits for its --duration; it must exit 0,
        with every worker registered with DPDK. Returns the summary."""
        rc = proc.stop(timeout=timeout) if stop else proc.wait(timeout)
        self.assertEqual(rc, 0, proc.output()[-4000:])
        self.assertNotIn("rte_thread_register", proc.output())
        with open(self.summary_path) as f:
            return json.load(f)

    def assert_accounted(self, summary, source, dest):
        """Every frame `source` received went out of `dest` or is counted as dropped there (in
        cross-connect mode, frames without offload requests)."""
        rx = port_entry(summary, source)["totals"]["rx_packets"]
        out = port_entry(summary, dest)
        dropped = sum(out["counters"][c] for c in TX_DROPS)
        self.assertEqual(rx, out["totals"]["tx_packets"] + dropped, summary)
