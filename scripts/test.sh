#!/usr/bin/env bash
# Runs the whole test suite: unit tests, fuzzers (briefly), and integration tests against real
# peers. Prints "N passed, N failed" last and exits non-zero on any failure.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
build_fuzz

REPORTS="$ROOT/build/test-reports"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
export RINGLANE_TEST_REPORTS="$REPORTS"
status=0
# Suite wip: tests of open issues that do not pass reliably yet (tests/integration/meson.build).
meson test -C "$ROOT/build" --num-processes 1 --print-errorlogs --no-rebuild --no-suite wip || status=1
meson test -C "$ROOT/build-fuzz" --num-processes 1 --print-errorlogs --no-rebuild --suite fuzz || status=1
python3 "$ROOT/tests/summarize.py" "$ROOT/build/meson-logs/testlog.json" \
  "$ROOT/build-fuzz/meson-logs/testlog.json" --reports "$REPORTS" || status=1
exit $status
