"""The NIC mode table: one guest workload (tests/guest/nic_guest.elf, polling drivers at CPL3) in
each of ringlane-vmm's NIC modes, frames per second guest-to-peer and peer-to-guest at 64 and
1500 bytes, VM exits to the VMM per frame by reason, and interrupts per frame.

    python3 perf/vmm_modes.py [--frames N] [--sizes 64,1500] [--modes emulated,virtio,vhost]

Peers: emulated and virtio modes put frames on a TAP device in a network namespace; guest-to-peer
needs no reader there (the kernel takes and drops them), peer-to-guest is dpdk-testpmd in txonly
mode on the TAP through net_af_packet. vhost mode is served by ringlane, cross-connected to a
testpmd virtio_user port (rxonly for guest-to-peer, txonly for peer-to-guest). Rates are the
guest's own: frames over the time between its first and last frame (TSC cycles over the TSC
frequency ringlane-vmm reports). Exits per frame subtract an idle run of the same mode (boot and
driver set-up). The guest rings the transmit doorbell after every frame (batch=1), as a driver
without batching does; whether that costs an exit is the device's business (an e1000's TDT write
always exits; virtio's event index suppresses kicks while the backend is busy). Its drivers poll
with interrupts masked, so interrupts per frame are zero by construction here; the Linux guest
run (tests/nested/run_linux_guest.py) shows what real drivers take. Without /dev/kvm here the whole table is measured in a QEMU TCG guest with nested
KVM (tests/lib/nested_kvm.py): absolute rates are then TCG's, the ratios between modes and the
exit counts are what the table is for."""
import argparse
import json
import os
import re
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import nested_kvm  # noqa: E402
import netns  # noqa: E402
import peers  # noqa: E402

BUILD = os.path.join(ROOT, "build")
VMM = os.environ.get("RINGLANE_VMM_BIN", os.path.join(BUILD, "vmm", "ringlane-vmm"))
GUEST = os.environ.get("RINGLANE_NIC_GUEST", os.path.join(BUILD, "tests", "guest", "nic_guest.elf"))
os.environ.setdefault("RINGLANE_BIN", os.path.join(BUILD, "dataplane", "ringlane"))
MAC = "52:54:00:12:34:56"
DRIVER = {"emulated": "e1000", "virtio": "virtio", "vhost": "virtio"}


def parse_console(text):
    """The numbers a run printed: guest reports, the VMM's exits, NIC counters, TSC rate."""
    out = {}
    m = re.search(r"sent (\d+) frames of (\d+) bytes in (\d+) cycles", text)
    if m:
        out["sent"], out["tx_cycles"] = int(m.group(1)), int(m.group(3))
    m = re.search(r"received (\d+) frames \((\d+) bad.*?(\d+) other\) in (\d+) cycles", text)
    if m:
        out["received"] = int(m.group(1)) + int(m.group(3))
        out["rx_cycles"] = int(m.group(4))
    m = re.search(r"after (\d+) exits \((\d+) port I/O, (\d+) MMIO", text)
    if m:
        out["exits"], out["pio"], out["mmio"] = (int(g) for g in m.groups())
    m = re.search(r"\): (\d+) frames from the guest, (\d+) to it, (\d+) dropped, (\d+) doorbells, "
                  r"(\d+) interrupts", text)
    if m:
        out["doorbells"], out["interrupts"] = int(m.group(4)), int(m.group(5))
    m = re.search(r"guest TSC (\d+) kHz", text)
    if m:
        out["tsc_hz"] = int(m.group(1)) * 1000
    return out


class Setup:
    """The peer side of one mode: a namespace with a TAP, or ringlane with a testpmd port."""

    def __init__(self, mode, workdir):
        self.mode = mode
        self.dir = workdir
        self.cleanups = []
        self.ns = None
        self.ringlane = None
        if mode == "vhost":
            self.vm_sock = os.path.join(workdir, "vm0.sock")
            self.peer_sock = os.path.join(workdir, "peer.sock")
        else:
            self.ns = netns.NetNamespace("rlmodes")
            self.ns.add_tap("tap0")
            self.cleanups.append(self.ns.close)

    def nic(self):
        if self.mode == "vhost":
            return f"mode=vhost,socket={self.vm_sock}"
        return f"mode={self.mode},tap=tap0"

    def start_peer(self, fwd, size):
        """rxonly or txonly testpmd where the guest's frames go or come from."""
        prefix = f"rlmodes{os.getpid()}"
        peers.remove_hugepage_files(prefix)
        eal = ["-l", "0,1", "--main-lcore", "0", "--no-pci", "--single-file-segments",
               "--file-prefix", prefix, "-m", "256", "--log-level", "*:notice"]
        app = ["--", f"--forward-mode={fwd}", "--nb-cores=1", "--stats-period", "1",
               f"--txpkts={size}", f"--eth-peer=0,{MAC}"]
        if self.mode == "vhost":
            self.ringlane = peers.Ringlane([{"name": "vm0", "path": self.vm_sock},
                                            {"name": "peer", "path": self.peer_sock}],
                                           workdir=self.dir)
            self.cleanups.append(self.ringlane.kill)
            argv = [peers.TESTPMD] + eal + ["--vdev", peers.virtio_user(0, self.peer_sock)] + app
        else:
            argv = self.ns.argv(peers.TESTPMD, *eal, "--vdev", "net_af_packet0,iface=tap0", *app)
        tp = peers.Process(["stdbuf", "-oL"] + argv, f"testpmd-{fwd}", log_dir=self.dir)
        self.cleanups.append(tp.kill)
        peers.wait_for(lambda: "Port statistics" in tp.output() or not tp.alive(), 120,
                       "testpmd to forward")
        if not tp.alive():
            raise RuntimeError("testpmd exited:\n" + tp.output()[-2000:])
        return tp

    def run_guest(self, cmdline, timeout=600):
        argv = [VMM, "--kernel", GUEST, "--nic", self.nic(), "--cmdline", cmdline]
        if self.ns:
            argv = self.ns.argv(*argv)
        vmm = peers.Process(argv, "ringlane-vmm", log_dir=self.dir)
        self.cleanups.append(vmm.kill)
        rc = vmm.wait(timeout)
        if rc != 0:
            raise RuntimeError(f"ringlane-vmm ended {rc}:\n" + vmm.output()[-3000:])
        return parse_console(vmm.output())

    def close(self):
        for c in reversed(self.cleanups):
            try:
                c()
            except Exception:  # noqa: BLE001 (cleanup goes on)
                pass
        self.cleanups = []


