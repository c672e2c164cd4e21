#!/usr/bin/env python3
"""Reads `tokenize-corpus export` output the way trainers do and checks it against the store and the reference.

  llasa:    np.load(shape) + np.memmap(int32) as LLaSA_training's TTSDataset; every row equals
            get_memmap_from_token.py's process_audio_id on the same codes and transcript (Transformers tokenizer).
  jsonl:    input_ids equal the llasa rows unpadded; same train/val membership.
  megatron: megatron-core's IndexedDataset reads .bin/.idx; documents equal the jsonl input_ids in order.
  parquet:  pyarrow and datasets.load_dataset (the folder, splits from the file names, features from the dataset card)
            read the parts; rows equal the jsonl rows and the store's id, transcript, speaker, duration and codes. Every
            card parses as Hub metadata.
  re-export: jsonl and parquet loaded with datasets.load_dataset, exported again into the same folder with other rows
            (--val-size 1 --max-duration of the median), loaded again: the new rows, not the cached old ones.
  prompts:  --prompt same-speaker rows equal the reference logic on prompt transcript + " " + transcript and prompt
            codes + codes; each prompt is another utterance of the speaker, 3-10 s, in the same split.
All exports use --overflow truncate (LLaSA_training's behaviour) so that every row has its reference row.

    /opt/refvenv/bin/python check_exports.py --store S --tokenizer TOKENIZER_DIR --binary tokenize-corpus --work DIR
"""
import argparse
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard
from megatron.core.datasets.indexed_dataset import IndexedDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tokenizer_fixtures import reference_export_rows  # noqa: E402


