#!/usr/bin/env python3
"""Fills a store with synthetic done rows, to measure `stats`, `report` and `export` at corpus scale.

usage: make_large_store.py STORE ROWS [--seed N]
STORE must be a store made by `tokenize-corpus run` (it keeps its schema and model); ROWS rows are added:
durations of 1-20 s, 50 random codes a second, transcripts at ~15 characters a second, 2000 speakers.
Standard library only.
"""
import argparse
import random
import sqlite3
import struct
import time

WORDS = "the of and to a in that is was he for it with as his on be at by had not are but from or have an they which".split()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("rows", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    db = sqlite3.connect(args.store)
    db.execute("PRAGMA journal_mode = WAL")
    started = time.time()
    batch = []
    for i in range(args.rows):
        duration = round(rng.uniform(1, 20), 3)
        frames = int(duration * 50)
        text = []
        while sum(len(w) + 1 for w in text) < duration * rng.uniform(13, 17):
            text.append(rng.choice(WORDS))
        codes = struct.pack(f"<{frames}H", *(rng.getrandbits(16) for _ in range(frames)))
        batch.append((f"big{i:07d}", f"large.tsv:{i + 2}", f"/corpus/big{i:07d}.flac", " ".join(text).capitalize() + ".",
                      f"spk{int(rng.paretovariate(1.2)) % 2000}", "done", duration, 16000, frames, codes, started))
        if len(batch) == 10000:
            db.executemany("INSERT INTO utterances (id, source, audio_path, transcript, speaker, status, duration, sample_rate, "
                           "num_frames, codes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
            db.commit()
            batch = []
    if batch:
        db.executemany("INSERT INTO utterances (id, source, audio_path, transcript, speaker, status, duration, sample_rate, "
                       "num_frames, codes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"{args.store}: {args.rows} rows added in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
