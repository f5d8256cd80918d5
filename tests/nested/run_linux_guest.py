#!/usr/bin/env python3
"""Boots a real Linux guest under ringlane-vmm, nested: this machine has no /dev/kvm (and where it
has, KVM may run guest kernel code far too slowly; see the platform notes), so QEMU boots a TCG guest (-cpu EPYC, q35, the Debian
kernel) with nested KVM (kvm_amd), and inside it the statically linked ringlane-vmm boots the
same Debian kernel with a busybox initramfs. The inner init prints markers, brings up the NICs
(virtio-net and/or e1000 on TAP devices of the outer guest), pings the outer guest and fetches a
file over TCP from it, then reboots (reboot=k: the keyboard controller's reset line), which ends
ringlane-vmm with status 0; the outer init reports that and powers off.

Separately invocable; the suite runs it too (meson test nested_linux, about a minute):
    tests/nested/run_linux_guest.py [--nic virtio] [--nic e1000] [--vcpus 2] [--vmm PATH]
Without --vmm, ringlane-vmm is built (statically linked, -march=x86-64-v3: it runs on QEMU's EPYC
model) in build-nested/. The kernel package is
fetched once with apt-get download into the cache directory (--cache, default
~/.cache/ringlane/nested). Exit status 0 when every check passed; timings are printed last.
"""
import argparse
import gzip
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

# One exact kernel package of the Debian 12 archive (a glob would match dozens of versions).
KERNEL_ABI = "6.1.0-57-amd64"
KERNEL_PACKAGE = f"linux-image-{KERNEL_ABI}"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

OUTER_MODULES = ["kvm_amd", "tun"]
# Per NIC model: the inner kernel module, the TAP device in the outer guest, the subnet.
NIC_PLANS = {
    "virtio": {"modules": ["virtio_pci", "virtio_net"], "driver": "virtio_net", "tap": "tap0",
               "net": "10.0.2", "port": 5000},
    "e1000": {"modules": ["e1000"], "driver": "e1000", "tap": "tap1", "net": "10.0.3",
              "port": 5001},
}
TRANSFER_BYTES = 1 << 20

MARK = "RINGLANE-"


def log(msg):
    print(f"[nested] {msg}", flush=True)


