#!/usr/bin/env bash
# Sets up and runs the whole test suite (release build: the parity tests run real models).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Formatting as .swift-format says (under 140 columns); `swift format -i -r Sources Tests Package.swift` fixes it.
swift format lint --strict -r Sources Tests Package.swift
swift build -c release
swift test -c release
# Hostile inputs and unattended runs, short form (the long form for a release: 200 30).
bash scripts/stress_test.sh 20 4
# `report` in headless Chromium: no console message, no request, every chart drawn.
bash scripts/report_browser_test.sh
# The same tests with bounds checks on (debug) and the CLI's main paths under AddressSanitizer.
bash scripts/checked_test.sh
# The Slurm end-to-end test starts munge and Slurm daemons and installs them with apt-get: root only.
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/slurm_test.sh
else
  echo "skipping scripts/slurm_test.sh (needs root to install and start munge and Slurm)"
fi
