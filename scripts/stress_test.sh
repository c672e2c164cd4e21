#!/usr/bin/env bash
# Repeats what a hostile test of the CLI found (issue 16), against the release build:
#   clean runs of a 300-utterance corpus, half with --workers 1, must all exit 0;
#   kill -9 at random moments, each resumed, must end with the dump of an uninterrupted run;
#   CRLF + BOM manifests of every format must give the LF results; NaN/Inf audio is a recorded failure;
#   MP3 decodes; crafted model folders fail with one line and exit 1 (codes, run, report);
#   the third hostile round's manifest, merge, slurm and export attacks (section 7).
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
length = globals().get("L", len(head))  # an edit may set the header length field itself
open(f"{dst}/model.safetensors", "wb").write(struct.pack("<Q", length) + head + bytes(body))
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
craft header-length 'L = 2**64 - 4'
echo "stress: $refused/$crafted crafted model folders refused with one line and exit 1"
# The crafted header length through run and report too (they fingerprint the folder first).
"$bin" ingest "$corpus/corpus.tsv" --store "$work/crafted.db" >/dev/null 2>&1
for command in run report; do
  set +e
  if [ "$command" = run ]; then
    "$bin" run "$corpus/corpus.tsv" --model "$work/models/header-length" --store "$work/crafted.db" >/dev/null 2>"$work/crafted.err"
  else
    "$bin" report --store "$work/crafted.db" --model "$work/models/header-length" --samples 1 --out "$work/r.html" 2>"$work/crafted.err"
  fi
  rc=$?
  set -e
  grep -v OpenBLAS "$work/crafted.err" > "$work/crafted.lines" || true
  [ "$rc" -eq 1 ] && [ "$(wc -l < "$work/crafted.lines")" -eq 1 ] \
    || fail "$command on a crafted header length: exit $rc: $(head -c 300 "$work/crafted.err")"
done

# 7. The third hostile round: readers, merge, slurm and export, each a recorded problem or one line, never a trap.
third=0; attacks=0
check() {  # description, command...: the command must succeed
  local what=$1; shift
  attacks=$((attacks + 1))
  if "$@" >"$work/third.out" 2>"$work/third.err"; then third=$((third + 1)); else fail "$what: $(tail -c 300 "$work/third.err")"; fi
}
refuse() {  # description, command...: the command must exit 1 with one error line (after any lines naming skipped inputs)
  local what=$1; shift
  attacks=$((attacks + 1))
  set +e; "$@" >/dev/null 2>"$work/third.err"; local rc=$?; set -e
  if [ "$rc" -eq 1 ] && [ "$(grep -c '^Error: ' "$work/third.err")" -eq 1 ] && tail -n 1 "$work/third.err" | grep -q '^Error: '; then
    third=$((third + 1))
  else
    fail "$what: exit $rc: $(tail -c 300 "$work/third.err")"
  fi
}
r3=$work/third
mkdir -p "$r3"
cp "$corpus/u0.wav" "$r3/rec.wav"
python3 - "$r3" <<'PY'
import json, sys
d = sys.argv[1]
def cut(i, start=0.1, duration=0.5, channel=0):
    return json.dumps({"id": f"c{i}", "type": "MonoCut", "start": start, "duration": duration, "channel": channel,
        "recording": {"id": "rec", "sampling_rate": 16000, "num_samples": 16000, "duration": 1.0, "channel_ids": [0],
                      "sources": [{"type": "file", "channels": [0], "source": "rec.wav"}]},
        "supervisions": [{"id": f"s{i}", "recording_id": "rec", "start": 0, "duration": duration, "text": f"cut {i}"}]})
open(f"{d}/cuts.jsonl", "w").write("{broken\n" + "\n".join([cut(0), cut(1, start=5.8e14), cut(2, duration=1e20),
    cut(3, channel="1"), cut(4, channel=1.5), cut(5)]) + "\n")
open(f"{d}/big.jsonl", "w").write('{"audio_filepath": "rec.wav", "text": "' + "x" * (17 << 20) + '"}\n'
    + json.dumps({"audio_filepath": "rec.wav", "text": "nul", "id": "k", "speaker": "a\u0000b"}) + "\n"
    + json.dumps({"audio_filepath": "rec.wav", "text": "kept", "id": "k2"}) + "\n")
