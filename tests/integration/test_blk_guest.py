"""ringlane's vhost-user-blk disks under a real Linux guest (issue 13's acceptance points 1, 2, 3,
4, 6 and 7). Each test starts ringlane, boots one guest in QEMU/TCG
(tests/lib/linux_guest.py: virtio_blk over vhost-user-blk-pci, busybox's applets) that runs a
script and powers off, then checks what the guest printed, the image file on the host and
ringlane's JSON summary and log:

- test_whole_disk_pattern (1): a random pattern written with O_DIRECT over the whole disk, read
  back and compared in the guest; the host's image holds exactly it (sha256).
- test_ext2_filesystem (2): busybox mke2fs, mounted through the ext4 driver, a text file and 4 MiB
  of random data written, unmounted; on the host `e2fsck -fn` passes and debugfs reads both back.
  The worker runs with --idle-sleep-us and must have slept.
- test_discard_punches_a_hole (3): blkdiscard of 8 MiB in the middle of an allocated image frees
  that much of the file (st_blocks) and the range reads zeros; the rest is untouched.
- test_readonly_disk (4): a `readonly` disk is read-only in the guest (blockdev --getro 1), a
  write fails and changes nothing, reads return the image.
- test_disks_and_ports_on_one_worker (6): two disks with 2 queues each and two cross-connected net
  ports on one worker: arping from eth0 to eth1's address through ringlane while O_DIRECT writes
  and verifying reads run on both queues of both disks (taskset to each vCPU; blk-mq maps vCPU n
  to queue n).
- test_writeback_toggle (7, the cache half): the guest switches cache_type from "write back" to
  "write through", ringlane logs it and reports "writeback": false, and writes still land.
- test_capacity_change_reaches_the_guest (7, the capacity half): the image grows under a running
  guest, SIGUSR1 to ringlane, the guest sees the new size and writes into the new sectors.

Environment: RINGLANE_BIN (meson sets it; build/dataplane/ringlane by default)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import linux_guest  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402

MIB = 1 << 20
GUEST_TIMEOUT = 300   # one guest run, boot included, on a busy machine under TCG


sha256_file = linux_guest.sha256_file
value = linux_guest.output_value


def disk_summary(summary, name):
    for d in summary["disks"]:
        if d["name"] == name:
            return d
    raise AssertionError(f"no disk {name} in the summary: {[d['name'] for d in summary['disks']]}")


def assert_no_errors(test, disk):
    test.assertEqual(disk["totals"]["errors"], {k: 0 for k in disk["totals"]["errors"]},
                     f"{disk['name']}: errors")
    test.assertEqual(disk["totals"]["ring_errors"], 0, f"{disk['name']}: ring errors")


class BlkGuest(unittest.TestCase):
    def setUp(self):
        if not os.access(peers.RINGLANE, os.X_OK):
            self.skipTest(f"{peers.RINGLANE} is not built")
        if reason := linux_guest.unavailable():
            self.skipTest(reason)
        # Not tmpfs: the images are opened with O_DIRECT and holes are punched in them.
        self.work = tempfile.mkdtemp(prefix="rl-blk-guest-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.ringlane = None

    # --- helpers ---------------------------------------------------------------------------

    def image(self, name, mib, data=None):
        """An image file of `mib` MiB: sparse, or holding `data` (then written out and synced)."""
        path = os.path.join(self.work, name)
        with open(path, "wb") as f:
            if data is None:
                f.truncate(mib * MIB)
            else:
                assert len(data) == mib * MIB
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        return path

    def start(self, disks, ports=(), flags=()):
        """ringlane on one core with `disks` (--disk specs without path=: name, file and options),
        `ports` (names) and other `flags`; returns {name: socket path}."""
        sockets = {}
        extra = list(flags)
        for spec in disks:
            name = re.search(r"name=([^,]+)", spec).group(1)
            sockets[name] = os.path.join(self.work, f"{name}.sock")
            extra += ["--disk", f"{spec},path={sockets[name]}"]
        port_list = []
        for name in ports:
            sockets[name] = os.path.join(self.work, f"{name}.sock")
            port_list.append({"name": name, "path": sockets[name]})
        self.ringlane = peers.Ringlane(port_list, cores="1", extra=extra, workdir=self.work)
        self.addCleanup(self.ringlane.kill)
        for name in sockets:
            peers.wait_for(lambda: os.path.exists(sockets[name]), 10,
                           f"ringlane to listen on {sockets[name]}")
        return sockets

    def guest(self, script, disks=(), nets=(), cpus=2):
        """Runs `script` in a guest; fails unless it exits 0. Returns the GuestResult."""
        g = linux_guest.LinuxGuest(script, disks=disks, nets=nets, cpus=cpus,
                                   timeout=GUEST_TIMEOUT, echo="[guest] ")
        result = g.run()
        print(f"blk_guest: {self._testMethodName}: guest booted in "
              f"{result.boot_seconds or 0:.1f} s, {result.seconds:.1f} s in all", flush=True)
        self.assertIsNotNone(result.status, f"{result.reason}\n{result.console[-3000:]}"
                             f"{self.log_tail()}")
        self.assertEqual(result.status, 0, f"the guest script failed:\n{result.output[-3000:]}"
                         f"{self.log_tail()}")
        return result

    def stop(self):
        """SIGINT to ringlane; its JSON summary (it must exit 0)."""
        return self.ringlane.stop()

    def log(self):
        return self.ringlane.process.output()

    def log_tail(self, lines=20):
        if self.ringlane is None:
            return ""
        return "\n--- ringlane's log ---\n" + "\n".join(self.log().splitlines()[-lines:])

    # --- 1. the whole disk with O_DIRECT ----------------------------------------------------

    def test_whole_disk_pattern(self):
        mib = 16
        img = self.image("d0.img", mib)
        socks = self.start([f"name=d0,file={img}"])
        script = """\
