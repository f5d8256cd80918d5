"""The guard in tests/lib/nested_kvm.py: a build whose instruction set the QEMU TCG guest cannot
execute (a -march=native build on a host with AVX-512) is refused before the guest boots, with the
cause and the fix named, instead of every test in the guest dying with SIGILL. The suite's own
build passes the same check."""
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import nested_kvm  # noqa: E402
import report  # noqa: E402


def fake_build(root, march):
    os.makedirs(os.path.join(root, "meson-info"))
    with open(os.path.join(root, "meson-info", "intro-buildoptions.json"), "w") as f:
        json.dump([{"name": "march", "value": march}, {"name": "buildtype", "value": "release"}], f)
    binary = os.path.join(root, "vmm", "ringlane-vmm")
    os.makedirs(os.path.dirname(binary))
    with open(binary, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(binary, 0o755)
    return binary


class NestedGuard(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rl-guard-")

    def test_native_build_is_refused_before_the_guest_boots(self):
        binary = fake_build(os.path.join(self.dir, "build"), "native")
        err = io.StringIO()
        with redirect_stderr(err):
            rc = nested_kvm.run(["python3", "test.py"], env={"RINGLANE_VMM_BIN": binary})
        self.assertEqual(rc, 126, err.getvalue())
        self.assertIn("-march=native", err.getvalue())
        self.assertIn("SIGILL", err.getvalue())
        self.assertIn("-Dmarch=x86-64-v3", err.getvalue())

    def test_binary_named_in_the_command_is_checked_too(self):
        binary = fake_build(os.path.join(self.dir, "build"), "skylake-avx512")
        self.assertEqual(len(nested_kvm.unrunnable_builds([binary, "--help"], {})), 1)

    def test_portable_build_passes(self):
        binary = fake_build(os.path.join(self.dir, "build"), "x86-64-v3")
        self.assertEqual(nested_kvm.unrunnable_builds([], {"RINGLANE_VMM_BIN": binary}), [])

    def test_the_suites_build_runs_in_the_guest(self):
        vmm = os.environ.get("RINGLANE_VMM_BIN", "")
        self.assertTrue(os.path.isfile(vmm), "RINGLANE_VMM_BIN not set by meson")
        self.assertEqual(nested_kvm.unrunnable_builds([], dict(os.environ)), [])


if __name__ == "__main__":
    report.main("integration_nested_guard")