def run(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


# --- inputs: ringlane-vmm, the kernel and its modules ---------------------------------------

def build_vmm(build_dir):
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        log(f"configuring {build_dir}")
        run(["meson", "setup", build_dir, REPO, "--buildtype=release", "-Dtests=disabled",
             "-Dbenchmarks=disabled", "-Ddpdk=disabled",
             # It runs on QEMU's EPYC model (TCG), which has AVX2 but not this machine's AVX-512.
             "-Dmarch=x86-64-v3"], stdout=subprocess.DEVNULL)
    run(["ninja", "-C", build_dir, "-j2", "vmm/ringlane-vmm"], stdout=subprocess.DEVNULL)
    return os.path.join(build_dir, "vmm", "ringlane-vmm")


def check_static(path):
    out = subprocess.run(["file", "-L", path], capture_output=True, text=True).stdout
    if "statically linked" not in out and "static-pie" not in out:
        sys.exit(f"{path} is not statically linked (the outer initramfs has no libraries): {out}")


# scripts/setup.sh unpacks a kernel here for the VMM tests' nested runs; when it is the pinned one,
# no second copy is needed.
SETUP_KERNEL = f"/var/cache/ringlane/kernel/{KERNEL_PACKAGE}"


def default_cache():
    return os.environ.get("RINGLANE_NESTED_CACHE", os.path.expanduser("~/.cache/ringlane/nested"))


def fetch_kernel(cache):
    """Downloads and unpacks the pinned kernel package once; returns (vmlinuz, modules dir)."""
    for root in (os.path.join(SETUP_KERNEL, "root"), os.path.join(cache, KERNEL_ABI)):
        vmlinuz = os.path.join(root, "boot", f"vmlinuz-{KERNEL_ABI}")
        moddir = os.path.join(root, "lib", "modules", KERNEL_ABI)
        if os.path.exists(vmlinuz) and os.path.exists(os.path.join(moddir, "modules.dep")):
            return vmlinuz, moddir
    os.makedirs(cache, exist_ok=True)
    debs = [f for f in os.listdir(cache) if f.startswith(KERNEL_PACKAGE + "_") and f.endswith(".deb")]
    if not debs:
        log(f"apt-get download {KERNEL_PACKAGE}")
        run(["apt-get", "download", KERNEL_PACKAGE], cwd=cache)
        debs = [f for f in os.listdir(cache) if f.startswith(KERNEL_PACKAGE + "_")]
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    run(["dpkg", "-x", os.path.join(cache, debs[0]), tmp])
    depmod = shutil.which("depmod") or "/sbin/depmod"
    run([depmod, "-b", tmp, KERNEL_ABI])
    shutil.rmtree(root, ignore_errors=True)
    os.rename(tmp, root)
    return vmlinuz, moddir


def module_order(moddir, names):
    """The .ko files (relative to moddir) that load `names`, dependencies first."""
    deps = {}
    by_name = {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            path, _, rest = line.partition(":")
            deps[path] = rest.split()
            by_name[os.path.basename(path).split(".ko")[0].replace("-", "_")] = path
    order = []

    def visit(path):
        for d in deps[path]:
            visit(d)
        if path not in order:
            order.append(path)

    for n in names:
        visit(by_name[n])
    return order


# --- the two initramfs images ----------------------------------------------------------------

def write_cpio(root, out):
    files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    data = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files,
                          capture_output=True, check=True).stdout
    with gzip.open(out, "wb", compresslevel=1) as f:
        f.write(data)


def base_tree(root, moddir, modules):
    for d in ("bin", "dev", "proc", "sys", "tmp", "lib/modules"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
    for m in modules:
        shutil.copy(os.path.join(moddir, m), os.path.join(root, "lib", "modules"))
    return " ".join(os.path.basename(m) for m in modules)


PROLOGUE = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in {modules}; do insmod /lib/modules/$m || echo "{mark}INSMOD-FAILED $m"; done
"""

INNER_INIT = PROLOGUE + """echo "{mark}INNER-USERSPACE uptime=$(cut -d' ' -f1 /proc/uptime) cpus=$(nproc)"
ip link set lo up
for dev in /sys/class/net/eth*; do
  [ -e "$dev" ] || continue
  name=$(basename $dev)
  driver=$(basename $(readlink $dev/device/driver))
  case $driver in
{cases}
    *) echo "{mark}INNER-NIC $name unknown driver $driver"; continue ;;
  esac
  ip addr add $net.2/24 dev $name
  ip link set $name up
  echo "{mark}INNER-NIC $name driver=$driver irq=$(cat $dev/device/irq 2>/dev/null || cat $dev/device/../irq) mac=$(cat $dev/address)"
  if ping -c 3 -W 5 $net.1 > /tmp/ping 2>&1; then
    echo "{mark}INNER-PING $driver ok $(grep -o '[0-9]* packets received' /tmp/ping)"
  else
    echo "{mark}INNER-PING $driver failed"; cat /tmp/ping
  fi
  sum=$(nc $net.1 $port | md5sum | cut -d' ' -f1)
  echo "{mark}INNER-FETCH $driver md5=$sum"
  grep -E "^ *$name:" /proc/net/dev | tr -s ' ' | sed 's/^/{mark}INNER-STATS /'
done
grep -E "virtio|eth|ttyS" /proc/interrupts | tr -s ' ' | sed 's/^/{mark}INNER-IRQ /'
echo "{mark}INNER-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
{end} -f
"""

OUTER_INIT = PROLOGUE + """echo "{mark}OUTER-UP uptime=$(cut -d' ' -f1 /proc/uptime)"
[ -e /dev/kvm ] || echo "{mark}OUTER-NO-KVM"
dd if=/dev/urandom of=/tmp/blob bs=4096 count={blocks} 2>/dev/null
echo "{mark}OUTER-BLOB md5=$(md5sum /tmp/blob | cut -d' ' -f1)"
{taps}
echo "{mark}VMM-START uptime=$(cut -d' ' -f1 /proc/uptime)"
/bin/ringlane-vmm --kernel /inner/bzImage --initrd /inner/initrd.gz --memory {memory} \\
  --vcpus {vcpus} {nics} --cmdline "{cmdline}"
rc=$?
echo "{mark}VMM-EXIT rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
"""

OUTER_TAP = """tunctl -t {tap} > /dev/null
ip addr add {net}.1/24 dev {tap}
ip link set {tap} up
(while true; do nc -l -p {port} < /tmp/blob || sleep 1; done) &
"""


def build_images(work, vmlinuz, moddir, vmm, nics, vcpus, memory, inner_cmdline, end):
    inner = os.path.join(work, "inner-root")
    outer = os.path.join(work, "outer-root")
    shutil.rmtree(inner, ignore_errors=True)
    shutil.rmtree(outer, ignore_errors=True)
    plans = [NIC_PLANS[n] for n in nics]
    mods = base_tree(inner, moddir, module_order(moddir, [m for p in plans for m in p["modules"]]))
    cases = "\n".join(f"    {p['driver']}) net={p['net']} port={p['port']} ;;" for p in plans)
    with open(os.path.join(inner, "init"), "w") as f:
        f.write(INNER_INIT.format(modules=mods, mark=MARK, cases=cases, end=end))
    os.chmod(os.path.join(inner, "init"), 0o755)

    mods = base_tree(outer, moddir, module_order(moddir, OUTER_MODULES))
    os.makedirs(os.path.join(outer, "inner"))
    shutil.copy(vmlinuz, os.path.join(outer, "inner", "bzImage"))
    write_cpio(inner, os.path.join(outer, "inner", "initrd.gz"))
    shutil.copy(vmm, os.path.join(outer, "bin", "ringlane-vmm"))
    taps = "".join(OUTER_TAP.format(tap=p["tap"], net=p["net"], port=p["port"]) for p in plans)
    nic_args = " ".join(f"--nic mode={n},tap={NIC_PLANS[n]['tap']}" for n in nics)
    with open(os.path.join(outer, "init"), "w") as f:
        f.write(OUTER_INIT.format(modules=mods, mark=MARK, blocks=TRANSFER_BYTES // 4096,
                                  taps=taps, memory=memory, vcpus=vcpus, nics=nic_args,
                                  cmdline=inner_cmdline))
    os.chmod(os.path.join(outer, "init"), 0o755)
    initrd = os.path.join(work, "outer-initrd.gz")
    write_cpio(outer, initrd)
    return initrd


# --- running QEMU and reading the console ----------------------------------------------------

class Console:
    """QEMU's serial console, line by line, each line stamped with the time it arrived."""

    def __init__(self, proc, log_path):
        self.proc = proc
        self.lines = []  # (seconds since start, text)
        self.start = time.monotonic()
        self.done = threading.Event()
        self.log = open(log_path, "w")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            t = time.monotonic() - self.start
            self.lines.append((t, text))
            self.log.write(f"{t:8.3f} {text}\n")
            self.log.flush()
        self.done.set()

    def first(self, marker):
        for t, text in self.lines:
            if marker in text:
                return t, text
        return None, None

    def all(self, marker):
        return [text for _, text in self.lines if marker in text]


def run_qemu(vmlinuz, initrd, outer_smp, timeout, log_path, echo):
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "EPYC", "-machine", "q35",
            "-m", "2048", "-smp", str(outer_smp), "-nographic", "-no-reboot", "-nodefaults",
            "-serial", "stdio", "-kernel", vmlinuz, "-initrd", initrd,
            "-append", "console=ttyS0 panic=-1 quiet"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    console = Console(proc, log_path)
    try:
        shown = 0
        deadline = time.monotonic() + timeout
        while not console.done.wait(0.5):
            if echo:
                for t, text in console.lines[shown:]:
                    print(f"{t:8.3f} | {text}", flush=True)
                shown = len(console.lines)
            if time.monotonic() > deadline:
                log(f"timeout after {timeout} s: killing QEMU (pid {proc.pid})")
                break
        if echo:
            for t, text in console.lines[shown:]:
                print(f"{t:8.3f} | {text}", flush=True)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return console


# --- checks ------------------------------------------------------------------------------------

def evaluate(console, nics, end):
    """Returns (failures, timings) from the console markers."""
    failures = []
    t_outer, _ = console.first(MARK + "OUTER-UP")
    t_vmm, _ = console.first(MARK + "VMM-START")
    t_user, user = console.first(MARK + "INNER-USERSPACE")
    t_done, _ = console.first(MARK + "INNER-DONE")
    t_exit, exit_line = console.first(MARK + "VMM-EXIT")
    if t_outer is None:
        failures.append("the outer guest never reached its init")
    if console.first(MARK + "OUTER-NO-KVM")[0] is not None:
        failures.append("no /dev/kvm in the outer guest (kvm_amd did not load)")
    if t_user is None:
        failures.append("the inner Linux never reached user space")
    if exit_line is None:
        failures.append("ringlane-vmm never exited")
    elif "rc=0" not in exit_line:
        failures.append(f"ringlane-vmm exited with failure: {exit_line}")
    for line in console.all(MARK + "INSMOD-FAILED"):
        failures.append(line)
    # How ringlane-vmm saw the end: the keyboard controller's reset, or every vCPU halted.
    said = "guest halted" if end == "poweroff" else "guest reset the machine"
    if exit_line is not None and not console.all("ringlane-vmm: " + said):
        failures.append(f"ringlane-vmm did not report '{said}'")
    _, blob = console.first(MARK + "OUTER-BLOB")
    blob_md5 = blob.split("md5=")[1] if blob else None
    for n in nics:
        driver = NIC_PLANS[n]["driver"]
        pings = [l for l in console.all(MARK + "INNER-PING ") if f" {driver} " in l + " "]
        if not pings or " ok " not in pings[0] + " ":
            failures.append(f"{n}: ping from the inner guest failed ({pings})")
        elif "3 packets received" not in pings[0]:
            failures.append(f"{n}: ping lost packets: {pings[0]}")
        fetched = [l for l in console.all(MARK + "INNER-FETCH ") if f" {driver} " in l]
        if not fetched or blob_md5 is None or f"md5={blob_md5}" not in fetched[0]:
            failures.append(f"{n}: TCP fetch of {TRANSFER_BYTES} bytes did not match "
                            f"({fetched}, want md5={blob_md5})")
    timings = {
        "outer_boot_s": t_outer,
        "vmm_start_s": t_vmm,
        "inner_boot_s": (t_user - t_vmm) if t_user is not None and t_vmm is not None else None,
        "inner_run_s": (t_done - t_vmm) if t_done is not None and t_vmm is not None else None,
        "vmm_total_s": (t_exit - t_vmm) if t_exit is not None and t_vmm is not None else None,
    }
    return failures, timings


class Outcome:
    def __init__(self, console, failures, timings, log_path):
        self.console = console
        self.failures = failures
        self.timings = timings
        self.log_path = log_path

    def report(self):
        for line in self.console.all(MARK):
            if "INNER-" in line or "VMM-" in line:
                log(line[line.index(MARK):])
        for line in self.console.all("ringlane-vmm:"):
            log(line.strip())
        t = self.timings

        def fmt(v):
            return "n/a" if v is None else f"{v:.1f} s"
        log(f"timings: total {fmt(t['total_s'])} (preparation {fmt(t['prepare_s'])}, QEMU "
            f"{fmt(t['qemu_s'])}); outer boot to init {fmt(t['outer_boot_s'])}; inner boot "
            f"(ringlane-vmm start to inner user space) {fmt(t['inner_boot_s'])}; inner run to "
            f"its last marker {fmt(t['inner_run_s'])}; ringlane-vmm start to exit "
            f"{fmt(t['vmm_total_s'])}")
        for f in self.failures:
            log(f"FAIL: {f}")
        log(f"PASS (console log: {self.log_path})" if not self.failures
            else f"console log: {self.log_path}")


def boot(vmm, nics=(), vcpus=1, end="reboot", memory=256,
         inner_cmdline="console=ttyS0 reboot=k panic=-1 i8042.noaux", outer_smp=1,
         timeout=900, echo=False, cache=None, work=None):
    """Prepares both initramfs images, boots QEMU, and checks the markers. `vmm` None builds one."""
    t0 = time.monotonic()
    cache = cache or default_cache()
    vmm = vmm or build_vmm(os.path.join(REPO, "build-nested"))
    check_static(vmm)
    vmlinuz, moddir = fetch_kernel(cache)
    work = work or os.path.join(REPO, "build-nested", "nested-work")
    os.makedirs(work, exist_ok=True)
    initrd = build_images(work, vmlinuz, moddir, vmm, list(nics), vcpus, memory, inner_cmdline,
                          end)
    t_prep = time.monotonic() - t0
    log_path = os.path.join(work, "console.log")
    log(f"booting QEMU: inner guest with {vcpus} vCPU(s), NICs {list(nics) or 'none'}, "
        f"ending with {end} (console log: {log_path})")
    console = run_qemu(vmlinuz, initrd, outer_smp, timeout, log_path, echo)
    failures, timings = evaluate(console, nics, end)
    timings["prepare_s"] = t_prep
    timings["qemu_s"] = console.lines[-1][0] if console.lines else None
    timings["total_s"] = time.monotonic() - t0
    return Outcome(console, failures, timings, log_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vmm", help="a statically linked ringlane-vmm (default: build build-nested/)")
    ap.add_argument("--cache", help="where the kernel package goes (default: "
                    "$RINGLANE_NESTED_CACHE or ~/.cache/ringlane/nested)")
    ap.add_argument("--workdir", help="where images and the console log go "
                    "(default: build-nested/nested-work)")
    ap.add_argument("--nic", action="append", choices=sorted(NIC_PLANS), default=[],
                    help="a NIC for the inner guest, repeatable (default: none)")
    ap.add_argument("--vcpus", type=int, default=1, help="inner guest vCPUs")
    ap.add_argument("--outer-smp", type=int, default=1, help="outer guest CPUs")
    ap.add_argument("--memory", type=int, default=256, help="inner guest memory, MiB")
    ap.add_argument("--inner-cmdline", default="console=ttyS0 reboot=k panic=-1 i8042.noaux",
                    help="the inner kernel's command line")
    ap.add_argument("--end", choices=["reboot", "poweroff"], default="reboot",
                    help="how the inner init ends the machine: reboot -f (reboot=k: the "
                    "keyboard controller) or poweroff -f (no ACPI: every CPU halts)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds before QEMU is killed")
    ap.add_argument("--echo", action="store_true", help="show the console as it comes")
    ap.add_argument("--fetch-only", action="store_true",
                    help="only make sure the pinned kernel is unpacked (scripts/setup.sh)")
    args = ap.parse_args()
    if args.fetch_only:
        vmlinuz, _ = fetch_kernel(args.cache or default_cache())
        log(f"kernel: {vmlinuz}")
        return 0
    outcome = boot(args.vmm, args.nic, args.vcpus, args.end, args.memory, args.inner_cmdline,
                   args.outer_smp, args.timeout, args.echo, args.cache, args.workdir)
    outcome.report()
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
