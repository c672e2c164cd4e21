#!/usr/bin/env python3
"""Checks the Swift chat-template renderer on Meta's own Llama 3.1 and 3.2 chat templates (run locally; Meta's files
are not committed), with the full Llama 3 tokenizer plus Llasa's task and speech tokens.

The templates come from the PyPI sdist llama-cpp-python==0.3.16 (checked by its sha256), which vendors llama.cpp's
models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja and meta-llama-Llama-3.2-3B-Instruct.jinja (Llasa-8B is
Llama 3.1 8B Instruct, Llasa-1B and -3B are Llama 3.2 Instruct). The tokenizer is built as
llama3_tokenizer_agreement.py builds it. For each template it renders, with transformers' apply_chat_template,
the trainers' conversation on sample days and a few other conversations, and compares `tokenize-corpus
chat-template` (text and ids); then it counts the ids the trainers' conversation takes on every day of 2025-2028.

    /opt/refvenv/bin/python scripts/reference/meta_template_agreement.py /work/models/llama3-tokenizer \
        --binary .build/release/tokenize-corpus
"""
import argparse
import datetime as dt
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llama3_tokenizer_agreement import build  # noqa: E402
from make_trainer_fixtures import pinned_strftime  # noqa: E402

SDIST = "llama_cpp_python-0.3.16.tar.gz"
SDIST_SHA256 = "34ed0f9bd9431af045bb63d9324ae620ad0536653740e9bb163a2e1fcb973be6"
TEMPLATES = {"llama-3.1": "meta-llama-Llama-3.1-8B-Instruct.jinja", "llama-3.2": "meta-llama-Llama-3.2-3B-Instruct.jinja"}
CHAT = [{"role": "user", "content": "Convert the text to speech:<|TEXT_UNDERSTANDING_START|>"},
        {"role": "assistant", "content": "<|SPEECH_GENERATION_START|>"}]


def meta_templates(work):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--no-build-isolation",
                    "-d", str(work), "llama-cpp-python==0.3.16"], capture_output=True)
    sdist = work / SDIST
    if not sdist.exists():  # pip builds metadata after downloading; the file is what counts
        found = list(Path(tempfile.gettempdir()).glob("pip-unpack-*/" + SDIST))
        sdist = found[0]
    assert hashlib.sha256(sdist.read_bytes()).hexdigest() == SDIST_SHA256
    out = {}
    with tarfile.open(sdist) as tar:
        for name, file in TEMPLATES.items():
            member = f"llama_cpp_python-0.3.16/vendor/llama.cpp/models/templates/{file}"
            (work / file).write_bytes(tar.extractfile(member).read())
            out[name] = work / file
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--binary", default="tokenize-corpus")
    args = parser.parse_args()
    if not (args.out / "llasa" / "tokenizer.json").exists():
        build(args.out)
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(args.out / "llasa"))
    work = Path(tempfile.mkdtemp(prefix="meta-templates-"))
    days = [dt.date(2026, 11, 30), dt.date(2024, 7, 26), dt.date(2025, 1, 1), dt.date(2025, 5, 9), dt.date(2027, 9, 17)]
    tool = {"type": "function", "function": {"name": "speak", "description": "Say it",
                                             "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}
    others = [{"messages": [{"role": "system", "content": "Be brief. "}] + CHAT, "add_generation_prompt": True},
              {"messages": [{"role": "user", "content": "Weather?"}], "tools": [tool]}]
    report = {}
    for name, path in meta_templates(work).items():
        template = path.read_text()
        agreed = 0
        for day, variables in [(d, {"messages": CHAT}) for d in days] + [(days[0], v) for v in others]:
            pinned_strftime(day)
            # The tool reads JSON objects with their keys sorted: give transformers the same order.
            variables = json.loads(json.dumps(variables, sort_keys=True))
            text = tokenizer.apply_chat_template(variables["messages"], tools=variables.get("tools"), chat_template=template,
                                                 tokenize=False, add_generation_prompt=variables.get("add_generation_prompt", False))
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            (work / "variables.json").write_text(json.dumps(variables))
            swift = json.loads(subprocess.run(
                [args.binary, "chat-template", "--tokenizer", str(args.out / "llasa"), "--chat-template", str(path),
                 "--date", day.isoformat(), "--variables", str(work / "variables.json")],
                check=True, capture_output=True, text=True).stdout)
            assert swift["text"] == text, (name, day, swift["text"], text)
            assert swift["ids"] == ids, (name, day)
            agreed += 1
        counts = {}
        day = dt.date(2025, 1, 1)
        while day < dt.date(2029, 1, 1):
            pinned_strftime(day)
            ids = tokenizer(tokenizer.apply_chat_template(CHAT, chat_template=template, tokenize=False),
                            add_special_tokens=False)["input_ids"]
            counts[len(ids) - 2] = counts.get(len(ids) - 2, 0) + 1
            day += dt.timedelta(days=1)
        report[name] = {"renders_agreeing": agreed, "overhead_by_days_2025_2028": counts}
        print(name, report[name])
    print(json.dumps(report))


if __name__ == "__main__":
    main()
