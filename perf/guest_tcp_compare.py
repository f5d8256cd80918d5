#!/usr/bin/env python3
"""TCP throughput between two real Linux guests through ringlane, DPDK testpmd (net_vhost) and
OVS-DPDK, in one run with the same two guests (issue 16's figure; perf/vhost_compare.py compares
the same switches with DPDK's virtio_user as traffic).

The guests: two QEMU TCG guests (tests/lib/linux_guest.py), "a" (10.19.0.1) and "b" (10.19.0.2),
each with one virtio-net-pci NIC (split rings, one queue pair, MTU 1500) on a vhost-user socket
QEMU listens on (`server=on`). They boot once, with the first device under test (DUT) of --only,
and stay up for the whole run: every DUT in turn connects to both sockets as the vhost-user client
(ringlane `mode=client`, net_vhost `client=1`, OVS `dpdkvhostuserclient`), and QEMU takes each new
backend without a reboot (the guests' links go down and come back; a ping from a to b has to get
through before a case measures). So every DUT serves the same guests with the same negotiated
virtio features: the driver acked its features once, at boot, and QEMU refuses a backend that
lacks one of them ("vhost lacks feature mask" in its messages; the case then fails). For that to
hold whichever DUT comes first, every DUT offers checksum offload and TSO (net_vhost `tso=1`; OVS
`userspace-tso-enable=true`: without it OVS 3.1 withholds CSUM and HOST_TSO4/6) and the guests'
devices offer no ECN and no UFO (`guest_ecn=off,guest_ufo=off,host_ecn=off,host_ufo=off`: DPDK's
vhost offers them, ringlane does not). The driver's feature bits are in the JSON.

The DUTs, each forwarding between the guests' two ports on ONE core, core 1:
  ringlane        cross-connect of the two ports (xconnect), its worker polling core 1;
  ringlane_l2     the same ports in ringlane's L2 mode (MAC learning);
  ringlane_sleep  xconnect with `--idle sleep:100` (the worker sleeps on the guests' kicks when
                  idle: with --guest-cores 0,1 the guests get what it leaves of core 1);
  dpdk            testpmd, two net_vhost ports (client=1, tso=1) in io forwarding: a cross-connect;
                  its forwarding lcore on core 1, its main lcore (the console, idle) on core 0;
  ovs             OVS-DPDK 3.1, two dpdkvhostuserclient ports, a cross-connect of OpenFlow flows
                  (in_port=1 -> 2, 2 -> 1), its PMD thread on core 1 (pmd-cpu-mask).
Only one DUT runs at a time.

Cores: this machine has 2 vCPUs. The DUT gets core 1; the guests get the rest, core 0 (both
QEMUs are started with the CPU affinity of --guest-cores, by default every core but the DUT's;
--guest-cpus vCPUs each, default 1). So the DUT's polling never takes CPU from the guests and the
guests (TCG: CPU-bound, the bottleneck) meet the same CPU budget under every DUT. The DUTs' other
threads (ringlane's control thread, testpmd's console, OVS's main and handler threads) float or
sit on core 0; they are idle while frames flow, and their CPU time is counted as the DUT's.

Per DUT and --offloads setting ("on": TSO, GSO, scatter-gather and checksum offload on in both
guests, frames up to 64 KB cross the DUT whole; "off": `ethtool -K eth0 tso off gso off tx off
sg off`, frames of at most 1514 bytes), a case is: the DUT started and reached, the offloads set
(and checked with `ethtool -k`), then --bytes (default 64 MiB) by TCP from a to b and then from b
to a with netxfer (tests/guest_tools/netxfer.c; the same seeded stream every case). Both ends'
byte counts and SHA-256 must match, else the case fails (and the run stops). Reported:
  MB/s      per direction, bytes / the sender's time (10^6 bytes per second);
  DUT cores CPU time the DUT's processes used during the two transfers (/proc/PID/stat utime +
            stime, all threads) per second of wall time: up to 1.0 for a DUT that polls its core
            throughout (less where other processes share that core), near 0 for one that sleeps
            when idle;
  guests    the same for both QEMUs together (the guest cores' budget: 1.0 with the default);
  MB/guest s  bytes of both transfers (10^6) per second of CPU the guests got: TCG guests are
            CPU-bound and their share of their core varies with the machine's other load, so
            this is the steadier figure on a shared machine;
  DUT busy  the DUT core's share of non-idle polling cycles as the DUT counts them (ringlane's
            worker busy cycles over the interval, testpmd --record-core-cycles, OVS pmd-stats);
  drops     frames the DUT dropped: ringlane's summary over its run (by reason in the JSON:
            tx_no_buffers is a guest's receive ring full, as TCG guests fall behind), testpmd's
            RX/TX-dropped over the transfers, OVS's interface drop counters over its run;
  foreign   CPU used by processes this script did not start, in cores: other guests and builds
            on this shared machine slow the TCG guests; figures with much foreign load are noisy.
The ratios: ringlane's MB/s over testpmd's and over OVS's per direction and for both together
(bytes of both transfers over their time), its MB per guest CPU second over theirs, and its DUT
CPU over theirs, per run and as the median over the runs (--repeat N interleaves N runs of all
DUTs: in each run every offload setting, and in each setting every DUT in --only's order). TCG
makes the absolute numbers low: compare ratios. Before each case the script waits up to
--wait-quiet seconds (default 5) for other processes to go idle; it measures no case again
(--retries 0: on a machine other sessions' guests keep busy a retry is rarely quieter) and
records no core-to-core round trip unless --microbench names ringlane_microbench.

Run as root: sudo python3 perf/guest_tcp_compare.py [--bytes 64M] [--offloads on,off]
[--only ringlane,dpdk,ovs,ringlane_l2,ringlane_sleep] [--repeat N] [--guest-cores 0]
[--json OUT]. Everything started (QEMU, ringlane, testpmd, OVS) is stopped by PID, also on failure
or Ctrl-C. Needs RINGLANE_NETXFER or build/tests/guest_tools/netxfer, /usr/sbin/ethtool (copied
into the guests) and the guest kernel of scripts/setup.sh."""
import argparse
import collections
import itertools
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import daemon_api  # noqa: E402
import linux_guest  # noqa: E402
import peers  # noqa: E402
from bench_common import (  # noqa: E402
    Failure, Ovs, OvsMeasurement, TestpmdMeasurement, add_run_arguments, console,
    cpu_snapshot, disturbance_notes, fmt, foreign_cores, kill_quietly, log, parse_run_arguments, pct,
    ratio_report, ratios_for, run_comparison)
