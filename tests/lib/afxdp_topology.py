"""The world an AF_XDP uplink test runs in, all of it made by the test and removed by close():
a "hub" network namespace where ringlane runs and holds the uplink ends of veth pairs (up0,
up1, ...), and one "station" namespace per pair holding the other end (wire0, wire1, ...) with
an address 10.99.0.<i+1>/24. The host's own namespace is never touched.

Stations send with transmit checksum offload off: a veth hands its peer TCP/UDP frames whose
checksums are left for a NIC to finish, and an XDP program (ringlane's included) sees the bytes
as they are, so the far station would drop them; a real NIC's wire delivers finished checksums.

    topo = AfXdpTopology(stations=2)
    self.addCleanup(topo.close)
    rl = topo.start_ringlane(["--mode", "xconnect"], ports=["up0", "up1"])
    self.addCleanup(rl.process.kill)
    topo.station(0).run(*topo.probe("ping", topo.address(1)))
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

import netns
import netns_wire
import peers

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "net_probe.py")



class RunningRinglane:
    """ringlane started in the hub: its process (killed by PID at cleanup) and summary file."""

    def __init__(self, process, summary_path):
        self.process = process
        self.summary_path = summary_path

    def stop(self, sig=signal.SIGTERM):
        """Stops it with `sig`; returns (exit status, summary or None)."""
        rc = self.process.stop(sig, timeout=20)
        summary = None
        if rc == 0 and os.path.exists(self.summary_path):
            with open(self.summary_path) as f:
                summary = json.load(f)
        return rc, summary

    def output(self):
        return self.process.output()


class AfXdpTopology:
    def __init__(self, stations=2, hub_addresses=None, queues=1):
        """`hub_addresses`: {uplink index: "a.b.c.d/len"} for uplink ends the host itself uses;
        `queues`: receive and transmit queues of each veth end."""
        self.workdir = tempfile.mkdtemp(prefix="rl-afxdp-")
        self.hub = netns.NetNamespace("rlxhub")
        self.stations = []
        try:
            self._quiet(self.hub)
            for i in range(stations):
                ns = netns.NetNamespace("rlxsta")
                self.stations.append(ns)
                self._quiet(ns)
                q = ["numrxqueues", str(queues), "numtxqueues", str(queues)]
                self.hub.run("ip", "link", "add", f"up{i}", *q, "type", "veth", "peer", "name",
                             f"wire{i}", "netns", ns.name, *q)
                netns_wire.finish_checksums(ns.argv, f"wire{i}")
                ns.run("ip", "addr", "add", f"{self.address(i)}/24", "dev", f"wire{i}")
                ns.run("ip", "link", "set", f"wire{i}", "up")
                if hub_addresses and i in hub_addresses:
                    self.hub.run("ip", "addr", "add", hub_addresses[i], "dev", f"up{i}")
                self.hub.run("ip", "link", "set", f"up{i}", "up")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _quiet(ns):
        # No IPv6 (neighbour discovery, router solicitations) on a test's wire.
        ns.run("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
        ns.run("sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")

    @staticmethod
    def address(i):
        return f"10.99.0.{i + 1}"

    def station(self, i):
        return self.stations[i]

    @staticmethod
    def probe(*args):
        """argv of a net_probe.py command, to run in a namespace."""
        return [sys.executable, PROBE, *[str(a) for a in args]]

    def ringlane_argv(self, args, summary_path=None):
        argv = [peers.RINGLANE, "--cores", "1"]
        if summary_path:
            argv += ["--summary", summary_path]
        return self.hub.argv(*argv, *args)

    def run_ringlane(self, args, timeout=30):
        """Runs ringlane in the hub to completion (for refusals): CompletedProcess."""
        return subprocess.run(self.ringlane_argv(args), capture_output=True, text=True,
                              timeout=timeout)

    def start_ringlane(self, args, env=None):
        """Starts ringlane in the hub and waits until its workers run."""
        summary = os.path.join(self.workdir, f"summary-{len(os.listdir(self.workdir))}.json")
        process = peers.Process(self.ringlane_argv(args, summary), "ringlane-afxdp", env=env,
                                log_dir=self.workdir)
        peers.wait_for(lambda: "running:" in process.output() or not process.alive(), 20,
                       "ringlane to start")
        if not process.alive():
            out = process.output()
            process.kill()
            raise RuntimeError("ringlane exited at start:\n" + out)
        return RunningRinglane(process, summary)

    def xdp_programs(self, ifname):
        """The XDP programs attached to a hub interface, as (id, name) pairs, from ip -d link."""
        out = self.hub.run("ip", "-d", "link", "show", "dev", ifname).stdout
        return [(int(m.group(1)), m.group(2))
                for m in re.finditer(r"prog/xdp\w* id (\d+) name (\S+)", out)]

    def close(self):
        for ns in self.stations:
            ns.close()
        self.stations = []
        self.hub.close()


def program_loaded(prog_id):
    """Whether the kernel still has BPF program `prog_id` (bpftool)."""
    r = subprocess.run(["bpftool", "prog", "show", "id", str(prog_id)], capture_output=True,
                       text=True)
    return r.returncode == 0


def program_maps(prog_id):
    """The ids of the maps program `prog_id` uses."""
    r = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(prog_id)], capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout).get("map_ids", [])


def map_exists(map_id):
    r = subprocess.run(["bpftool", "map", "show", "id", str(map_id)], capture_output=True,
                       text=True)
    return r.returncode == 0
