#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the fixture scripts need (Swift itself is
# expected on PATH, as on the project's machines). Safe to rerun.
# libarchive-dev: tar shards and compressed manifests; libzstd-dev: Parquet pages (ZSTD). chromium: the browser test of `report` (scripts/report_browser_test.sh).
set -euo pipefail
packages=(strace libopenblas-dev libsndfile1-dev libsqlite3-dev libsoxr-dev libfftw3-dev libarchive-dev libzstd-dev espeak-ng sox libsox-fmt-mp3 chromium)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
