#!/usr/bin/env bash
# Encode speed of tokenize-corpus against the PyTorch reference, back to back on the same audio and machine.
#   scripts/compare_speed.sh MODEL_DIR [SECONDS...]        (default 10 30)
# Needs the reference venv (scripts/reference/README.md) at $REFERENCE_PYTHON (default /opt/refvenv/bin/python)
# and a release build. Prints both real-time factors (encode, and decode of the codes) and their ratio per length,
# after the CPU, OpenBLAS version and core that `bench` ran with. ROUNDS=N (default 1) alternates the two N times
# per length and adds the median of the N ratios: a shared machine's speed drifts between minutes, and
# alternating keeps that drift from landing on one side only.
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
rounds=${ROUNDS:-1}
for s in "${lengths[@]}"; do
  pairs=()
  for ((round = 1; round <= rounds; round++)); do
    ref=$("$python" scripts/reference/bench_reference.py "$model" "$tmp/speech.wav" "$s" "$runs" "$threads" 2>/dev/null | tail -1)
    ours=$(.build/release/tokenize-corpus bench --model "$model" --audio "$tmp/speech.wav" --seconds "$s" --runs "$runs" \
      --threads "$threads" --json)
    pairs+=("$ref" "$ours")
  done
  python3 - "$s" "${pairs[@]}" <<'PY'
import json, statistics, sys
s, values = sys.argv[1], [json.loads(v) for v in sys.argv[2:]]
rounds = list(zip(values[0::2], values[1::2]))
m = rounds[0][1]["machine"]
print(f"# {m['cpu']}; OpenBLAS {m['openblas_version']}, core {m['blas_core']}; {rounds[0][1]['threads']} threads")
for stage, key in (("encode", "rtf"), ("decode", "decode_rtf")):
    for ref, ours in rounds:
        print(f"{s:>8} {stage:7s} {ref[key]:14.3f} {ours[key]:14.3f} {ref[key] / ours[key]:7.2f}x")
    if len(rounds) > 1:
        ratio = statistics.median(ref[key] / ours[key] for ref, ours in rounds)
        print(f"{s:>8} {stage:7s} {'median of ' + str(len(rounds)) + ' rounds':>29} {ratio:7.2f}x")
PY
done