set -e
size=$(blockdev --getsize64 /dev/vda)
echo SIZE=$size
dd if=/dev/urandom of=/tmp/pattern bs=1M count=$((size / 1048576)) iflag=fullblock status=none
echo PATTERN_BYTES=$(stat -c %s /tmp/pattern)
dd if=/tmp/pattern of=/dev/vda bs=1M oflag=direct status=none
dd if=/dev/vda of=/tmp/readback bs=128k iflag=direct status=none
cmp /tmp/pattern /tmp/readback
echo CMP=same
echo WROTE=$(sha256sum < /tmp/pattern | cut -d' ' -f1)
echo READ=$(sha256sum < /tmp/readback | cut -d' ' -f1)
"""
        result = self.guest(script, disks=[linux_guest.Disk(socks["d0"])])
        summary = self.stop()
        out = result.output
        self.assertEqual(value(out, "SIZE"), str(mib * MIB))
        self.assertEqual(value(out, "PATTERN_BYTES"), str(mib * MIB))
        self.assertEqual(value(out, "CMP"), "same")
        wrote = value(out, "WROTE")
        self.assertRegex(wrote or "", r"^[0-9a-f]{64}$")
        self.assertEqual(value(out, "READ"), wrote)
        self.assertEqual(os.path.getsize(img), mib * MIB)
        self.assertEqual(sha256_file(img), wrote, "the image does not hold what the guest wrote")
        d0 = disk_summary(summary, "d0")
        assert_no_errors(self, d0)
        self.assertGreaterEqual(d0["totals"]["bytes_written"], mib * MIB)
        self.assertGreaterEqual(d0["totals"]["bytes_read"], mib * MIB)
        self.assertGreater(d0["totals"]["requests"]["out"], 0)

    # --- 2. a filesystem ---------------------------------------------------------------------

    def test_ext2_filesystem(self):
        for tool in ("e2fsck", "debugfs"):
            if shutil.which(tool) is None:
                self.skipTest(f"no {tool} (e2fsprogs; scripts/setup.sh installs it)")
        img = self.image("d0.img", 32)
        # The worker sleeps whenever it finds nothing to do for 20 us: the filesystem's I/O
        # must come through all the same.
        socks = self.start([f"name=d0,file={img}"], flags=["--idle-sleep-us", "20"])
        text = "ringlane vhost-user-blk: hello from an ext2 in the guest"
        script = f"""\
