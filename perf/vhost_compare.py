#!/usr/bin/env python3
"""Compares ringlane with DPDK testpmd (net_vhost) and OVS-DPDK as vhost-user switches.

Each device under test (DUT) forwards between two vhost-user ports on ONE dedicated core (core 1).
The traffic comes from DPDK testpmd with two net_virtio_user ports in io forwarding, started
with tx_first, forwarding on the other core (core 0): every frame the DUT delivers on one port is
sent straight back in on the other, so both directions stay loaded. Only one DUT runs at a time
and no two busy pollers ever share a core. Traffic never leaves this machine: Unix sockets only.

Per DUT and frame size: warm-up, then a measured interval in which it reports
  Mpps      frames the generator received on both ports (sum of both directions) per second;
  Gbps      L1 rate, (frame bytes + 24) * 8 per frame: 4 FCS + 8 preamble + 12 inter-frame gap,
            with frame bytes as testpmd counts them (no FCS);
  cyc/pkt   the DUT core's busy TSC cycles per forwarded frame over the interval
            (ringlane: worker busy cycles; testpmd: --record-core-cycles; OVS: pmd-stats-show
            'avg processing cycles per packet');
  busy      share of the interval's TSC cycles the core spent on non-empty polls: a core near
            100% is the bottleneck. Shown for the DUT and for the generator core.
  foreign   CPU time used by processes this script did not start, in cores: above ~0.1 the
            numbers are disturbed and the run should be repeated.
  c2c ns    cache-line round trip between cores 0 and 1 before and after the case (from
            ringlane_microbench, when built): the host's vCPU placement shows here, and every
            frame crosses the two cores, so cases are comparable only at similar values.

The machine is shared and noisy: before each case the script waits for other processes to go
idle, and measures a case again when they did not or when the core-to-core round trip moved
during it. --repeat N interleaves N runs of all DUTs; ratios are reported per run and as the
median over the runs whose core-to-core round trip stayed steady. --bursts N starts the loop with N bursts of 32 frames per
port instead of one (more frames in flight: throughput- rather than round-trip-bound).

Packed rings: the DUTs ringlane_packed and dpdk_packed are ringlane and testpmd/net_vhost again,
with the generator's virtio_user ports on packed virtqueues (packed_vq=1); their lines compare
packed with split cycles per packet for each, and ringlane's packed path with DPDK's, in one run:
--only ringlane,ringlane_packed,dpdk,dpdk_packed.

Run as root: sudo python3 perf/vhost_compare.py [--seconds 8] [--sizes 64,1518]
[--only ringlane,dpdk,ovs,ringlane_packed,dpdk_packed] [--repeat N] [--bursts N] [--json OUT]. Everything started is stopped
by PID, also on failure or Ctrl-C."""
import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import peers  # noqa: E402
from bench_common import (  # noqa: E402
    Failure, L1_OVERHEAD, Ovs, OvsMeasurement, RinglaneMeasurement, TestpmdGeneratorControl,
    TestpmdMeasurement, add_run_arguments, c2c_range, console, disturbance_notes, fmt, kill_quietly, log,
    measure_interval, parse_run_arguments, pct, ratio_report, ratios_for, run_comparison)

GEN_PREFIX = "pf-gen"
DUT_PREFIX = "pf-dut"
OVS_PREFIX = "ovs-pf"
DUT_CORE = 1
DUTS = ("ringlane", "dpdk", "ovs", "ringlane_packed", "dpdk_packed")
DEFAULT_DUTS = "ringlane,dpdk,ovs"
DUT_LABELS = {"ringlane": "ringlane", "dpdk": "DPDK testpmd/vhost", "ovs": "OVS-DPDK 3.1",
              "ringlane_packed": "ringlane packed", "dpdk_packed": "DPDK vhost packed"}
PACKED_SUFFIX = "_packed"


# --- traffic ------------------------------------------------------------------------------------

