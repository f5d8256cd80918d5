"""The passthrough row of the NIC mode table (perf/vmm_modes.py has the other three): the same
guest workload (tests/guest/nic_guest.elf, its e1000 driver polling, the transmit doorbell rung
after every frame) on an e1000e given to ringlane-vmm through VFIO, guest-to-peer at 64 and
1500 bytes, with VM exits to the VMM per frame (minus an idle run's) and the guest's own frame
rate. The e1000e is QEMU's, in tests/lib/pci_guest.py's TCG guest (this machine has no VFIO);
its frames leave as UDP datagrams to this process, which counts them, so a frame only counts
once it has left the device. Rates are TCG's: compare the exits, and rates only within a run.

    python3 perf/vmm_passthrough.py [--frames N] [--sizes 64,1500]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "perf"))
import pci_guest  # noqa: E402
import vfio_guest  # noqa: E402
from vmm_modes import GUEST, VMM, parse_console, row  # noqa: E402

os.environ.setdefault("RINGLANE_CTL_BIN", os.path.join(ROOT, "build", "ctl", "ringlane-ctl"))


def in_guest(frames, sizes, result_path):
    """Binds the e1000e, runs the guest idle and then per size; the consoles' numbers out."""
    nic = pci_guest.NIC_BDF
    runs = {}
    vfio_guest.bind_vfio(nic)
    try:
        def run(cmdline):
            r = subprocess.run([VMM, "--kernel", GUEST, "--memory", "64", "--nic",
                                f"mode=passthrough,pci={nic}", "--cmdline", cmdline],
                               capture_output=True, text=True, timeout=900)
            if r.returncode != 0:
                raise RuntimeError(f"ringlane-vmm ended {r.returncode}: {r.stderr[-2000:]}")
            return parse_console(r.stdout + r.stderr)
        runs["idle"] = run("nic=e1000 send=0 recv=0")
        for size in sizes:
            runs[str(size)] = run(f"nic=e1000 send={frames} size={size} recv=0 batch=1")
    finally:
        vfio_guest.restore(nic)
        with open(result_path, "w") as f:
            json.dump(runs, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20000, help="frames per size")
    parser.add_argument("--sizes", default="64,1500", help="frame sizes in bytes")
    parser.add_argument("--in-guest", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.in_guest:
        in_guest(args.frames, sizes, args.in_guest)
        return
    collector = vfio_guest.FrameCollector()
    with tempfile.NamedTemporaryFile(prefix="rl-passthrough-", suffix=".json", dir="/tmp",
                                     delete=False) as f:
        path = f.name
    try:
        status = pci_guest.run([sys.executable, os.path.abspath(__file__), "--frames",
                                str(args.frames), "--sizes", args.sizes, "--in-guest", path],
                               frames_port=collector.port, timeout=3000)
        received = collector.stop()
        with open(path) as f:
            text = f.read()
    finally:
        os.unlink(path)
    if status != 0 or not text:
        sys.exit(f"the guest half failed (status {status})")
    runs = json.loads(text)
    by_size = {}
    for frame in received:
        by_size[len(frame)] = by_size.get(len(frame), 0) + 1
    print("| mode | bytes | direction | frames/s | exits/frame | port I/O/frame | MMIO/frame | "
          "frames seen outside |")
    print("|---|---|---|---|---|---|---|---|")
    for size in sizes:
        r = row("passthrough", size, "tx", runs[str(size)], runs["idle"])
        # The device pads short frames to 60 bytes before the FCS.
        seen = by_size.get(max(size, 60), 0)
        print(f"| passthrough | {size} | guest->peer | {r['fps']:,.0f} | "
              f"{r['exits_per_frame']:.3f} | {r['pio_per_frame']:.3f} | "
              f"{r['mmio_per_frame']:.3f} | {seen} of {r['frames']} |")
    print(f"idle run: {runs['idle'].get('exits')} exits ({runs['idle'].get('pio')} port I/O, "
          f"{runs['idle'].get('mmio')} MMIO)")


if __name__ == "__main__":
    main()
