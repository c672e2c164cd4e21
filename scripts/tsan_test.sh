#!/usr/bin/env bash
# ThreadSanitizer (CI): the threaded code built with -sanitize=thread (.build-tsan, a debug build) and run.
#  1. The suites whose code runs on several threads: the runner (reader threads, encoder workers, the writer; kill and
#     resume), attention heads over a worker's threads (encoder and decoder parity), the parallel manifest parsing
#     (JSONL, Lhotse cuts, tar shards), merges of stores written by other processes, and the store's one-writer lock.
#     Their subprocesses run the ThreadSanitizer build of the CLI too (it sits beside the test bundle).
#  2. `run` with 1 and 2 workers on the sample corpus, and a decode on 2 threads, from the command line.
# A report fails the step: the test process and every CLI exit 66 after one (exitcode below), and the log is searched.
# The C kernels are built without target_clones here (vector.h), so the baseline clone is the one checked.
set -euo pipefail
cd "$(dirname "$0")/.."
export TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1"
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
log=$(mktemp)
work=$(mktemp -d /tmp/tokenize-corpus-tsan.XXXXXX)
trap 'rm -rf "$work" "$log"' EXIT
suites='DecoderParityTests|EncoderParityTests|ShutdownAndStoreTests|ShardMergeTests|ManifestTests|LhotseTests|TarShardTests'
suites+='|ResumeTests|AudioFormatTests'
status=0
swift test --sanitize=thread --scratch-path .build-tsan --skip-build --filter "$suites" >"$log" 2>&1 || status=$?
bin=$PWD/.build-tsan/debug/tokenize-corpus
fixtures=$PWD/Tests/CodecTests/Fixtures
for workers in 1 2; do
  "$bin" run manifests/sample/LibriSpeech --model "$fixtures/models/tiny-a" --store "$work/w$workers.db" --workers "$workers" \
    >>"$log" 2>&1 || status=$?
done
"$bin" codes "$fixtures/clips/speech0.wav" --model "$fixtures/models/tiny-b" >"$work/codes.json" 2>>"$log" || status=$?
"$bin" decode --model "$fixtures/models/tiny-b" --codes "$work/codes.json" --out "$work/decoded.wav" >>"$log" 2>&1 || status=$?
reports=$(grep -c "WARNING: ThreadSanitizer" "$log" || true)
if [ "$status" -ne 0 ] || [ "$reports" -ne 0 ]; then
  grep -A40 "WARNING: ThreadSanitizer" "$log" | head -200 || true
  grep -E "error:|failed" "$log" | head -40 || true
  echo "thread sanitizer: $reports report(s), exit status $status"
  exit 1
fi
echo "thread sanitizer: $(grep -Eo 'Executed [0-9]+ tests' "$log" | tail -1) and the CLI's run (1 and 2 workers), codes and decode: no report"
