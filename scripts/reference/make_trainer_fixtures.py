"""Fixtures for the trainer presets and check-export, and the end-to-end check against the trainers' own loaders.

Writes Tests/CorpusTests/Fixtures/trainers/:
  template-cases.json  our Llama-3-style chat templates (templates/*.jinja) rendered by transformers'
                       apply_chat_template (tokenize=False) with strftime_now pinned to a date, and the ids the
                       small-llasa tokenizer gives for the text; cases that raise keep the error.
  utterances.jsonl     180 utterances whose rows run 1500-2440 ids, densest at the 2048 edge; codes are not stored:
                       code j of utterance i is (i * 7919 + j * 104729) % 65536.
  loader-verdicts.json (with --trainers) for each trainer, each utterance's reference row (get_memmap_from_token.py
                       logic, 4096 wide so the export cuts nothing) as that trainer's own dataset class returns it,
                       run from the trainer's source at a pinned commit under transformers < 5: whether
                       <|SPEECH_GENERATION_END|> is trained on, and the wrapped length.
  PROVENANCE.json

With --tool (the built tokenize-corpus) it also plants a store with the utterances, exports it plainly and with each
preset, runs every trainer's loader on those files and asserts: 0 broken rows for the presets, the plain export's
loss, no row dropped that would have fitted, and check-export agreeing with the loaders. Nothing from the trainers'
repositories is written into the repository.

    /opt/refvenv/bin/python scripts/reference/make_trainer_fixtures.py \
        --trainers /work/.mirror --transformers4 /opt/tf4 --tool .build/release/tokenize-corpus
"""
import argparse
import ast
import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "Tests/CorpusTests/Fixtures/trainers"
TOKENIZERS = REPO / "Tests/CorpusTests/Fixtures/tokenizers"
DAY = dt.date(2026, 11, 30)  # the day the loaders render (strftime_now pinned), and the export's --train-from
TEMPLATE = "dated.jinja"  # the template the trainer fixtures render (Llama 3.2 style: strftime_now)
TASK_TOKENS = ['<|TEXT_GENERATION_START|>', '<|TEXT_GENERATION_END|>', '<|TEXT_UNDERSTANDING_START|>',
               '<|TEXT_UNDERSTANDING_END|>', '<|SPEECH_GENERATION_START|>', '<|SPEECH_GENERATION_END|>',
               '<|SPEECH_UNDERSTANDING_START|>', '<|SPEECH_UNDERSTANDING_END|>']

# The trainers' sources, pinned: (repository, commit, file).
TRAINERS = {
    "llasa-training": ("zhenye234/LLaSA_training", "ef5c2605927190ba40656d09b3a9e10df6631149", "train_tts.py"),
    "llasa-training-finetune": ("zhenye234/LLaSA_training", "ef5c2605927190ba40656d09b3a9e10df6631149",
                                "finetune/offline_finetune/finetune_offline.py"),
    "llasa-multigpu-main": ("SebastianBodza/LLaSA_training", "6875c29403464c96e58accb9aa70c6a859dfa01e", "train_tts.py"),
    "llasa-multigpu": ("SebastianBodza/LLaSA_training", "29ba388103d73570f3c8bb63a46e98419c56072a", "train_tts.py"),
    "unsloth": ("unslothai/notebooks", "bdda2efc7ad5ae129ea63cd2065d23c391406283", "python_scripts/Llasa_TTS_(1B).py"),
}
PRESET_OF = {"llasa-training": "llasa-training", "llasa-training-finetune": "llasa-training",
             "llasa-multigpu-main": "llasa-multigpu", "llasa-multigpu": "llasa-multigpu", "unsloth": "unsloth"}
# The pad token each trainer's main() (or unsloth's loader) gives the tokenizer. The fork sets pad_token_id = 128001,
# Llama 3's <|end_of_text|>: the small tokenizer's <|end_of_text|> stands for it.
PAD_TOKEN = {"llasa-training": None, "llasa-multigpu": "<|end_of_text|>", "unsloth": "<|finetune_right_pad_id|>"}


def small_llasa(folder):
    """The small Llasa tokenizer fixture, unpacked, with the Llama-3-style template as its chat_template."""
    folder.mkdir(parents=True, exist_ok=True)
    src = TOKENIZERS / "small-llasa"
    (folder / "tokenizer.json").write_bytes(gzip.decompress((src / "tokenizer.json.gz").read_bytes()))
    config = json.loads((src / "tokenizer_config.json").read_text())
    config["chat_template"] = (OUT / "templates" / TEMPLATE).read_text()
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    return folder