set -e
mke2fs -L ringlane /dev/vda
mount -t ext4 /dev/vda /mnt
echo MOUNTED=$(grep /mnt /proc/mounts)
echo '{text}' > /mnt/hello.txt
mkdir /mnt/dir
dd if=/dev/urandom of=/mnt/dir/data.bin bs=1M count=4 iflag=fullblock status=none
echo DATA=$(sha256sum < /mnt/dir/data.bin | cut -d' ' -f1)
umount /mnt
echo UNMOUNTED=yes
"""
        result = self.guest(script, disks=[linux_guest.Disk(socks["d0"])])
        summary = self.stop()
        out = result.output
        self.assertIn("/dev/vda /mnt ext", value(out, "MOUNTED") or "")
        self.assertEqual(value(out, "UNMOUNTED"), "yes")
        data_sha = value(out, "DATA")
        self.assertRegex(data_sha or "", r"^[0-9a-f]{64}$")

        fsck = subprocess.run(["e2fsck", "-fn", img], capture_output=True, text=True, timeout=60)
        self.assertEqual(fsck.returncode, 0, f"e2fsck -fn:\n{fsck.stdout}{fsck.stderr}")
        cat = subprocess.run(["debugfs", "-R", "cat /hello.txt", img], capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(cat.returncode, 0, cat.stderr)
        self.assertEqual(cat.stdout, text + "\n", cat.stderr)
        dumped = os.path.join(self.work, "data.bin")
        dump = subprocess.run(["debugfs", "-R", f"dump /dir/data.bin {dumped}", img],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(dump.returncode, 0, dump.stderr)
        self.assertEqual(os.path.getsize(dumped), 4 * MIB, dump.stderr)
        self.assertEqual(sha256_file(dumped), data_sha)
        d0 = disk_summary(summary, "d0")
        assert_no_errors(self, d0)
        self.assertGreater(d0["totals"]["requests"]["out"], 0)
        self.assertGreater(d0["totals"]["requests"]["flush"], 0,
                           "unmounting a filesystem on a writeback disk flushes")
        self.assertGreater(summary["workers"][0]["sleeps"], 0, "--idle-sleep-us 20: it slept")

    # --- 3. discard --------------------------------------------------------------------------

    def test_discard_punches_a_hole(self):
        mib, offset, length = 16, 4 * MIB, 8 * MIB
        img = self.image("d0.img", mib, os.urandom(mib * MIB))
        head, tail = sha256_file(img, 0, offset), sha256_file(img, offset + length)
        before = os.stat(img).st_blocks
        self.assertGreaterEqual(before, mib * MIB // 512, "the image is not fully allocated")
        socks = self.start([f"name=d0,file={img},discard=on"])
        script = f"""\
set -e
echo DISCARD_MAX=$(cat /sys/block/vda/queue/discard_max_bytes)
blkdiscard -o {offset} -l {length} /dev/vda
echo DISCARDED=yes
"""
        result = self.guest(script, disks=[linux_guest.Disk(socks["d0"])])
        summary = self.stop()
        out = result.output
        self.assertGreater(int(value(out, "DISCARD_MAX") or 0), 0, "the guest saw no discard")
        self.assertEqual(value(out, "DISCARDED"), "yes")
        after = os.stat(img).st_blocks
        freed = before - after
        print(f"blk_guest: discard of {length} bytes: st_blocks {before} -> {after} "
              f"({freed} freed, {length // 512} expected)", flush=True)
        # Aligned to the host filesystem's blocks: the whole range is freed; a little slack for
        # the extent tree's own blocks.
        self.assertGreaterEqual(freed, length // 512 - 16)
        self.assertLessEqual(freed, length // 512 + 16)
        self.assertEqual(os.path.getsize(img), mib * MIB, "discard changed the image's size")
        with open(img, "rb") as f:
            f.seek(offset)
            self.assertEqual(f.read(length), bytes(length), "the discarded range is not zeros")
        self.assertEqual(sha256_file(img, 0, offset), head, "discard touched the data before")
        self.assertEqual(sha256_file(img, offset + length), tail, "discard touched the data after")
        d0 = disk_summary(summary, "d0")
        assert_no_errors(self, d0)
        self.assertGreaterEqual(d0["totals"]["requests"]["discard"], 1)

    # --- 4. read-only --------------------------------------------------------------------------

    def test_readonly_disk(self):
        mib = 16
        img = self.image("d0.img", mib, os.urandom(mib * MIB))
        original = sha256_file(img)
        socks = self.start([f"name=d0,file={img},readonly"])
        script = """\
