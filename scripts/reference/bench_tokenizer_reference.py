#!/usr/bin/env python3
"""Times Hugging Face `tokenizers` on the lines of a file, one thread, the way `tokenize-corpus bench-tokenizer`
times ours: each line encoded on its own (add_special_tokens=False), one untimed warm-up, median of the runs.
Two ways: `encode` per line from Python (what get_memmap_from_token.py does; includes Python's call overhead) and
one `encode_batch` over all lines with TOKENIZERS_PARALLELISM=false (serial: the Rust cost alone).

    RAYON_NUM_THREADS=1 /opt/refvenv/bin/python bench_tokenizer_reference.py --tokenizer DIR --text FILE --runs 5
"""
import argparse
import json
import os
import statistics
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", required=True, help="folder with tokenizer.json, or the file")
    parser.add_argument("--text", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = args.tokenizer if args.tokenizer.endswith(".json") else os.path.join(args.tokenizer, "tokenizer.json")
    start = time.perf_counter()
    tokenizer = Tokenizer.from_file(path)
    load_seconds = time.perf_counter() - start
    data = open(args.text, "rb").read()
    lines = data.decode("utf-8").split("\n")
    report = {"tokenizers": tokenizers.__version__, "lines": len(lines), "bytes": len(data), "runs": args.runs,
              "load_seconds": load_seconds}
    ways = {"encode": lambda: [tokenizer.encode(line, add_special_tokens=False).ids for line in lines],
            "encode_batch": lambda: [e.ids for e in tokenizer.encode_batch(lines, add_special_tokens=False)]}
    for name, way in ways.items():
        times = []
        for run in range(args.runs + 1):
            start = time.perf_counter()
            ids = way()
            if run > 0:
                times.append(time.perf_counter() - start)
        median = statistics.median(times)
        tokens = sum(map(len, ids))
        report[name] = {"tokens": tokens, "median_seconds": median, "megabytes_per_second": len(data) / median / 1e6,
                        "tokens_per_second": tokens / median}
    print(json.dumps(report))

if __name__ == "__main__":
    main()
