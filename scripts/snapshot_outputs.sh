#!/usr/bin/env bash
# Every user-visible output of the sample corpus, hashed, for checking that a refactor changes nothing:
#   scripts/snapshot_outputs.sh /tmp/before   (on the old build)   then   scripts/snapshot_outputs.sh /tmp/after
#   diff /tmp/before.sha /tmp/after.sha
# Covers, for both fixture models: run + dump + failures, export in every format (files, export_info.json and the
# summary), codes, decode (sample data: libsndfile stamps float WAVs with the time) and a 16-bit roundtrip.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "$1")
bin=${BIN:-$repo/.build/release/tokenize-corpus}
rm -rf "$out"; mkdir -p "$out"; cd "$out"
for m in tiny-a tiny-b; do
  model=$repo/Tests/CodecTests/Fixtures/models/$m
  "$bin" run "$repo/manifests/sample/LibriSpeech" --model "$model" --store "$m.db" 2>/dev/null
  "$bin" dump --store "$m.db" > "$m.dump.jsonl"
  "$bin" failures --store "$m.db" > "$m.failures.jsonl"
  for f in llasa jsonl megatron; do
    "$bin" export --store "$m.db" --tokenizer "$repo/Tests/CorpusTests/Fixtures/tokenizers/small-llama3" --format "$f" \
      --out "exp-$m-$f" | sed 's/ in [0-9.]* s$//' > "exp-$m-$f.txt"
  done
  "$bin" codes "$repo/Tests/CodecTests/Fixtures/clips/speech0.wav" --model "$model" > "$m.codes.json"
  "$bin" decode --model "$model" --codes "$m.codes.json" --out "$m.decoded.wav"
  python3 -c "import sys; d = open(sys.argv[1], 'rb').read(); open(sys.argv[1] + '.data', 'wb').write(d[d.index(b'data'):])" \
    "$m.decoded.wav"
  rm "$m.decoded.wav"
  "$bin" roundtrip "$repo/Tests/CodecTests/Fixtures/clips/speech1.wav" --model "$model" --out "$m.rt.wav" --pcm16 >/dev/null
done
rm -f ./*.db ./*.db.lock
find . -type f | sort | xargs sha256sum > "$out.sha"
echo "$(wc -l < "$out.sha") files hashed into $out.sha"