class Generator(TestpmdGeneratorControl):
    """testpmd with two virtio_user ports, io forwarding on lcore 0 (its main lcore 1 only waits
    for console input)."""

    def __init__(self, sockets, server, size, work, bursts, vdev_extra):
        self.bursts = bursts
        vdevs = [peers.virtio_user(i, s, server=server, extra=vdev_extra) for i, s in enumerate(sockets)]
        self.tp = peers.Testpmd(vdevs, GEN_PREFIX, main_lcore=1, lcores="0,1", interactive=True,
                                extra=[f"--txpkts={size}"], workdir=work)
        # In server mode the virtio_user ports wait here until the DUT has connected.
        self.tp.wait_output("testpmd>", timeout=90)
        if "Configuring Port 1" not in self.tp.output():
            raise Failure("generator did not get both ports:\n" + self.tp.output()[-3000:])

    def start(self):
        line = "start tx_first" + (f" {self.bursts}" if self.bursts > 1 else "")
        console(self.tp, line, lambda t: "io packet forwarding" in t)


# --- devices under test -------------------------------------------------------------------------

class RinglaneDut(RinglaneMeasurement):
    name = "ringlane"
    generator_server = False  # ringlane listens, the generator connects

    def __init__(self, work):
        self.ports = [{"name": n, "path": os.path.join(work, f"rl-{n}.sock")} for n in ("a", "b")]
        self.sockets = [p["path"] for p in self.ports]
        # Half-second rate lines let the measured interval be cut out of ringlane's counters.
        self.rl = peers.Ringlane(self.ports, cores=str(DUT_CORE), workdir=work,
                                 extra=["--stats-interval", "0.5"])
        self.window = None

    def ready(self):
        peers.wait_for(lambda: self.rl.process.output().count("frontend connected") >= 2, 20,
                       "both frontends to connect to ringlane")


class TestpmdDut(TestpmdMeasurement):
    name = "dpdk"
    generator_server = False  # net_vhost listens, the generator connects

    def __init__(self, work):
        self.sockets = [os.path.join(work, f"dut-vhost{i}.sock") for i in range(2)]
        vdevs = [f"net_vhost{i},iface={s},queues=1" for i, s in enumerate(self.sockets)]
        # Main lcore 0 only waits for console input; the forwarding lcore is 1. No tx_first: the
        # generator fills the loop. No link check: ports are down until the generator connects.
        self.tp = peers.Testpmd(vdevs, DUT_PREFIX, main_lcore=0, lcores="0,1", interactive=True,
                                tx_first=False, extra=["--disable-link-check"], workdir=work)
        self.tp.wait_output("testpmd>", timeout=60)
        console(self.tp, "start", lambda t: "io packet forwarding" in t)
        peers.wait_for(lambda: all(os.path.exists(s) for s in self.sockets), 10, "net_vhost sockets")
        self.measured = None

    def ready(self):
        pass  # the generator's virtio_user ports finished vhost-user set-up before its prompt


class OvsDut(OvsMeasurement):
    name = "ovs"
    generator_server = True  # dpdkvhostuserclient ports connect to the generator's sockets

    def __init__(self, work):
        self.sockets = [os.path.join(work, f"gen-vu{i}.sock") for i in range(2)]
        self.measured = None
        self.ovs = Ovs(work, DUT_CORE, OVS_PREFIX)
        for i, s in enumerate(self.sockets):
            self.ovs.vsctl("--timeout=60", "add-port", "br0", f"vh{i}", "--", "set", "Interface", f"vh{i}",
                           "type=dpdkvhostuserclient", f"options:vhost-server-path={s}", f"ofport_request={i + 1}")
        self.ovs.cross_connect(1, 2)
        self.interfaces = ["vh0", "vh1"]

    def ready(self):
        def up():
            return all(self.ovs.vsctl("get", "Interface", f"vh{i}", "link_state").strip() == "up" for i in range(2))
        peers.wait_for(up, 30, "OVS vhost-user ports to come up", interval=0.2)
        # Both rx queues assigned to the PMD on the DUT core.
        self.ovs.wait_rxqs(2)


