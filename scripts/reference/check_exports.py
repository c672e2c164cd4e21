#!/usr/bin/env python3
"""Reads `tokenize-corpus export` output the way trainers do and checks it against the store and the reference.

  llasa:    np.load(shape) + np.memmap(int32) as LLaSA_training's TTSDataset; every row equals
            get_memmap_from_token.py's process_audio_id on the same codes and transcript (Transformers tokenizer).
  jsonl:    input_ids equal the llasa rows unpadded; same train/val membership.
  megatron: megatron-core's IndexedDataset reads .bin/.idx; documents equal the jsonl input_ids in order.

    /opt/refvenv/bin/python check_exports.py --store S --tokenizer TOKENIZER_DIR --binary tokenize-corpus --work DIR
"""
import argparse
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
from megatron.core.datasets.indexed_dataset import IndexedDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tokenizer_fixtures import reference_export_rows  # noqa: E402


def store_utterances(path):
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT id, transcript, codes FROM utterances WHERE status = 'done' ORDER BY rowid").fetchall()
    return [{"id": i, "text": t, "codes": np.frombuffer(c, dtype="<u2").astype(np.int64).tolist()} for i, t, c in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True)
    parser.add_argument("--tokenizer", required=True, help="a folder AutoTokenizer loads (tokenizer.json + tokenizer_config.json)")
    parser.add_argument("--binary", default="tokenize-corpus")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--val-size", default="2")
    args = parser.parse_args()

    outputs = {}
    for fmt in ["llasa", "jsonl", "megatron"]:
        outputs[fmt] = args.work / fmt
        subprocess.run([args.binary, "export", "--store", args.store, "--tokenizer", args.tokenizer, "--format", fmt,
                        "--out", str(outputs[fmt]), "--val-size", args.val_size, "--seed", "1"], check=True, capture_output=True)

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
    print(json.dumps(report, indent=2))
    print("OK: llasa rows = reference logic; jsonl and megatron (megatron-core reader) hold the same sequences")


if __name__ == "__main__":
    main()
