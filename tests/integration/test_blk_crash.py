"""ringlane serving a vhost-user-blk disk is killed with SIGKILL during a write-heavy run and
started again, 20 times (issue 13, acceptance point 5). A Linux guest (tests/lib/linux_guest.py,
QEMU TCG) runs blkverify (tests/guest_tools/blkverify.c) on /dev/vda: 8 writer threads, O_DIRECT
4 KiB writes to random blocks, each block carrying its number, a sequence number and a CRC, and
4 threads of 1 MiB reads beside them, so that requests complete out of order. QEMU
reconnects to the restarted backend (Disk(reconnect=1)); the guest must go on without a reboot,
and at the end every block written must hold its last acknowledged write, intact: no lost and no
torn acknowledged write, checked in the guest and again on the host's image file.

Each cycle waits for a progress line showing writes moving and writers in pwrite (a kill during
writes, not during a stall), kills ringlane by PID, starts it again with the same arguments and
waits until the guest's write counter moves again after QEMU reconnected; it prints how long
that took. The run ends with a stop request the host writes into the image's last block.

Before that, blkverify is checked on a host file: it must find a block torn and a write lost on
purpose (a check that cannot fail proves nothing).

Environment: RINGLANE_BIN, RINGLANE_BLKVERIFY (meson sets both), RINGLANE_BLK_CRASH_CYCLES (20),
RINGLANE_BLK_CRASH_SEED (random; printed), RINGLANE_BLK_CRASH_KEEP=1 keeps the work directory
(the image, every ringlane instance's log, the last summary)."""
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import linux_guest  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

BLKVERIFY = os.environ.get("RINGLANE_BLKVERIFY",
                           os.path.join(peers.ROOT, "build", "tests", "guest_tools", "blkverify"))
CYCLES = int(os.environ.get("RINGLANE_BLK_CRASH_CYCLES", "20"))
BLOCK = 4096
IMAGE_MIB = 64
DATA_BLOCKS = 4096                          # blkverify's --blocks; its state follows them
STOP_BLOCK = IMAGE_MIB * 256 - 1            # the image's last block: the host's stop request
STOP_MARK = b"BLKVERIFY STOP\n"
THREADS = 8
READERS = 4               # large reads beside the writes: completions out of order, and
READ_KIB = 1024           # more of ringlane's time with requests in flight when it is killed
# Generous for QEMU TCG on a busy machine; every wait fails with what it was waiting for.
BOOT_TIMEOUT = 240        # QEMU start to blkverify's first line
PROGRESS_TIMEOUT = 60     # between two progress lines (the guest prints four a second)
RESUME_TIMEOUT = 120      # a kill to the guest's writes advancing again
FINISH_TIMEOUT = 300      # the stop request to the verification's result
GUEST_TIMEOUT = BOOT_TIMEOUT + CYCLES * (RESUME_TIMEOUT + 30) + FINISH_TIMEOUT

PROGRESS_INTERVAL = 0.25  # blkverify's --interval
PROGRESS = re.compile(r"BLKVERIFY writes=(\d+) rate=(\d+) t=([\d.]+) inflight=(\d+)")
RESUBMITTED = re.compile(r"resubmitting (\d+) requests")
STATS_LINE = re.compile(r"^\s+(disk \S+:|[\d.]+s\s)")   # ringlane's --stats-interval lines
RESULT = re.compile(r"BLKVERIFY verified=(\d+) lost=(\d+) torn=(\d+) wrong=(\d+) pending=(\d+)"
                    r" unreadable=(\d+)")

GUEST_SCRIPT = f"""\
echo "BOOT_ID $(cat /proc/sys/kernel/random/boot_id)"
blkverify /dev/vda --blocks {DATA_BLOCKS} --threads {THREADS} --readers {READERS} \\
    --read-kib {READ_KIB} --seconds {GUEST_TIMEOUT} --interval {PROGRESS_INTERVAL} \\
    --stop-block {STOP_BLOCK} --drain-seconds 60 --save-state
rc=$?
echo "BOOT_ID_END $(cat /proc/sys/kernel/random/boot_id) uptime $(cut -d' ' -f1 /proc/uptime)"
exit $rc
"""


Progress = collections.namedtuple("Progress", "writes rate t inflight printed_at")


def result_counts(text):
    """blkverify's verdict as a dict, or None when it printed none."""
    found = RESULT.findall(text)
    if not found:
        return None
    names = ["verified", "lost", "torn", "wrong", "pending", "unreadable"]
    return dict(zip(names, map(int, found[-1])))