DUT_CLASSES = {"ringlane": RinglaneDut, "dpdk": TestpmdDut, "ovs": OvsDut,
               "ringlane_packed": RinglaneDut, "dpdk_packed": TestpmdDut}


# --- one measurement ----------------------------------------------------------------------------

def measure(dut_name, size, args, work_root):
    work = tempfile.mkdtemp(prefix=f"{dut_name}-{size}-", dir=work_root)
    dut = gen = None
    try:
        log(f"{DUT_LABELS[dut_name]}, {size} B: starting the DUT on core {DUT_CORE}")
        dut = DUT_CLASSES[dut_name](work)
        log(f"{DUT_LABELS[dut_name]}, {size} B: starting the generator on core 0")
        # The same DUT, driven over packed virtqueues.
        extra = args.vdev_extra + (",packed_vq=1" if dut_name.endswith(PACKED_SUFFIX) else "")
        gen = Generator(dut.sockets, dut.generator_server, size, work, args.bursts, extra)
        dut.ready()
        gen.start()
        m = measure_interval(dut, gen, args, DUT_LABELS[dut_name], size, (0, 1))
    except BaseException:
        kill_quietly(gen, dut)
        raise
    seconds = m["seconds"]
    d = m["dut"]
    pkts = sum(m["rx"].values())
    frame_bytes = sum(m["rx_bytes"].values())
    per_dir = [m["rx"][p] / seconds / 1e6 for p in (0, 1)]
    result = {
        "dut": dut_name, "size": size, "seconds": seconds,
        "mpps": pkts / seconds / 1e6,
        "mpps_per_direction": per_dir,
        "gbps_l1": (frame_bytes + L1_OVERHEAD * pkts) * 8 / seconds / 1e9,
        "gbps_frames": frame_bytes * 8 / seconds / 1e9,
        "dut_cycles_per_packet": d.get("cycles_per_packet"),
        "dut_busy": d.get("busy"),
        "dut_drops": d.get("drops"),
        "gen_cycles_per_packet": m["gen_cycles_per_packet"],
        "gen_busy": m["gen_busy"],
        "foreign_cores": m["foreign_cores"],
    }
    if dut_name.startswith("ringlane"):
        result["dut_run_cycles_per_packet"] = d.get("run_cycles_per_packet")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    log(f"{DUT_LABELS[dut_name]}, {size} B: {result['mpps']:.3f} Mpps, {result['gbps_l1']:.2f} Gbps, "
        f"DUT {fmt(result['dut_cycles_per_packet'], '.0f')} cyc/pkt, generator "
        f"{fmt(result['gen_cycles_per_packet'], '.0f')} cyc/pkt, DUT drops {fmt(result['dut_drops'], 'd')}, "
        f"foreign {result['foreign_cores']:.2f} cores")
    if pkts < 1000 or min(per_dir) <= 0:
        raise Failure(f"{dut_name} {size} B: traffic did not flow both ways ({per_dir} Mpps)")
    return result


# --- report -------------------------------------------------------------------------------------

def ratios(by):
    """ringlane against the others, from {dut: {"mpps": .., "dut_cycles_per_packet": ..}}; and
    packed rings against split ones, for ringlane and for DPDK, and ringlane's packed path
    against DPDK's."""
    fields = (("mpps", "mpps"), ("cycles", "dut_cycles_per_packet"))
    entry = ratios_for(by, "ringlane", ("dpdk", "ovs"), fields)
    for base, other, key in (("ringlane_packed", "ringlane", "packed_split_ringlane"),
                             ("dpdk_packed", "dpdk", "packed_split_dpdk"),
                             ("ringlane_packed", "dpdk_packed", "packed_ringlane_dpdk")):
        for name, value in ratios_for(by, base, (other,), fields).items():
            entry[f"{key}_{name.split('_vs_')[0]}"] = value
    return entry


