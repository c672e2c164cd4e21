#!/usr/bin/env bash
# Text tokenizer speed of tokenize-corpus against Hugging Face tokenizers, one thread each, same text, same run.
#   scripts/compare_tokenizer_speed.sh TOKENIZER_DIR [TEXT_FILE]
# TOKENIZER_DIR holds tokenizer.json (e.g. the Llama 3 one llama3_tokenizer_agreement.py builds). Without a text
# file, the Python standard library docstrings are used (~1.9 MB). Needs the reference venv at $REFERENCE_PYTHON
# (default /opt/refvenv/bin/python) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
tokenizer=${1:?usage: scripts/compare_tokenizer_speed.sh TOKENIZER_DIR [TEXT_FILE]}
python=${REFERENCE_PYTHON:-/opt/refvenv/bin/python}
runs=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
text=${2:-$tmp/text.txt}
if [ $# -lt 2 ]; then
  (cd scripts/reference && "$python" -c "
from llama3_tokenizer_agreement import documentation_lines
open('$text', 'w', encoding='utf-8').write('\n'.join(documentation_lines(5_000_000)))" 2>/dev/null)
fi
ref=$("$python" scripts/reference/bench_tokenizer_reference.py --tokenizer "$tokenizer" --text "$text" --runs "$runs")
ours=$(.build/release/tokenize-corpus bench-tokenizer --tokenizer "$tokenizer" --text "$text" --runs "$runs" --json)
python3 - "$ref" "$ours" <<'PY'
import json, sys
ref, ours = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert ref["encode"]["tokens"] == ours["tokens"], f"token counts differ: {ref['encode']['tokens']} vs {ours['tokens']}"
print(f"{ours['lines']} lines, {ours['bytes'] / 1e6:.2f} MB, {ours['tokens']} tokens (same count both sides), "
      f"median of {ours['runs']} runs")
print(f"{'':38s} {'seconds':>8s} {'MB/s':>7s} {'tokens/s':>10s} {'ours x':>7s}")
rows = [(f"tokenizers {ref['tokenizers']} encode per line", ref["encode"]),
        (f"tokenizers {ref['tokenizers']} encode_batch serial", ref["encode_batch"])]
for name, r in rows:
    print(f"{name:38s} {r['median_seconds']:8.3f} {r['megabytes_per_second']:7.2f} {r['tokens_per_second']:10.0f} "
          f"{r['median_seconds'] / ours['median_seconds']:7.2f}")
print(f"{'tokenize-corpus bench-tokenizer':38s} {ours['median_seconds']:8.3f} {ours['megabytes_per_second']:7.2f} "
      f"{ours['tokens_per_second']:10.0f}")
print(f"load: tokenizers {ref['load_seconds']:.2f} s, ours {ours['load_seconds']:.2f} s")
PY
