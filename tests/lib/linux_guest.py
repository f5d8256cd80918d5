#!/usr/bin/env python3
"""Boots a real Linux guest in QEMU with TCG (a software CPU: this machine's KVM, where it has one,
runs guest kernel code far too slowly; see the platform notes), attached to vhost-user sockets,
runs a shell script in it and returns the script's output and exit status.

The guest is the Debian kernel that scripts/setup.sh fetched, with a busybox initramfs whose init
mounts proc/sys/devtmpfs, loads the virtio modules (virtio_pci, virtio_blk, virtio_net, ext4 and
what they depend on), runs the script with /bin/busybox's applets on PATH (mke2fs, blkdiscard,
blockdev, dd, sha256sum, cmp, ip...) and powers off. Disks are vhost-user-blk-pci devices (/dev/vda,
/dev/vdb... in the order given), NICs virtio-net-pci on vhost-user netdevs (eth0, eth1...); QEMU is
the vhost-user client of every socket, so the backend must already listen (or, for a Disk or Net
with reconnect, QEMU waits for it before the guest starts; a Net with server=True is the other
way round). Guest memory is a shared memfd, as vhost-user needs.

Library:

    from linux_guest import LinuxGuest, Disk, Net
    guest = LinuxGuest(script="dd if=/dev/vda bs=4k count=1 | sha256sum",
                       disks=[Disk(socket="/tmp/blk.sock", queues=1, reconnect=None)],
                       nets=[Net(socket="/tmp/net.sock", queues=1, mac=None)],
                       memory_mib=512, cpus=2, extra_binaries=["/path/to/static-tool"],
                       timeout=300, echo="[guest] ")
    result = guest.run()      # a GuestResult

or, for a test that acts on the host while the guest runs:

    with LinuxGuest(script="echo READY; ...", disks=[...]) as guest:   # starts QEMU
        guest.wait_for_line("READY", timeout=120)   # the line; GuestError if it never comes
        ...                                         # kill and restart the backend, say
        result = guest.finish(timeout=120)

or, to drive the guest one command at a time (the command channel: a shell loop on the guest's
second serial port, ttyS1, which QEMU puts on a Unix socket):

    with LinuxGuest(commands=True, nets=[Net(socket=..., ip="10.0.0.2/24")]) as guest:
        r = guest.execute("ping -c 3 10.0.0.1", timeout=120)   # waits for the boot too
        r.status, r.output                                      # a CommandResult
        guest.execute("netxfer recv 5000 > /tmp/rx 2>&1 &")     # goes on in the background
        ...
        result = guest.finish(timeout=60)   # tells the guest to end (status 0), waits for QEMU

(with a script as well, the channel serves commands beside it, and finish() waits for the
script as usual).

NICs with an address (Net(ip="10.0.0.2/24"), a MAC given or QEMU's default) are up and configured
by init before the script starts, found by their MAC (init reads /net.conf from the per-run
archive). The other NICs stay down.

result.status is the script's exit status, or None when it never reported one: then QEMU was
killed at the timeout or ended early (a kernel panic, a QEMU error), and result.reason says which.
result.output is what the script printed (kernel messages that came meanwhile included),
result.console the whole serial console, result.qemu_messages what QEMU itself printed;
result.seconds is the whole run, result.boot_seconds the time from starting QEMU to the script's
start. `echo` (a prefix) also prints every line of the console and of QEMU as it comes.

QEMU is killed by PID (its process group) whatever happens: at finish(), on leaving the `with`
block, and through tests/lib/peers.py's cleanup at interpreter exit, also on SIGTERM.
`extra_binaries` (host paths, statically linked: the initramfs has no libraries) appear as
/bin/<name>. `dynamic_binaries` (host paths of dynamically linked programs, /usr/sbin/ethtool say)
appear as /bin/<name> too, with the shared libraries and the loader `ldd` names for them copied
into the per-run archive under the same paths as on the host (/lib/x86_64-linux-gnu/...,
/lib64/ld-linux-x86-64.so.2), where the guest's loader finds them. Disk(reconnect=S) lets QEMU
reconnect to a backend that died and came back, trying every S seconds, while the guest keeps
running: its I/O stalls meanwhile and resumes after.
Net(reconnect=S) does the same for a NIC (the guest sees its link go down and up again), and
Net(server=True) turns the socket round: QEMU listens on it (`server=on,wait=off`) and the backend
connects (ringlane's `mode=client`), again and again if it goes away; QEMU still waits for that
first connection before the guest starts.

Live migration: `qmp=True` gives QEMU a QMP socket in the run's directory (qmp_path();
qmp_client() is a tests/lib/qmp.py client of it). guest.destination(nets=[...]) is a guest, not
started yet, with the same QEMU command line (machine, memory, kernel, this run's archive and
token, command channel) and the NICs given (the same MACs on other sockets, say), and
`incoming=True`: its QEMU waits for a migration stream on a Unix socket in its own run directory
(incoming_uri(); start() returns once QEMU listens there, its vhost-user NICs set up). Once QMP
`migrate` to that URI completed, dest.take_over(guest) lets the destination carry on the run
(execute(), wait_for_line() and finish() use its console and command channel) and stops the
source's QEMU (QMP `quit`; killed by PID if it lingers). `incoming` also takes a URI of its own
("tcp:127.0.0.1:4444").

The busybox initramfs is built once per kernel, init script and module list and cached next to
the kernel; the script and the extra binaries go into a second, per-run cpio archive appended to
it (Linux unpacks concatenated archives in turn), so neither forces a rebuild.

CLI (prints the console as it comes, exits with the script's status, 125 when there is none):

    python3 tests/lib/linux_guest.py [--disk SOCK[,queues=Q][,reconnect=S]]...
        [--net SOCK[,queues=Q][,mac=MAC][,ip=ADDR/PREFIX]]... [--binary PATH]... [--memory MiB]
        [--cpus N]
        [--timeout S] (--script FILE | -c 'COMMANDS')
"""
import argparse
import atexit
import base64
import dataclasses
import hashlib
import lzma
import os
import re
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402  (its Process is killed by PID at exit and on SIGTERM)
from nested_kvm import KERNEL_DIR, copy_modules, release  # noqa: E402

