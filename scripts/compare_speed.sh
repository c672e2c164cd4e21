#!/usr/bin/env bash
# Encode speed of tokenize-corpus against the PyTorch reference, back to back on the same audio and machine.
#   scripts/compare_speed.sh MODEL_DIR [SECONDS...]        (default 10 30)
# Needs the reference venv (scripts/reference/README.md) at $REFERENCE_PYTHON (default /opt/refvenv/bin/python)
# and a release build. Prints both real-time factors (encode, and decode of the codes) and their ratio per length,
# after the CPU, OpenBLAS version and core that `bench` ran with.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: scripts/compare_speed.sh MODEL_DIR [SECONDS...]}
shift
lengths=("${@:-10 30}")
[ $# -gt 0 ] || lengths=(10 30)
python=${REFERENCE_PYTHON:-/opt/refvenv/bin/python}
runs=${RUNS:-3}
threads=${THREADS:-$(nproc)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Speech long enough for the longest run: espeak-ng paragraphs, concatenated.
(cd scripts/reference && "$python" -c "
import sys; from pathlib import Path; from common import long_clips
import soundfile as sf, numpy as np
clips = long_clips(Path('$tmp/clips'))
audio = np.concatenate([sf.read(p, dtype='float32')[0] for p in clips.values()])
sf.write('$tmp/speech.wav', audio, 16000, subtype='PCM_16')")
printf '%8s %-7s %14s %14s %8s\n' seconds stage reference_rtf swift_rtf speedup
for s in "${lengths[@]}"; do
  ref=$("$python" scripts/reference/bench_reference.py "$model" "$tmp/speech.wav" "$s" "$runs" "$threads" 2>/dev/null | tail -1)
  ours=$(.build/release/tokenize-corpus bench --model "$model" --audio "$tmp/speech.wav" --seconds "$s" --runs "$runs" \
    --threads "$threads" --json)
  python3 - "$s" "$ref" "$ours" <<'PY'
import json, sys
s, ref, ours = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
m = ours["machine"]
print(f"# {m['cpu']}; OpenBLAS {m['openblas_version']}, core {m['blas_core']}; {ours['threads']} threads")
print(f"{s:>8} {'encode':7s} {ref['rtf']:14.3f} {ours['rtf']:14.3f} {ref['rtf'] / ours['rtf']:7.2f}x")
print(f"{s:>8} {'decode':7s} {ref['decode_rtf']:14.3f} {ours['decode_rtf']:14.3f} {ref['decode_rtf'] / ours['decode_rtf']:7.2f}x")
PY
done