from guest_case import transfer_line  # noqa: E402
from test_guest_net import ETHTOOL, NETXFER, OFFLOAD_FEATURES  # noqa: E402

DUT_CORE = 1
DUT_PREFIX = "gtc-dut"
OVS_PREFIX = "ovs-gtc"
DEFAULT_DUTS = "ringlane,dpdk,ovs"
# name -> (address, MAC)
GUESTS = {"a": ("10.19.0.1", "52:54:00:19:00:01"), "b": ("10.19.0.2", "52:54:00:19:00:02")}
DIRECTIONS = (("a", "b", 1), ("b", "a", 2))   # sender, receiver, netxfer seed
# What the guests' virtio-net devices leave out so that every DUT offers all they negotiate.
DEVICE_OPTIONS = "guest_ecn=off,guest_ufo=off,host_ecn=off,host_ufo=off"
BOOT_TIMEOUT = 300       # both guests boot at once on one core of a busy machine
REACH_TIMEOUT = 60       # from a DUT's start to the first ping through it
TRANSFER_TIMEOUT = 300   # netxfer's bound on every wait on its socket


# --- the guests ---------------------------------------------------------------------------------

class OptionGuest(linux_guest.LinuxGuest):
    """A LinuxGuest whose virtio-net devices get DEVICE_OPTIONS."""

    def qemu_argv(self, initrd, console_path):
        return [a + "," + DEVICE_OPTIONS if a.startswith("virtio-net-pci,") else a
                for a in super().qemu_argv(initrd, console_path)]


