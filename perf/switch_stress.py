"""The long form of the live switch stress test: N live switches virtio -> vhost -> virtio (500 by
default) while the test guest sends sequence-numbered frames that both peers reflect (the TAP
reflector in a namespace, testpmd behind ringlane). Reports switches, time per switch, and the
guest's counts: frames lost, duplicated, corrupted, out of order, and buffers the device
completed twice (its driver checks every used entry). Exit status 0 only when nothing was lost,
duplicated, corrupted or completed twice.

    python3 perf/switch_stress.py [--switches 500] [--frames N]

It runs the suite's stress case (tests/integration/test_vmm_switch.py,
test_many_switches_under_traffic_lose_nothing) with the larger figures; without /dev/kvm that
runs in a QEMU TCG guest with nested KVM, about thirty times slower."""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--switches", type=int, default=500)
    ap.add_argument("--frames", type=int, default=0,
                    help="frames the guest sends (default: enough for the switches, about 2500 "
                         "per switch; at most 8388608, the guest's duplicate tracking)")
    a = ap.parse_args()
    frames = a.frames or max(200000, 2500 * a.switches)
    if frames > 1 << 23:
        ap.error("--frames: at most 8388608")
    env = dict(os.environ)
    env.update({
        "RINGLANE_STRESS_SWITCHES": str(a.switches),
        "RINGLANE_STRESS_FRAMES": str(frames),
        "RINGLANE_BIN": os.path.join(BUILD, "dataplane", "ringlane"),
        "RINGLANE_VMM_BIN": os.path.join(BUILD, "vmm", "ringlane-vmm"),
        "RINGLANE_NIC_GUEST": os.path.join(BUILD, "tests", "guest", "nic_guest.elf"),
    })
    env.pop("RINGLANE_TEST_REPORTS", None)
    test = os.path.join(ROOT, "tests", "integration", "test_vmm_switch.py")
    print(f"switch_stress: {a.switches} switches, the guest sends {frames} frames", flush=True)
    sys.exit(subprocess.call([sys.executable, test,
                              "LiveSwitch.test_many_switches_under_traffic_lose_nothing"],
                             env=env))


if __name__ == "__main__":
    main()