def store_utterances(path):
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT id, transcript, speaker, duration, codes FROM utterances WHERE status = 'done' ORDER BY rowid").fetchall()
    return [{"id": i, "text": t, "speaker": s, "duration": d, "codes": np.frombuffer(c, dtype="<u2").astype(np.int64).tolist()}
            for i, t, s, d, c in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True)
    parser.add_argument("--tokenizer", required=True, help="a folder AutoTokenizer loads (tokenizer.json + tokenizer_config.json)")
    parser.add_argument("--binary", default="tokenize-corpus")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--val-size", default="2")
    args = parser.parse_args()

    outputs = {}
    for fmt in ["llasa", "jsonl", "megatron", "parquet", "prompts"]:
        outputs[fmt] = args.work / fmt
        extra = ["--format", "jsonl", "--prompt", "same-speaker"] if fmt == "prompts" else ["--format", fmt]
        subprocess.run([args.binary, "export", "--store", args.store, "--tokenizer", args.tokenizer, "--out", str(outputs[fmt]),
                        "--val-size", args.val_size, "--seed", "1", "--overflow", "truncate"] + extra, check=True, capture_output=True)

    utterances = store_utterances(args.store)
    reference, facts = reference_export_rows(Path(args.tokenizer), utterances)
    reference_by_id = {u["id"]: row for u, row in zip(utterances, reference)}
    report = {"utterances": len(utterances), "reference": facts}
    pad = facts["pad_id"]
    for split in ["train", "val"]:
        shape = tuple(np.load(outputs["llasa"] / f"{split}_input_ids_shape.npy"))
        rows = np.memmap(outputs["llasa"] / f"{split}_input_ids.memmap", dtype="int32", mode="r", shape=shape)
        documents = [json.loads(line) for line in open(outputs["jsonl"] / f"{split}.jsonl", encoding="utf-8")]
        for document in documents:
            expected = reference_by_id[document["id"]]
            ids = np.array(document["input_ids"], dtype=np.int32)
            assert np.array_equal(np.pad(ids, (0, len(expected) - len(ids)), constant_values=pad), expected), document["id"]
        ours = sorted(map(tuple, np.asarray(rows).tolist()))
        theirs = sorted(tuple(reference_by_id[d["id"]].tolist()) for d in documents)
        assert ours == theirs, f"{split}: llasa rows are not the reference rows of the jsonl split"
        dataset = IndexedDataset(str(outputs["megatron"] / split))
        assert len(dataset) == len(documents)
        for index, document in enumerate(documents):
            assert dataset[index].tolist() == document["input_ids"], f"megatron {split} document {index}"
        assert dataset.document_indices.tolist() == list(range(len(documents) + 1))
        report[split] = {"rows": int(shape[0]), "megatron_documents": len(dataset), "megatron_dtype": str(dataset.index.dtype.__name__)}
    # Parquet: pyarrow, then the Hub's loader through the dataset card.
    by_id = {u["id"]: u for u in utterances}
    loaded = datasets.load_dataset(str(outputs["parquet"]))  # the folder as the Hub loads it
    parts = {"train": sorted(map(str, outputs["parquet"].glob("train-*.parquet"))),
             "validation": sorted(map(str, outputs["parquet"].glob("val-*.parquet")))}
    direct = datasets.load_dataset("parquet", data_files=parts)
    for split, name in [("train", "train"), ("val", "validation")]:
        documents = [json.loads(line) for line in open(outputs["jsonl"] / f"{split}.jsonl", encoding="utf-8")]
        table_rows = []
        for part in sorted(outputs["parquet"].glob(f"{split}-*.parquet")):
            table = pq.read_table(part)
            assert table.schema.field("codes").type.value_type == "int32", table.schema
            table_rows += table.to_pylist()
        assert [r["id"] for r in table_rows] == [d["id"] for d in documents], f"parquet {split} ids"
        for row, document in zip(table_rows, documents):
            assert row["input_ids"] == document["input_ids"], row["id"]
            u = by_id[row["id"]]
            assert (row["text"], row["speaker"], row["duration"], row["codes"]) == (u["text"], u["speaker"], u["duration"], u["codes"])
        assert loaded[name].to_list() == table_rows, f"datasets.load_dataset {name} differs from pyarrow"
        assert direct[name].to_list() == table_rows, f"datasets.load_dataset('parquet') {name} differs from pyarrow"
        report[split]["parquet_rows"] = len(table_rows)
    for fmt in outputs:
        card = DatasetCard.load(outputs[fmt] / "README.md")
        assert "text-to-speech" in card.data.task_categories, fmt
        # data_files patterns in `configs` would key datasets' cache on the patterns: a re-export would load stale rows.
        assert "configs" not in card.data.to_dict(), fmt
        assert ("dataset_info" in card.data.to_dict()) == (fmt in ["jsonl", "parquet", "prompts"]), fmt
    report["features"] = {k: str(v) for k, v in loaded["train"].features.items()}

    # Re-export into the same folders with other rows: loading again must give the new rows.
    durations = sorted(u["duration"] for u in utterances)
    for fmt in ["jsonl", "parquet"]:
        before = datasets.load_dataset(str(outputs[fmt]))
        subprocess.run([args.binary, "export", "--store", args.store, "--tokenizer", args.tokenizer, "--out", str(outputs[fmt]),
                        "--format", fmt, "--val-size", "1", "--seed", "2", "--overflow", "truncate",
                        "--max-duration", str(durations[len(durations) // 2])], check=True, capture_output=True)
        info = json.load(open(outputs[fmt] / "export_info.json"))
        after = datasets.load_dataset(str(outputs[fmt]))
        counts = {name: len(after[name]) for name in after}
        assert counts == {"train": info["rows"]["train"], "validation": info["rows"]["val"]}, (fmt, counts, info["rows"])
        assert counts != {name: len(before[name]) for name in before}, f"{fmt}: the re-export has the same counts"
        report[f"reexport_{fmt}"] = {"before": {name: len(before[name]) for name in before}, "after": counts}

    # Same-speaker prompts.
    with sqlite3.connect(args.store) as db:
        splits = {}
        for split in ["train", "val"]:
            for line in open(outputs["prompts"] / f"{split}.jsonl", encoding="utf-8"):
                splits[json.loads(line)["id"]] = split
    prompted, joined = [], []
    for split in ["train", "val"]:
        for line in open(outputs["prompts"] / f"{split}.jsonl", encoding="utf-8"):
            document = json.loads(line)
            u = by_id[document["id"]]
            if "prompt_id" in document:
                p = by_id[document["prompt_id"]]
                assert p["id"] != u["id"] and p["speaker"] == u["speaker"] and 3 <= p["duration"] <= 10, document["id"]
                assert splits[p["id"]] == split, f"{document['id']}: prompt from the other split"
                joined.append({"id": u["id"], "text": p["text"] + " " + u["text"], "codes": p["codes"] + u["codes"]})
            else:
                joined.append(u)
            prompted.append(document)
    expected, _ = reference_export_rows(Path(args.tokenizer), joined)
    for document, row in zip(prompted, expected):
        ids = np.array(document["input_ids"], dtype=np.int32)
        assert np.array_equal(np.pad(ids, (0, len(row) - len(ids)), constant_values=pad), row), document["id"]
    report["prompts"] = {"rows": len(prompted), "with_prompt": sum("prompt_id" in d for d in prompted)}
    print(json.dumps(report, indent=2))
    print("OK: llasa rows = reference logic; jsonl, megatron (megatron-core) and parquet (pyarrow, datasets) hold the same "
          "sequences; dataset cards parse; a re-export loads its own rows; prompt rows = reference logic on the joined prompt and "
          "target")


if __name__ == "__main__":
    main()