def measure(mode, size, frames, direction):
    work = tempfile.mkdtemp(prefix=f"rlmodes-{mode}-")
    setup = Setup(mode, work)
    try:
        driver = DRIVER[mode]
        if direction == "idle":
            if mode == "vhost":
                setup.start_peer("rxonly", 64)
            return setup.run_guest(f"nic={driver} send=0 recv=0")
        if direction == "tx":
            if mode == "vhost":
                setup.start_peer("rxonly", size)
            return setup.run_guest(f"nic={driver} send={frames} size={size} recv=0 batch=1")
        setup.start_peer("txonly", size)
        return setup.run_guest(f"nic={driver} send=0 recv={frames} rx_any=1")
    finally:
        setup.close()


def row(mode, size, direction, r, idle):
    frames = r.get("sent" if direction == "tx" else "received", 0)
    cycles = r.get("tx_cycles" if direction == "tx" else "rx_cycles", 0)
    fps = frames * r["tsc_hz"] / cycles if cycles and r.get("tsc_hz") else None
    per = {}
    for key in ("exits", "pio", "mmio"):
        per[key] = (r.get(key, 0) - idle.get(key, 0)) / frames if frames else None
    interrupts = None if mode == "vhost" else (r.get("interrupts", 0) / frames if frames else None)
    # Doorbells the VMM saw: e1000 TDT writes (each an exit), virtio kicks through ioeventfds
    # (KVM signals an eventfd, no exit to the VMM). vhost kicks go to ringlane, unseen here.
    doorbells = None if mode == "vhost" else (r.get("doorbells", 0) / frames if frames else None)
    return {"mode": mode, "size": size, "direction": direction, "frames": frames, "fps": fps,
            "exits_per_frame": per["exits"], "pio_per_frame": per["pio"],
            "mmio_per_frame": per["mmio"], "interrupts_per_frame": interrupts,
            "doorbells": r.get("doorbells"), "doorbells_per_frame": doorbells}


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=20000, help="frames per case (default 20000)")
    ap.add_argument("--emulated-frames", type=int, default=5000,
                    help="frames per case in emulated mode, where every frame costs exits "
                         "(default 5000)")
    ap.add_argument("--sizes", default="64,1500", help="frame sizes (default 64,1500)")
    ap.add_argument("--modes", default="emulated,virtio,vhost")
    ap.add_argument("--json", metavar="OUT", help="also write the rows as JSON")
    args = ap.parse_args()
    nested_kvm.reexec_with_kvm()
    rows = []
    for mode in args.modes.split(","):
        frames = args.emulated_frames if mode == "emulated" else args.frames
        idle = measure(mode, 64, 0, "idle")
        print(f"{mode}: idle run {idle.get('exits')} exits ({idle.get('pio')} port I/O, "
              f"{idle.get('mmio')} MMIO)", flush=True)
        for size in (int(s) for s in args.sizes.split(",")):
            for direction in ("tx", "rx"):
                r = row(mode, size, direction, measure(mode, size, frames, direction), idle)
                rows.append(r)
                print(json.dumps(r), flush=True)
    print()
    print("| mode | bytes | direction | frames/s | exits/frame | port I/O/frame | MMIO/frame | "
          "doorbells/frame | interrupts/frame |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['size']} | "
              f"{'guest->peer' if r['direction'] == 'tx' else 'peer->guest'} | "
              f"{fmt(r['fps'], ',.0f')} | {fmt(r['exits_per_frame'], '.3f')} | "
              f"{fmt(r['pio_per_frame'], '.3f')} | {fmt(r['mmio_per_frame'], '.3f')} | "
              f"{fmt(r['doorbells_per_frame'], '.4f')} | {fmt(r['interrupts_per_frame'], '.3f')} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