MODULES = ["virtio_pci", "virtio_blk", "virtio_net", "ext4"]
POWEROFF_SECONDS = 10
BUSYBOX = "/bin/busybox"
# The base archive's directories: mount points, and /tmp and /mnt for the script.
DIRS = ["bin", "proc", "sys", "dev", "modules", "tmp", "mnt"]

# The per-run archive holds /token (this run's marker), /script.sh and the extra binaries.
INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in {modules}; do insmod /modules/$m || echo "linux_guest: insmod $m failed"; done
# /net.conf (per run): "MAC [ADDRESS/PREFIX]" lines; the NIC with that MAC is brought up
# without IPv6 (no neighbour discovery chatter on the switch) and given the address.
if [ -f /net.conf ]; then
  ip link set lo up
  while read -r mac addr; do
    for d in /sys/class/net/*; do
      [ "$(cat $d/address)" = "$mac" ] || continue
      dev=${{d##*/}}
      case "$addr" in
        *:*) ;;
        *) echo 1 > /proc/sys/net/ipv6/conf/$dev/disable_ipv6 2>/dev/null ;;
      esac
      ip link set dev $dev up
      [ -z "$addr" ] || ip addr add $addr dev $dev
    done
  done < /net.conf
fi
token=$(cat /token)
echo "$token start"
cd /
sh /script.sh < /dev/null
rc=$?
sync
echo "$token exit $rc"
poweroff -f
"""

# The command channel (commands=True): a shell loop on the second serial port, /dev/ttyS1, which
# QEMU connects to a Unix socket in the run's directory. The host sends `CMD <id> <base64 of the
# commands>` or `EXIT <status>`, one line each; the guest runs the commands with sh and answers
# `RLCMD begin <id>`, the output (stdout and stderr) in base64, `RLCMD end <id> <status>`. Base64
# both ways, and the port in raw mode, so no byte of a command or its output is taken for a
# control character. The guest says `RLCMD ready` once it listens: bytes sent before the port
# was opened would be lost.
COMMANDS = """stty -F /dev/ttyS1 raw -echo
exec 3<>/dev/ttyS1
echo "RLCMD ready" >&3
while read -r tag id data <&3; do
  case "$tag" in
    CMD)
      echo "$data" | base64 -d > /tmp/.rlcmd
      sh /tmp/.rlcmd > /tmp/.rlout 2>&1 < /dev/null 3>&-
      rc=$?
      { echo "RLCMD begin $id"; base64 < /tmp/.rlout; echo "RLCMD end $id $rc"; } >&3
      rm -f /tmp/.rlcmd /tmp/.rlout ;;
    EXIT)
      echo "RLCMD bye" >&3
      exit "$id" ;;
  esac
