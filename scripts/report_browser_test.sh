#!/usr/bin/env bash
# The report in a real browser: `report` of the sample corpus (tiny random model, fixture tokenizer, three samples)
# opened in headless Chromium by scripts/check_report.py, which fails on a console message, a request the page
# makes, a missing or empty chart. Then the checker itself is shown to catch each of those, on broken copies.
# Usage: scripts/report_browser_test.sh [SCREENSHOT.png]   (default: a temporary file)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.build/release/tokenize-corpus
[ -x "$bin" ] || swift build -c release
work=$(mktemp -d /tmp/tokenize-corpus-report.XXXXXX)
trap 'rm -rf "$work"' EXIT
screenshot=${1:-$work/report.png}
charts=(duration-histogram speaker-hours chars-per-second token-lengths codebook-rank-frequency)
chart_args=()
for c in "${charts[@]}"; do chart_args+=(--chart "$c"); done

"$bin" run manifests/sample/LibriSpeech --model Tests/CodecTests/Fixtures/models/tiny-a --store "$work/sample.db" >/dev/null 2>&1
"$bin" report --store "$work/sample.db" --out "$work/report.html" \
  --tokenizer Tests/CorpusTests/Fixtures/tokenizers/small-llama3 --model Tests/CodecTests/Fixtures/models/tiny-a --samples 3
python3 scripts/check_report.py "$work/report.html" --screenshot "$screenshot" "${chart_args[@]}"

# The checker must fail on each fault, naming it.
expect_fault() {  # name, pattern, sed script
  sed "$3" "$work/report.html" > "$work/$1.html"
  if out=$(python3 scripts/check_report.py "$work/$1.html" --screenshot "$work/$1.png" "${chart_args[@]}"); then
    echo "FAIL: the checker passed a page with $1"; exit 1
  fi
  grep -q "$2" <<<"$out" || { echo "FAIL: $1 not reported as '$2':"; echo "$out"; exit 1; }
  echo "caught: $1"
}
expect_fault missing-chart "chart speaker-hours missing" 's/id="speaker-hours"/id="renamed"/'
expect_fault console-error "console:" 's|<h1>|<img src="https://example.invalid/pixel.png"><h1>|'
expect_fault network-without-csp "network request by the page: https://example.invalid/pixel.png" \
  's|<meta http-equiv="Content-Security-Policy"[^>]*>||; s|<h1>|<img src="https://example.invalid/pixel.png"><h1>|'
echo "report browser test passed"
