#!/usr/bin/env bash
# Repeats what a hostile test of the CLI found (issue 16), against the release build:
#   clean runs of a 300-utterance corpus, half with --workers 1, must all exit 0;
#   kill -9 at random moments, each resumed, must end with the dump of an uninterrupted run;
#   CRLF + BOM manifests of every format must give the LF results; NaN/Inf audio is a recorded failure;
#   MP3 decodes; crafted model folders fail with one line and exit 1.
# Usage: scripts/stress_test.sh [CLEAN_RUNS KILLS]   (CI: 20 4; for the note: 200 30)
set -euo pipefail
cd "$(dirname "$0")/.."
clean_runs=${1:-20}
kills=${2:-4}
bin=$PWD/.build/release/tokenize-corpus
model=$PWD/Tests/CodecTests/Fixtures/models/tiny-a
[ -x "$bin" ] || swift build -c release
work=$(mktemp -d /tmp/tokenize-corpus-stress.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# A 300-utterance corpus of 1-2 s clips (sox: a tone and pink noise, distinct per clip).
corpus=$work/corpus300
mkdir -p "$corpus"
printf 'id\tpath\ttext\tspeaker\n' > "$corpus/corpus.tsv"
for i in $(seq 0 299); do
  sox -D -n -r 16000 -b 16 -c 1 "$corpus/u$i.wav" synth 1.$((i % 9)) sine $((200 + i)) pinknoise vol 0.3 2>/dev/null
  printf 'u%d\tu%d.wav\tsentence %d\tspk%d\n' "$i" "$i" "$i" $((i % 7)) >> "$corpus/corpus.tsv"
done

# 1. Clean runs: every one exits 0.
ok=0
for i in $(seq 1 "$clean_runs"); do
  rm -f "$work/clean.db"*
  workers=()
  [ $((i % 2)) -eq 1 ] && workers=(--workers 1)
  if "$bin" run "$corpus/corpus.tsv" --model "$model" --store "$work/clean.db" "${workers[@]}" >/dev/null 2>"$work/clean.err"; then
    ok=$((ok + 1))
  else
    fail "clean run $i (${workers[*]:-default workers}) exited $?: $(tail -n 2 "$work/clean.err")"
  fi
done
echo "stress: $ok/$clean_runs clean runs exited 0 (odd runs with --workers 1)"
"$bin" dump --store "$work/clean.db" | sort > "$work/reference.jsonl"
[ "$(wc -l < "$work/reference.jsonl")" -eq 300 ] || fail "the clean run did not encode 300 utterances"

# 2. kill -9 at random moments (default workers), resume, compare.
same=0
for k in $(seq 1 "$kills"); do
  rm -f "$work/killed.db"*
  "$bin" run "$corpus/corpus.tsv" --model "$model" --store "$work/killed.db" --commit-interval 0.2 >/dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 10))$((RANDOM % 10))"; sleep $((RANDOM % 3))
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if ! "$bin" run "$corpus/corpus.tsv" --model "$model" --store "$work/killed.db" >/dev/null 2>"$work/resume.err"; then
    fail "resume $k exited non-zero: $(tail -n 1 "$work/resume.err")"
    continue
  fi
  if cmp -s <("$bin" dump --store "$work/killed.db" | sort) "$work/reference.jsonl"; then
    same=$((same + 1))
  else
    fail "kill $k: dump differs"
  fi
done
echo "stress: $same/$kills runs killed with -9 at random moments resumed to the uninterrupted dump"

# 3. CRLF + BOM manifests of every format give the LF results.
sample=$work/sample
cp -r manifests/sample "$sample"
to_crlf_bom() {
  python3 -c 'import sys; p = sys.argv[1]; d = open(p, "rb").read().replace(b"\r\n", b"\n")
open(p, "wb").write(b"\xef\xbb\xbf" + d.replace(b"\n", b"\r\n"))' "$1"
}
# id, text and codes of every done utterance, sorted.
strip() {
  "$bin" dump --store "$1" | python3 -c 'import sys, json
for line in sys.stdin: o = json.loads(line); print(json.dumps([o["id"], o["text"], o["codes"]]))' | sort
}
same=0; formats=0
for manifest in LibriSpeech sample.tsv sample.jsonl LJSpeech; do
  formats=$((formats + 1))
  "$bin" run "$PWD/manifests/sample/$manifest" --model "$model" --store "$work/lf-$manifest.db" >/dev/null 2>&1 || fail "LF $manifest"
  while IFS= read -r -d '' f; do to_crlf_bom "$f"; done < <(find "$sample/$manifest" \
    -name '*.trans.txt' -print0 -o -name '*.tsv' -print0 -o -name '*.jsonl' -print0 -o -name 'metadata.csv' -print0)
  "$bin" run "$sample/$manifest" --model "$model" --store "$work/crlf-$manifest.db" >/dev/null 2>&1 || fail "CRLF $manifest"
  if cmp -s <(strip "$work/lf-$manifest.db") <(strip "$work/crlf-$manifest.db") \
    && [ "$(strip "$work/crlf-$manifest.db" | wc -l)" -gt 0 ]; then
    same=$((same + 1))
  else
    fail "CRLF + BOM $manifest differs from LF"
  fi