def pinned_strftime(day):
    import transformers.utils.chat_template_utils as ctu

    class Pinned(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(day.year, day.month, day.day, 12, 0, 0)
    ctu.datetime = Pinned


# ---------------------------------------------------------------- template cases (transformers 5.24, pinned)

def template_cases(tokenizer_dir):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    trainer_chat = [{"role": "user", "content": "Convert the text to speech:<|TEXT_UNDERSTANDING_START|>"},
                    {"role": "assistant", "content": "<|SPEECH_GENERATION_START|>"}]
    system = [{"role": "system", "content": "  You speak slowly.\n"}] + trainer_chat
    tool = {"function": {"description": "Weather at a place", "name": "weather",
                         "parameters": {"properties": {"place": {"type": "string"}}, "type": "object"}},
            "type": "function"}
    calls = [{"role": "user", "content": "Weather in Köln?"},
             {"role": "assistant", "tool_calls": [{"function": {"arguments": {"place": "Köln"}, "name": "weather"}}]},
             {"role": "tool", "content": "\"12 °C\""}]
    builtin = [{"role": "user", "content": "Search"},
               {"role": "assistant", "tool_calls": [{"function": {"arguments": {"a": "1", "b": "2"}, "name": "brave_search"}}]}]
    cases = []
    days = [dt.date(2026, 11, 30), dt.date(2024, 7, 26), dt.date(2025, 5, 1), dt.date(2027, 2, 9)]
    plans = []
    for name in ["dated.jinja", "fixed-date.jinja", "plain-whitespace.jinja"]:
        for day in days:
            plans.append((name, day, {"messages": trainer_chat}))
        plans += [(name, days[0], {"messages": trainer_chat, "add_generation_prompt": True}),
                  (name, days[0], {"messages": system})]
    plans += [("dated.jinja", days[0], {"messages": calls, "tools": [tool]}),
              ("dated.jinja", days[0], {"messages": system, "tools": [tool], "tools_in_user_message": False}),
              ("dated.jinja", days[0], {"messages": [{"role": "system", "content": "x"}], "tools": [tool]}),
              ("dated.jinja", days[0], {"messages": trainer_chat, "date_string": "1 Apr 2030"}),
              ("fixed-date.jinja", days[0], {"messages": builtin, "builtin_tools": ["brave_search", "code_interpreter"]}),
              ("fixed-date.jinja", days[0], {"messages": calls[:2]})]
    for name, day, variables in plans:
        template = (OUT / "templates" / name).read_text()
        pinned_strftime(day)
        kwargs = {k: v for k, v in variables.items() if k not in ("messages", "tools", "add_generation_prompt")}
        case = {"template": name, "date": day.isoformat(), "variables": variables}
        try:
            text = tokenizer.apply_chat_template(variables["messages"], tools=variables.get("tools"), chat_template=template,
                                                 tokenize=False,
                                                 add_generation_prompt=variables.get("add_generation_prompt", False), **kwargs)
            case["text"] = text
            case["ids"] = tokenizer(text, add_special_tokens=False)["input_ids"]
        except Exception as error:  # raise_exception in the template
            case["error"] = str(error)
        cases.append(case)
    return cases


# ---------------------------------------------------------------- the utterances

def utterances(tokenizer_dir):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    lines = [l.strip() for l in (REPO / "scripts/reference/tokenizer_training_text.txt").read_text().splitlines()
             if 40 <= len(l.strip()) <= 400]
    targets = [1500 + 11 * k for k in range(40)] + [1940 + k for k in range(100)] + [2040 + 10 * k for k in range(41)]
    out = []
    for i, target in enumerate(targets[:180]):
        text = lines[(i * 37) % len(lines)]
        ids = tokenizer(f"<|TEXT_UNDERSTANDING_START|>{text}<|TEXT_UNDERSTANDING_END|>", add_special_tokens=False)["input_ids"]
        out.append({"id": f"utt-{i:03d}", "text": text, "speaker": f"spk{i % 6}", "num_codes": target - len(ids) - 2})
    return out


def codes(i, n):
    return [(i * 7919 + j * 104729) % 65536 for j in range(n)]


# ---------------------------------------------------------------- the trainers' loaders (transformers < 5)

def trainer_source(mirrors, key):
    repo, commit, path = TRAINERS[key]
    git = Path(mirrors) / repo.replace("/", "+") / "repo"
    return subprocess.run(["git", "-C", str(git), "show", f"{commit}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def loader_factory(source, key):
    """The dataset class, verbatim, and the statements of the trainer that build its datasets from data_path."""
    import glob
    import typing
    import numpy as np
    import torch
    from torch.utils.data import Dataset
    from transformers import AutoTokenizer
    tree = ast.parse(source)
    namespace = {"AutoTokenizer": AutoTokenizer, "os": os, "glob": glob, "np": np, "torch": torch, "Dataset": Dataset, "Optional": typing.Optional,
                 "List": typing.List}
    cls_name = "MemmapTTSDataset" if key == "unsloth" else "TTSDataset"
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls_name)
    exec(compile(ast.Module([cls], []), key, "exec"), namespace)
    if key == "unsloth":
        build = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "train_dataset"]
        statements = build[:1]
    else:
        main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
        body = main.body
        start = next(i for i, n in enumerate(body) if "train_dataset" in ast.unparse(n) and isinstance(n, ast.Assign))
        end = next(i for i, n in enumerate(body) if i > start and "data_collator" in ast.unparse(n))
        statements = body[start:end]
    code = compile(ast.Module(statements, []), key + ":main", "exec")

    def build(data_path, tokenizer):
        scope = dict(namespace)
        scope.update(data_args=argparse.Namespace(data_path=str(data_path)), OUTPUT_DIR=str(data_path),
                     tokenizer=tokenizer, max_seq_length=2048)
        exec(code, scope)
        return scope["train_dataset"], scope.get("eval_dataset")
    return build


def run_loaders(args, tokenizer_dir, rows_by_dir):
    """In a transformers < 5 subprocess: {trainer: {dir: [(keeps_end, wrapped_len, padding_trained), ...]}}."""
    payload = json.dumps({"mirrors": str(args.trainers), "tokenizer": str(tokenizer_dir), "dirs": rows_by_dir})
    env = dict(os.environ, PYTHONPATH=str(args.transformers4))
    result = subprocess.run([sys.executable, __file__, "--loader-worker"], input=payload, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit("the loader worker failed:\n" + result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def loader_worker():
    import transformers
    from transformers import AutoTokenizer
    assert int(transformers.__version__.split(".")[0]) < 5, transformers.__version__
    pinned_strftime(DAY)
    job = json.loads(sys.stdin.read())
    out = {"transformers": transformers.__version__}
    # Loaded once: transformers 4.57 takes most of a minute over the 65536 added tokens.
    tokenizer = AutoTokenizer.from_pretrained(job["tokenizer"], model_max_length=2048, padding_side="right")
    for key in TRAINERS:
        preset = PRESET_OF[key]
        tokenizer.pad_token = PAD_TOKEN[preset] or tokenizer.eos_token
        sge = tokenizer.convert_tokens_to_ids("<|SPEECH_GENERATION_END|>")
        build = loader_factory(trainer_source(job["mirrors"], key), key)
        template = tokenizer.apply_chat_template(
            [{"role": "user", "content": "Convert the text to speech:<|TEXT_UNDERSTANDING_START|>"},
             {"role": "assistant", "content": "<|SPEECH_GENERATION_START|>"}], tokenize=True)
        # Ids the template puts before a row's end token: all but the two tags and what follows the speech tag.
        out[key] = {"overhead": len(template) - 2,
                    "before_end": template.index(tokenizer.convert_tokens_to_ids("<|SPEECH_GENERATION_START|>")) - 1}
        for name, folder in job["dirs"].items():
            if name not in ("plain", "plain-wide", preset):
                continue
            import io, contextlib
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    train, evaluation = build(folder, tokenizer)
                except Exception as error:
                    out[key][name] = {"error": f"{type(error).__name__}: {error}"}
                    continue
                results = []
                for dataset in [train] + ([evaluation] if evaluation is not None else []):
                    for i in range(len(dataset)):
                        item = dataset[i]
                        labels = [int(x) for x in item["labels"]]
                        ids = [int(x) for x in item["input_ids"]]
                        trained = [p for p, l in enumerate(labels) if l != -100]
                        keeps = sge in [labels[p] for p in trained]
                        end = labels.index(sge) if keeps else None
                        padding = 0 if end is None else max(0, len([p for p in trained if p > end]) - 1)
                        results.append([keeps, len([x for x in ids if x != tokenizer.pad_token_id]), padding])
            out[key][name] = {"rows": results, "eval": evaluation is not None}
    print(json.dumps(out))


def reference_rows(tokenizer_dir, utts, width):
    """get_memmap_from_token.py's rows (the Llasa tokenizer's <|s_i|>), `width` wide, EOS padded, store order."""
    import numpy as np
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    base = tokenizer.convert_tokens_to_ids("<|s_0|>")
    rows = []
    for i, u in enumerate(utts):
        text_ids = tokenizer(f"<|TEXT_UNDERSTANDING_START|>{u['text']}<|TEXT_UNDERSTANDING_END|>",
                             add_special_tokens=False)["input_ids"]
        row = text_ids + [tokenizer.convert_tokens_to_ids("<|SPEECH_GENERATION_START|>")] + \
            [base + c for c in codes(i, u["num_codes"])] + [tokenizer.convert_tokens_to_ids("<|SPEECH_GENERATION_END|>")]
        rows.append(row[:width] + [tokenizer.eos_token_id] * (width - len(row)))
    return np.asarray(rows, dtype=np.int32)


def write_memmap(folder, rows):
    """The rows under every trainer's train file name."""
    import numpy as np
    folder.mkdir(parents=True, exist_ok=True)
    for prefix in ["train_", "train_rank0_partial0_", ""]:
        mm = np.memmap(folder / f"{prefix}input_ids.memmap", dtype="int32", mode="w+", shape=rows.shape)
        mm[:] = rows
        mm.flush()
        np.save(folder / f"{prefix}input_ids_shape.npy", np.array(rows.shape))


# ---------------------------------------------------------------- end to end with the tool

def plant_store(tool, folder, utts):
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps({"id": u["id"], "audio_filepath": u["id"] + ".wav", "text": u["text"],
                                            "speaker": u["speaker"]}) + "\n" for u in utts))
    store = folder / "store.sqlite"
    ingest = subprocess.run([tool, "ingest", "--store", str(store), str(manifest), "--manifest-format", "jsonl"], check=True,
                            capture_output=True, text=True)
    db = sqlite3.connect(store)
    for i, u in enumerate(utts):
        blob = b"".join(c.to_bytes(2, "little") for c in codes(i, u["num_codes"]))
        db.execute("UPDATE utterances SET status='done', duration=?, sample_rate=16000, num_frames=?, codes=?, "
                   "updated_at=0 WHERE id=?", (u["num_codes"] / 50, u["num_codes"], blob, u["id"]))
    db.commit()
    done = db.execute("SELECT COUNT(*) FROM utterances WHERE status='done'").fetchone()[0]
    assert done == len(utts), (done, ingest.stdout, ingest.stderr)
    db.close()
    return store


def end_to_end(args, tokenizer_dir, utts, wide_verdicts):
    work = Path(tempfile.mkdtemp(prefix="trainer-e2e-"))
    store = plant_store(args.tool, work, utts)
    common = ["--store", str(store), "--tokenizer", str(tokenizer_dir), "--seed", "0"]
    window = ["--train-from", DAY.isoformat(), "--train-days", "1"]
    dirs = {}
    subprocess.run([args.tool, "export", *common, "--format", "llasa", "--out", str(work / "plain"), "--val-size", "0"],
                   check=True, capture_output=True)
    dirs["plain"] = str(work / "plain")
    for preset in ["llasa-training", "llasa-multigpu", "unsloth"]:
        extra = [] if preset == "unsloth" else ["--val-size", "12"]
        subprocess.run([args.tool, "export", *common, "--trainer", preset, "--out", str(work / preset), *extra, *window],
                       check=True, capture_output=True)
        dirs[preset] = str(work / preset)
    verdicts = run_loaders(args, tokenizer_dir, dirs)
    report = {}
    for key in TRAINERS:
        preset = PRESET_OF[key]
        plain = verdicts[key]["plain"]
        mine = verdicts[key][preset]
        assert "error" not in mine, (key, mine)
        info = json.loads((work / preset / "export_info.json").read_text())
        broken = sum(1 for keeps, _, pad in mine["rows"] if not keeps or pad)
        fits = {u["id"] for u, (keeps, _, _) in zip(utts, wide_verdicts[key]) if keeps}
        kept = set(info["ids"]["train"]) | set(info["ids"]["val"])
        if preset != "unsloth":
            assert kept == fits, (key, sorted(kept ^ fits)[:5])
        else:
            # Speech whole, transcript cut: only a row whose speech cannot fit with one text token is left out.
            floor = {u["id"]: u["num_codes"] + 5 + verdicts[key]["before_end"] for u in utts}
            assert fits <= kept and all(floor[i] > 2048 for i in {u["id"] for u in utts} - kept), key
        plain_lost = sum(1 for keeps, _, _ in plain["rows"] if not keeps) if "rows" in plain else None
        assert broken == 0, (key, broken)
        report[key] = {"preset_rows": len(mine["rows"]), "preset_broken": broken, "eval_loaded": mine["eval"],
                       "plain": plain.get("error") or f"{plain_lost} of {len(plain['rows'])} rows lose the end token"}
        # check-export agrees: the preset passes, the plain export fails for the trainers that can open it.
        chat = ["--chat-template", str(args.chat_template or OUT / "templates" / TEMPLATE), "--date", DAY.isoformat()]
        ok = subprocess.run([args.tool, "check-export", dirs[preset], "--trainer", preset, "--tokenizer", str(tokenizer_dir),
                             *chat, "--python", sys.executable], capture_output=True, text=True)
        bad = subprocess.run([args.tool, "check-export", dirs["plain"], "--trainer", preset, "--tokenizer",
                              str(tokenizer_dir), *chat, "--python", sys.executable], capture_output=True, text=True)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert bad.returncode != 0, bad.stdout
        report[key]["check_export_plain"] = [l for l in bad.stdout.splitlines() if l.startswith(("rows", "missing"))]
    shutil.rmtree(work)
    return report


def main():
    if "--loader-worker" in sys.argv:
        return loader_worker()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trainers", type=Path, help="folder of git mirrors OWNER+NAME/repo (search's fetch)")
    parser.add_argument("--transformers4", type=Path, help="a pip --target folder holding transformers 4.57.1")
    parser.add_argument("--tool", help="the built tokenize-corpus, for the end-to-end check")
    parser.add_argument("--tokenizer", type=Path, help="end to end only, nothing written: this tokenizer folder (e.g. "
                        "the Llama 3 Llasa one of llama3_tokenizer_agreement.py) with --chat-template, on utterances.jsonl")
    parser.add_argument("--chat-template", type=Path, help="with --tokenizer: the template (e.g. Meta's Llama 3.2 one)")
    args = parser.parse_args()
    import transformers
    work = Path(tempfile.mkdtemp(prefix="trainer-fixtures-"))
    if args.tokenizer:
        tokenizer_dir = work / "tokenizer"
        shutil.copytree(args.tokenizer, tokenizer_dir)
        config = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
        config["chat_template"] = args.chat_template.read_text()
        (tokenizer_dir / "tokenizer_config.json").write_text(json.dumps(config))
        utts = [json.loads(line) for line in (OUT / "utterances.jsonl").read_text().splitlines()]
        write_memmap(work / "wide", reference_rows(tokenizer_dir, utts, 4096))
        verdicts = run_loaders(args, tokenizer_dir, {"plain-wide": str(work / "wide")})
        wide = {key: verdicts[key]["plain-wide"]["rows"] for key in TRAINERS}
        report = end_to_end(args, tokenizer_dir, utts, wide)
        shutil.rmtree(work)
        return print(json.dumps({"overhead": {k: verdicts[k]["overhead"] for k in TRAINERS}, "end_to_end": report}, indent=1))
    tokenizer_dir = small_llasa(work / "small-llasa-chat")
    (OUT / "template-cases.json").write_text(json.dumps(template_cases(tokenizer_dir), indent=1, ensure_ascii=False) + "\n")
    utts = utterances(tokenizer_dir)
    (OUT / "utterances.jsonl").write_text("".join(json.dumps(u, ensure_ascii=False) + "\n" for u in utts))
    provenance = {"transformers": transformers.__version__, "template_for_rows": TEMPLATE,
                  "trainers": {k: {"repository": r, "commit": c, "file": f} for k, (r, c, f) in TRAINERS.items()}}
    if args.trainers:
        write_memmap(work / "wide", reference_rows(tokenizer_dir, utts, 4096))
        verdicts = run_loaders(args, tokenizer_dir, {"plain-wide": str(work / "wide")})
        wide = {key: verdicts[key]["plain-wide"]["rows"] for key in TRAINERS}
        (OUT / "loader-verdicts.json").write_text(json.dumps(
            {"overhead": {k: verdicts[k]["overhead"] for k in TRAINERS},
             "before_end": {k: verdicts[k]["before_end"] for k in TRAINERS},
             "keeps_end": {k: [bool(v[0]) for v in wide[k]] for k in TRAINERS}}, indent=1) + "\n")
        provenance["loaders_transformers"] = verdicts["transformers"]
        if args.tool:
            provenance["end_to_end"] = end_to_end(args, tokenizer_dir, utts, wide)
    for name in sorted(p.name for p in OUT.iterdir() if p.is_file() and p.name != "PROVENANCE.json"):
        provenance.setdefault("sha256", {})[name] = hashlib.sha256((OUT / name).read_bytes()).hexdigest()
    (OUT / "PROVENANCE.json").write_text(json.dumps(provenance, indent=1) + "\n")
    shutil.rmtree(work)
    print(json.dumps(provenance.get("end_to_end", {}), indent=1))


if __name__ == "__main__":
    main()
