#!/usr/bin/env bash
# Writes the small synthetic sample corpus under manifests/ (espeak-ng voices, 16 kHz FLAC) in the
# LibriSpeech layout, plus TSV, JSONL and LJSpeech manifests over the same audio; Lhotse cuts over one long
# recording made of it (LibriHeavy's layout); and Emilia's layouts, a tar shard and a JSONL over MP3. Deterministic.
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
# Lhotse: the six clips one after another with a second of silence between them in one recording, and a
# LibriHeavy-style cuts file over it (no `text`: the book text and the ASR text in custom.texts).
mkdir -p manifests/sample/lhotse
flacs=$(find "$root" -name '*.flac' | sort)
parts=()
for f in $flacs; do sox -D "$f" "$tmp/$(basename "$f" .flac).wav" pad 0 1; parts+=("$tmp/$(basename "$f" .flac).wav"); done
sox -D "${parts[@]}" -b 16 manifests/sample/lhotse/recording.flac
# Emilia: MP3 members in a tar shard (KEY.mp3 + KEY.json) and MP3 files with a JSONL beside them.
mkdir -p "$tmp/emilia" manifests/sample/emilia/EN_B00001
for f in $flacs; do
  id=$(basename "$f" .flac)
  sox -D "$f" -C 128 "$tmp/emilia/$id.mp3"
done
python3 - "$tmp" $flacs <<'PY'
import gzip, io, json, subprocess, sys, tarfile
tmp, flacs = sys.argv[1], sys.argv[2:]
texts = {}
for f in flacs:
    trans = f.rsplit("/", 1)[0] + "/" + "-".join(f.rsplit("/", 1)[1].split("-")[:2]) + ".trans.txt"
    for line in open(trans):
        uid, text = line.rstrip("\n").split(" ", 1)
        texts[uid] = text
def seconds(path):
    return float(subprocess.run(["soxi", "-D", path], capture_output=True, text=True, check=True).stdout)
def book(text):  # the book text: cased and punctuated
    return text.capitalize() + "."
start, cuts = 0.0, []
total = seconds("manifests/sample/lhotse/recording.flac")
recording = {"id": "sample-recording", "sources": [{"type": "file", "channels": [0], "source": "recording.flac"}],
             "sampling_rate": 16000, "num_samples": round(total * 16000), "duration": total, "channel_ids": [0]}
for f in flacs:
    uid = f.rsplit("/", 1)[1][:-5]
    length = seconds(f)
    speaker = uid.split("-")[0]
    cuts.append({"id": "lhotse-" + uid, "start": round(start, 4), "duration": round(length, 4), "channel": 0,
                 "supervisions": [{"id": "lhotse-" + uid, "recording_id": recording["id"], "start": 0.0,
                                   "duration": round(length, 4), "channel": 0, "language": "English", "speaker": speaker,
                                   "custom": {"texts": [book(texts[uid]), texts[uid]]}}],
                 "recording": recording, "type": "MonoCut"})
    start += length + 1.0
with open("manifests/sample/lhotse/cuts.jsonl.gz", "wb") as raw:
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        for cut in cuts:
            out.write((json.dumps(cut) + "\n").encode())
def emilia(uid, i, wav):
    return {"id": f"EN_B0000{i // 3}_S{uid.split('-')[0]}_W{i:06d}", "wav": wav, "text": book(texts[uid]),
            "duration": round(seconds(f"{tmp}/emilia/{uid}.mp3"), 3), "speaker": f"EN_B0000{i // 3}_S{uid.split('-')[0]}",
            "language": "en", "dnsmos": round(3.0 + 0.1 * i, 2)}
uids = [f.rsplit("/", 1)[1][:-5] for f in flacs]
with tarfile.open("manifests/sample/emilia/EN_B00000.tar", "w", format=tarfile.USTAR_FORMAT) as shard:
    def add(name, data):
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode, info.uname, info.gname = len(data), 0, 0o644, "", ""
        shard.addfile(info, io.BytesIO(data))
    for i, uid in enumerate(uids[:3]):
        meta = emilia(uid, i, "")
        meta["wav"] = meta["id"] + ".mp3"
        add(meta["id"] + ".mp3", open(f"{tmp}/emilia/{uid}.mp3", "rb").read())
        add(meta["id"] + ".json", json.dumps(meta).encode())
with open("manifests/sample/emilia/EN_B00001.jsonl", "w") as out:
    for i, uid in enumerate(uids[3:], start=3):
        meta = emilia(uid, i, "")
        meta["wav"] = f"EN_B00001/{meta['id']}.mp3"
        subprocess.run(["cp", f"{tmp}/emilia/{uid}.mp3", "manifests/sample/emilia/" + meta["wav"]], check=True)
        out.write(json.dumps(meta, ensure_ascii=False) + "\n")
PY
du -sh manifests/sample
