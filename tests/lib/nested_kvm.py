"""Runs a command where /dev/kvm exists. On a machine with KVM that is here; on one without (a
cloud VM with no nested virtualization), it is inside a QEMU TCG guest whose emulated AMD CPU has
SVM, so the guest's own KVM (kvm_amd) works: the Debian kernel that scripts/setup.sh fetched
boots a small initramfs that mounts this machine's root over 9p, loads kvm_amd, tun and veth,
and runs the command in a chroot of it (with TMPDIR on the guest's own tmpfs), in the same
directory with the same environment. The
command's output comes back on the serial console and its exit status ends this process.

    python3 tests/lib/nested_kvm.py [--memory MiB] [--cpus N] -- COMMAND ARGS...

Tests call reexec_with_kvm() first thing: it returns at once when KVM is here, and otherwise
runs the test itself in such a guest and exits with its status (RINGLANE_FORCE_NESTED=1 makes it
do so where KVM is here too)."""
import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

KERNEL_DIR = "/var/cache/ringlane/kernel/current"
WORK_DIR = "/var/tmp/ringlane-nested"  # on the shared root, outside the guest's own /tmp
MARKER = "ringlane-nested: exit "
INSIDE = "RINGLANE_NESTED_GUEST"
# What the guest needs before it can reach the shared root (their dependencies come along).
INITRAMFS_MODULES = ["virtio_pci", "9pnet_virtio", "9p"]
# The guest's CPU model, and the -march values whose code it can execute: TCG's EPYC has AVX2 but
# no AVX-512, so a -march=native build from a host that has AVX-512 dies there with SIGILL.
GUEST_CPU = "EPYC"
GUEST_MARCH = {"x86-64", "x86-64-v2", "x86-64-v3", "znver1"}

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in {modules}; do insmod /modules/$m || echo "ringlane-nested: insmod $m failed"; done
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /host || {{
  echo "ringlane-nested: cannot mount the shared root"; echo o > /proc/sysrq-trigger; }}
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm /host/dev/hugepages
mount -t devpts devpts /host/dev/pts
mount -t tmpfs shm /host/dev/shm
mount -t hugetlbfs hugetlbfs /host/dev/hugepages
mount -t tmpfs run /host/run
id=$(sed -n 's/.*ringlane_run=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
exec chroot /host /bin/sh {work}/$id/run.sh
"""

RUN = """#!/bin/sh
modprobe -d {kernel}/root -a kvm_amd tun veth {modules} 2>&1 || echo "ringlane-nested: modprobe failed"
ip link set lo up
echo {hugepages} > /proc/sys/vm/nr_hugepages
cd {cwd}
{exports}
export {inside}=1
# Scratch files and Unix sockets on the guest's own tmpfs, not over 9p; /tmp itself stays the
# shared one, since the project may be checked out there.
mkdir -p /run/tmp
export TMPDIR=/run/tmp
{command} < /dev/null
rc=$?
sync
echo "{marker}$rc"
echo 1 > /proc/sys/kernel/sysrq
echo o > /proc/sysrq-trigger
# init must not exit while the power-off completes; a builtin loop, since the shared root may
# already be gone for an external command such as sleep.
while :; do :; done
"""


def kvm_available():
    return os.path.exists("/dev/kvm")


def release():
    with open(os.path.join(KERNEL_DIR, "release")) as f:
        return f.read().strip()


def copy_modules(names, dest):
    """Copies the guest kernel's modules `names` and all they depend on into `dest`; returns
    their file names in load order (modprobe --show-depends lists dependencies first)."""
    order = []
    for name in names:
        out = subprocess.run(["modprobe", "-d", os.path.join(KERNEL_DIR, "root"), "-S",
                              release(), "--show-depends", name], capture_output=True,
                             text=True, check=True).stdout
        for line in out.splitlines():
            words = line.split()
            if words[:1] == ["insmod"] and os.path.basename(words[1]) not in order:
                order.append(os.path.basename(words[1]))
                shutil.copy(words[1], os.path.join(dest, order[-1]))
    return order


def initramfs():
    """The initramfs (busybox, the 9p modules, init), built once per kernel and init script."""
    tag = hashlib.sha256((INIT + " ".join(INITRAMFS_MODULES)).encode()).hexdigest()[:12]
    path = os.path.join(KERNEL_DIR, f"nested-initramfs-{tag}.cpio")
    if os.path.exists(path):
        return path
    root = tempfile.mkdtemp(prefix="rl-initramfs-")
    try:
        for d in ("bin", "proc", "sys", "dev", "modules"):
            os.makedirs(os.path.join(root, d))
        shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
        order = copy_modules(INITRAMFS_MODULES, os.path.join(root, "modules"))
        with open(os.path.join(root, "init"), "w") as f:
            f.write(INIT.format(modules=" ".join(order), work=WORK_DIR))
        os.chmod(os.path.join(root, "init"), 0o755)
        tmp = path + ".tmp"
        files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
        with open(tmp, "wb") as out:
            subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files,
                           stdout=out, check=True)
        os.rename(tmp, path)
        return path
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build_dir_of(path):
    """The Meson build directory a binary belongs to, or None."""
    d = os.path.dirname(os.path.abspath(path))
    while d != "/":
        if os.path.exists(os.path.join(d, "meson-info", "intro-buildoptions.json")):
            return d
        d = os.path.dirname(d)
    return None


def unrunnable_builds(command, env):
    """Messages for each Meson build whose binaries `command` may run (named in the command or
    in the environment) but that was built for an instruction set the guest's CPU lacks."""
    builds = set()
    for value in list(command) + list(env.values()):
        for word in str(value).split(":"):
            if os.path.isabs(word) and os.path.isfile(word) and os.access(word, os.X_OK):
                d = build_dir_of(word)
                if d:
                    builds.add(d)
    problems = []
    for d in sorted(builds):
        with open(os.path.join(d, "meson-info", "intro-buildoptions.json")) as f:
            options = {o["name"]: o["value"] for o in json.load(f)}
        march = options.get("march")
        if march is not None and march not in GUEST_MARCH:
            problems.append(
                f"{d} is built with -march={march}, but this command runs its binaries in a QEMU "
                f"TCG guest (-cpu {GUEST_CPU}) that cannot execute all of that instruction set "
                f"(it has no AVX-512); they would die with SIGILL. Build for the guest: "
                f"meson configure {d} -Dmarch=x86-64-v3 (scripts/setup.sh does).")
    return problems


def run(command, memory_mib=3072, cpus=2, hugepages=512, timeout=1800, env=None, devices=(),
        cmdline="", modules=()):
    """Runs `command` (a list) in a TCG guest with KVM; returns its exit status. `devices` are
    extra QEMU arguments (an IOMMU, PCI devices to bind), `cmdline` extra kernel parameters and
    `modules` extra modules the guest loads before the command."""
    if not os.path.exists(os.path.join(KERNEL_DIR, "ready")):
        print("nested_kvm: no guest kernel; run scripts/setup.sh first", file=sys.stderr)
        return 125
    env = dict(os.environ if env is None else env)
    problems = unrunnable_builds(command, env)
    if problems:
        for p in problems:
            print(f"nested_kvm: {p}", file=sys.stderr)
        return 126
    os.makedirs(WORK_DIR, exist_ok=True)
    work = tempfile.mkdtemp(prefix="run-", dir=WORK_DIR)
    run_id = os.path.basename(work)
    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items())
                        if k.isidentifier() and k not in ("PWD", "OLDPWD", "SHLVL", "_"))
    with open(os.path.join(work, "run.sh"), "w") as f:
        f.write(RUN.format(kernel=KERNEL_DIR, modules=" ".join(modules), hugepages=hugepages, cwd=shlex.quote(os.getcwd()),
                           exports=exports, inside=INSIDE, marker=MARKER,
                           command=" ".join(shlex.quote(c) for c in command)))
    qemu = ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", GUEST_CPU,
            "-machine", "q35", "-smp", str(cpus), "-m", str(memory_mib), "-nographic",
            "-no-reboot", "-nodefaults", "-serial", "stdio",
            "-kernel", os.path.join(KERNEL_DIR, "root", "boot", f"vmlinuz-{release()}"),
            "-initrd", initramfs(),
            "-append", f"console=ttyS0 panic=-1 quiet loglevel=3 {cmdline} ringlane_run={run_id}",
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,multidevs=remap",
            *devices]
    start = time.monotonic()
    proc = subprocess.Popen(qemu, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    status = None
    try:
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            # Anywhere in the line: when the command printed nothing, the marker follows the
            # firmware's last output, which ends without a newline.
            if MARKER in line:
                status = int(line[line.index(MARKER) + len(MARKER):].strip() or 1)
                continue
            if not line.startswith("qemu-system-x86_64: warning: TCG doesn't support"):
                print(line, flush=True)
            if time.monotonic() - start > timeout:
                print(f"nested_kvm: timed out after {timeout} s", file=sys.stderr)
                break
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    took = time.monotonic() - start
    if status is None:
        print(f"nested_kvm: the guest ended without the command's status ({took:.0f} s)",
              file=sys.stderr)
        return 125
    print(f"nested_kvm: {' '.join(command[:2])}... exited {status} in a TCG guest "
          f"after {took:.0f} s", file=sys.stderr)
    return status


# Set to 1 to run KVM tests in the TCG guest even where /dev/kvm exists: how a machine with KVM
# checks that its tests also pass on one without.
FORCE = "RINGLANE_FORCE_NESTED"


def reexec_with_kvm(**kwargs):
    """Returns when KVM is here; otherwise runs this very script in a guest that has it."""
    if os.environ.get(INSIDE) or (kvm_available() and not os.environ.get(FORCE)):
        return
    sys.exit(run([sys.executable] + sys.argv, **kwargs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory", type=int, default=3072, help="guest RAM in MiB")
    parser.add_argument("--cpus", type=int, default=2, help="guest vCPUs")
    parser.add_argument("--always", action="store_true",
                        help="use a guest even when this machine has /dev/kvm")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    if kvm_available() and not args.always:
        os.execvp(command[0], command)
    sys.exit(run(command, memory_mib=args.memory, cpus=args.cpus))


if __name__ == "__main__":
    main()
