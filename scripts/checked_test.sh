#!/usr/bin/env bash
# The checked runs CI adds to the release suite:
#  1. the Codec and Corpus tests in a debug build, where Swift's bounds, overflow and precondition checks are on;
#  2. the encode, decode, run and export paths of the CLI built with AddressSanitizer (.build-asan).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
# Not in debug: the 240-clip kill/resume runs, the 30-combination format sweep, the shard merges and the corpus-format
# tests that encode many clips (tar shards, cuts against sox) take minutes unoptimised and exercise no kernel the
# others do not; the release suite runs them, and the AddressSanitizer runs below read cuts and a tar shard.
swift test --skip-build --skip ResumeTests --skip AudioFormatTests --skip ShardMergeTests --skip TarShardTests \
  --skip LhotseTests.testCutsGiveTheCodesOfTheirSegmentsCutOutWithSox
swift build --sanitize=address --scratch-path .build-asan
bin=$PWD/.build-asan/debug/tokenize-corpus
work=$(mktemp -d /tmp/tokenize-corpus-asan.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Memory errors abort with a report; leaks in the runtime's own globals are not this check's business.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
fixtures=$PWD/Tests/CodecTests/Fixtures
for model in tiny-a tiny-b; do
  "$bin" codes "$fixtures/clips/speech0.wav" --model "$fixtures/models/$model" > "$work/$model.json"
  "$bin" decode --model "$fixtures/models/$model" --codes "$work/$model.json" --out "$work/$model.wav"
  "$bin" roundtrip "$fixtures/clips/short.wav" --model "$fixtures/models/$model" --out "$work/$model.short.wav" >/dev/null
done
"$bin" run manifests/sample/LibriSpeech --model "$fixtures/models/tiny-a" --store "$work/s.db" --workers 2 2>/dev/null
"$bin" run manifests/sample/sample.tsv --model "$fixtures/models/tiny-a" --store "$work/t.db" --workers 1 2>/dev/null
# Lhotse segments, an MP3 tar shard read through libarchive and libsndfile's virtual I/O, a gzipped manifest.
"$bin" run manifests/sample/lhotse/cuts.jsonl.gz manifests/sample/emilia/EN_B00000.tar manifests/sample/emilia/EN_B00001.jsonl \
  --model "$fixtures/models/tiny-a" --store "$work/c.db" 2>/dev/null
[ "$("$bin" status --store "$work/c.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["done"])')" -eq 12 ]
"$bin" export --store "$work/c.db" --tokenizer Tests/CorpusTests/Fixtures/tokenizers/small-llama3 --format parquet \
  --prompt same-speaker --prompt-min-duration 2 --where "dnsmos IS NULL OR dnsmos > 3" --out "$work/export-parquet" >/dev/null
for format in llasa jsonl megatron; do
  "$bin" export --store "$work/s.db" --tokenizer Tests/CorpusTests/Fixtures/tokenizers/small-llama3 --format "$format" \
    --out "$work/export-$format" >/dev/null
done
[ "$("$bin" status --store "$work/s.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["done"])')" -eq 6 ]
echo "address sanitizer: codes, decode, roundtrip (2 models), run (1 and 2 workers; files, Lhotse cuts, a tar shard), export (4 formats, filters, prompts) clean"