class Guests:
    """Guests a and b, started at the first case and kept for the whole run; QEMU listens on each
    NIC's socket (`sockets`) for the DUT of the moment."""

    def __init__(self, work, args):
        self.args = args
        self.sockets = [os.path.join(work, f"guest-{name}.sock") for name in GUESTS]
        self.guests = {}
        self.booted = False
        self.features = {}
        self.ports = itertools.count(5001)

    def start(self):
        """Both QEMUs, on the guest cores; each waits for the first DUT before its guest boots."""
        mask = os.sched_getaffinity(0)
        os.sched_setaffinity(0, self.args.guest_cores)   # QEMU and its threads inherit it
        try:
            for (name, (address, mac)), sock in zip(GUESTS.items(), self.sockets):
                net = linux_guest.Net(socket=sock, mac=mac, ip=f"{address}/24", server=True)
                guest = OptionGuest(commands=True, nets=[net], cpus=self.args.guest_cpus,
                                    memory_mib=self.args.guest_memory, extra_binaries=[self.args.netxfer],
                                    dynamic_binaries=[ETHTOOL], timeout=7 * 24 * 3600,
                                    echo=f"[{name}] " if self.args.verbose else None)
                self.guests[name] = guest
                guest.start()
        finally:
            os.sched_setaffinity(0, mask)

    def end(self):
        for guest in self.guests.values():
            guest._end("the run ended")

    def pids(self):
        return [g.pid for g in self.guests.values()]

    def sh(self, name, command, timeout=120):
        """`command`'s output in guest `name`; Failure unless it exits 0."""
        try:
            r = self.guests[name].execute(command, timeout=timeout)
        except linux_guest.GuestError as e:
            raise Failure(f"guest {name}: {e}") from None
        if r.status != 0:
            raise Failure(f"guest {name}: {command!r} exited {r.status}:\n{r.output}")
        return r.output

    def qemu_messages(self):
        return "".join(f"\n--- QEMU of {n} ---\n" + g.process.output()[-1500:] for n, g in self.guests.items())

    def reach(self, label):
        """Once a DUT was started: waits for both guests' boot the first time, then until a ping
        from a gets through to b."""
        if not self.booted:
            started = time.monotonic()
            for name in GUESTS:
                self.sh(name, "true", timeout=BOOT_TIMEOUT)
                self.features[name] = self.sh(name, "cat /sys/class/net/eth0/device/features").strip()
            self.booted = True
            log(f"both guests up after {time.monotonic() - started:.0f} s (booted with {label}); "
                f"driver features {self.features['a']}")
        try:
            self.sh("a", f"i=0; while [ $i -lt {REACH_TIMEOUT} ]; do ping -c 1 -W 1 {GUESTS['b'][0]} "
                         f">/dev/null 2>&1 && exit 0; i=$((i+1)); done; exit 1", timeout=3 * REACH_TIMEOUT)
        except Failure:
            raise Failure(f"{label}: no ping from a to b within {REACH_TIMEOUT} s" + self.qemu_messages()) from None

    def set_offloads(self, on):
        """TSO, GSO, scatter-gather and checksum offload on or off in both guests; returns each
        guest's `ethtool -k` TSO line."""
        state = "on" if on else "off"
        switches = " ".join(f"{f} {state}" for f in OFFLOAD_FEATURES)
        tso = {}
        for name in GUESTS:
            out = self.sh(name, f"ethtool -K eth0 {switches}; ethtool -k eth0")
            for feature in ("tcp-segmentation-offload", "tx-checksumming"):
                if not re.search(rf"(?m)^{feature}: {state}\b", out):
                    raise Failure(f"guest {name}: {feature} is not {state}:\n{out}")
            tso[name] = re.search(r"(?m)^tcp-segmentation-offload: .*$", out).group(0)
        return tso

    def transfer(self, sender, receiver, size, seed, dut_pids):
        """`size` bytes by TCP from `sender` to `receiver`: MB/s, and the CPU the DUT, the
        guests and others used meanwhile, in cores; Failure unless both ends saw the same bytes
        and SHA-256."""
        port = next(self.ports)
        log_file = f"/tmp/rx-{port}.log"
        self.sh(receiver, f"netxfer recv {port} --timeout {TRANSFER_TIMEOUT} > {log_file} 2>&1 &")
        before, t0 = cpu_snapshot(), time.monotonic()
        out = self.sh(sender, f"netxfer send {GUESTS[receiver][0]} {port} {size} --seed {seed} "
                              f"--timeout {TRANSFER_TIMEOUT}", timeout=TRANSFER_TIMEOUT + 60)
        seconds = time.monotonic() - t0
        after = cpu_snapshot()
        # The sender returns once the receiver closed: its closing line follows at once.
        text = self.sh(receiver, f"i=0; while [ $i -lt 100 ] && ! grep -q 'NETXFER received' {log_file}; "
                                 f"do sleep 0.1; i=$((i+1)); done; cat {log_file}")
        sent, received = transfer_line(out, "sent"), transfer_line(text, "received")
        if sent is None or received is None or sent[0] != size or received[:2] != sent[:2]:
            raise Failure(f"{sender} -> {receiver}: sent {sent}, received {received}:\n{out}\n{text}")
        tick = os.sysconf("SC_CLK_TCK")

        def cores(pids):
            return sum(after[1].get(p, 0) - before[1].get(p, 0) for p in pids) / tick / seconds
        return {"mbs": size / sent[2] / 1e6, "seconds": sent[2], "wall_seconds": seconds, "sha256": sent[1],
                "dut_cores": cores(dut_pids), "guest_cores": cores(self.pids()),
                "foreign_cores": foreign_cores(before, after, seconds)}


