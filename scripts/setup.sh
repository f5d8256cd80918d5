#!/usr/bin/env bash
# Idempotent set-up on Debian 12 as root: packages, hugepages, and a Meson build in ./build.
# Sourced by demo.sh and test.sh; safe to run again and again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PACKAGES=(
  meson ninja-build pkg-config g++ python3
  libgtest-dev libgmock-dev libbenchmark-dev
  libdpdk-dev dpdk dpdk-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  clang-14 libclang-rt-14-dev
  openvswitch-switch-dpdk
  qemu-system-x86
  linux-libc-dev procps iproute2 util-linux
  busybox-static cpio kmod
  liburing-dev e2fsprogs
  libbpf-dev libxdp-dev bpftool tcpdump ethtool
  prometheus
)

log() { printf '[setup] %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

prepare_hugepages() {
  # DPDK peers need shared, file-backed memory: 2 MiB hugepages on hugetlbfs.
  local want=${RINGLANE_HUGEPAGES:-2048}
  local have
  have=$(cat /proc/sys/vm/nr_hugepages)
  if ((have < want)); then
    echo "$want" > /proc/sys/vm/nr_hugepages || true
    have=$(cat /proc/sys/vm/nr_hugepages)
    ((have >= 512)) || { log "could not reserve hugepages (have $have)"; exit 1; }
  fi
  mkdir -p /dev/hugepages
  mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages
}

# A Debian kernel for QEMU guests: VMM tests run inside a QEMU TCG guest with nested KVM when this
# machine has no /dev/kvm (tests/lib/nested_kvm.py), and real Linux guests boot it. The version is
# the one linux-image-amd64 names when first fetched; the cache keeps it from then on.
GUEST_KERNEL_DIR=/var/cache/ringlane/kernel
prepare_guest_kernel() {
  [[ -f "$GUEST_KERNEL_DIR/current/ready" ]] && return
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
  [[ -n "$pkg" ]] || { log "cannot tell which kernel linux-image-amd64 means"; exit 1; }
  local dir="$GUEST_KERNEL_DIR/$pkg"
  log "fetching guest kernel $pkg"
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && apt-get download -qq "$pkg" 2>/dev/null && dpkg -x ./*.deb root && rm -f ./*.deb)
  local release
  release=$(ls "$dir/root/lib/modules")
  depmod -b "$dir/root" "$release"
  echo "$release" > "$dir/release"
  touch "$dir/ready"
  ln -sfn "$pkg" "$GUEST_KERNEL_DIR/current"
}

# The nested Linux test (tests/nested/run_linux_guest.py) pins one kernel package; it is the one
# above today, in which case this finds it and does nothing.
prepare_nested_linux() {
  python3 "$ROOT/tests/nested/run_linux_guest.py" --fetch-only >/dev/null
}

build() {
  # One instruction set on every machine kind: the tests run these binaries inside QEMU TCG guests
  # (-cpu EPYC, tests/lib/nested_kvm.py), which lack the AVX-512 a host may have; with /dev/kvm a
  # -march=native build died there with SIGILL. nested_kvm.py refuses a build they cannot run.
  local march=${RINGLANE_MARCH:-x86-64-v3}
  if [[ ! -f "$ROOT/build/build.ninja" ]]; then
    log "configuring build/ (-march=$march)"
    meson setup "$ROOT/build" "$ROOT" --buildtype=release -Dmarch=$march >/dev/null
  elif ! grep -q -- "-march=$march" "$ROOT/build/build.ninja"; then
    log "reconfiguring build/ for -march=$march"
    meson configure "$ROOT/build" -Dmarch=$march >/dev/null
  fi
  log "building"
  ninja -C "$ROOT/build" >/dev/null || ninja -C "$ROOT/build"
}

build_fuzz() {
  if [[ ! -f "$ROOT/build-fuzz/build.ninja" ]]; then
    log "configuring build-fuzz/ (clang, libFuzzer, ASan, UBSan)"
    CXX=clang++-14 CC=clang-14 meson setup "$ROOT/build-fuzz" "$ROOT" -Dfuzz=true -Dbenchmarks=disabled \
      -Ddpdk=disabled --buildtype=debugoptimized >/dev/null
  fi
  # Only the fuzzers: the suite runs nothing else from this build, and the rest (every unit test
  # and program again, with sanitizers) took minutes of the suite's budget. No target found means
  # all of them.
  local targets
  mapfile -t targets < <(ninja -C "$ROOT/build-fuzz" -t targets all |
    sed -n 's|^\(tests/fuzz/fuzz_[a-z0-9_]*\): .*|\1|p')
  ninja -C "$ROOT/build-fuzz" "${targets[@]}" >/dev/null || ninja -C "$ROOT/build-fuzz" "${targets[@]}"
}

if [[ $EUID -ne 0 ]]; then
  log "run as root: packages, hugepages and vhost-user peers need it"
  exit 1
fi
install_packages
prepare_hugepages
prepare_guest_kernel
prepare_nested_linux
build
