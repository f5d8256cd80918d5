#!/usr/bin/env python3
"""Live NIC switches under a Linux guest's TCP transfer: the Debian kernel, booted by ringlane-vmm,
fetches N MiB of pseudo-random bytes over TCP while its virtio-net card is switched between
"virtio" mode (a VMM thread and a TAP device) and "vhost" mode (ringlane over vhost-user) S times
through the VMM's API; the bytes must arrive complete, with the sender's MD5.

    python3 tests/nested/linux_switch.py [--switches 50] [--megabytes 64]

Everything runs nested, on any machine (with or without /dev/kvm): a QEMU TCG guest
(tests/lib/nested_kvm.py: -cpu EPYC, nested KVM, this machine's root over 9p) holds

    br0 10.0.2.1/24 <- the data server (Python, in this script) listens on 10.0.2.1:5000
     |- tap0  <- ringlane-vmm's TAP backend (virtio mode)
     '- dtap0 <- dpdk-testpmd (io forwarding) net_tap0 <-> net_virtio_user0 -> ringlane "peer"
                 ringlane cross-connects "peer" and "vm0"; ringlane-vmm's vhost backend is vm0

and ringlane-vmm boots the Debian kernel (scripts/setup.sh fetched it) with an initramfs whose
init loads virtio_net, takes 10.0.2.2/24, fetches the bytes with busybox nc into md5sum and wc,
prints both and reboots (ending ringlane-vmm with status 0). The inner Linux driver uses MSI-X
interrupts, event-idx and mergeable receive buffers. Switch k is requested once the server has
k/(S+1) of the bytes acknowledged (TCP_INFO), so every switch falls inside the transfer, which
must not end before the last one. Checks: same MD5 and byte count, every switch answered 200 with
the mode asked for, both paths carried traffic, ringlane-vmm exited 0. A summary follows (switch
times, transfer time and rate, TCP retransmissions). Exit status 0 when every check passed.
The suite runs a short form (tests/nested/test_linux_switch.py: 8 MiB, 10 switches)."""
import argparse
import hashlib
import os
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, HERE)
import nested_kvm  # noqa: E402
import peers  # noqa: E402
import run_linux_guest  # noqa: E402
import vmm_api  # noqa: E402

NET = "10.0.2"
PORT = 5000
SEED = 11
MARK = "RINGLANE-LSW-"
INNER_MODULES = ["virtio_pci", "virtio_net"]
INNER_CMDLINE = "console=ttyS0 reboot=k panic=-1 i8042.noaux loglevel=5"

INNER_INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in {modules}; do insmod /lib/modules/$m || echo "{mark}INSMOD-FAILED $m"; done
up() {{ cut -d' ' -f1 /proc/uptime; }}
echo "{mark}USERSPACE uptime=$(up) cpus=$(nproc)"
ip link set lo up
dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
driver=$(basename $(readlink /sys/class/net/$dev/device/driver))
echo "{mark}NIC $dev driver=$driver features=$(cat /sys/class/net/$dev/device/features)"
ip addr add {net}.2/24 dev $dev
ip link set $dev up
n=0
until ping -c 1 -W 2 {net}.1 > /dev/null 2>&1; do
  n=$((n + 1)); [ $n -ge 60 ] && {{ echo "{mark}NO-PING"; break; }}