echo GETRO=$(blockdev --getro /dev/vda)
echo SYSFS_RO=$(cat /sys/block/vda/ro)
if dd if=/dev/zero of=/dev/vda bs=4k count=1 oflag=direct 2>/tmp/err; then
    echo DIRECT_WRITE=succeeded
else
    echo DIRECT_WRITE=failed
fi
echo DIRECT_ERROR=$(grep -i error /tmp/err)
if dd if=/dev/zero of=/dev/vda bs=4k seek=100 count=1 conv=fsync 2>/tmp/err; then
    echo BUFFERED_WRITE=succeeded
else
    echo BUFFERED_WRITE=failed
fi
echo BUFFERED_ERROR=$(grep -i error /tmp/err)
echo READ=$(dd if=/dev/vda bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
"""
        result = self.guest(script, disks=[linux_guest.Disk(socks["d0"])])
        summary = self.stop()
        out = result.output
        self.assertEqual(value(out, "GETRO"), "1")
        self.assertEqual(value(out, "SYSFS_RO"), "1")
        refused = r"Operation not permitted|Read-only file system|I/O error"
        for kind in ("DIRECT", "BUFFERED"):
            self.assertEqual(value(out, f"{kind}_WRITE"), "failed", out)
            self.assertRegex(value(out, f"{kind}_ERROR") or "", refused)
        self.assertEqual(value(out, "READ"), original, "reads do not return the image")
        self.assertEqual(sha256_file(img), original, "the read-only image changed")
        d0 = disk_summary(summary, "d0")
        self.assertTrue(d0["readonly"])
        self.assertEqual(d0["totals"]["bytes_written"], 0)
        self.assertGreaterEqual(d0["totals"]["bytes_read"], mib * MIB)
        self.assertIn("read-only", self.log())

    # --- 6. disks and net ports on one worker ------------------------------------------------

    def test_disks_and_ports_on_one_worker(self):
        mib = 16                   # two halves of 8 MiB per disk, one per vCPU and so per queue
        arp_count = 10
        imgs = {name: self.image(f"{name}.img", mib) for name in ("d0", "d1")}
        socks = self.start([f"name={n},file={imgs[n]},queues=2" for n in ("d0", "d1")],
                           ports=("p0", "p1"))
        # Rounds of writes then verifying reads, four jobs at once (each disk's half n from vCPU
        # n), for as long as arping runs; each round writes a different pattern to each half.
        script = f"""\
ip link set eth0 up && ip link set eth1 up || exit 1
ip addr add 10.0.0.1/24 dev eth0 && ip addr add 10.0.0.2/24 dev eth1 || exit 1
# eth1 gets ARP requests from 10.0.0.1, an address of this very host: without accept_local the
# kernel drops them as martians (fib_validate_source) and never answers.
sysctl -w net.ipv4.conf.all.accept_local=1 net.ipv4.conf.eth0.accept_local=1 \\
    net.ipv4.conf.eth1.accept_local=1 >/dev/null || exit 1
echo HWQ=$(ls /sys/block/vda/mq | wc -l),$(ls /sys/block/vdb/mq | wc -l)
for p in 0 1 2 3; do
    dd if=/dev/urandom of=/tmp/pat$p bs=1M count=8 iflag=fullblock status=none || exit 1
done
job() {{  # disk half round
    case $1 in vda) d=0;; *) d=2;; esac
    pat=/tmp/pat$(( ($2 + $3 + d) % 4 ))
    taskset -c $2 dd if=$pat of=/dev/$1 bs=64k seek=$(($2 * 128)) oflag=direct conv=notrunc \\
        status=none || {{ echo "FAILED write $1 $2 round $3"; return 1; }}
    taskset -c $2 dd if=/dev/$1 of=/tmp/back-$1-$2 bs=64k skip=$(($2 * 128)) count=128 \\
        iflag=direct status=none || {{ echo "FAILED read $1 $2 round $3"; return 1; }}
    cmp $pat /tmp/back-$1-$2 || {{ echo "FAILED compare $1 $2 round $3"; return 1; }}
    echo "VERIFIED $1 $2 round $3 $(sha256sum < $pat | cut -d' ' -f1)"
}}
arping -c {arp_count} -I eth0 10.0.0.2 > /tmp/arping 2>&1 &
arp=$!
round=0
failed=0
while [ $round -lt 2 ] || {{ [ $round -lt 30 ] && kill -0 $arp 2>/dev/null; }}; do
    pids=
    for disk in vda vdb; do
        for half in 0 1; do
            job $disk $half $round &
            pids="$pids $!"
        done
    done
    for p in $pids; do wait $p || failed=1; done
    round=$((round + 1))