# --- devices under test -------------------------------------------------------------------------
# Each connects to the guests' sockets and lists its processes' PIDs (for their CPU time).

class RinglaneDut:
    """ringlane with a port of each guest (mode=client), one worker on DUT_CORE. Its worker's
    busy cycles are read from the control API at both ends of the measured interval (the rate
    lines RinglaneMeasurement cuts the interval from count in 0.001 Mpps steps: too coarse for
    the few thousand frames a second of TCG guests)."""

    def __init__(self, sockets, work, mode="xconnect", extra=()):
        ports = [{"name": f"vm{i}", "path": s, "mode": "client"} for i, s in enumerate(sockets)]
        api = os.path.join(work, "api.sock")
        self.rl = daemon_api.start_daemon(api, ports, mode=mode, cores=str(DUT_CORE), extra=extra, workdir=work)
        self.api = daemon_api.Client(api)
        self.pids = [self.rl.pid]
        self.counts = []

    def begin(self):
        self.counts = [self.api.workers()[0]]

    def end(self, wall0, wall1):
        self.counts.append(self.api.workers()[0])

    def stop(self):
        summary = self.rl.stop()
        w0, w1 = self.counts
        cycles, packets = w1["busy_cycles"] - w0["busy_cycles"], w1["packets"] - w0["packets"]
        reasons = collections.Counter()
        for port in summary["ports"]:
            for q in port["queues"]:
                reasons.update(q["drops"])
        return {"drops": peers.total_drops(summary), "drop_reasons": {k: v for k, v in reasons.items() if v},
                "busy_cycles": cycles, "tsc_hz": summary["tsc_hz"],
                "cycles_per_packet": cycles / packets if packets else None}

    def kill(self):
        self.rl.kill()


