#!/usr/bin/env python3
"""Compares uplinks (issue 14): frames from a network namespace through an uplink on a veth to a
VM port and back, on ONE DUT core (core 1), for three devices under test (DUTs):

  ringlane   --mode xconnect --cores 1 --port name=up,kind=afxdp,ifname=HOST_END
             --port name=vm,path=SOCK (its XDP program steers every frame not addressed to the
             interface's own MAC to the AF_XDP socket);
  DPDK       testpmd io forwarding between net_af_xdp (iface=HOST_END) and net_vhost;
  OVS-DPDK   Debian's 3.1 (started privately, as in vhost_compare.py) with the best uplink port
             type it supports here, tried in this order: type=afxdp, a dpdk port with devargs
             net_af_xdp, a dpdk port with devargs net_af_packet (the table says which); a
             dpdkvhostuserclient port for the VM; two flows cross-connecting them (no learning,
             the same job as ringlane's xconnect).

Topology (all on this machine; a fresh namespace and veth pair per case, removed after it):

    namespace                      |  host
    generator testpmd, core 0      |
      port 0 net_af_packet  gen0 ==veth== HOST_END  <- DUT uplink (AF_XDP), core 1
      port 1 virtio_user  ------------unix socket--  <- DUT VM port (vhost-user), core 1

The generator is ONE testpmd in the namespace, io forwarding between its two ports on core 0
(its main lcore 1 only reads the console), started with tx_first N. Its virtio_user port IS the
VM: a frame the DUT delivers to the VM port is sent straight back out of the namespace's veth end,
and a frame arriving on the veth end goes back into the VM port. So two loops run, one per
direction (veth -> DUT -> VM -> veth ... and VM -> DUT -> veth -> VM ...), each with N bursts of 32
frames in flight, and every frame the generator receives is one the DUT forwarded. This loads the
path better than a separate generator and a separate virtio_user echo would: those are two busy
pollers, and on the one core left for them they would take turns by scheduler time slice, each
stalling the loop while the other runs. Frames leave the namespace addressed to a made-up MAC
(--eth-peer), never the host end's own, so ringlane's XDP program steers them all.

Why net_af_packet for the generator and not net_af_xdp: the kernel runs a veth's receive work on
the CPU that transmitted into it. With an XDP program on the namespace end, the generator's
receive (XDP redirect and copy into its UMEM) would run on the DUT's core whenever the DUT sends.
Without one, the namespace end takes frames through the backlog, and RPS (rps_cpus = core 0,
set here) moves that work to the generator's core. What stays on the DUT core is the DUT's own:
its AF_XDP sends (copy mode on veth: the kernel builds an skb per frame inside the DUT's send
call) and its receive rings; the XDP redirect of frames the generator sends runs on core 0, alike
for every DUT. The host end's queues are 1 rx and 1 tx so every frame reaches AF_XDP queue 0.

Core 0 thus carries the generator, the VM side and the kernel's veth work; core 1 the DUT. Per
DUT and frame size: warm-up, then a measured interval reporting
  Mpps       frames the generator received on both ports per second (up>vm: on its VM port,
             vm>up: on its veth end);
  Gbps L1    (frame bytes + 24) * 8 per frame, frame bytes as testpmd counts them (no FCS);
  cyc/pkt    the DUT core's busy TSC cycles per forwarded frame (ringlane: worker busy cycles
             from its rate lines; testpmd: --record-core-cycles; OVS: pmd-stats-show 'avg
             processing cycles per packet'); kernel time inside the DUT's own system calls counts;
  busy       share of the interval the core spent on non-empty polls, for the DUT and the
             generator: the side near 100% saturates first and limits the rate;
  Mpps/core  Mpps / DUT busy: what the DUT forwards per core it keeps busy, the issue's
             "Mpps per core" (equal to Mpps only when the DUT saturates);
  kern c0/c1 share of each core's time in the kernel (system + irq + softirq, /proc/stat);
  loss       frames the generator sent but did not get back in the interval (drops anywhere
             in the loop; a loop that loses frames slows down);
  foreign    CPU time used by processes this script did not start, in cores (above ~0.1 the
             case is disturbed and is measured again, as in vhost_compare.py);
  c2c ns     cache-line round trip between cores 0 and 1 before and after the case.
Ratios ringlane/DPDK and ringlane/OVS per run and as medians, against the issue's targets
(Mpps per core >= 1.2x DPDK net_af_xdp, >= 1.5x OVS-DPDK); reported, not asserted.

The ringlane DUT is skipped, with its reason, while its build answers that AF_XDP ports are not
built yet. Run as root: sudo python3 perf/uplink_compare.py [--seconds 5] [--sizes 64,1518]
[--only ringlane,dpdk,ovs] [--repeat N] [--bursts N] [--json OUT]. Everything started is stopped
by PID and every namespace and veth removed, also on failure or Ctrl-C."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import netns  # noqa: E402
import peers  # noqa: E402
from bench_common import (  # noqa: E402
    Failure, L1_OVERHEAD, Ovs, OvsMeasurement, RinglaneMeasurement, Skip, TestpmdGeneratorControl,
    TestpmdMeasurement, add_run_arguments, c2c_range, console, disturbance_notes, fmt, kill_quietly, log,
    measure_interval, parse_run_arguments, pct, ratio_report, ratios_for, run_comparison)

# DPDK file prefixes with our PID: a second run at the same time keeps its hugepage files.
GEN_PREFIX = f"ul-gen{os.getpid()}"
DUT_PREFIX = f"ul-dut{os.getpid()}"
OVS_PREFIX = f"ovs-ul{os.getpid()}"
GEN_CORE = 0
DUT_CORE = 1
DUTS = ("ringlane", "dpdk", "ovs")
DUT_LABELS = {"ringlane": "ringlane AF_XDP", "dpdk": "DPDK net_af_xdp", "ovs": "OVS-DPDK 3.1"}
INSIDE_END = "gen0"  # the veth end in the namespace (names there are the namespace's own)
WIRE_PEER_MAC = "02:00:00:00:0e:01"  # destination of frames leaving the namespace: nobody's
VM_PEER_MAC = "02:00:00:00:0e:02"  # destination of frames the VM sends
WIRE_PORT, VM_PORT = 0, 1  # the generator's ports
SATURATED = 0.9  # a busy share above which a side counts as saturated
TARGETS = {"dpdk": 1.2, "ovs": 1.5}  # issue 14: ringlane's Mpps per core against these


# --- the wire ------------------------------------------------------------------------------------

_wires = []


class Wire:
    """A namespace holding one end of a veth pair (INSIDE_END), the other end in the host's
    namespace for the DUT. One rx and one tx queue on each end, IPv6 off (no chatter), the inside
    end's receive work steered to the generator's core by RPS, MTU large enough for `size`."""

    def __init__(self, size):
        self.ns = netns.NetNamespace("rlup")
        _wires.append(self)
        self.host = f"rlu{os.getpid() % 10**6}h"
        try:
            one_queue = ["numtxqueues", "1", "numrxqueues", "1"]
            run(["ip", "link", "add", self.host, *one_queue, "type", "veth", "peer", "name", INSIDE_END,
                 *one_queue, "netns", self.ns.name])
            run(["sysctl", "-q", "-w", f"net.ipv6.conf.{self.host}.disable_ipv6=1"])
            self.ns.run("sysctl", "-q", "-w", f"net.ipv6.conf.{INSIDE_END}.disable_ipv6=1")
            # The MTU counts no Ethernet header; a VLAN tag's 4 bytes are allowed beyond it.
            mtu = str(max(1500, size - 14))
            run(["ip", "link", "set", self.host, "mtu", mtu, "up"])
            self.ns.run("ip", "link", "set", INSIDE_END, "mtu", mtu, "up")
            self.ns.run("sh", "-c", f"echo {1 << GEN_CORE:x} > /sys/class/net/{INSIDE_END}/queues/rx-0/rps_cpus")
        except BaseException:
            self.close()
            raise

    def close(self):
        # The host's end first: deleting it deletes the inside end at once, whereas deleting
        # the namespace removes its interfaces in the background.
        if os.path.exists(f"/sys/class/net/{self.host}"):
            subprocess.run(["ip", "link", "del", self.host], capture_output=True)
        self.ns.close()
        if self in _wires:
            _wires.remove(self)


def close_wires():
    for w in list(_wires):
        w.close()


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise Failure(f"{' '.join(argv)} failed ({r.returncode}): {(r.stderr or r.stdout).strip()}")
    return r.stdout


# --- traffic ------------------------------------------------------------------------------------

class Generator(TestpmdGeneratorControl):
    """testpmd in the namespace: net_af_packet on the veth end and virtio_user (the VM) on the
    DUT's vhost-user socket, io forwarding between them on core 0 (main lcore 1 only waits for
    console input)."""

    def __init__(self, wire, vm_socket, server, size, work, bursts):
        self.bursts = bursts
        vdevs = [f"net_af_packet{WIRE_PORT},iface={INSIDE_END},qpairs=1",
                 peers.virtio_user(VM_PORT, vm_socket, server=server)]
        self.tp = peers.Testpmd(vdevs, GEN_PREFIX, main_lcore=1, lcores=f"{GEN_CORE},1", interactive=True,
                                extra=[f"--txpkts={size}", f"--eth-peer={WIRE_PORT},{WIRE_PEER_MAC}",
                                       f"--eth-peer={VM_PORT},{VM_PEER_MAC}"],
                                workdir=work, netns=wire.ns.name)
        # In server mode the virtio_user port waits here until the DUT has connected.
        self.tp.wait_output("testpmd>", timeout=90)
        if f"Configuring Port {VM_PORT}" not in self.tp.output():
            raise Failure("generator did not get both ports:\n" + self.tp.output()[-3000:])

    def start(self):
        console(self.tp, f"start tx_first {self.bursts}", lambda t: "io packet forwarding" in t)


# --- devices under test -------------------------------------------------------------------------

class RinglaneDut(RinglaneMeasurement):
    name = "ringlane"
    generator_server = False  # ringlane listens, the generator connects

    def __init__(self, wire, work):
        self.label = DUT_LABELS[self.name]
        self.socket = os.path.join(work, "rl-vm.sock")
        try:
            # Half-second rate lines let the measured interval be cut out of ringlane's counters.
            self.rl = peers.Ringlane([{"name": "vm", "path": self.socket}], cores=str(DUT_CORE), mode="xconnect",
                                     workdir=work, extra=["--port", f"name=up,kind=afxdp,ifname={wire.host}",
                                                          "--stats-interval", "0.5"])
        except RuntimeError as e:
            text = str(e)
            if "not built yet" in text:
                raise Skip(next(line for line in text.splitlines() if "not built yet" in line).strip()) from None
            raise Failure(text) from None
        self.window = None

    def ready(self):
        peers.wait_for(lambda: "frontend connected" in self.rl.process.output(), 20,
                       "the VM's frontend to connect to ringlane")


class TestpmdDut(TestpmdMeasurement):
    name = "dpdk"
    generator_server = False  # net_vhost listens, the generator connects

    def __init__(self, wire, work):
        self.label = DUT_LABELS[self.name]
        self.socket = os.path.join(work, "dut-vhost.sock")
        vdevs = [f"net_af_xdp0,iface={wire.host},start_queue=0,queue_count=1",
                 f"net_vhost1,iface={self.socket},queues=1"]
        # Main lcore 0 only waits for console input; the forwarding lcore is 1. No tx_first: the
        # generator fills the loop. No link check: the vhost port is down until the VM connects.
        self.tp = peers.Testpmd(vdevs, DUT_PREFIX, main_lcore=0, lcores=f"0,{DUT_CORE}", interactive=True,
                                tx_first=False, extra=["--disable-link-check"], workdir=work)
        self.tp.wait_output("testpmd>", timeout=60)
        if "Configuring Port 1" not in self.tp.output():
            raise Failure("testpmd DUT did not get both ports:\n" + self.tp.output()[-3000:])
        console(self.tp, "start", lambda t: "io packet forwarding" in t)
        peers.wait_for(lambda: os.path.exists(self.socket), 10, "the net_vhost socket")
        self.measured = None

    def ready(self):
        pass  # the generator's virtio_user port finished vhost-user set-up before its prompt


class OvsDut(OvsMeasurement):
    name = "ovs"
    generator_server = True  # the dpdkvhostuserclient port connects to the generator's socket

    def __init__(self, wire, work):
        self.socket = os.path.join(work, "gen-vu.sock")
        self.measured = None
        self.ovs = Ovs(work, DUT_CORE, OVS_PREFIX)
        self.uplink, self.port_type = self.add_uplink(wire.host)
        self.label = f"{DUT_LABELS[self.name]} {self.port_type}"
        log(f"  OVS uplink: {self.port_type}")
        self.ovs.vsctl("--timeout=60", "add-port", "br0", "vm", "--", "set", "Interface", "vm",
                       "type=dpdkvhostuserclient", f"options:vhost-server-path={self.socket}", "ofport_request=2")
        self.ovs.cross_connect(1, 2)
        self.interfaces = [self.uplink, "vm"]

    def add_uplink(self, ifname):
        """The best uplink port OVS takes here, as OpenFlow port 1: (port name, type shown)."""
        choices = [
            # An afxdp port is named after its interface.
            (ifname, "afxdp", ["type=afxdp"]),
            ("up", "dpdk/net_af_xdp", ["type=dpdk", f'options:dpdk-devargs="net_af_xdp_up,iface={ifname}"']),
            ("up", "dpdk/net_af_packet", ["type=dpdk", f'options:dpdk-devargs="net_af_packet_up,iface={ifname}"']),
        ]
        refusals = []
        for name, shown, settings in choices:
            try:
                self.ovs.vsctl("--timeout=60", "add-port", "br0", name, "--", "set", "Interface", name,
                               *settings, "ofport_request=1")
                error = self.ovs.vsctl("get", "Interface", name, "error").strip()
                ofport = self.ovs.vsctl("get", "Interface", name, "ofport").strip()
                if ofport == "1" and error in ("[]", ""):
                    return name, shown
                refusals.append(f"{shown}: {error} (ofport {ofport})")
            except Failure as e:
                refusals.append(f"{shown}: {str(e).splitlines()[0]}")
            self.ovs.vsctl("--if-exists", "del-port", "br0", name)
        raise Failure("OVS took no uplink port: " + "; ".join(refusals))

    def ready(self):
        peers.wait_for(lambda: self.ovs.vsctl("get", "Interface", "vm", "link_state").strip() == "up", 30,
                       "the OVS vhost-user port to come up", interval=0.2)
        # The uplink's and the VM port's rx queues both on the PMD of the DUT core.
        self.ovs.wait_rxqs(2)


DUT_CLASSES = {"ringlane": RinglaneDut, "dpdk": TestpmdDut, "ovs": OvsDut}


# --- one measurement ----------------------------------------------------------------------------

def saturating_side(dut_busy, gen_busy):
    """Which side limits the rate: the one whose core is (nearly) always busy."""
    sides = [(b, side) for b, side in ((dut_busy, "DUT"), (gen_busy, "generator")) if b is not None and b >= SATURATED]
    return max(sides)[1] if sides else "neither"


def measure(dut_name, size, args, work_root):
    work = tempfile.mkdtemp(prefix=f"{dut_name}-{size}-", dir=work_root)
    wire = dut = gen = None
    label = DUT_LABELS[dut_name]
    try:
        wire = Wire(size)
        log(f"{label}, {size} B: starting the DUT on core {DUT_CORE} (uplink {wire.host})")
        dut = DUT_CLASSES[dut_name](wire, work)
        label = dut.label
        log(f"{label}, {size} B: starting the generator on core {GEN_CORE} in {wire.ns.name}")
        gen = Generator(wire, dut.socket, dut.generator_server, size, work, args.bursts)
        dut.ready()
        gen.start()
        m = measure_interval(dut, gen, args, label, size, (WIRE_PORT, VM_PORT), cpus=(GEN_CORE, DUT_CORE))
    except BaseException:
        kill_quietly(gen, dut)
        raise
    finally:
        if wire is not None:
            wire.close()
    seconds = m["seconds"]
    d = m["dut"]
    rx = m["rx"]
    pkts = sum(rx.values())
    sent = sum(m["tx"].values())
    frame_bytes = sum(m["rx_bytes"].values())
    result = {
        "dut": dut_name, "dut_label": label, "size": size, "seconds": seconds,
        "mpps": pkts / seconds / 1e6,
        "mpps_up_to_vm": rx[VM_PORT] / seconds / 1e6,
        "mpps_vm_to_up": rx[WIRE_PORT] / seconds / 1e6,
        "gbps_l1": (frame_bytes + L1_OVERHEAD * pkts) * 8 / seconds / 1e9,
        "gbps_frames": frame_bytes * 8 / seconds / 1e9,
        "loss": max(0, sent - pkts) / sent if sent else None,
        "dut_cycles_per_packet": d.get("cycles_per_packet"),
        "dut_busy": d.get("busy"),
        "dut_drops": d.get("drops"),
        "gen_cycles_per_packet": m["gen_cycles_per_packet"],
        "gen_busy": m["gen_busy"],
        "cpu": m["cpu"],
        "foreign_cores": m["foreign_cores"],
        "bursts": args.bursts,
    }
    if dut_name == "ringlane":
        result["dut_run_cycles_per_packet"] = d.get("run_cycles_per_packet")
    result["mpps_per_core"] = result["mpps"] / result["dut_busy"] if result["dut_busy"] else None
    result["saturates"] = saturating_side(result["dut_busy"], result["gen_busy"])
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    log(f"{label}, {size} B: {result['mpps']:.3f} Mpps (up>vm {result['mpps_up_to_vm']:.3f}, vm>up "
        f"{result['mpps_vm_to_up']:.3f}), DUT {fmt(result['dut_cycles_per_packet'], '.0f')} cyc/pkt busy "
        f"{pct(result['dut_busy'])}, generator busy {pct(result['gen_busy'])}, loss {pct(result['loss'])}, "
        f"DUT drops {fmt(result['dut_drops'], 'd')}, foreign {result['foreign_cores']:.2f} cores")
    if pkts < 1000 or min(rx.values()) <= 0:
        raise Failure(f"{label} {size} B: traffic did not flow both ways "
                      f"(up>vm {result['mpps_up_to_vm']:.3f}, vm>up {result['mpps_vm_to_up']:.3f} Mpps)")
    return result


# --- report -------------------------------------------------------------------------------------

def ratios(by):
    """ringlane against the others: Mpps per core (the targets), Mpps and cycles per packet."""
    return ratios_for(by, "ringlane", ("dpdk", "ovs"), (("per_core", "mpps_per_core"), ("mpps", "mpps"),
                                                        ("cycles", "dut_cycles_per_packet")))


def ratio_text(size, entry):
    parts = []
    for other, name in (("dpdk", "DPDK"), ("ovs", "OVS")):
        if f"per_core_vs_{other}" in entry:
            parts.append(f"Mpps/core ringlane/{name} {entry[f'per_core_vs_{other}']:.2f}x "
                         f"(target >= {TARGETS[other]})")
        if f"mpps_vs_{other}" in entry:
            parts.append(f"Mpps {entry[f'mpps_vs_{other}']:.2f}x")
        if f"cycles_vs_{other}" in entry:
            parts.append(f"cyc/pkt {entry[f'cycles_vs_{other}']:.2f}x")
    return "; ".join(parts)


def median_text(dut, m):
    return (f"{DUT_LABELS[dut]} {m['mpps']:.3f} Mpps {fmt(m['mpps_per_core'], '.3f')} Mpps/core "
            f"{fmt(m['dut_cycles_per_packet'], '.0f')} cyc/pkt (n={m['cases']})")


def report(results, skipped):
    lines = []
    if results:
        head = (f"{'run':>3} {'size':>5}  {'DUT':<26} {'Mpps':>6} {'up>vm':>6} {'vm>up':>6} {'Gb L1':>6} "
                f"{'cyc/pkt':>7} {'DUT busy':>8} {'Mpps/core':>9} {'gen busy':>8} {'kern c0/c1':>10} "
                f"{'loss':>5} {'foreign':>7} {'c2c ns':>9}  saturates")
        lines += [head, "-" * len(head)]
        for r in sorted(results, key=lambda r: (r["size"], r["repeat"])):
            c2c = c2c_range([r])
            kern = f"{pct(r['cpu']['0']['kernel'])}/{pct(r['cpu']['1']['kernel'])}"
            lines.append(
                f"{r['repeat'] + 1:>3} {r['size']:>5}  {r['dut_label']:<26} {r['mpps']:>6.3f} "
                f"{r['mpps_up_to_vm']:>6.3f} {r['mpps_vm_to_up']:>6.3f} {r['gbps_l1']:>6.2f} "
                f"{fmt(r['dut_cycles_per_packet'], '.0f'):>7} {pct(r['dut_busy']):>8} "
                f"{fmt(r['mpps_per_core'], '.3f'):>9} {pct(r['gen_busy']):>8} {kern:>10} {pct(r['loss']):>5} "
                f"{r['foreign_cores']:>7.2f} {f'{c2c[0]:.0f}-{c2c[1]:.0f}' if c2c else '-':>9}  {r['saturates']}")
        lines.append("")
    out = {}
    if results:
        ratio_lines, out = ratio_report(results, DUTS, ratios, ratio_text, median_text,
                                        ("mpps", "mpps_per_core", "dut_cycles_per_packet"))
        lines += ratio_lines
        for size in sorted({r["size"] for r in results}):
            rs = [r for r in results if r["size"] == size]
            counts = {side: sum(1 for r in rs if r["saturates"] == side) for side in ("generator", "DUT", "neither")}
            lines.append(f"saturates first, {size:>4} B: generator (core {GEN_CORE}) in {counts['generator']}, "
                         f"DUT (core {DUT_CORE}) in {counts['DUT']}, neither in {counts['neither']} of {len(rs)} "
                         f"case(s)")
    for dut, why in skipped.items():
        lines.append(f"skipped {DUT_LABELS[dut]}: {why}")
    lines += disturbance_notes(results, lambda r: r["dut_label"])
    print("\n".join(lines), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(ap, DUTS, seconds=5.0)
    ap.add_argument("--bursts", type=int, default=4,
                    help="bursts of 32 frames per direction the generator sends to start (tx_first N, default 4)")
    args = ap.parse_args()
    sizes = parse_run_arguments(ap, args, DUTS)
    if not shutil.which("ip"):
        ap.error("needs iproute2's ip")
    return run_comparison(args, sizes, "uplink-compare", measure, report, (GEN_PREFIX, DUT_PREFIX),
                          {"bursts": args.bursts}, cleanup=close_wires)


if __name__ == "__main__":
    sys.exit(main())