done
echo ROUNDS=$round
wait $arp
echo ARPING_STATUS=$?
cat /tmp/arping
exit $failed
"""
        result = self.guest(script,
                            nets=[linux_guest.Net(socks["p0"]), linux_guest.Net(socks["p1"])],
                            disks=[linux_guest.Disk(socks["d0"], queues=2),
                                   linux_guest.Disk(socks["d1"], queues=2)], cpus=2)
        summary = self.stop()
        out = result.output
        self.assertEqual(value(out, "HWQ"), "2,2", "the guest does not see 2 queues per disk")
        self.assertNotIn("FAILED", out)
        rounds = int(value(out, "ROUNDS"))
        verified = re.findall(r"^VERIFIED (vd[ab]) ([01]) round (\d+) ([0-9a-f]{64})$", out, re.M)
        self.assertEqual(len(verified), 4 * rounds, out[-3000:])
        # The images hold each half's last round's pattern.
        for disk, img in (("vda", imgs["d0"]), ("vdb", imgs["d1"])):
            for half in (0, 1):
                last = [v for v in verified if v[0] == disk and v[1] == str(half)
                        and int(v[2]) == rounds - 1]
                self.assertEqual(len(last), 1)
                self.assertEqual(sha256_file(img, half * 8 * MIB, 8 * MIB), last[0][3],
                                 f"{disk} half {half}: the image differs from the last write")
        sent = re.search(r"Sent (\d+) probe", out)
        received = re.search(r"Received (\d+) response", out)
        self.assertIsNotNone(received, out[-2000:])
        sent, received = int(sent.group(1)), int(received.group(1))
        print(f"blk_guest: {rounds} rounds of verified writes on 2 disks x 2 queues; arping "
              f"sent {sent}, received {received}", flush=True)
        self.assertEqual(sent, arp_count)
        # Every reply normally comes back within milliseconds; two may be late under load.
        self.assertGreaterEqual(received, arp_count - 2, "arping's replies were lost")
        self.assertEqual(value(out, "ARPING_STATUS"), "0")

        self.assertEqual(len(summary["workers"]), 1, "not one worker")
        p0, p1 = peers.port_totals(summary, "p0"), peers.port_totals(summary, "p1")
        print(f"blk_guest: port totals: p0 {p0}, p1 {p1}", flush=True)
        # Requests out of eth0 into eth1, replies out of eth1 into eth0: both ways through ringlane.
        for name, totals in (("p0", p0), ("p1", p1)):
            self.assertGreaterEqual(totals["rx_packets"], received, f"{name}: {totals}")
            self.assertGreaterEqual(totals["tx_packets"], received, f"{name}: {totals}")
        self.assertLessEqual(p1["tx_packets"], p0["rx_packets"])
        self.assertLessEqual(p0["tx_packets"], p1["rx_packets"])
        for name in ("d0", "d1"):
            disk = disk_summary(summary, name)
            assert_no_errors(self, disk)
            self.assertEqual(len(disk["queues"]), 2)
            for q in disk["queues"]:
                r = q["requests"]
                print(f"blk_guest: {name} queue {q['queue']}: {r['in']} reads, {r['out']} writes, "
                      f"{q['bytes_read']} bytes read, {q['bytes_written']} written", flush=True)
                self.assertGreater(r["out"], 0, f"{name} queue {q['queue']} had no writes")
                self.assertGreater(r["in"], 0, f"{name} queue {q['queue']} had no reads")
                self.assertGreaterEqual(q["bytes_written"], rounds * 8 * MIB)

    # --- 7. the writeback cache toggle ---------------------------------------------------------

    def test_writeback_toggle(self):
        img = self.image("d0.img", 16)
        socks = self.start([f"name=d0,file={img}"])
        script = """\