class TestpmdDut(TestpmdMeasurement):
    """testpmd with two net_vhost ports connecting to the guests' sockets, io forwarding on
    DUT_CORE (main lcore 0 only reads the console)."""

    def __init__(self, sockets, work):
        # tso=1: net_vhost withholds HOST_TSO4/6 by default.
        vdevs = [f"net_vhost{i},iface={s},client=1,queues=1,tso=1" for i, s in enumerate(sockets)]
        self.tp = peers.Testpmd(vdevs, DUT_PREFIX, main_lcore=0, lcores=f"0,{DUT_CORE}", interactive=True,
                                tx_first=False, extra=["--disable-link-check"], workdir=work)
        self.tp.wait_output("testpmd>", timeout=60)
        console(self.tp, "start", lambda t: "io packet forwarding" in t)
        self.pids = [self.tp.process.pid]


class OvsDut(OvsMeasurement):
    """OVS-DPDK with a dpdkvhostuserclient port on each guest's socket, cross-connected by two
    flows, its PMD thread on DUT_CORE."""

    def __init__(self, sockets, work):
        # OVS 3.1 offers CSUM and HOST_TSO4/6 on vhost ports only with userspace TSO, which it
        # reads at start.
        self.ovs = Ovs(work, DUT_CORE, OVS_PREFIX, other_config=["other_config:userspace-tso-enable=true"])
        self.interfaces = [f"vh{i}" for i in range(len(sockets))]
        self.pids = [p.pid for p in self.ovs.procs]
        commands = []
        for i, (name, sock) in enumerate(zip(self.interfaces, sockets)):
            commands += ["--", "add-port", "br0", name, "--", "set", "Interface", name, "type=dpdkvhostuserclient",
                         f"options:vhost-server-path={sock}", f"ofport_request={i + 1}"]
        self.ovs.vsctl("--timeout=60", *commands)
        self.ovs.cross_connect(1, 2)


DUTS = {
    "ringlane": RinglaneDut,
    "dpdk": TestpmdDut,
    "ovs": OvsDut,
    "ringlane_l2": lambda sockets, work: RinglaneDut(sockets, work, mode="l2"),
    "ringlane_sleep": lambda sockets, work: RinglaneDut(sockets, work, extra=["--idle", "sleep:100"]),
}
DUT_LABELS = {"ringlane": "ringlane", "dpdk": "DPDK testpmd/vhost", "ovs": "OVS-DPDK 3.1",
              "ringlane_l2": "ringlane l2", "ringlane_sleep": "ringlane idle sleep"}


# --- one case -----------------------------------------------------------------------------------

def measure(dut_name, offloads, args, work_root, state):
    """One DUT, one offload setting: both transfers. `state` keeps the guests between cases."""
    label = f"{DUT_LABELS[dut_name]}, offloads {offloads}"
    if "guests" not in state:
        state["guests"] = Guests(work_root, args)
        state["guests"].start()
    guests = state["guests"]
    work = os.path.join(work_root, f"{dut_name}-{offloads}-{time.monotonic_ns()}")
    os.makedirs(work)
    dut = None
    try:
        log(f"{label}: starting the DUT on core {DUT_CORE}")
        dut = DUTS[dut_name](guests.sockets, work)
        guests.reach(DUT_LABELS[dut_name])
        tso = guests.set_offloads(offloads == "on")
        dut.begin()
        t0, wall0 = time.monotonic(), time.time()
        directions = {}
        for sender, receiver, seed in DIRECTIONS:
            d = guests.transfer(sender, receiver, args.bytes, seed, dut.pids)
            directions[f"{sender}->{receiver}"] = d
            log(f"{label}: {args.bytes / 2**20:g} MiB {sender} -> {receiver} at {d['mbs']:.1f} MB/s; "
                f"DUT {d['dut_cores']:.2f} cores, guests {d['guest_cores']:.2f}, foreign {d['foreign_cores']:.2f}")
        t1 = time.monotonic()
        dut.end(wall0, time.time())
        figures = dut.stop()
    except BaseException:
        kill_quietly(dut)
        raise
    if figures.get("busy_cycles") and figures.get("tsc_hz"):
        figures["busy"] = figures["busy_cycles"] / (figures["tsc_hz"] * (t1 - t0))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    ab, ba = directions["a->b"], directions["b->a"]
    both = [ab, ba]

    def over_both(key):   # a rate over both transfers' wall time
        return sum(d[key] * d["wall_seconds"] for d in both) / sum(d["wall_seconds"] for d in both)
    return {
        "dut": dut_name, "size": offloads, "offloads": offloads, "bytes": args.bytes, "guest_tso": tso,
        "guest_features": guests.features,
        "mbs_ab": ab["mbs"], "mbs_ba": ba["mbs"], "mbs": 2 * args.bytes / sum(d["seconds"] for d in both) / 1e6,
        # MB moved per second of CPU the guests got: on a shared machine their share of core 0
        # varies from case to case, and TCG guests are CPU-bound.
        "mb_per_guest_cpu_s": 2 * args.bytes / 1e6 / sum(d["guest_cores"] * d["wall_seconds"] for d in both),
        "dut_cores": over_both("dut_cores"), "guest_cores": over_both("guest_cores"),
        "foreign_cores": over_both("foreign_cores"), "directions": directions,
        "dut_busy": figures.get("busy"), "dut_drops": figures.get("drops"),
        "dut_drop_reasons": figures.get("drop_reasons"),
        "dut_cycles_per_packet": figures.get("cycles_per_packet"),
    }