def ratio_text(size, entry):
    parts = []
    if "mpps_vs_dpdk" in entry:
        parts.append(f"Mpps ringlane/DPDK {entry['mpps_vs_dpdk']:.2f}x" + (" (target >= 1.3)" if size == 64 else ""))
    if "mpps_vs_ovs" in entry:
        parts.append(f"Mpps ringlane/OVS {entry['mpps_vs_ovs']:.2f}x" + (" (target >= 1.5)" if size == 64 else ""))
    if "cycles_vs_dpdk" in entry:
        parts.append(f"cyc/pkt ringlane/DPDK {entry['cycles_vs_dpdk']:.2f}x (target <= 0.75)")
    if "cycles_vs_ovs" in entry:
        parts.append(f"cyc/pkt ringlane/OVS {entry['cycles_vs_ovs']:.2f}x")
    if "packed_split_ringlane_cycles" in entry:
        parts.append(f"cyc/pkt ringlane packed/split {entry['packed_split_ringlane_cycles']:.2f}x (target <= 1)")
    if "packed_split_dpdk_cycles" in entry:
        parts.append(f"cyc/pkt DPDK packed/split {entry['packed_split_dpdk_cycles']:.2f}x")
    if "packed_ringlane_dpdk_cycles" in entry:
        parts.append(f"cyc/pkt packed ringlane/DPDK {entry['packed_ringlane_dpdk_cycles']:.2f}x")
    return "; ".join(parts)


def median_text(dut, m):
    return (f"{DUT_LABELS[dut]} {m['mpps']:.2f} Mpps {fmt(m['dut_cycles_per_packet'], '.0f')} cyc/pkt "
            f"(n={m['cases']})")


def report(results):
    head = (f"{'run':>3} {'size':>5}  {'DUT':<20} {'Mpps':>7} {'Gbps L1':>8} {'DUT cyc/pkt':>11} "
            f"{'DUT busy':>8} {'gen cyc/pkt':>11} {'gen busy':>8} {'foreign':>7} {'c2c ns':>9}")
    lines = [head, "-" * len(head)]
    for r in sorted(results, key=lambda r: (r["size"], r["repeat"])):
        c2c = c2c_range([r])
        lines.append(f"{r['repeat'] + 1:>3} {r['size']:>5}  {DUT_LABELS[r['dut']]:<20} {r['mpps']:>7.3f} "
                     f"{r['gbps_l1']:>8.2f} {fmt(r['dut_cycles_per_packet'], '.0f'):>11} {pct(r['dut_busy']):>8} "
                     f"{fmt(r['gen_cycles_per_packet'], '.0f'):>11} {pct(r['gen_busy']):>8} "
                     f"{r['foreign_cores']:>7.2f} {f'{c2c[0]:.0f}-{c2c[1]:.0f}' if c2c else '-':>9}")
    lines.append("")
    ratio_lines, out = ratio_report(results, DUTS, ratios, ratio_text, median_text,
                                    ("mpps", "dut_cycles_per_packet"))
    print("\n".join(lines + ratio_lines), flush=True)
    saturated = [r for r in results if r["gen_busy"] and r["gen_busy"] > 0.9]
    if saturated:
        print("note: the generator core was over 90% busy in: " +
              ", ".join(f"{DUT_LABELS[r['dut']]} {r['size']} B" for r in saturated) +
              " (it may limit those results, not the DUT)")
    for note in disturbance_notes(results, lambda r: DUT_LABELS[r["dut"]]):
        print(note)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(ap, DUTS, seconds=8.0)
    ap.set_defaults(only=DEFAULT_DUTS)
    ap.add_argument("--bursts", type=int, default=1,
                    help="bursts of 32 frames per port the generator sends to start (tx_first N, default 1)")
    ap.add_argument("--vdev-extra", default="", help="extra net_virtio_user devargs, e.g. ',in_order=0'")
    args = ap.parse_args()
    sizes = parse_run_arguments(ap, args, DUTS)
    return run_comparison(args, sizes, "vhost-compare", measure, lambda results, skipped: report(results),
                          (GEN_PREFIX, DUT_PREFIX), {"bursts": args.bursts, "vdev_extra": args.vdev_extra})


if __name__ == "__main__":
    sys.exit(main())
