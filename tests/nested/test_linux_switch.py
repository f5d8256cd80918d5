"""The short form of linux_switch.py: the Debian kernel under ringlane-vmm (nested, in a QEMU TCG
guest, on every machine) fetches 8 MiB over TCP while its virtio-net card switches live 10 times
between the VMM's TAP backend and ringlane; the bytes must arrive with the sender's MD5, every
switch must answer 200 and ringlane-vmm must exit 0. The long form (64 MiB, 50 switches):
python3 tests/nested/linux_switch.py."""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import nested_kvm  # noqa: E402
import report  # noqa: E402

SCRIPT = os.path.join(HERE, "linux_switch.py")
VMM = os.environ.get("RINGLANE_VMM_BIN") or os.path.join(ROOT, "build", "vmm", "ringlane-vmm")
RINGLANE = os.environ.get("RINGLANE_BIN") or os.path.join(ROOT, "build", "dataplane", "ringlane")
WORK = os.environ.get("RINGLANE_NESTED_WORK")
SWITCHES = 10
MEGABYTES = 8


class LinuxSwitch(unittest.TestCase):
    def test_tcp_transfer_arrives_whole_across_live_switches(self):
        problems = nested_kvm.unrunnable_builds([VMM, RINGLANE], {})
        if problems:
            self.skipTest(" ".join(problems))
        argv = [sys.executable, SCRIPT, "--switches", str(SWITCHES), "--megabytes",
                str(MEGABYTES), "--vmm", VMM, "--ringlane", RINGLANE, "--timeout", "400"]
        if WORK:
            argv += ["--workdir", WORK]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        findings = []
        for line in proc.stdout:
            print(line, end="", flush=True)
            if "FAIL" in line or "checksum:" in line or "switches:" in line:
                findings.append(line.strip())
        rc = proc.wait()
        self.assertEqual(rc, 0, "\n".join(findings))


if __name__ == "__main__":
    report.main("nested_linux_switch")
