"""Writes a synthetic LibriHeavy-style cuts.jsonl.gz of N cuts over a few recordings, for the ingest scale check
(scripts/scale_test.sh). Cuts of 2-20 s, LibriHeavy's supervision layout (custom.texts), recordings named as
LibriLight's. Usage: make_scale_cuts.py OUT.jsonl.gz N RECORDING [RECORDING ...] [--interleave]"""
import gzip, json, random, sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
out, count, recordings = args[0], int(args[1]), args[2:]
interleave = "--interleave" in sys.argv
rng = random.Random(1)
words = "the of and to a in that he was it his i with as had for you her not but be at on him by is".split()
per = (count + len(recordings) - 1) // len(recordings)
with gzip.open(out, "wt", compresslevel=1) as f:
    for n in range(count):
        r = n % len(recordings) if interleave else n // per
        k = n // len(recordings) if interleave else n % per
        path = recordings[r]
        start = round(k * 3.6 + rng.random() * 0.3, 4)
        duration = round(2.0 + rng.random() * 1.2, 4) if interleave else round(2 + rng.random() * 18, 4)
        text = " ".join(rng.choice(words) for _ in range(int(duration * 3)))
        book = text.capitalize() + "."
        cut = {"id": f"large/{r:05d}/book_{r}_librivox_64kb_mp3/chapter_{r:02d}_{n}", "start": start, "duration": duration,
               "channel": 0,
               "supervisions": [{"id": f"sup-{n}", "recording_id": f"rec-{r}", "start": 0.0, "duration": duration,
                                 "channel": 0, "language": "English", "speaker": f"{r * 7 % 1000}",
                                 "custom": {"texts": [book, text.upper()], "pre_texts": [book[:40], text.upper()[:40]],
                                            "begin_byte": n * 100, "end_byte": n * 100 + 90}}],
               "recording": {"id": f"rec-{r}", "sources": [{"type": "file", "channels": [0], "source": path}],
                             "sampling_rate": 16000, "num_samples": 57600000, "duration": 3600.0, "channel_ids": [0]},
               "type": "MonoCut"}
        f.write(json.dumps(cut) + "\n")