def run_blkverify(*args, timeout=120):
    return subprocess.run([BLKVERIFY, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def find_counter(doc, name):
    """Sum of every `name` in a JSON document (the summary's disks section), or None."""
    if isinstance(doc, dict):
        found = [doc[name]] if isinstance(doc.get(name), int) else []
        found += [v for v in (find_counter(x, name) for x in doc.values()) if v is not None]
    elif isinstance(doc, list):
        found = [v for v in (find_counter(x, name) for x in doc) if v is not None]
    else:
        return None
    return sum(found) if found else None


class Backend:
    """ringlane with one disk; start() and kill() again and again, same arguments each time."""

    def __init__(self, work, socket, image):
        self.work = work
        self.socket = socket
        self.image = image
        self.process = None
        self.instance = 0
        # Written only by an instance that stops cleanly: the last one.
        self.summary_path = os.path.join(work, "summary.json")

    def start(self):
        self.instance += 1
        argv = [peers.RINGLANE, "--cores", "1", "--stats-interval", "1",
                "--summary", self.summary_path,
                "--disk", f"name=d0,path={self.socket},file={self.image},mode=server"]
        self.process = peers.Process(argv, f"ringlane-{self.instance}", log_dir=self.work)
        peers.wait_for(lambda: "running:" in self.process.output() or not self.process.alive(),
                       30, f"ringlane instance {self.instance} to start")
        if not self.process.alive():
            raise RuntimeError(f"ringlane instance {self.instance} exited at start:\n"
                               + self.process.output()[-3000:])
        return self

    def connected(self):
        return "frontend connected" in self.process.output()

    def resubmitted(self):
        """Requests this instance took up again from the inflight region, by its log."""
        return sum(int(n) for n in RESUBMITTED.findall(self.process.output()))

    def kill(self):
        """SIGKILL by PID, no warning; reaped before returning."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process.kill()   # the group too, and off peers' cleanup list
        return self.process.proc.returncode

    def cleanup(self):
        if self.process is not None:
            self.process.kill()

    def tail(self, lines=25):
        """The log's last lines, statistics lines left out but for the last two."""
        if self.process is None:
            return ""
        log = self.process.output().splitlines()
        stats = [i for i, line in enumerate(log) if STATS_LINE.match(line)]
        drop = set(stats[:-2])
        keep = [line for i, line in enumerate(log) if i not in drop]
        return "\n".join(keep[-lines:])


class BlkverifyOnHost(unittest.TestCase):
    """The verifier itself, on a file: it passes an honest run and catches damage."""

    def setUp(self):
        if not os.access(BLKVERIFY, os.X_OK):
            self.skipTest(f"no blkverify at {BLKVERIFY} (ninja tests/guest_tools/blkverify)")
        self.work = tempfile.mkdtemp(prefix="rl-blkverify-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.image = os.path.join(self.work, "image")

    def fresh_image(self):
        with open(self.image, "wb") as f:
            f.truncate(IMAGE_MIB << 20)

    def test_honest_run_and_state_verify(self):
        self.fresh_image()
        run = run_blkverify(self.image, "--blocks", DATA_BLOCKS, "--seconds", 2, "--save-state")
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        counts = result_counts(run.stdout)
        self.assertGreater(counts["verified"], 0, run.stdout)
        self.assertEqual([counts[k] for k in ("lost", "torn", "wrong")], [0, 0, 0])
        again = run_blkverify(self.image, "--blocks", DATA_BLOCKS, "--verify-only")
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        self.assertEqual(result_counts(again.stdout), counts)

    def test_catches_a_torn_block(self):
        self.fresh_image()
        run = run_blkverify(self.image, "--blocks", DATA_BLOCKS, "--seconds", 1, "--corrupt-one")
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        counts = result_counts(run.stdout)
        self.assertEqual((counts["torn"], counts["lost"], counts["wrong"]), (1, 0, 0), run.stdout)

    def test_catches_a_lost_write(self):
        self.fresh_image()
        run = run_blkverify(self.image, "--blocks", DATA_BLOCKS, "--seconds", 1, "--lose-one")
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        counts = result_counts(run.stdout)
        self.assertEqual((counts["lost"], counts["torn"], counts["wrong"]), (1, 0, 0), run.stdout)

    def test_verify_only_catches_damage_to_the_image(self):
        self.fresh_image()
        # 8 blocks, 500 writes: every block written, block 5 too.
        run = run_blkverify(self.image, "--blocks", 8, "--threads", 1, "--writes", 500,
                            "--save-state")
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertEqual(result_counts(run.stdout)["verified"], 8, run.stdout)
        with open(self.image, "r+b") as f:   # half a block of zeros: a torn write
            f.seek(5 * BLOCK + BLOCK // 2)
            f.write(bytes(BLOCK // 2))
        check = run_blkverify(self.image, "--blocks", 8, "--verify-only")
        self.assertEqual(check.returncode, 1, check.stdout + check.stderr)
        self.assertEqual(result_counts(check.stdout)["torn"], 1, check.stdout)

    def test_stop_block_ends_the_run(self):
        self.fresh_image()
        argv = [self.image, "--blocks", DATA_BLOCKS, "--seconds", 600, "--stop-block",
                STOP_BLOCK]
        proc = subprocess.Popen([BLKVERIFY, *map(str, argv)], stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(1.5)
            request_stop(self.image)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn("BLKVERIFY stop requested", out)


def request_stop(image):
    """Asks blkverify to stop through the disk's last block (it reads it with O_DIRECT)."""
    fd = os.open(image, os.O_WRONLY)
    try:
        os.pwrite(fd, STOP_MARK.ljust(BLOCK, b"\0"), STOP_BLOCK * BLOCK)
        os.fsync(fd)
    finally:
        os.close(fd)


class BlkCrash(unittest.TestCase):
    def setUp(self):
        for path in (peers.RINGLANE, BLKVERIFY):
            if not os.access(path, os.X_OK):
                self.skipTest(f"{path} is not built")
        if reason := linux_guest.unavailable():
            self.skipTest(reason)
        self.work = tempfile.mkdtemp(prefix="rl-blk-crash-", dir="/var/tmp")
        if os.environ.get("RINGLANE_BLK_CRASH_KEEP"):
            print(f"blk_crash: keeping {self.work} (image, ringlane logs, summaries)", flush=True)
        else:
            self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)

    def test_sigkill_restarts_during_verified_writes(self):
        seed = int(os.environ.get("RINGLANE_BLK_CRASH_SEED", random.randrange(1 << 32)))
        rng = random.Random(seed)
        print(f"blk_crash: {CYCLES} cycles, seed {seed}", flush=True)
        image = os.path.join(self.work, "disk.img")
        with open(image, "wb") as f:
            f.truncate(IMAGE_MIB << 20)
        self.backend = Backend(self.work, os.path.join(self.work, "d0.sock"), image)
        self.addCleanup(self.backend.cleanup)
        self.backend.start()
        self.recent = collections.deque(maxlen=10)   # the guest's last progress lines
        self.offset = float("inf")   # see progress()

        self.guest = linux_guest.LinuxGuest(
            GUEST_SCRIPT, disks=[linux_guest.Disk(socket=self.backend.socket, reconnect=1)],
            extra_binaries=[BLKVERIFY], memory_mib=512, cpus=2, timeout=GUEST_TIMEOUT,
            echo="[guest] ")
        started = time.monotonic()
        cycles = []
        with self.guest:
            try:
                self.guest.wait_for_line("BLKVERIFY start", timeout=BOOT_TIMEOUT)
                boot = time.monotonic() - started
                print(f"blk_crash: guest booted, blkverify started after {boot:.1f} s",
                      flush=True)
                self.resumed_after(0, "the first writes")
                for i in range(CYCLES):
                    cycles.append(self.cycle(i + 1, rng))
                # The last cycle saw writes on the last instance; now the stop request,
                # through the disk.
                request_stop(image)
                verdict = self.guest.wait_for_line("BLKVERIFY verified=", timeout=FINISH_TIMEOUT)
            except linux_guest.GuestError as e:
                self.fail(f"{e}{self.context()}")
            result = self.guest.finish(timeout=FINISH_TIMEOUT)
        total = time.monotonic() - started

        summary = None
        rc = self.backend.process.stop(signal.SIGINT, timeout=20)
        if rc == 0 and os.path.exists(self.backend.summary_path):
            with open(self.backend.summary_path) as f:
                summary = json.load(f)
        self.assertEqual(rc, 0, f"the last ringlane exited {rc}:\n{self.backend.tail()}")

        resumes = [c["resumed"] for c in cycles]
        caught = [c["resubmitted"] for c in cycles if c["resubmitted"]]
        print(f"blk_crash: boot {boot:.1f} s; kill to guest writes again: min "
              f"{min(resumes):.1f} s, mean {sum(resumes) / len(resumes):.1f} s, max "
              f"{max(resumes):.1f} s; {total:.0f} s in all", flush=True)
        print(f"blk_crash: {len(caught)} of {len(cycles)} kills left requests in flight at "
              f"ringlane; {sum(caught)} resubmitted in all (by the instances' logs)", flush=True)
        print(f"blk_crash: guest: {verdict.strip()}", flush=True)
        if summary is not None:
            disks = summary.get("disks", [])
            print("blk_crash: last instance's disk totals: "
                  f"{json.dumps(disks[0]['totals'] if disks else None)}", flush=True)
            print(f"blk_crash: resubmitted (the last instance's summary): "
                  f"{find_counter(disks, 'resubmitted')}", flush=True)

        self.assertEqual(len(cycles), CYCLES)
        self.assertIsNotNone(result.status, f"{result.reason}{self.context()}")
        boots = re.findall(r"^BOOT_ID (\S+)", result.output, re.M)
        ends = re.findall(r"^BOOT_ID_END (\S+)", result.output, re.M)
        self.assertEqual(len(boots), 1, f"the guest booted {len(boots)} times")
        self.assertEqual(ends, boots, "the guest's boot changed under blkverify")
        counts = result_counts(result.output)
        self.assertIsNotNone(counts, result.output[-3000:])
        self.assertGreater(counts["verified"], 0, verdict)
        self.assertEqual((counts["lost"], counts["torn"], counts["wrong"], counts["unreadable"]),
                         (0, 0, 0, 0), verdict)
        self.assertEqual(result.status, 0, result.output[-3000:])

        # The image itself, with the guest gone: the same rules on the acknowledged state that
        # blkverify saved after its data blocks.
        host = run_blkverify(image, "--blocks", DATA_BLOCKS, "--verify-only")
        print(f"blk_crash: host: {host.stdout.strip().splitlines()[-1]}", flush=True)
        self.assertEqual(host.returncode, 0, host.stdout + host.stderr)
        self.assertEqual(result_counts(host.stdout), counts)

    def cycle(self, n, rng):
        """One kill and restart during writes; returns its timing."""
        # A kill during writes: the last line shows the counter moving and writers in pwrite.
        line = self.progress()
        for _ in range(int(RESUME_TIMEOUT / PROGRESS_INTERVAL)):
            if line.rate > 0 and line.inflight > 0:
                break
            line = self.progress()
        else:
            self.fail(f"cycle {n}: no writes to interrupt{self.context()}")
        time.sleep(rng.uniform(0, 0.5))
        self.assertTrue(self.backend.process.alive(),
                        f"ringlane died on its own before kill {n}{self.context()}")
        killed_at = time.monotonic()
        self.backend.kill()
        self.backend.start()
        up = time.monotonic() - killed_at
        try:
            peers.wait_for(lambda: self.backend.connected() or not self.backend.process.alive(),
                           RESUME_TIMEOUT, f"cycle {n}: QEMU to reconnect")
        except TimeoutError as e:
            self.fail(f"{e}{self.context()}")
        self.assertTrue(self.backend.process.alive(),
                        f"ringlane instance {self.backend.instance} died{self.context()}")
        connected_at = time.monotonic()
        resumed_at, writes = self.resumed_after(connected_at, f"cycle {n}")
        timing = {"up": up, "connected": connected_at - killed_at,
                  "resumed": resumed_at - killed_at, "resubmitted": self.backend.resubmitted()}
        print(f"blk_crash: cycle {n}/{CYCLES}: killed at about {line.writes} writes; ringlane "
              f"up {timing['up']:.2f} s, QEMU connected {timing['connected']:.2f} s, guest "
              f"writes again {timing['resumed']:.2f} s after the kill ({writes} writes); "
              f"{timing['resubmitted']} requests resubmitted", flush=True)
        return timing

    def progress(self):
        """The guest's next progress line, with printed_at: when the guest printed it, in this
        process's time.monotonic() (the guest's t plus the smallest delay seen so far: lines
        that waited in the console because the test was busy elsewhere do not count late)."""
        text = self.guest.wait_for_line("BLKVERIFY writes=", timeout=PROGRESS_TIMEOUT)
        self.recent.append(text)
        m = PROGRESS.search(text)
        self.assertIsNotNone(m, f"unparsable progress line {text!r}")
        t = float(m.group(3))
        self.offset = min(self.offset, time.monotonic() - t)
        return Progress(writes=int(m.group(1)), rate=int(m.group(2)), t=t,
                        inflight=int(m.group(4)), printed_at=t + self.offset)

    def resumed_after(self, since, what):
        """Waits until two progress lines printed after `since` (time.monotonic()) show the
        write counter moving, so writes completed after then; returns when the second was
        printed and its count. Fails after RESUME_TIMEOUT."""
        deadline = time.monotonic() + RESUME_TIMEOUT
        first = None
        while True:
            line = self.progress()
            if line.printed_at > since:
                if first is not None and line.writes > first.writes:
                    return line.printed_at, line.writes
                first = first or line
            if time.monotonic() > deadline:
                self.fail(f"{what}: the guest's writes stuck at {line.writes} for "
                          f"{RESUME_TIMEOUT} s{self.context()}")

    def context(self):
        """For a failure's message (the whole console is on stdout already, echoed)."""
        return (f"\n--- ringlane instance {self.backend.instance}, its last lines ---\n"
                f"{self.backend.tail()}\n--- the guest's last progress lines ---\n"
                + "\n".join(self.recent))


if __name__ == "__main__":
    report.main("integration_blk_crash")