set -e
echo BEFORE=$(cat /sys/block/vda/cache_type)
echo "write through" > /sys/block/vda/cache_type
echo AFTER=$(cat /sys/block/vda/cache_type)
dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 iflag=fullblock status=none
dd if=/tmp/pattern of=/dev/vda bs=1M oflag=direct status=none
dd if=/tmp/pattern of=/dev/vda bs=1M seek=8 conv=fsync status=none
dd if=/dev/vda of=/tmp/back bs=1M count=4 iflag=direct status=none
cmp /tmp/pattern /tmp/back
echo CMP=same
echo WROTE=$(sha256sum < /tmp/pattern | cut -d' ' -f1)
"""
        result = self.guest(script, disks=[linux_guest.Disk(socks["d0"])])
        summary = self.stop()
        out = result.output
        self.assertEqual(value(out, "BEFORE"), "write back")
        self.assertEqual(value(out, "AFTER"), "write through")
        self.assertEqual(value(out, "CMP"), "same")
        self.assertIn("d0: cache mode writethrough", self.log())
        d0 = disk_summary(summary, "d0")
        self.assertIs(d0["writeback"], False)
        assert_no_errors(self, d0)
        wrote = value(out, "WROTE")
        self.assertEqual(sha256_file(img, 0, 4 * MIB), wrote)
        self.assertEqual(sha256_file(img, 8 * MIB, 4 * MIB), wrote)
        self.assertGreaterEqual(d0["totals"]["bytes_written"], 8 * MIB)


    # --- 7. capacity change -----------------------------------------------------------------

    def test_capacity_change_reaches_the_guest(self):
        img = self.image("d0.img", 16)
        socks = self.start([f"name=d0,file={img}"])
        # The guest waits for the new size, then uses the sectors that were not there before.
        script = """\
echo BEFORE=$(cat /sys/block/vda/size)
echo READY
i=0
while [ "$(cat /sys/block/vda/size)" = 32768 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
echo AFTER=$(cat /sys/block/vda/size)
dd if=/dev/urandom of=/tmp/tail bs=1M count=1 status=none
dd if=/tmp/tail of=/dev/vda bs=1M seek=30 oflag=direct status=none && echo WRITE=ok
echo WROTE=$(sha256sum < /tmp/tail | cut -d' ' -f1)
"""
        with linux_guest.LinuxGuest(script, disks=[linux_guest.Disk(socks["d0"])],
                                    timeout=GUEST_TIMEOUT, echo="[guest] ") as g:
            g.wait_for_line("READY", timeout=GUEST_TIMEOUT)
            os.truncate(img, 32 * MIB)
            self.ringlane.process.send_signal(signal.SIGUSR1)
            result = g.finish(timeout=GUEST_TIMEOUT)
        self.assertEqual(result.status, 0, f"{result.reason}\n{result.output[-3000:]}"
                         f"{self.log_tail()}")
        summary = self.stop()
        out = result.output
        self.assertEqual(value(out, "BEFORE"), str(16 * MIB // 512))
        self.assertEqual(value(out, "AFTER"), str(32 * MIB // 512))
        self.assertEqual(value(out, "WRITE"), "ok")
        self.assertEqual(sha256_file(img, 30 * MIB, MIB), value(out, "WROTE"))
        self.assertIn("d0: capacity 32768 -> 65536 sectors", self.log())
        d0 = disk_summary(summary, "d0")
        self.assertEqual(d0["capacity_sectors"], 65536)
        assert_no_errors(self, d0)


if __name__ == "__main__":
    report.main("integration_blk_guest")