done
echo "stress: $same/$formats manifest formats read the same with CRLF and a BOM as with LF"

# 4. NaN / Inf audio is a recorded failure; 5. MP3 decodes (when sox can write it).
odd=$work/odd
mkdir -p "$odd"
python3 - "$odd" <<'EOF'
import math, struct, sys
def float_wav(path, samples):
    data = struct.pack("<%df" % len(samples), *samples)
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    open(path, "wb").write(b"RIFF" + struct.pack("<I", len(body)) + body)
tone = [0.1 * math.sin(i / 10) for i in range(32000)]
for name, index, value in [("nan", 16000, float("nan")), ("inf", 5, float("inf")), ("neginf", 31999, float("-inf"))]:
    s = list(tone); s[index] = value; float_wav(f"{sys.argv[1]}/{name}.wav", s)
EOF
printf 'path\ttext\nnan.wav\ta\ninf.wav\tb\nneginf.wav\tc\n' > "$odd/nan.tsv"
mp3s=0
if sox -n -r 16000 -c 1 "$odd/probe.mp3" synth 0.1 sine 300 2>/dev/null; then
  for i in $(seq 0 12); do
    if sox -D "$corpus/u$((i * 20)).wav" -C 64 "$odd/m$i.mp3" 2>/dev/null; then
      printf 'm%d.mp3\tmp3 %d\n' "$i" "$i" >> "$odd/nan.tsv"
      mp3s=$((mp3s + 1))
    fi
  done
fi
"$bin" run "$odd/nan.tsv" --model "$model" --store "$work/odd.db" >/dev/null 2>&1 || fail "run over NaN/Inf and MP3 audio exited non-zero"
nonfinite=$("$bin" failures --store "$work/odd.db" | grep -c 'a non-finite sample' || true)
[ "$nonfinite" -eq 3 ] || fail "NaN/Inf: $nonfinite of 3 recorded as non-finite"
mp3done=$("$bin" dump --store "$work/odd.db" | grep -c '"text":"mp3' || true)
[ "$mp3done" -eq "$mp3s" ] || fail "MP3: $mp3done of $mp3s encoded: $("$bin" failures --store "$work/odd.db" | grep mp3 | head -n 1)"
echo "stress: $nonfinite/3 NaN/Inf files recorded as failures; $mp3done/$mp3s sox-written MP3 files encoded"

# 6. Crafted model folders: one line, exit 1, no signal.
crafted=0; refused=0
craft() {  # name, python statement over c (config) and h (safetensors header)
  local dir=$work/models/$1
  mkdir -p "$dir"
  cp Tests/CodecTests/Fixtures/models/tiny-b/preprocessor_config.json "$dir/"
  python3 - Tests/CodecTests/Fixtures/models/tiny-b "$dir" "$2" <<'EOF'
import json, struct, sys
src, dst, edit = sys.argv[1:4]
c = json.load(open(f"{src}/config.json"))
raw = open(f"{src}/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n]); body = bytearray(raw[8 + n:])
first = sorted(k for k in h if k.startswith("acoustic_encoder."))[0]
exec(edit)
json.dump(c, open(f"{dst}/config.json", "w"))
head = json.dumps(h).encode(); head += b" " * (-len(head) % 8)
open(f"{dst}/model.safetensors", "wb").write(struct.pack("<Q", len(head)) + head + bytes(body))
EOF
  crafted=$((crafted + 1))
  set +e
  "$bin" codes "$corpus/u0.wav" --model "$dir" >/dev/null 2>"$work/crafted.err"
  local rc=$?
  set -e
  if [ "$rc" -eq 1 ] && [ "$(wc -l < "$work/crafted.err")" -eq 1 ]; then
    refused=$((refused + 1))
  else
    fail "crafted $1: exit $rc: $(head -c 300 "$work/crafted.err")"
  fi
}
craft negative-offsets 'h[first]["data_offsets"] = [-4096, 0]'
craft huge-offsets 'h[first]["data_offsets"] = [0, 2**63 - 1]'
craft negative-shape 'h[first]["shape"] = [-1, -8]'
craft overflowing-shape 'h[first]["shape"] = [2**62, 4]'
craft zero-heads 'c["num_attention_heads"] = 0'
craft zero-semantic-heads 'c["semantic_model_config"]["num_attention_heads"] = 0'
craft zero-ratio 'c["downsampling_ratios"] = [0, 2, 4]'
craft huge-ratios 'c["downsampling_ratios"] = [2**62, 2**62, 4]'
craft huge-levels 'c["quantization_levels"] = [65536] * 8'
craft negative-hidden 'c["hidden_size"] = -1024'
craft nan-weight 'o = h[first]["data_offsets"][0]; body[o:o + 2] = b"\x00\x7e"'
craft inf-weight 'o = h[first]["data_offsets"][0]; body[o:o + 2] = b"\x00\x7c"'
echo "stress: $refused/$crafted crafted model folders refused with one line and exit 1"

if [ "$failures" -gt 0 ]; then echo "stress: $failures check(s) failed"; exit 1; fi
echo "stress: all checks held"
