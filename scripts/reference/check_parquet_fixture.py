"""Checks Tests/CorpusTests/Fixtures/parquet/ (written by `tokenize-corpus export --format parquet` on
ExportShapingTests' planted store, bytes pinned by ParquetFixtureTests) with pyarrow and with
datasets.load_dataset: every column of every row equals the jsonl export of the same store beside it, the schema
is the one the dataset card declares, and the row groups and ZSTD pages are as written. Writes PROVENANCE.json.

    swift build -c release --build-tests && TOKENIZE_CORPUS_WRITE_PARQUET_FIXTURE=1 swift test -c release \
        --skip-build --filter ParquetFixtureTests
    /opt/refvenv/bin/python scripts/reference/check_parquet_fixture.py
"""
import json
import sys
from pathlib import Path

import datasets
import pyarrow
import pyarrow.parquet as pq

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "Tests/CorpusTests/Fixtures/parquet")
report = {}
for split in ["train", "val"]:
    path = folder / f"{split}-00000.parquet"
    metadata = pq.ParquetFile(path).metadata
    table = pq.read_table(path)
    documents = [json.loads(line) for line in open(folder / f"{split}.jsonl", encoding="utf-8")]
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == [d["id"] for d in documents]
    for row, document in zip(rows, documents):
        assert row["input_ids"] == document["input_ids"], row["id"]
        assert row.get("prompt_id") == document.get("prompt_id"), row["id"]
        assert len(row["codes"]) <= document["speech_tokens"] and isinstance(row["duration"], float)
    assert str(table.schema.field("codes").type) == "list<element: int32 not null>", table.schema
    assert table.schema.field("speaker").nullable and not table.schema.field("id").nullable
    column = metadata.row_group(0).column(0)
    assert column.compression == "ZSTD", column.compression
    report[split] = {"rows": table.num_rows, "row_groups": metadata.num_row_groups, "created_by": metadata.created_by,
                     "schema": str(table.schema).splitlines()}
loaded = datasets.load_dataset("parquet", data_files={"train": str(folder / "train-00000.parquet"),
                                                      "validation": str(folder / "val-00000.parquet")})
assert loaded["train"].to_list() == pq.read_table(folder / "train-00000.parquet").to_pylist()
report["datasets_features"] = {k: str(v) for k, v in loaded["train"].features.items()}
provenance = {"script": "scripts/reference/check_parquet_fixture.py", "pyarrow": pyarrow.__version__,
              "datasets": datasets.__version__, "checked": report}
(folder / "PROVENANCE.json").write_text(json.dumps(provenance, indent=1) + "\n")
print(json.dumps(provenance, indent=1))
print("OK: pyarrow and datasets read the fixture parts as the jsonl export has them")
