"""ringlane-ctl against a running ringlane-vmm: the test guest (tests/guest/nic_guest.elf) boots
with a virtio-net card on a TAP device in a network namespace and waits for frames that never
come, so the VM stays up while ringlane-ctl reads its state, lists its NICs and is refused what
it cannot do, each time with a clear message and its documented exit status (0 done,
1 refused by ringlane-vmm, 2 bad command line, 3 no answer). Malformed HTTP sent straight to the
API socket gets an error status with a JSON body, counts as a bad request, and leaves the VMM
running. Without /dev/kvm here the whole test runs in a QEMU TCG guest with nested KVM
(tests/lib/nested_kvm.py). The same checks also run against api_stand_in (the VMM's API code
without a machine), so the client and the HTTP server are tested apart from the VM too."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
import vmm_api  # noqa: E402

CTL = os.environ.get("RINGLANE_CTL_BIN", "")
VMM = os.environ.get("RINGLANE_VMM_BIN", "")
GUEST = os.environ.get("RINGLANE_NIC_GUEST", "")
STAND_IN = os.environ.get("RINGLANE_API_STAND_IN", "")


def ctl(*args, timeout=20):
    return subprocess.run([CTL, *args], capture_output=True, text=True, timeout=timeout)


def raw_request(path, data, shut_write=False, timeout=10):
    """Sends `data` as it is and returns (status code, parsed JSON body) of the answer."""
    reply = vmm_api.exchange(path, data, timeout, shut_write)
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n")[0].decode()
    assert status_line.startswith("HTTP/1.1 "), reply
    return int(status_line.split(" ")[1]), json.loads(body)


class CtlChecks:
    """The checks, against whatever setUpClass started: `api` is its API socket, `server` the
    process serving it."""
    api = None
    server = None
    dir = None

    def setUp(self):
        self.assertTrue(self.server.alive(), self.server.output())

    def tearDown(self):
        self.assertTrue(self.server.alive(), self.server.output())

    def ok(self, *args):
        r = ctl("--api-sock", self.api, *args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout

    def refused(self, status, *args, sock=None):
        r = ctl("--api-sock", sock or self.api, *args)
        self.assertEqual(r.returncode, status, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertTrue(r.stderr.startswith("ringlane-ctl: ") or status == 2, r.stderr)
        return r.stderr

    def vm_json(self):
        return json.loads(self.ok("--json", "vm", "status"))

    # --- the commands -----------------------------------------------------------------------

    def test_help_tells_the_truth(self):
        r = ctl("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for text in ("--api-sock", "--json", "--timeout", "vm status", "vm nics",
                     "vm set-mode NAME MODE", "virtio", "vhost", "Exit status: 0 done, 1",
                     "2 bad command line", "3 no answer"):
            self.assertIn(text, r.stdout)
        r = ctl("vm", "set-mode", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("NAME", r.stdout)
        self.assertIn("virtio or vhost", r.stdout)

    def test_status(self):
        out = self.ok("vm", "status")
        print(out)
        lines = dict(line.split(":", 1) for line in out.splitlines())
        self.assertEqual(lines["state"].strip(), "running")
        self.assertEqual(lines["vcpus"].strip(), "1")
        self.assertEqual(lines["memory"].strip(), "256 MiB")
        self.assertRegex(lines["exits"], r"^\s+\d+ \(port I/O \d+, MMIO \d+, unhandled port I/O "
                                         r"\d+, unhandled MMIO \d+\)$")
        self.assertRegex(lines["api requests"], r"^\s+\d+ \(\d+ bad\)$")

    def test_status_json(self):
        vm = self.vm_json()
        self.assertEqual(vm["state"], "running")
        self.assertEqual(vm["memory_mib"], 256)
        self.assertGreater(vm["exits"]["total"], 0)
        self.assertGreaterEqual(vm["api_requests"], 1)
        self.assertIn("api_bad_requests", vm)

    def test_nics_table(self):
        out = self.ok("vm", "nics")
        print(out)
        header, *rows = out.splitlines()
        self.assertEqual(header.split(), ["NAME", "MODE", "MODEL", "MAC", "ACTIVE", "RX_FRAMES",
                                          "TX_FRAMES", "RX_BYTES", "TX_BYTES", "DROPS"])
        self.assertEqual(len(rows), 1)
        cells = rows[0].split()
        self.assertEqual(cells[:5], ["net0", "virtio", "virtio-net", "52:54:00:12:34:56", "yes"])
        self.assertTrue(all(c.isdigit() for c in cells[5:]), rows[0])

    def test_nics_json_also_after_the_command(self):
        for args in (["--json", "vm", "nics"], ["vm", "nics", "--json"]):
            nics = json.loads(self.ok(*args))["nics"]
            self.assertEqual(len(nics), 1)
            self.assertEqual(nics[0]["name"], "net0")
            self.assertEqual(nics[0]["mode"], "virtio")
            self.assertTrue(nics[0]["active"])
            self.assertIn("rx_frames", nics[0]["counters"])

    def test_set_mode_to_the_current_mode(self):
        self.assertEqual(self.ok("vm", "set-mode", "net0", "virtio"),
                         "net0: mode virtio (virtio-net, 52:54:00:12:34:56)\n")
        self.assertEqual(json.loads(self.ok("--json", "vm", "set-mode", "net0", "virtio"))["mode"],
                         "virtio")

    def test_set_mode_to_an_invalid_mode(self):
        before = self.vm_json()["api_requests"]
        err = self.refused(2, "vm", "set-mode", "net0", "e1000")
        self.assertIn("MODE", err)
        self.assertIn("e1000", err)
        self.assertIn("virtio", err)
        self.assertIn("vhost", err)
        # Refused before asking: only the status request itself reached the VMM.
        self.assertEqual(self.vm_json()["api_requests"], before + 1)

    def test_set_mode_vhost_without_a_socket(self):
        bad = self.vm_json()["api_bad_requests"]
        err = self.refused(1, "vm", "set-mode", "net0", "vhost")
        self.assertIn("net0 has no socket= for vhost mode", err)
        self.assertIn("(HTTP 400)", err)
        nics = json.loads(self.ok("--json", "vm", "nics"))["nics"]
        self.assertEqual(nics[0]["mode"], "virtio")
        self.assertEqual(self.vm_json()["api_bad_requests"], bad + 1)

    def test_set_mode_on_an_unknown_nic(self):
        err = self.refused(1, "vm", "set-mode", "net7", "vhost")
        self.assertEqual(err, "ringlane-ctl: no NIC named 'net7' (HTTP 404)\n")
        err = self.refused(2, "vm", "set-mode", "net0/x", "vhost")
        self.assertIn("NIC name 'net0/x'", err)

    def test_missing_socket(self):
        path = os.path.join(self.dir, "nothing-here.sock")
        err = self.refused(3, "vm", "status", sock=path)
        self.assertEqual(err, f"ringlane-ctl: cannot connect to API at {path}: "
                              "No such file or directory\n")

    def test_socket_nobody_listens_on(self):
        path = os.path.join(self.dir, "dead.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        err = self.refused(3, "vm", "nics", sock=path)
        self.assertEqual(err, f"ringlane-ctl: cannot connect to API at {path}: "
                              "Connection refused\n")

    def test_timeout(self):
        path = os.path.join(self.dir, "silent.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.bind(path)
        s.listen(4)  # the kernel accepts; nobody answers
        start = time.monotonic()
        err = self.refused(3, "--timeout", "0.5", "vm", "status", sock=path)
        took = time.monotonic() - start
        self.assertEqual(err, f"ringlane-ctl: no answer from API at {path} within "
                              "0.5 s\n")
        self.assertGreaterEqual(took, 0.5)
        self.assertLess(took, 5)

    def test_usage_errors(self):
        for args in ([], ["--api-sock", self.api], ["--api-sock", self.api, "vm"],
                     ["vm", "status"], ["--api-sock", self.api, "vm", "reboot"],
                     ["--api-sock", self.api, "vm", "set-mode", "net0"],
                     ["--api-sock", self.api, "--timeout", "0", "vm", "status"]):
            r = ctl(*args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stdout} {r.stderr}")
            self.assertNotEqual(r.stderr, "", args)

    # --- the API socket itself ----------------------------------------------------------------

    def test_malformed_http_gets_an_error_and_the_vmm_carries_on(self):
        before = self.vm_json()
        cases = [
            (b"GARBAGE\r\n\r\n", 400, "malformed request line"),
            (b"GET /vm\r\n\r\n", 400, "malformed request line"),
            (b"GET vm HTTP/1.1\r\n\r\n", 400, "malformed request line"),
            (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400, "malformed request line"),
            (b"GET /vm HTTP/1.1\nHost: x\n\n", 400, "malformed request line"),
            (b"GET /vm HTTP/1.1\r\nHost localhost\r\n\r\n", 400, "malformed header"),
            (b"PUT /vm/nics/net0 HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400,
             "bad Content-Length"),
            (b"PUT /vm/nics/net0 HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
             400, "bad Content-Length"),
            (b"PUT /vm/nics/net0 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
             "Transfer-Encoding"),
            (b"PUT /vm/nics/net0 HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n", 413,
             "larger than 64 KiB"),
            (b"GET /vm HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431, "larger than 8 KiB"),
            (b"POST /vm HTTP/1.1\r\n\r\n", 405, "GET only"),
            (b"GET /vm HTTP/2.0\r\n\r\n", 505, "only HTTP/1.1"),
            (b"PUT /vm/nics/net0 HTTP/1.1\r\nContent-Length: 5\r\n\r\n{\"mo", 400, "incomplete"),
        ]
        for data, status, needle in cases:
            with self.subTest(data=data[:40]):
                got, body = raw_request(self.api, data, shut_write=True)
                self.assertEqual(got, status, body)
                self.assertIn(needle, body["fault_message"])
        # A request that stops halfway, its connection still open: 408 after the 5 s budget.
        start = time.monotonic()
        got, body = raw_request(self.api, b"GET /vm HTTP/1.1\r\nHost: x\r\n")
        self.assertEqual((got, body), (408, {"fault_message": "no complete request within 5 s"}))
        self.assertGreater(time.monotonic() - start, 4.5)
        # Resource-level refusals are JSON errors too.
        got, body = raw_request(self.api, b"PUT /vm/nics/net0 HTTP/1.1\r\nContent-Length: 5\r\n"
                                          b"\r\n{\"mo}")
        self.assertEqual(got, 400)
        self.assertIn("JSON object", body["fault_message"])
        got, body = raw_request(self.api, b"GET /vm/disks HTTP/1.1\r\n\r\n")
        self.assertEqual((got, body), (404, {"fault_message": "no resource /vm/disks"}))
        # A connection that says nothing is not a request.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.api)
        s.close()

        self.assertTrue(self.server.alive(), self.server.output())
        after = self.vm_json()
        self.assertEqual(after["state"], "running")
        refused = len(cases) + 3
        self.assertEqual(after["api_bad_requests"] - before["api_bad_requests"], refused)
        self.assertEqual(after["api_requests"] - before["api_requests"], refused + 1)


class WithVmm(CtlChecks, unittest.TestCase):
    """ringlane-vmm with the test guest and a virtio-net card on a TAP in a network namespace."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="rl-ctl-")
        cls.ns = netns.NetNamespace("rlctl")
        cls.addClassCleanup(cls.ns.close)
        cls.ns.add_tap("tap0")
        cls.api = os.path.join(cls.dir, "api.sock")
        # recv=: the guest polls its NIC for frames nobody sends, until the test kills the VMM.
        cls.server = peers.Process(cls.ns.argv(
            VMM, "--kernel", GUEST, "--api-sock", cls.api, "--nic", "mode=virtio,tap=tap0",
            "--cmdline", "send=0 recv=1000000000"), "ringlane-vmm", log_dir=cls.dir)
        cls.addClassCleanup(cls.server.kill)
        peers.wait_for(lambda: os.path.exists(cls.api) or not cls.server.alive(), 10,
                       "the API socket")
        peers.wait_for(lambda: "ringlane-guest: nic" in cls.server.output()
                       or not cls.server.alive(), 10, "the guest's driver")
        if not cls.server.alive():
            raise RuntimeError("ringlane-vmm exited:\n" + cls.server.output())


class WithStandIn(CtlChecks, unittest.TestCase):
    """The same checks against api_stand_in: ringlane-vmm's VmApi and ApiSocket with a stand-in
    NIC and no virtual machine, so the client and the HTTP server are tested without KVM too."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="rl-ctl-")
        cls.api = os.path.join(cls.dir, "api.sock")
        cls.server = peers.Process([STAND_IN, cls.api], "api-stand-in", log_dir=cls.dir)
        cls.addClassCleanup(cls.server.kill)
        peers.wait_for(lambda: "ready" in cls.server.output() or not cls.server.alive(), 10,
                       "the stand-in's API socket")
        if not cls.server.alive():
            raise RuntimeError("api_stand_in exited:\n" + cls.server.output())


if __name__ == "__main__":
    report.main("integration_ctl", needs_kvm=True)