# --- report -------------------------------------------------------------------------------------

RATIO_FIELDS = (("a_b", "mbs_ab"), ("b_a", "mbs_ba"), ("both", "mbs"), ("per_guest_cpu", "mb_per_guest_cpu_s"),
                ("cpu", "dut_cores"))


def ratios(by):
    """ringlane against testpmd and OVS, from {dut: result}: MB/s each way and both, MB per guest
    CPU second, DUT CPU."""
    return ratios_for(by, "ringlane", ("dpdk", "ovs"), RATIO_FIELDS)


def ratio_text(offloads, entry):
    parts = []
    for other, name in (("dpdk", "DPDK"), ("ovs", "OVS")):
        if f"both_vs_{other}" in entry:
            parts.append(f"ringlane/{name} MB/s a->b {fmt(entry.get(f'a_b_vs_{other}'), '.2f')}x "
                         f"b->a {fmt(entry.get(f'b_a_vs_{other}'), '.2f')}x both {entry[f'both_vs_{other}']:.2f}x, "
                         f"per guest CPU s {fmt(entry.get(f'per_guest_cpu_vs_{other}'), '.2f')}x, "
                         f"DUT CPU {fmt(entry.get(f'cpu_vs_{other}'), '.2f')}x")
    return "; ".join(parts)


def median_text(dut, m):
    return (f"{DUT_LABELS[dut]} {fmt(m['mbs_ab'], '.1f')}/{fmt(m['mbs_ba'], '.1f')} MB/s "
            f"{fmt(m['mb_per_guest_cpu_s'], '.1f')} MB/guest CPU s, DUT {fmt(m['dut_cores'], '.2f')} cores "
            f"(n={m['cases']})")


def case_label(offloads):
    return f"offloads {offloads:<3}"


