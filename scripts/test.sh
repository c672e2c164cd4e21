#!/usr/bin/env bash
# Sets up and runs the whole test suite (release build: the parity tests run real models).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
swift test -c release
