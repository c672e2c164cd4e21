#!/usr/bin/env python3
"""Checks the Swift tokenizer against the full Llama 3 vocabulary (run locally; Meta's files are not committed).

Takes tokenizer.model from the pip package llama-models==0.3.0, converts it with transformers' TikTokenConverter
into a tokenizer.json (Meta's 256 special tokens, EOS <|eot_id|> as Llama-3.2-1B-Instruct), then encodes the
stress texts, a text corpus (Python's standard library documentation) and random strings with Hugging Face
`tokenizers` and with `tokenize-corpus text-tokens`, on both the tokenizer.json and the tokenizer.model.

    /opt/refvenv/bin/python llama3_tokenizer_agreement.py /work/models/llama3-tokenizer --binary .build/release/tokenize-corpus
"""
import argparse
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import llama_models
from tokenizers import Tokenizer
from transformers.convert_slow_tokenizer import TikTokenConverter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tokenizer_fixtures import LLAMA3_SPECIALS, TASK_TOKENS, stress_texts  # noqa: E402


def build(out: Path):
    """out/tiktoken/tokenizer.model, out/json/{tokenizer.json, tokenizer_config.json} and out/llasa: the json one with
    the task tokens and <|s_0|>..<|s_65535|> added as LLaSA_training's train_tts.py adds them."""
    source = Path(llama_models.__file__).parent / "llama3" / "tokenizer.model"
    (out / "tiktoken").mkdir(parents=True, exist_ok=True)
    (out / "json").mkdir(parents=True, exist_ok=True)
    shutil.copy(source, out / "tiktoken" / "tokenizer.model")
    converted = TikTokenConverter(vocab_file=str(source), extra_special_tokens=LLAMA3_SPECIALS).converted()
    converted.save(str(out / "json" / "tokenizer.json"))
    config = json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|eot_id|>", "bos_token": "<|begin_of_text|>"})
    (out / "json" / "tokenizer_config.json").write_text(config + "\n")
    llasa = Tokenizer.from_file(str(out / "json" / "tokenizer.json"))
    llasa.add_tokens(TASK_TOKENS + [f"<|s_{i}|>" for i in range(65536)])
    (out / "llasa").mkdir(exist_ok=True)
    llasa.save(str(out / "llasa" / "tokenizer.json"))
    (out / "llasa" / "tokenizer_config.json").write_text(config + "\n")
    return converted


def documentation_lines(limit_bytes):
    """Docstrings of the standard library: English prose, code, numbers and some Unicode."""
    import importlib
    import inspect
    import warnings
    lines, size = [], 0
    warnings.simplefilter("ignore")
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in {"antigravity", "this", "idlelib", "turtledemo", "tkinter", "turtle"}:
            continue
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        for _, member in [(name, module)] + inspect.getmembers(module):
            doc = inspect.getdoc(member) if callable(member) or inspect.ismodule(member) else None
            for line in (doc or "").splitlines():
                lines.append(line)
                size += len(line.encode())
                if size >= limit_bytes:
                    return lines
    return lines


def random_texts(count, seed=7):
    rng = random.Random(seed)
    pools = [range(0x20, 0x7f), range(0xa0, 0x530), range(0x900, 0x980), range(0x2000, 0x2070), range(0x3000, 0x30ff),
             range(0x4e00, 0x9fff), range(0xac00, 0xd7a3), range(0x1f300, 0x1faff), [0x20] * 10, [0x0a, 0x0d, 0x09, 0x27] * 3,
             range(0x10000, 0x10100), [0x17f, 0x212a, 0xa0, 0x200b, 0x3000, 0x85, 0x2028, 0xfeff]]
    return ["".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randint(1, 120))) for _ in range(count)]


def swift_ids(binary, tokenizer, texts):
    payload = "".join(json.dumps(t) + "\n" for t in texts)
    result = subprocess.run([binary, "text-tokens", "--tokenizer", str(tokenizer), "--json-strings"], input=payload.encode(),
                            capture_output=True, check=True)
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--binary", default="tokenize-corpus")
    parser.add_argument("--corpus-bytes", type=int, default=2_000_000)
    args = parser.parse_args()
    reference = build(args.out)
    sets = {"stress": stress_texts(), "stdlib docs": documentation_lines(args.corpus_bytes), "random": random_texts(20000)}
    report = {}
    for name, texts in sets.items():
        expected = [reference.encode(t, add_special_tokens=False).ids for t in texts]
        for layout in ["json", "tiktoken"]:
            ours = swift_ids(args.binary, args.out / layout, texts)
            differ = [i for i, (a, b) in enumerate(zip(ours, expected)) if a != b]
            report[f"{name} / {layout}"] = {"texts": len(texts), "bytes": sum(len(t.encode()) for t in texts),
                                            "ids": sum(map(len, expected)), "differ": len(differ)}
            for i in differ[:3]:
                print(f"{name}/{layout}: {texts[i]!r}: ours {ours[i]} tokenizers {expected[i]}")
    print(json.dumps(report, indent=2))
    sys.exit(1 if any(r["differ"] for r in report.values()) else 0)


if __name__ == "__main__":
    main()
