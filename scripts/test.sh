#!/usr/bin/env bash
# Sets up and runs everything CI runs, in order, and ends with one summary line ("N passed, N failed").
# About 20 minutes on 2 cores from a fresh clone (the first release build is 2-3 of them):
#   formatting, release build, the XCTest suite (release: the parity tests run real models), the README's examples,
#   hostile inputs and unattended runs (short form), the report in headless Chromium, debug and AddressSanitizer
#   builds, ThreadSanitizer, and (as root) a one-node Slurm cluster.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "test.sh: setup failed"; exit 1; }
log=$(mktemp)
passed=0 failed=0 failures=()
step() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}
# Formatting as .swift-format says (under 140 columns); `swift format -i -r Sources Tests Package.swift` fixes it.
step "swift format lint" swift format lint --strict -r Sources Tests Package.swift
step "release build" swift build -c release
step "XCTest suite" bash -c "swift test -c release 2>&1 | tee '$log'"
# Every output the README shows is what the command prints today.
step "README examples" python3 scripts/check_readme.py
# Hostile inputs and unattended runs, short form (the long form for a release: 200 30).
step "stress test" bash scripts/stress_test.sh 20 4
# `report` in headless Chromium: no console message, no request, every chart drawn.
step "report in a browser" bash scripts/report_browser_test.sh
# The same tests with bounds checks on (debug) and the CLI's main paths under AddressSanitizer.
step "checked builds" bash scripts/checked_test.sh
# The threaded suites (and the ones the debug run skips) and the CLI's run under ThreadSanitizer.
step "thread sanitizer" bash scripts/tsan_test.sh
# The Slurm end-to-end test starts munge and Slurm daemons and installs them with apt-get: root only.
if [ "$(id -u)" -eq 0 ]; then
  step "Slurm cluster" bash scripts/slurm_test.sh
else
  echo "skipping scripts/slurm_test.sh (needs root to install and start munge and Slurm)"
fi
tests=$(grep -Eo "Executed [0-9]+ tests, with [0-9]+ failures" "$log" | tail -1)
rm -f "$log"
echo "test.sh: $passed passed, $failed failed${failures:+ (${failures[*]})}; XCTest: ${tests:-no summary}"
[ "$failed" -eq 0 ]
