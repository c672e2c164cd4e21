#!/usr/bin/env bash
# Writes the small synthetic sample corpus under manifests/ (espeak-ng voices, 16 kHz FLAC) in the
# LibriSpeech layout, plus TSV, JSONL and LJSpeech manifests over the same audio. Deterministic.
set -euo pipefail
cd "$(dirname "$0")/.."
root=manifests/sample/LibriSpeech/dev-sample
rm -rf manifests/sample && mkdir -p "$root"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
say() {  # speaker chapter index voice speed text
  local dir="$root/$1/$2" id="$1-$2-$(printf %04d "$3")"
  mkdir -p "$dir"
  espeak-ng -v "$4" -s "$5" -w "$tmp/raw.wav" "$6"
  sox -D "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$dir/$id.flac"
  echo "$id ${6^^}" >> "$dir/$1-$2.trans.txt"
}
say 1001 2001 0 en-us 160 "the birch canoe slid on the smooth planks"
say 1001 2001 1 en-us 160 "glue the sheet to the dark blue background"
say 1001 2001 2 en-us 160 "it is easy to tell the depth of a well"
say 1002 2002 0 en-gb+f3 150 "these days a chicken leg is a rare dish"
say 1002 2002 1 en-gb+f3 150 "rice is often served in round bowls"
say 1002 2002 2 en-gb+f3 150 "the juice of lemons makes fine punch"
# The same audio as TSV, JSONL (NeMo) and LJSpeech manifests.
{
  printf 'id\tpath\ttext\tspeaker\n'
  for f in $(find "$root" -name '*.trans.txt' | sort); do
    spk=$(basename "$(dirname "$(dirname "$f")")")
    while read -r id text; do
      printf '%s\t%s\t%s\t%s\n' "tsv-$id" "LibriSpeech/dev-sample/${id%%-*}/$(echo "$id" | cut -d- -f2)/$id.flac" "${text,,}" "$spk"
    done < "$f"
  done
} > manifests/sample/sample.tsv
python3 - <<'PY'
import csv, json
rows = list(csv.DictReader(open("manifests/sample/sample.tsv"), delimiter="\t"))
with open("manifests/sample/sample.jsonl", "w") as out:
    for r in rows:
        out.write(json.dumps({"audio_filepath": r["path"], "text": r["text"], "id": "jsonl-" + r["id"][4:],
                              "speaker": r["speaker"]}) + "\n")
PY
mkdir -p manifests/sample/LJSpeech/wavs
for f in $(find "$root" -name '*.flac' | sort | head -3); do
  id=LJ-$(basename "$f" .flac)
  sox -D "$f" -b 16 "manifests/sample/LJSpeech/wavs/$id.wav"
  text=$(grep "$(basename "$f" .flac)" "$root"/*/*/*.trans.txt | cut -d' ' -f2-)
  echo "$id|${text,,}|${text,,}" >> manifests/sample/LJSpeech/metadata.csv
done
du -sh manifests/sample