def report(results, skipped):
    head = (f"{'run':>3} {'offloads':>8}  {'DUT':<20} {'a->b MB/s':>9} {'b->a MB/s':>9} {'MB/guest s':>10} "
            f"{'DUT cores':>9} {'guests':>6} {'DUT busy':>8} {'drops':>6} {'foreign':>7}")
    lines = [head, "-" * len(head)]
    for r in sorted(results, key=lambda r: (r["offloads"] != "on", r["repeat"])):
        lines.append(f"{r['repeat'] + 1:>3} {r['offloads']:>8}  {DUT_LABELS[r['dut']]:<20} {r['mbs_ab']:>9.1f} "
                     f"{r['mbs_ba']:>9.1f} {r['mb_per_guest_cpu_s']:>10.1f} {r['dut_cores']:>9.2f} "
                     f"{r['guest_cores']:>6.2f} {pct(r['dut_busy']):>8} {fmt(r['dut_drops'], 'd'):>6} "
                     f"{r['foreign_cores']:>7.2f}")
    lines.append("")
    ratio_lines, out = ratio_report(results, tuple(DUTS), ratios, ratio_text, median_text,
                                    ("mbs_ab", "mbs_ba", "mb_per_guest_cpu_s", "dut_cores"), case_label)
    lines += ratio_lines
    lines += disturbance_notes(results, lambda r: DUT_LABELS[r["dut"]], case_label)
    for dut, why in skipped.items():
        lines.append(f"note: {dut} skipped: {why}")
    print("\n".join(lines), flush=True)
    return out


# --- command line -------------------------------------------------------------------------------

def byte_count(text):
    """64M, 512K, 1G (binary) or plain bytes."""
    m = re.fullmatch(r"(\d+)([KMG]?)", text.strip().upper())
    if not m:
        raise argparse.ArgumentTypeError(f"not a byte count: {text!r}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(ap, tuple(DUTS))
    # The guests are the bottleneck and other sessions' guests come and go: measuring again while
    # the machine is busy would rarely find it quieter. No core-to-core round trip by default
    # (the guests dominate; --microbench PATH records it, and leaves runs that moved it out of
    # the medians).
    ap.set_defaults(only=DEFAULT_DUTS, retries=0, wait_quiet=5.0, microbench="")
    ap.add_argument("--bytes", type=byte_count, default=64 << 20,
                    help="bytes per transfer, each way (suffixes K, M, G; default 64M)")
    ap.add_argument("--offloads", default="on,off",
                    help="guest offload settings to measure, comma-separated, of on, off (default on,off)")
    ap.add_argument("--guest-cores", default=None,
                    help=f"CPUs the guests' QEMUs may run on, comma-separated (default: all but the DUT's, {DUT_CORE})")
    ap.add_argument("--guest-cpus", type=int, default=1, help="vCPUs per guest (default 1)")
    ap.add_argument("--guest-memory", type=int, default=512, help="MiB per guest (default 512)")
    ap.add_argument("--netxfer", default=NETXFER, help=f"the static netxfer binary (default {NETXFER})")
    ap.add_argument("--verbose", action="store_true", help="print the guests' consoles and commands")
    args = ap.parse_args()
    parse_run_arguments(ap, args, tuple(DUTS))
    offloads = [o.strip() for o in args.offloads.split(",") if o.strip()]
    if not offloads or any(o not in ("on", "off") for o in offloads):
        ap.error("--offloads takes on, off or both")
    cores = set(range(os.cpu_count() or 1))
    args.guest_cores = ({int(c) for c in args.guest_cores.split(",")} if args.guest_cores
                        else cores - {DUT_CORE}) or cores
    for need, path in (("netxfer", args.netxfer), ("ethtool", ETHTOOL)):
        if not os.access(path, os.X_OK):
            ap.error(f"no {need} at {path}")
    if reason := linux_guest.unavailable():
        ap.error(reason)
    state = {}
    return run_comparison(
        args, offloads, "guest-tcp-compare", lambda dut, o, a, w: measure(dut, o, a, w, state), report, (DUT_PREFIX,),
        {"bytes": args.bytes, "guest_cores": sorted(args.guest_cores), "guest_cpus": args.guest_cpus,
         "guest_memory_mib": args.guest_memory, "dut_core": DUT_CORE, "device_options": DEVICE_OPTIONS},
        cleanup=lambda: state["guests"].end() if "guests" in state else None,
        plan=f"offloads {offloads}; {args.bytes / 2**20:g} MiB by TCP each way per case; guests on "
             f"CPUs {sorted(args.guest_cores)}, the DUT on {DUT_CORE}")


if __name__ == "__main__":
    sys.exit(main())
