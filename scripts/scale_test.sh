#!/usr/bin/env bash
# Issue 12's scale checks, run by hand (minutes, gigabytes of scratch; not part of scripts/test.sh):
#  1. a synthetic 2 000 000-cut LibriHeavy-style cuts.jsonl.gz over three real recordings is ingested: wall time
#     and peak RSS (`/usr/bin/time -v`), which must stay under 2 minutes and 1 GB;
#  2. 1 000 cuts over ten one-hour recordings, listed round-robin (the worst order), are encoded with the tiny
#     model under strace: how many times each recording is opened.
# Usage: bash scripts/scale_test.sh [SCRATCH_DIR]   (default /tmp/tokenize-corpus-scale)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/tokenize-corpus
[ -x "$bin" ] || swift build -c release
scratch=${1:-/tmp/tokenize-corpus-scale}
mkdir -p "$scratch"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"

# 1. Ingest of 2 million cuts.
for i in 0 1 2; do
  [ -f "$scratch/short$i.flac" ] || sox -n -r 16000 -b 16 "$scratch/short$i.flac" synth 60 sine $((200 + 100 * i)):2000 vol 0.3
done
[ -f "$scratch/cuts2m.jsonl.gz" ] || python3 scripts/make_scale_cuts.py "$scratch/cuts2m.jsonl.gz" 2000000 \
  "$scratch/short0.flac" "$scratch/short1.flac" "$scratch/short2.flac"
rm -f "$scratch/ingest.db" "$scratch/ingest.db-wal" "$scratch/ingest.db-shm"
/usr/bin/time -v "$bin" ingest "$scratch/cuts2m.jsonl.gz" --store "$scratch/ingest.db" 2> "$scratch/ingest.log"
grep -E "utterances read" "$scratch/ingest.log"
wall=$(grep "Elapsed (wall clock)" "$scratch/ingest.log" | awk '{print $NF}')
rss_kb=$(grep "Maximum resident set size" "$scratch/ingest.log" | awk '{print $NF}')
seconds=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
echo "ingest of 2000000 cuts: ${seconds} s wall, peak RSS $((rss_kb / 1024)) MB"

# 2. Opens of long recordings.
recordings=()
for i in $(seq 0 9); do
  f="$scratch/hour$i.flac"
  [ -f "$f" ] || sox -n -r 16000 -b 16 "$f" synth 3600 sine $((150 + 20 * i)):$((900 + 50 * i)) vol 0.3 tremolo 3 60
  recordings+=("$f")
done
python3 scripts/make_scale_cuts.py "$scratch/cuts1000.jsonl.gz" 1000 "${recordings[@]}" --interleave
rm -f "$scratch/opens.db"*
strace -f -e trace=openat -o "$scratch/opens.trace" "$bin" run "$scratch/cuts1000.jsonl.gz" \
  --model Tests/CodecTests/Fixtures/models/tiny-a --store "$scratch/opens.db" 2> "$scratch/opens.log"
tail -1 "$scratch/opens.log"
for f in "${recordings[@]}"; do
  printf '%s opened %d time(s)\n' "$(basename "$f")" "$(grep -c "\"$f\", O_RDONLY" "$scratch/opens.trace")"
done
awk -v s="$seconds" -v r="$rss_kb" 'BEGIN { if (s >= 120 || r >= 1048576) { print "FAIL: over 2 minutes or 1 GB"; exit 1 } }'
