"""What the integration tests with Linux guests share: why one cannot run here, the cases that
share one boot of their guests, and netxfer's closing line (tests/guest_tools/netxfer.c)."""
import os
import re
import unittest

import linux_guest
import peers

NETXFER_RESULT = re.compile(r"NETXFER (sent|received) bytes=(\d+) sha256=([0-9a-f]{64})"
                            r"(?: seconds=([\d.]+) mbps=([\d.]+))?")


def transfer_line(text, what):
    """(bytes, sha256, seconds, mbps) of netxfer's closing line `what` (sent/received), or None.
    Compare two ends by [:2]: the times are each end's own."""
    for m in NETXFER_RESULT.finditer(text):
        if m.group(1) == what:
            seconds = float(m.group(4)) if m.group(4) else None
            mbps = float(m.group(5)) if m.group(5) else None
            return int(m.group(2)), m.group(3), seconds, mbps
    return None


def missing(programs=(), root_for="needs root"):
    """Why a test with Linux guests cannot run here, or None: not root, ringlane not built, one of
    `programs` ((path, what to say when it is missing) pairs) not there, no guest kernel."""
    if os.geteuid() != 0:
        return root_for
    if not os.access(peers.RINGLANE, os.X_OK):
        return f"{peers.RINGLANE} is not built"
    for path, why in programs:
        if not os.access(path, os.X_OK):
            return why
    return linux_guest.unavailable()


class SharedBootCase(unittest.TestCase):
    """Cases that share one boot of their guests and run in order (unittest sorts them by name).
    A subclass sets `programs` (for missing()) and defines the classmethod start_all(), run once
    before the first case. Skips and the set-up happen in setUp, not setUpClass: tests/lib/report.py
    records cases by method, and a class-level error has none."""
    programs = ()
    set_up = None   # None before the first case; then True, or why the set-up failed

    def setUp(self):
        if reason := missing(self.programs):
            self.skipTest(reason)
        cls = type(self)
        if cls.set_up is None:
            cls.set_up = "it raised"
            cls.start_all()
            cls.set_up = True
        if cls.set_up is not True:
            self.fail(f"the set-up failed in an earlier case: {cls.set_up}")