n = 300 << 20
with open(f"{d}/big.wav", "wb") as f:  # a sparse 300 MB WAV
    f.write(b"RIFF" + __import__("struct").pack("<I", 36 + n) + b"WAVEfmt "
            + __import__("struct").pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) + b"data" + __import__("struct").pack("<I", n))
    f.truncate(44 + n)
import random
with open(f"{d}/long.jsonl", "w") as f:
    for i in range(60000):
        f.write(json.dumps({"audio_filepath": "rec.wav", "text": f"u {i} {random.getrandbits(64):x}", "id": f"g{i}"}) + "\n")
PY
for attempt in 1 2; do
  check "cuts past any recording, odd channels, a broken first line (run $attempt)" \
    "$bin" run "$r3/cuts.jsonl" --model "$model" --store "$r3/cuts.db"
done
done_cuts=$("$bin" status --store "$r3/cuts.db" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["done"])')
[ "$done_cuts" = 2 ] || fail "cuts: $done_cuts of the 2 good cuts encoded"
check "a 17 MiB line, a NUL in a speaker" "$bin" run "$r3/big.jsonl" --model "$model" --store "$r3/big.db"
gzip -f "$r3/long.jsonl"
head -c $(( $(stat -c %s "$r3/long.jsonl.gz") / 2 )) "$r3/long.jsonl.gz" > "$r3/cut.jsonl.gz"
check "a cut-off .jsonl.gz" "$bin" ingest "$r3/cut.jsonl.gz" --store "$r3/gz.db"
cp "$corpus/u1.wav" "$r3/ok.wav"; echo "big one" > "$r3/big.txt"; echo "ok one" > "$r3/ok.txt"
(cd "$r3" && tar czf shard.tar.gz big.wav big.txt ok.wav ok.txt)
check "a sparse 300 MB member in a .tar.gz" "$bin" run "$r3/shard.tar.gz" --model "$model" --store "$r3/shard.db" --max-duration 2
"$bin" failures --store "$r3/shard.db" | grep -q 'big.wav: too long: more than' || fail "the sparse member was not refused as too long"
check "merge" "$bin" merge "$r3/cuts.db" --into "$r3/all.db"
check "merge rerun over a glob matching the target" "$bin" merge "$r3"/cuts.db "$r3"/all.db --into "$r3/all.db"
refuse "merge of a store into itself" "$bin" merge "$r3/all.db" --into "$r3/all.db"
refuse "merge of a store without a model" "$bin" merge "$r3/gz.db" --into "$r3/none.db"
[ ! -e "$r3/none.db" ] || fail "a failed merge left its target behind"
check "slurm --out with a space" "$bin" slurm --manifest "$r3/cuts.jsonl" --model "$model" --out "$r3/my job" --tasks 2
grep -q "^#SBATCH --output=\"$r3/my job/logs/task-%a.log\"$" "$r3/my job/tokenize.sbatch" || fail "slurm: --output is not quoted"
refuse "slurm --out with a newline" "$bin" slurm --manifest "$r3/cuts.jsonl" --model "$model" --out "$r3/a
b" --tasks 2
for point in publish exchanged published; do
  # In an inner shell, which reports the kill to /dev/null.
  sh -c '"$@"; :' sh env TOKENIZE_CORPUS_EXPORT_CRASH="$point" "$bin" export --store "$r3/cuts.db" \
    --tokenizer Tests/CorpusTests/Fixtures/tokenizers/small-llama3 --format jsonl --out "$r3/export" >/dev/null 2>&1
  check "export after one killed at $point" "$bin" export --store "$r3/cuts.db" \
    --tokenizer Tests/CorpusTests/Fixtures/tokenizers/small-llama3 --format jsonl --out "$r3/export"
done
echo "stress: $third/$attacks attacks of the third hostile round held"

if [ "$failures" -gt 0 ]; then echo "stress: $failures check(s) failed"; exit 1; fi
echo "stress: all checks held"