done
echo "{mark}FETCH-START uptime=$(up)"
mkfifo /tmp/count
wc -c < /tmp/count > /tmp/bytes &
nc {net}.1 {port} | tee /tmp/count | md5sum > /tmp/sum
wait
echo "{mark}FETCH-DONE md5=$(cut -d' ' -f1 /tmp/sum) bytes=$(tr -d ' ' < /tmp/bytes) uptime=$(up)"
grep -E "^ *$dev:" /proc/net/dev | tr -s ' ' | sed 's/^/{mark}STATS /'
grep -E "virtio" /proc/interrupts | tr -s ' ' | sed 's/^/{mark}IRQ /'
dmesg | grep -iE "virtio|net" | grep -iE "err|warn|bad|fail" | sed 's/^/{mark}KERNEL /'
reboot -f
"""


def log(msg):
    print(f"[linux-switch] {msg}", flush=True)


# --- on this machine: the inner initramfs, then the TCG guest ----------------------------------

def build_initrd(work):
    """The inner initramfs (busybox, the virtio-net modules, the init above); returns
    (vmlinuz, initrd path)."""
    vmlinuz, moddir = run_linux_guest.fetch_kernel(run_linux_guest.default_cache())
    root = os.path.join(work, "inner-root")
    shutil.rmtree(root, ignore_errors=True)
    mods = run_linux_guest.base_tree(root, moddir, run_linux_guest.module_order(moddir,
                                                                                INNER_MODULES))
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INNER_INIT.format(modules=mods, mark=MARK, net=NET, port=PORT))
    os.chmod(os.path.join(root, "init"), 0o755)
    initrd = os.path.join(work, "inner-initrd.gz")
    run_linux_guest.write_cpio(root, initrd)
    shutil.rmtree(root, ignore_errors=True)
    return vmlinuz, initrd


def outside(args):
    for path in (args.vmm, args.ringlane):
        if not os.access(path, os.X_OK):
            sys.exit(f"linux_switch: {path} is missing: build it (meson compile -C build)")
    own_work = args.workdir is None
    work = args.workdir or tempfile.mkdtemp(prefix="linux-switch-", dir="/var/tmp")
    os.makedirs(work, exist_ok=True)
    try:
        vmlinuz, initrd = build_initrd(work)
        argv = [sys.executable, os.path.abspath(__file__), "--inside", "--vmlinuz", vmlinuz,
                "--initrd", initrd, "--vmm", args.vmm, "--ringlane", args.ringlane,
                "--switches", str(args.switches), "--megabytes", str(args.megabytes),
                "--vcpus", str(args.vcpus), "--timeout", str(args.timeout)]
        if args.nomsi:
            argv.append("--nomsi")
        log(f"{args.megabytes} MiB over TCP during {args.switches} switches, in a TCG guest with "
            f"{args.cpus} CPUs and {args.memory} MiB")
        started = time.monotonic()
        rc = nested_kvm.run(argv, memory_mib=args.memory, cpus=args.cpus, hugepages=512,
                            timeout=args.timeout + 300, modules=["bridge"])
        log(f"{'PASS' if rc == 0 else 'FAIL'} (status {rc}) after {time.monotonic() - started:.0f} "
            f"s in all")
        return rc
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


# --- inside the TCG guest ------------------------------------------------------------------------

def sh(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def pseudo_random(megabytes):
    rng = random.Random(SEED)
    return b"".join(rng.randbytes(1 << 20) for _ in range(megabytes))


def tcp_info(sock):
    """(bytes acknowledged by the peer, segments retransmitted) from TCP_INFO."""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    total_retrans = struct.unpack_from("I", raw, 100)[0]
    bytes_acked = struct.unpack_from("Q", raw, 120)[0]
    return bytes_acked, total_retrans


class Server:
    """Sends `data` to the first client on 10.0.2.1:PORT; times the transfer from the accept to
    the last byte acknowledged."""

    def __init__(self, data):
        self.data = data
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((f"{NET}.1", PORT))
        self.listener.listen(1)
        self.conn = None
        self.accepted_at = None
        self.done_at = None
        self.acked = 0
        self.retrans = 0
        self.error = None
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            conn, _ = self.listener.accept()
            with self.lock:
                self.conn = conn
                self.accepted_at = time.monotonic()
            conn.sendall(memoryview(self.data))
            while self.progress()[0] < len(self.data):
                time.sleep(0.01)
            self.done_at = time.monotonic()
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(60)
            while conn.recv(65536):
                pass
        except OSError as e:
            self.error = str(e)
        finally:
            with self.lock:
                if self.conn is not None:
                    self.acked, self.retrans = self._info()
                    self.conn.close()
                    self.conn = None

    def _info(self):
        try:
            return tcp_info(self.conn)
        except OSError:
            return self.acked, self.retrans

    def progress(self):
        """(bytes acknowledged so far, retransmitted segments)."""
        with self.lock:
            if self.conn is not None:
                self.acked, self.retrans = self._info()
            return self.acked, self.retrans

    def close(self):
        self.listener.close()


def link_stats(name):
    out = {}
    for key in ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "tx_dropped"):
        with open(f"/sys/class/net/{name}/statistics/{key}") as f:
            out[key] = int(f.read())
    return out


def tcp_ext_counters():
    """Why TCP retransmitted, from the TCG guest's /proc/net/netstat (only the test's connection
    runs there): the non-zero counters among timeouts, loss probes and recoveries."""
    wanted = ("TCPTimeouts", "TCPLossProbes", "TCPLossProbeRecovery", "TCPSpuriousRTOs",
              "TCPFastRetrans", "TCPSlowStartRetrans", "TCPSackRecovery", "TCPRenoRecovery",
              "TCPDSACKRecv", "TCPDSACKOldSent")
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:]))
            return {k: int(table[k]) for k in wanted if int(table.get(k, 0))}
    return {}


def marker(text, name):
    """The last line carrying MARK + name, or None."""
    lines = [l for l in text.splitlines() if MARK + name in l]
    return lines[-1][lines[-1].index(MARK):] if lines else None


def field(line, key):
    for word in (line or "").split():
        if word.startswith(key + "="):
            return word[len(key) + 1:]
    return None


def cpu_layout():
    """(testpmd's forwarding lcore, ringlane's worker core): the last two CPUs, so that the
    busy-polling threads stay off CPU 0, where the rest (the inner vCPUs, the VMM's TAP thread,
    the bridge, this script) is scheduled first."""
    n = os.cpu_count() or 1
    if n < 3:
        raise RuntimeError(f"{n} CPUs: testpmd and ringlane each poll one, and the rest needs one "
                           "more (--cpus 3 at least)")
    return n - 2, n - 1


def inside(args):
    if not os.environ.get(nested_kvm.INSIDE):
        sys.exit("linux_switch: --inside is for the TCG guest only (it makes br0 and TAP devices "
                 "in the current network namespace)")
    t_start = time.monotonic()
    n_bytes = args.megabytes << 20
    work = tempfile.mkdtemp(prefix="linux-switch-")  # the guest's own tmpfs (TMPDIR)
    failures = []
    procs = []
    server = None
    results = {}
    try:
        sh("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
        sh("sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")
        sh("ip", "link", "add", "br0", "type", "bridge")
        sh("ip", "addr", "add", f"{NET}.1/24", "dev", "br0")
        sh("ip", "link", "set", "br0", "up")
        sh("ip", "tuntap", "add", "dev", "tap0", "mode", "tap")
        sh("ip", "link", "set", "tap0", "master", "br0", "up")

        t0 = time.monotonic()
        data = pseudo_random(args.megabytes)
        want_md5 = hashlib.md5(data).hexdigest()
        log(f"{args.megabytes} MiB of pseudo-random bytes (seed {SEED}), md5 {want_md5}, made in "
            f"{time.monotonic() - t0:.1f} s")
        server = Server(data)

        tp_core, rl_core = cpu_layout()
        vm_sock = os.path.join(work, "vm0.sock")
        peer_sock = os.path.join(work, "peer.sock")
        peers.RINGLANE = args.ringlane
        ringlane = peers.Ringlane([{"name": "vm0", "path": vm_sock},
                                   {"name": "peer", "path": peer_sock}],
                                  cores=str(rl_core), workdir=work)
        procs.append(ringlane.process)
        prefix = f"rllsw{os.getpid()}"
        testpmd = peers.Testpmd([peers.virtio_user(0, peer_sock), "net_tap0,iface=dtap0"],
                                prefix, main_lcore=0, lcores=f"0,{tp_core}", fwd="io",
                                tx_first=False, workdir=work)
        procs.append(testpmd.process)
        testpmd.wait_output("Port statistics", timeout=180)
        sh("ip", "link", "set", "dtap0", "master", "br0", "up")
        log(f"ringlane (worker on CPU {rl_core}) and testpmd (forwarding on CPU {tp_core}) up "
            f"after {time.monotonic() - t_start:.1f} s")

        api = os.path.join(work, "api.sock")
        vmm = peers.Process([args.vmm, "--kernel", args.vmlinuz, "--initrd", args.initrd,
                             "--memory", "256", "--vcpus", str(args.vcpus), "--api-sock", api,
                             "--nic", f"mode=virtio,tap=tap0,socket={vm_sock}",
                             "--cmdline", INNER_CMDLINE + (" pci=nomsi" if args.nomsi else "")],
                            "ringlane-vmm", log_dir=work)
        procs.append(vmm)
        t_vmm = time.monotonic()
        deadline = t_vmm + args.timeout
        peers.wait_for(lambda: server.accepted_at is not None or not vmm.alive()
                       or time.monotonic() > deadline, args.timeout + 1,
                       "the inner guest to connect", interval=0.2)
        if server.accepted_at is None:
            raise RuntimeError("the inner guest never connected to the server")
        log(f"inner Linux connected {server.accepted_at - t_vmm:.1f} s after ringlane-vmm started")

        # (mode asked, status, body, seconds to the answer, bytes acknowledged when asked, seconds
        # from the answer to the next acknowledgement)
        switches = []
        for k in range(1, args.switches + 1):
            threshold = n_bytes * k // (args.switches + 1)
            while (server.progress()[0] < threshold and server.done_at is None and vmm.alive()
                   and time.monotonic() < deadline):
                time.sleep(0.02)
            acked = server.progress()[0]
            if server.done_at is not None or acked >= n_bytes or not vmm.alive():
                failures.append(f"the transfer ended after {k - 1} of {args.switches} switches: "
                                "give it more --megabytes")
                break
            if time.monotonic() >= deadline:
                failures.append(f"timed out after {k - 1} switches")
                break
            mode = "vhost" if k % 2 else "virtio"
            t = time.monotonic()
            try:
                status, body = vmm_api.request(api, "PUT", "/vm/nics/net0", {"mode": mode},
                                               timeout=60)
            except (OSError, ValueError) as e:
                status, body = None, str(e)
            took = time.monotonic() - t
            # How long the transfer stood still after the answer: until the next acknowledgement.
            answered = server.progress()[0]
            t = time.monotonic()
            while (server.progress()[0] == answered and server.done_at is None
                   and time.monotonic() - t < 30):
                time.sleep(0.005)
            switches.append((mode, status, body, took, acked, time.monotonic() - t))
            if status != 200 or not isinstance(body, dict) or body.get("mode") != mode:
                failures.append(f"switch {k} to {mode} (at {acked} bytes): {status} {body}")
        results["switches"] = switches
        if switches:
            log(f"switches done: {len(switches)}; data flowing again after each, "
                + "; ".join(f"to {m}: {1000 * statistics.median(r):.0f} ms median, "
                            f"{1000 * max(r):.0f} ms max"
                            for m in ("vhost", "virtio")
                            for r in [[s[5] for s in switches if s[0] == m]] if r))

        rc = vmm.wait(max(1, deadline - time.monotonic()))
        if rc is None:
            failures.append(f"ringlane-vmm still running after {args.timeout} s: killed")
            vmm.kill()
        elif rc != 0:
            failures.append(f"ringlane-vmm exited with status {rc}")
        console = vmm.output()
        t_end = time.monotonic()
        results["tap0"] = link_stats("tap0")
        results["dtap0"] = link_stats("dtap0")
        testpmd.quit()
        results["ringlane"] = ringlane.stop()

        for line in console.splitlines():
            if MARK in line or line.startswith("ringlane-vmm:"):
                log(line.strip())
        # What ringlane-vmm and ringlane said beyond the routine: drains that hit their limit,
        # broken virtqueues, refused hand-overs.
        for name, text in (("ringlane-vmm", console), ("ringlane", ringlane.process.output())):
            said = [l.strip() for l in text.splitlines()
                    if " ringlane warn: " in l or " ringlane error: " in l]
            for line in said[:20]:
                log(f"{name} said: {line}")
            if len(said) > 20:
                log(f"{name} said {len(said) - 20} more such lines")
            for line in said:
                if " ringlane error: " in line or "broken" in line:
                    failures.append(f"{name}: {line}")
        done = marker(console, "FETCH-DONE")
        got_md5, got_bytes = field(done, "md5"), field(done, "bytes")
        if done is None:
            failures.append("the inner guest never reported its fetch")
        else:
            if got_md5 != want_md5:
                failures.append(f"md5 {got_md5} in the guest, {want_md5} sent")
            if got_bytes != str(n_bytes):
                failures.append(f"{got_bytes} bytes in the guest, {n_bytes} sent")
        for name in ("INSMOD-FAILED", "NO-PING", "KERNEL"):
            if marker(console, name):
                failures.append(f"inner guest: {marker(console, name)}")
        vm0 = peers.port_totals(results["ringlane"], "vm0")
        if args.switches and (vm0["rx_packets"] == 0 or vm0["tx_packets"] == 0):
            failures.append(f"no traffic through ringlane (vhost mode): {vm0}")
        if results["tap0"]["rx_packets"] == 0 or results["tap0"]["tx_packets"] == 0:
            failures.append(f"no traffic through tap0 (virtio mode): {results['tap0']}")
        if server.error:
            failures.append(f"server: {server.error}")

        # The summary.
        times = [s[3] for s in switches]
        log(f"switches: {len(switches)} of {args.switches} asked, "
            f"{sum(1 for s in switches if s[1] == 200)} answered 200"
            + (f"; each {1000 * statistics.median(times):.0f} ms median, "
               f"{1000 * max(times):.0f} ms max, {sum(times):.1f} s in all" if times else ""))
        acked, retrans = server.progress()
        if server.done_at is not None:
            took = server.done_at - server.accepted_at
            log(f"transfer: {n_bytes} bytes acknowledged in {took:.1f} s "
                f"({n_bytes / took / 1e6:.2f} MB/s), {retrans} segments retransmitted "
                f"(sender's TCP: {tcp_ext_counters()})")
        else:
            log(f"transfer: incomplete, {acked} of {n_bytes} bytes acknowledged")
        same = got_md5 == want_md5 and got_bytes == str(n_bytes)
        log(f"checksum: guest md5={got_md5} bytes={got_bytes}; sent md5={want_md5} "
            f"bytes={n_bytes}: {'match' if same else 'MISMATCH'}")
        log(f"paths: tap0 (virtio) {results['tap0']['tx_packets']} packets to the guest, "
            f"{results['tap0']['rx_packets']} from it, {results['tap0']['tx_dropped']} dropped "
            f"by the host for want of room in the TAP queue; ringlane vm0 (vhost) "
            f"{vm0['tx_packets']} to the guest, {vm0['rx_packets']} from it, drops {vm0['drops']}")
        log(f"times: ringlane-vmm start to inner connect {server.accepted_at - t_vmm:.1f} s, to "
            f"exit {t_end - t_vmm:.1f} s; whole run in the TCG guest {t_end - t_start:.1f} s")
    except Exception as e:  # noqa: BLE001 - reported, with the logs, and the run fails
        failures.append(f"{type(e).__name__}: {e}")
        for p in procs:
            tail = p.output()[-3000:]
            log(f"--- {p.name} (pid {p.pid}, {'running' if p.alive() else 'exited'}) ---\n{tail}")
    finally:
        for p in reversed(procs):
            p.kill()
        if server is not None:
            server.close()
        for dev in ("tap0", "br0"):
            subprocess.run(["ip", "link", "del", dev], capture_output=True)
        peers.remove_hugepage_files(f"rllsw{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        log(f"FAIL: {f}")
    if not failures:
        log("PASS")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--switches", type=int, default=50, help="live switches during the transfer "
                    "(alternating vhost, virtio; default 50; 0 measures the virtio path alone)")
    ap.add_argument("--megabytes", type=int, default=64, help="MiB to transfer (default 64)")
    ap.add_argument("--cpus", type=int, default=4, help="the TCG guest's CPUs (default 4: "
                    "testpmd and ringlane poll one each; at least 3)")
    ap.add_argument("--memory", type=int, default=3072, help="the TCG guest's memory, MiB "
                    "(1 GiB of it hugepages for testpmd; default 3072)")
    ap.add_argument("--vcpus", type=int, default=1, help="the inner Linux guest's vCPUs "
                    "(default 1)")
    ap.add_argument("--nomsi", action="store_true", help="boot the inner Linux with pci=nomsi: "
                    "its virtio-net takes INTx, through ringlane-vmm's INTx relay")
    ap.add_argument("--timeout", type=int, default=1500, help="seconds the inner guest may take "
                    "from ringlane-vmm's start to its exit (default 1500)")
    ap.add_argument("--vmm", default=os.environ.get("RINGLANE_VMM_BIN") or
                    os.path.join(ROOT, "build", "vmm", "ringlane-vmm"),
                    help="ringlane-vmm (default $RINGLANE_VMM_BIN or build/vmm/ringlane-vmm)")
    ap.add_argument("--ringlane", default=os.environ.get("RINGLANE_BIN") or
                    os.path.join(ROOT, "build", "dataplane", "ringlane"),
                    help="the ringlane daemon (default $RINGLANE_BIN or build/dataplane/ringlane)")
    ap.add_argument("--workdir", help="where the inner initramfs goes (default: a temporary "
                    "directory under /var/tmp, removed afterwards)")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--vmlinuz", help=argparse.SUPPRESS)
    ap.add_argument("--initrd", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.switches < 0 or args.megabytes < 1:
        ap.error("--switches: at least 0; --megabytes: at least 1")
    if args.cpus < 3:
        ap.error("--cpus: at least 3 (testpmd and ringlane poll one CPU each)")
    args.vmm = os.path.abspath(args.vmm)
    args.ringlane = os.path.abspath(args.ringlane)
    return inside(args) if args.inside else outside(args)


if __name__ == "__main__":
    sys.exit(main())