done
"""


@dataclasses.dataclass
class Disk:
    """A vhost-user-blk backend's socket. reconnect: seconds between QEMU's attempts to connect,
    at start and after the backend went away. None: QEMU fails at once when nothing listens, and
    a lost backend stays lost (the guest's I/O to the disk then hangs; QEMU runs on)."""
    socket: str
    queues: int = 1
    reconnect: int | None = None


@dataclasses.dataclass
class Net:
    """A vhost-user-net backend's socket. mac: None lets QEMU choose (52:54:00:12:34:56 + index).
    ip: an IPv4 or IPv6 address with its prefix ("10.0.0.2/24"): the guest's init brings the NIC
    up with it (IPv6 off on that NIC unless asked for) before the script starts; None leaves the
    NIC down and unconfigured. packed: packed virtqueues (`packed=on` on virtio-net-pci) instead
    of split ones. mtu: the device's MTU (`host_mtu=`: the driver gets VIRTIO_NET_F_MTU, starts
    with that MTU and allows no larger one; QEMU tells the backend by NET_SET_MTU); None leaves it
    out (MTU 1500 at boot, up to 65535 with `ip link set`)."""
    socket: str
    queues: int = 1
    mac: str | None = None
    ip: str | None = None
    packed: bool = False
    mtu: int | None = None
    # reconnect: seconds between QEMU's attempts to reach a backend that is not there (at start,
    # or gone: the guest's link goes down until it is back); None: QEMU gives up at once.
    # server: QEMU listens on the socket and the backend connects (both see the module's
    # docstring). The defaults keep QEMU the client of a backend that must already listen.
    reconnect: int | None = None
    server: bool = False


@dataclasses.dataclass
class CommandResult:
    """One command run over the command channel: its exit status and everything it printed."""
    status: int
    output: str
    seconds: float


@dataclasses.dataclass
class GuestResult:
    """How a run went; see the module's docstring."""
    status: int | None
    output: str
    seconds: float
    boot_seconds: float | None
    reason: str | None
    console: str
    qemu_messages: str


class GuestError(Exception):
    """The guest ended, or a wait timed out (and the guest was killed); .result says how far it
    got."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


def sha256_file(path, offset=0, length=None):
    """The SHA-256 (hex) of `length` bytes of a file from `offset` (to its end when None): what a
    test compares with the sha256sum a guest printed of its disk."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        left = os.fstat(f.fileno()).st_size - offset if length is None else length
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def output_value(output, key):
    """The value of the last `KEY=value` line a guest printed; None when there is none."""
    found = re.findall(rf"^{re.escape(key)}=(.*)$", output, re.M)
    return found[-1].strip() if found else None


def unavailable():
    """Why a Linux guest cannot boot here (a reason for skipTest), or None when it can."""
    if not os.path.exists(os.path.join(KERNEL_DIR, "ready")):
        return "no guest kernel: run scripts/setup.sh first"
    if shutil.which("qemu-system-x86_64") is None:
        return "no qemu-system-x86_64"
    return None


def shared_libraries(path):
    """The absolute paths of the shared libraries and the loader that the dynamically linked
    program at `path` needs, as `ldd` names them (the vDSO left out)."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        m = re.match(r"\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$", line)
        if m:
            found.append(m.group(1))
        elif "=> not found" in line:
            raise RuntimeError(f"{path}: ldd finds no {line.split()[0]}")
    return found


def _cpio(root, out):
    """Writes the tree at `root` to the open file `out` as a newc archive, as Linux unpacks it."""
    files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files, stdout=out,
                   check=True)


def base_initramfs(modules=MODULES):
    """The cached archive: busybox, `modules` with their dependencies, and init."""
    busybox = os.stat(BUSYBOX)
    key = [INIT, *DIRS, *modules, str(busybox.st_size), str(busybox.st_mtime_ns)]
    tag = hashlib.sha256("\0".join(key).encode()).hexdigest()[:12]
    path = os.path.join(KERNEL_DIR, f"linux-guest-initramfs-{tag}.cpio")
    if os.path.exists(path):
        return path
    root = tempfile.mkdtemp(prefix="rl-initramfs-")
    try:
        for d in DIRS:
            os.makedirs(os.path.join(root, d))
        shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
        order = copy_modules(modules, os.path.join(root, "modules"))
        with open(os.path.join(root, "init"), "w") as f:
            f.write(INIT.format(modules=" ".join(order)))
        os.chmod(os.path.join(root, "init"), 0o755)
        # Built under a private name and renamed: concurrent first runs each build a whole one.
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as out:
            _cpio(root, out)
        os.rename(tmp, path)
        return path
    finally:
        shutil.rmtree(root, ignore_errors=True)


def kernel_image():
    """The kernel as an uncompressed ELF, cached: QEMU boots it through its PVH entry point,
    which skips the firmware's real-mode setup and the decompression of the bzImage, 3-4 s of a
    7 s boot under TCG. The bzImage itself when it holds no xz stream (Debian's do)."""
    vmlinuz = os.path.join(KERNEL_DIR, "root", "boot", f"vmlinuz-{release()}")
    path = os.path.join(KERNEL_DIR, f"vmlinux-{release()}")
    if os.path.exists(path):
        return path
    with open(vmlinuz, "rb") as f:
        data = f.read()
    start = data.find(b"\xfd7zXZ\x00")
    if start < 0:
        return vmlinuz
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as out:
        out.write(lzma.LZMADecompressor().decompress(data[start:]))
    os.rename(tmp, path)
    return path


# Guests started and not yet ended. At interpreter exit (SIGTERM included, through peers.py's
# handler) they are ended before peers.py's own cleanup runs, which would kill QEMU but leave the
# run's files behind.
_running = set()


@atexit.register
def _end_all():
    for guest in list(_running):
        guest._end("the test ended first; killed")


class _Tail:
    """Reads a file that another process appends to, a complete line at a time."""

    def __init__(self, path):
        self.file = open(path, "rb")
        self.partial = b""

    def lines(self):
        *complete, self.partial = (self.partial + self.file.read()).split(b"\n")
        return [raw.decode(errors="replace").rstrip("\r") for raw in complete]

    def close(self):
        """The lines still unread, an unfinished last one included."""
        rest = self.lines()
        if self.partial:
            rest.append(self.partial.decode(errors="replace").rstrip("\r"))
        self.file.close()
        return rest


class LinuxGuest:
    """One guest run; see the module's docstring."""

    def __init__(self, script=None, disks=(), nets=(), memory_mib=512, cpus=2, extra_binaries=(),
                 timeout=300, echo=None, modules=MODULES, commands=False, dynamic_binaries=(),
                 qmp=False, incoming=None):
        if script is None and not commands:
            raise ValueError("a guest needs a script, the command channel, or both")
        self.script = script
        self.commands = commands
        self.disks = list(disks)
        self.nets = list(nets)
        self.memory_mib = memory_mib
        self.cpus = cpus
        self.extra_binaries = list(extra_binaries)
        self.dynamic_binaries = list(dynamic_binaries)
        self.timeout = timeout
        self.echo = echo
        self.modules = list(modules)
        self.token = f"linux_guest-{secrets.token_hex(8)}"
        self.process = None
        self.workdir = None
        self._console = None      # _Tail of the serial console
        self._messages = None     # _Tail of QEMU's own stdout and stderr
        self._lines = []          # the console's complete lines, the markers left out
        self._qemu_lines = []
        self._start_line = None   # where the script's output begins in _lines
        self._status = None
        self._status_line = None  # where it ends, once the status came
        self._cursor = 0          # wait_for_line looks at _lines from here on
        self._started_at = None
        self._boot_seconds = None
        self._result = None
        self._channel = None      # the command channel's socket, once connected
        self._channel_buffer = b""
        self._channel_ready = False
        self._command_id = 0
        # Live migration (see the module's docstring): QEMU's QMP socket in the run's directory,
        # and `-incoming` (None: boot; True: a Unix socket in the run's directory; or a URI).
        self.qmp = qmp
        self.incoming = incoming
        self._qmp_client = None
        self._initrd_source = None   # a destination's: the source's archive, copied at start
        # QEMU's default MACs where a configured NIC has none, so init can find it by address.
        for i, n in enumerate(self.nets):
            if n.ip is not None and n.mac is None:
                self.nets[i] = dataclasses.replace(n, mac=f"52:54:00:12:34:{0x56 + i:02x}")

    def __enter__(self):
        if self.process is None:
            self.start()
        return self

    def __exit__(self, *exc):
        if self._result is None:
            self._end("left the with block before finish(); killed")

    @property
    def pid(self):
        return self.process.pid

    def qemu_argv(self, initrd, console):
        """QEMU's command line, the serial console going to the file `console`."""
        mem = self.memory_mib
        argv = ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max",
                "-smp", str(self.cpus), "-m", f"{mem}M",
                "-object", f"memory-backend-memfd,id=mem,size={mem}M,share=on",
                "-numa", "node,memdev=mem", "-display", "none", "-no-reboot", "-nodefaults",
                # The console in a file of its own, apart from QEMU's messages.
                "-chardev", f"file,id=console,path={console}", "-serial", "chardev:console",
                *self._channel_argv(),
                "-kernel", kernel_image(), "-initrd", initrd,
                # lpj= spares the secondary vCPUs a delay-loop calibration that takes about 1 s
                # under TCG and fails anyway; delays use the TSC, so the value (a 2.6 GHz CPU's)
                # hardly matters.
                "-append", "console=ttyS0 panic=-1 quiet lpj=10384452"]
        # vectors=0 on every vhost-user device: QEMU 7.2 under TCG segfaults setting up MSI-X
        # vector notifiers for them (msix_set_vector_notifiers); legacy INTx works.
        for i, d in enumerate(self.disks):
            chardev = f"socket,id=blk{i},path={d.socket}"
            if d.reconnect is not None:
                chardev += f",reconnect={d.reconnect}"
            argv += ["-chardev", chardev, "-device",
                     f"vhost-user-blk-pci,chardev=blk{i},num-queues={d.queues},vectors=0"]
        for i, n in enumerate(self.nets):
            device = f"virtio-net-pci,netdev=net{i},vectors=0"
            if n.queues > 1:
                device += ",mq=on"
            if n.mac:
                device += f",mac={n.mac}"
            if n.packed:
                device += ",packed=on"
            if n.mtu is not None:
                device += f",host_mtu={n.mtu}"
            chardev = f"socket,id=nic{i},path={n.socket}"
            if n.server:
                chardev += ",server=on,wait=off"
            if n.reconnect is not None:
                chardev += f",reconnect={n.reconnect}"
            argv += ["-chardev", chardev,
                     "-netdev", f"vhost-user,id=net{i},chardev=nic{i},queues={n.queues}",
                     "-device", device]
        if self.qmp:
            argv += ["-qmp", f"unix:{self.qmp_path()},server=on,wait=off"]
        if self.incoming is not None:
            argv += ["-incoming", self.incoming_uri()]
        return argv

    def qmp_path(self):
        """The QMP socket (qmp=True), in the run's directory."""
        return os.path.join(self.workdir, "qmp.sock")

    def qmp_client(self):
        """A tests/lib/qmp.py client of this QEMU (qmp=True), connected at the first call."""
        if self._qmp_client is None:
            from qmp import Qmp
            self._qmp_client = Qmp(self.qmp_path())
        return self._qmp_client

    def incoming_uri(self):
        """Where a destination (incoming=...) takes the migration stream: the URI given, or
        `unix:` a socket in the run's directory for incoming=True."""
        if self.incoming is True:
            return f"unix:{os.path.join(self.workdir, 'migrate.sock')}"
        return self.incoming

    def destination(self, nets=None, echo=None, timeout=None):
        """A guest (not started) to migrate this one to: the same QEMU command line (machine,
        memory, kernel, this run's archive, token, command channel) with `nets` (by default this
        guest's: give the same MACs in the same order, on other sockets), QMP, and
        incoming=True. Start it while this guest runs, migrate (QMP `migrate` to its
        incoming_uri()), then call its take_over(this guest)."""
        if self.workdir is None:
            raise RuntimeError("destination() needs the source started")
        dest = LinuxGuest(script=self.script, disks=self.disks,
                          nets=self.nets if nets is None else nets, memory_mib=self.memory_mib,
                          cpus=self.cpus, extra_binaries=self.extra_binaries,
                          timeout=self.timeout if timeout is None else timeout, echo=echo,
                          modules=self.modules, commands=self.commands,
                          dynamic_binaries=self.dynamic_binaries, qmp=True, incoming=True)
        dest.token = self.token
        dest._initrd_source = os.path.join(self.workdir, "initrd.cpio")
        return dest

    def take_over(self, source, reason="migrated away"):
        """After a completed migration from `source` to this guest (its destination()): this
        guest carries on the run (execute(), wait_for_line() and finish() now talk to the
        destination's console and command channel, connected at its start) and the source's
        QEMU, paused since the migration, is stopped (QMP `quit`, killed by PID if it does
        not end within 10 s) and its run ended with `reason`; returns the source's
        GuestResult."""
        self._start_line = 0 if source._start_line is not None else None
        self._boot_seconds = source._boot_seconds
        self._command_id = source._command_id
        self._channel_ready = source._channel_ready
        if source._qmp_client is not None and source.process.alive():
            try:
                source._qmp_client.command("quit")
            except Exception:   # QEMU may close the socket before it answers
                pass
            source.process.wait(10)
        return source._end(reason)

    def _channel_path(self):
        return os.path.join(self.workdir, "commands.sock")

    def _channel_argv(self):
        """The second serial port (ttyS1) on a socket QEMU listens on, for the command channel."""
        if not self.commands:
            return []
        return ["-chardev", f"socket,id=commands,path={self._channel_path()},server=on,wait=off",
                "-serial", "chardev:commands"]

    def _script_text(self):
        """What /script.sh runs: the script, after the command channel when there is one (in the
        background, or as the whole script when there is none, ended by finish())."""
        if not self.commands:
            return self.script
        if self.script is None:
            return "sh /commands.sh\n"
        return "sh /commands.sh > /dev/null 2>&1 &\n" + self.script

    def _initrd(self):
        """The cached base archive followed by this run's: token, script, network
        configuration, command channel, extra binaries."""
        if self._initrd_source is not None:   # a migration's destination: the source's archive
            initrd = os.path.join(self.workdir, "initrd.cpio")
            shutil.copy(self._initrd_source, initrd)
            return initrd
        root = os.path.join(self.workdir, "run-root")
        os.makedirs(os.path.join(root, "bin"))
        with open(os.path.join(root, "token"), "w") as f:
            f.write(self.token + "\n")
        with open(os.path.join(root, "script.sh"), "w") as f:
            f.write(self._script_text())
        if self.commands:
            with open(os.path.join(root, "commands.sh"), "w") as f:
                f.write(COMMANDS)
        configured = [n for n in self.nets if n.ip is not None]
        if configured:
            with open(os.path.join(root, "net.conf"), "w") as f:
                f.writelines(f"{n.mac.lower()} {n.ip}\n" for n in configured)
        for path in self.extra_binaries:
            shutil.copy(path, os.path.join(root, "bin", os.path.basename(path)))
        for path in self.dynamic_binaries:
            shutil.copy(path, os.path.join(root, "bin", os.path.basename(path)))
            for library in shared_libraries(path):
                target = os.path.join(root, library.lstrip("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy(library, target)   # the file itself where the host has a symlink
        initrd = os.path.join(self.workdir, "initrd.cpio")
        with open(base_initramfs(self.modules), "rb") as base, open(initrd, "wb") as out:
            shutil.copyfileobj(base, out)
            _cpio(root, out)
        shutil.rmtree(root)
        return initrd

    def start(self):
        """Starts QEMU and returns at once."""
        if not os.path.exists(os.path.join(KERNEL_DIR, "ready")):
            raise RuntimeError("no guest kernel: run scripts/setup.sh first")
        self.workdir = tempfile.mkdtemp(prefix="rl-linux-guest-")
        try:
            console = os.path.join(self.workdir, "console")
            open(console, "wb").close()
            argv = self.qemu_argv(self._initrd(), console)
            self._console = _Tail(console)
            self._started_at = time.monotonic()
            self.process = peers.Process(argv, "qemu", stdin=subprocess.DEVNULL,
                                         log_dir=self.workdir)
            self._messages = _Tail(self.process.log_path)
            _running.add(self)
        except BaseException:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        # The channel is connected now, not at the first execute(): QEMU drops what the guest
        # writes to a socket nobody is connected to, so a guest that boots before the test first
        # asks (one of several started together, say) would say "RLCMD ready" to no one.
        # QEMU makes the socket before it starts the vCPUs.
        deadline = time.monotonic() + 10
        while self.commands and self._channel is None and time.monotonic() < deadline:
            self._connect_channel()
            if self._channel is None:
                if not self.process.alive():
                    break
                time.sleep(0.005)
        # A migration's destination listens for the stream once its devices are up (its
        # vhost-user backends answered): a `migrate` sent before would find no socket.
        deadline = time.monotonic() + 30
        while (self.incoming is True and not os.path.exists(self.incoming_uri()[len("unix:"):])
               and self.process.alive() and time.monotonic() < deadline):
            time.sleep(0.005)
        return self

    def _pump(self, final=False):
        """Takes in what QEMU and the console wrote since the last call (all of it, unfinished
        lines too, when final)."""
        for line in self._messages.close() if final else self._messages.lines():
            self._show(line)
            self._qemu_lines.append(line)
        for line in self._console.close() if final else self._console.lines():
            self._take(line)

    def _show(self, line):
        if self.echo is not None:
            print(f"{self.echo}{line}", flush=True)

    def _take(self, line):
        # Anywhere in the line: when the script's output ends without a newline, the exit marker
        # follows it on the same line.
        marker = re.search(f"{self.token} exit ([0-9]+)", line)
        if self._status is None and marker:
            line = line[:marker.start()]
            self._status = int(marker.group(1))
            self._status_line = len(self._lines) + (1 if line else 0)
            if not line:
                return
        elif self._start_line is None and line == f"{self.token} start":
            self._start_line = len(self._lines)
            self._boot_seconds = time.monotonic() - self._started_at
            return
        self._show(line)
        self._lines.append(line)

    def _deadline(self, timeout):
        if timeout is None:
            return self._started_at + self.timeout
        return time.monotonic() + timeout

    def wait_for_line(self, text, timeout=None):
        """Waits for a line of the script's output containing `text`, after the one the last
        call found, and returns it. Without `timeout`, waits as long as the run's own timeout
        allows. Raises GuestError when the guest ends first or the time is up (then the guest
        is killed)."""
        deadline = self._deadline(timeout)
        while True:
            alive = self.process.alive()
            self._pump()
            if self._start_line is not None:
                end = self._status_line if self._status is not None else len(self._lines)
                for i in range(max(self._cursor, self._start_line), end):
                    if text in self._lines[i]:
                        self._cursor = i + 1
                        return self._lines[i]
            if self._status is not None or not alive:
                reason = f"the guest ended ({self._state()}) before printing {text!r}"
                break
            if time.monotonic() >= deadline:
                reason = (f"no line with {text!r} after "
                          f"{time.monotonic() - self._started_at:.0f} s, {self._state()}; killed")
                break
            time.sleep(0.02)
        result = self._end(reason)
        raise GuestError(self._why(reason, result), result)

    def execute(self, command, timeout=120):
        """Runs `command` (shell commands, several lines allowed) in the guest over the command
        channel (commands=True) and returns its CommandResult once it ended; waits for the guest
        to boot first if needed. One command at a time: a command that should go on while the
        host acts ends with `&` and redirects its output to a file. Raises GuestError when the
        guest ends or `timeout` (seconds, boot included on the first call) passes first; then the
        guest is killed."""
        if not self.commands:
            raise RuntimeError("execute() needs LinuxGuest(commands=True)")
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        self._await_channel("RLCMD ready", deadline, "the command channel")
        self._command_id += 1
        ident = self._command_id
        payload = base64.b64encode(command.encode()).decode()
        self._channel.sendall(f"CMD {ident} {payload}\n".encode())
        self._await_channel(f"RLCMD begin {ident}", deadline, f"command {command!r}")
        encoded = []
        while True:
            line = self._await_channel(None, deadline, f"the end of command {command!r}")
            end = re.fullmatch(rf"RLCMD end {ident} (-?[0-9]+)", line)
            if end:
                break
            encoded.append(line)
        output = base64.b64decode("".join(encoded)).decode(errors="replace")
        if self.echo is not None:
            for line in output.splitlines():
                self._show(f"(cmd {ident}) {line}")
        return CommandResult(status=int(end.group(1)), output=output,
                             seconds=time.monotonic() - started)

    def _await_channel(self, text, deadline, what):
        """The next line from the command channel (equal to `text`, when given: other lines are
        skipped), connecting first if needed. GuestError when the guest ends or time is up."""
        if text == "RLCMD ready" and self._channel_ready:
            return text
        while True:
            line = self._channel_line()
            if line is not None:
                if text is None or line == text:
                    if line == "RLCMD ready":
                        self._channel_ready = True
                    return line
                continue
            alive = self.process.alive()
            self._pump()
            if self._status is not None or not alive:
                reason = f"the guest ended ({self._state()}) while waiting for {what}"
                break
            if time.monotonic() >= deadline:
                reason = (f"waited for {what} until "
                          f"{time.monotonic() - self._started_at:.0f} s after start, "
                          f"{self._state()}; killed")
                break
            if self._channel is None:
                self._connect_channel()
                if self._channel is None:
                    time.sleep(0.02)
                    continue
            ready, _, _ = select.select([self._channel], [], [], 0.02)
            if ready:
                data = self._channel.recv(65536)
                if not data:
                    reason = f"QEMU closed the command channel while waiting for {what}"
                    break
                self._channel_buffer += data
        result = self._end(reason)
        raise GuestError(self._why(reason, result), result)

    def _channel_line(self):
        """A complete line from what the channel sent, or None."""
        line, sep, rest = self._channel_buffer.partition(b"\n")
        if not sep:
            return None
        self._channel_buffer = rest
        return line.decode(errors="replace").rstrip("\r")

    def _connect_channel(self):
        if not os.path.exists(self._channel_path()):
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self._channel_path())
        except OSError:
            sock.close()
            return
        self._channel = sock

    def finish(self, timeout=None):
        """Waits for the script's status and QEMU's exit and returns the GuestResult. Without
        `timeout`, waits until the run's own timeout (from start) has passed; then kills QEMU.
        A guest that only serves commands is told to end (status 0) first."""
        deadline = self._deadline(timeout)
        if self.commands and self.script is None and self._status is None:
            self._await_channel("RLCMD ready", deadline, "the command channel")
            self._channel.sendall(b"EXIT 0\n")
        while self.process.alive() and time.monotonic() < deadline:
            self._pump()
            if self._status is not None:
                # Powering off takes well under a second; a guest that hangs in it is no reason
                # to hold the test up.
                deadline = min(deadline, time.monotonic() + POWEROFF_SECONDS)
            time.sleep(0.02)
        if self.process.alive():
            reason = (f"QEMU still running {time.monotonic() - self._started_at:.0f} s after "
                      f"start, {self._state()}; killed")
        else:
            reason = f"QEMU exited with status {self.process.proc.returncode}, {self._state()}"
        return self._end(reason)

    def run(self):
        """start() and finish(): the whole run, blocking."""
        self.start()
        return self.finish()

    def _state(self):
        if self._status is not None:
            return f"the script exited {self._status}"
        if self._start_line is not None:
            return "the script never reported its status"
        return "before the script started"

    @staticmethod
    def _why(reason, result):
        """A GuestError's message: the reason, and the last lines QEMU and the guest printed."""
        tail = result.qemu_messages.splitlines()[-10:] + result.console.splitlines()[-20:]
        return "\n".join([reason, "the last lines of QEMU and the console:", *tail])

    def _end(self, reason):
        """Kills QEMU if it still runs, removes the run's files, and fixes the result (the
        first call's: the reason is what went wrong first)."""
        if self._result is not None:
            return self._result
        _running.discard(self)
        self.process.kill()
        if self._channel is not None:
            self._channel.close()
        if self._qmp_client is not None:
            try:   # the events QEMU sent before it ended (SHUTDOWN says why) stay in .events
                self._qmp_client.poll_events()
            except Exception:
                pass
            self._qmp_client.close()
        self._pump(final=True)
        shutil.rmtree(self.workdir, ignore_errors=True)
        begin = self._start_line if self._start_line is not None else len(self._lines)
        end = self._status_line if self._status is not None else len(self._lines)
        self._result = GuestResult(
            status=self._status,
            output="".join(line + "\n" for line in self._lines[begin:end]),
            seconds=time.monotonic() - self._started_at, boot_seconds=self._boot_seconds,
            reason=None if self._status is not None else reason,
            console="".join(line + "\n" for line in self._lines),
            qemu_messages="".join(line + "\n" for line in self._qemu_lines))
        return self._result


def _device(spec, cls):
    """Disk or Net from the CLI's SOCK[,key=value]... form."""
    socket, *options = spec.split(",")
    fields = {}
    for option in options:
        key, _, value = option.partition("=")
        if key not in {f.name for f in dataclasses.fields(cls)} - {"socket"} or not value:
            raise argparse.ArgumentTypeError(f"bad option {option!r} in {spec!r}")
        try:
            fields[key] = value if key in ("mac", "ip") else int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key} wants a number in {spec!r}") from None
    return cls(socket=socket, **fields)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--disk", action="append", default=[],
                        type=lambda s: _device(s, Disk), help="SOCK[,queues=Q][,reconnect=S]")
    parser.add_argument("--net", action="append", default=[],
                        type=lambda s: _device(s, Net),
                        help="SOCK[,queues=Q][,mac=MAC][,ip=ADDRESS/PREFIX]")
    parser.add_argument("--binary", action="append", default=[],
                        help="a static binary the guest gets as /bin/<name>")
    parser.add_argument("--memory", type=int, default=512, help="guest RAM in MiB")
    parser.add_argument("--cpus", type=int, default=2, help="guest vCPUs")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the whole run")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--script", type=argparse.FileType("r"), help="the script to run")
    what.add_argument("-c", dest="commands", help="the commands to run")
    args = parser.parse_args()
    script = args.script.read() if args.script else args.commands + "\n"
    result = LinuxGuest(script, disks=args.disk, nets=args.net, memory_mib=args.memory,
                        cpus=args.cpus, extra_binaries=args.binary, timeout=args.timeout,
                        echo="").run()
    boot = f"{result.boot_seconds:.1f} s" if result.boot_seconds is not None else "none"
    if result.status is None:
        print(f"linux_guest: {result.reason} (boot {boot}, {result.seconds:.1f} s in all)",
              file=sys.stderr)
        sys.exit(125)
    print(f"linux_guest: the script exited {result.status} (boot {boot}, "
          f"{result.seconds:.1f} s in all)", file=sys.stderr)
    sys.exit(result.status)


if __name__ == "__main__":
    main()
