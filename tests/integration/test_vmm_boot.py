"""ringlane-vmm boots the project's PVH test guest on this machine's KVM, and QEMU boots the same
ELF file, so the guest's behaviour is checked against a second implementation of the boot
protocol. Bad kernel images and arguments get a clear message and exit status 2, never a crash."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import report  # noqa: E402

VMM = os.environ.get("RINGLANE_VMM_BIN", "")
GUEST = os.environ.get("RINGLANE_PVH_HELLO", "")
USER_GUEST = os.environ.get("RINGLANE_PVH_USER", "")
GREETING = "ringlane-guest: hello from PVH entry\n"
# pvh_user sums 0 .. 10^7-1 in user mode: 49999995000000.
USER_OUTPUT = "ringlane-guest: long mode, CPL3\nringlane-guest: sum %016x\n" % sum(range(10**7))


def qemu(kernel):
    return subprocess.run(["qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-m", "64",
                           "-kernel", kernel, "-display", "none", "-serial", "stdio", "-nodefaults",
                           "-no-reboot"], capture_output=True, text=True, timeout=60)


def vmm(*args, timeout=30):
    return subprocess.run([VMM, *args], capture_output=True, text=True, timeout=timeout)


class VmmBoot(unittest.TestCase):
    def test_guest_boots_prints_and_resets(self):
        start = time.monotonic()
        r = vmm("--kernel", GUEST)
        elapsed = time.monotonic() - start
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, GREETING)
        self.assertIn("guest reset the machine", r.stderr)
        self.assertIn("0 unhandled", r.stderr)
        print(f"ringlane-vmm: process start to guest reset in {elapsed * 1000:.1f} ms")

    def test_console_to_a_file(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "console.log")
            r = vmm("--kernel", GUEST, "--serial", out, "--memory", "64")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "")
            with open(out) as f:
                self.assertEqual(f.read(), GREETING)

    def test_guest_memory_from_hugepages(self):
        # The nested guest (tests/lib/nested_kvm.py) and scripts/setup.sh reserve a 2 MiB pool.
        with open("/proc/sys/vm/nr_hugepages") as f:
            pool = int(f.read())
        self.assertGreaterEqual(pool, 32, "no 2 MiB hugepage pool to take guest memory from")
        r = vmm("--kernel", GUEST, "--memory", "64", "--hugepages")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, GREETING)
        r = vmm("--kernel", GUEST, "--memory", "63", "--hugepages")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not a multiple of 2 MiB", r.stderr)
        # More than the pool holds: refused at start with the reason, not a SIGBUS later.
        with open("/proc/meminfo") as f:
            free = next(int(line.split()[1]) for line in f if line.startswith("HugePages_Free"))
        if free * 2 + 2 <= 3072:
            r = vmm("--kernel", GUEST, "--memory", str(free * 2 + 2), "--hugepages")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("nr_hugepages", r.stderr)

    def test_boot_report(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "boot.json")
            before = time.monotonic_ns()
            r = vmm("--kernel", GUEST, "--boot-report", path)
            after = time.monotonic_ns()
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(path) as f:
                b = json.load(f)
            # One clock (CLOCK_MONOTONIC) on both sides, in the order things happened.
            self.assertLess(before, b["main_ns"])
            self.assertLess(b["main_ns"], b["first_entry_ns"])
            self.assertLess(b["first_entry_ns"], b["first_exit_ns"])
            self.assertLess(b["first_exit_ns"], after)
            self.assertGreater(b["rss_anon_kib"], 0)
            self.assertEqual(b["guest_memory_kib"], 256 * 1024)

    def test_qemu_boots_the_same_guest(self):
        r = qemu(GUEST)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, GREETING)

    def test_guest_reaches_long_mode_and_user_mode(self):
        # Page tables, long mode, a TSS with an I/O bitmap, iretq to CPL3, a loop there: the
        # state a real kernel builds, checked against QEMU's reading of the same ELF.
        r = vmm("--kernel", USER_GUEST)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, USER_OUTPUT)
        self.assertIn("0 unhandled", r.stderr)
        q = qemu(USER_GUEST)
        self.assertEqual(q.returncode, 0, q.stderr)
        self.assertEqual(q.stdout, USER_OUTPUT)

    def test_bad_kernel_images_are_refused(self):
        with tempfile.TemporaryDirectory() as d:
            cases = {
                "text.elf": (b"not an elf at all\n" * 10, "not an ELF file"),
                "empty.elf": (b"", "not an ELF file"),
                "truncated.elf": (open(GUEST, "rb").read()[:100], "kernel image"),
            }
            for name, (data, needle) in cases.items():
                path = os.path.join(d, name)
                with open(path, "wb") as f:
                    f.write(data)
                r = vmm("--kernel", path)
                self.assertEqual(r.returncode, 2, f"{name}: {r.stderr}")
                self.assertIn(needle, r.stderr, name)
            # A regular ELF without the PVH note: the loader says what is missing.
            r = vmm("--kernel", "/bin/true")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("kernel image", r.stderr)

    def test_bad_arguments_are_refused(self):
        for args in (["--kernel", "/nonexistent"], ["--kernel", GUEST, "--memory", "4"],
                     ["--kernel", GUEST, "--memory", "99999"], ["--kernel"], []):
            r = vmm(*args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stdout}{r.stderr}")
        r = vmm("--help")
        self.assertEqual(r.returncode, 0)
        for option in ("--kernel", "--memory", "--cmdline", "--serial", "Exit status"):
            self.assertIn(option, r.stdout)


if __name__ == "__main__":
    report.main("integration_vmm_boot", needs_kvm=True)
