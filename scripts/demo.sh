#!/usr/bin/env bash
# The demo: ringlane with two VM ports on a dedicated core, driven for about 10 seconds by DPDK's
# virtio_user (testpmd io-forwarding, --tx-first) on the other core; then a summary table.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
exec python3 "$ROOT/scripts/demo.py" --ringlane "$ROOT/build/dataplane/ringlane" "$@"
