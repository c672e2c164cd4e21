#!/usr/bin/env python3
"""Tokenizer and export fixtures for Tests/CorpusTests/Fixtures/tokenizers.

Trains small byte-level BPE tokenizers with Hugging Face `tokenizers` (ours, committed), writes a stress set of
texts with the ids `tokenizers` gives for each, and expected Llasa export rows made with the logic of
LLaSA_training's data_instruction/get_memmap_from_token.py on seeded random codes.

    /opt/refvenv/bin/python make_tokenizer_fixtures.py ../../Tests/CorpusTests/Fixtures/tokenizers

Tokenizers written:
  small-llama3/          Llama 3 layout: Split(Llama 3 pattern) + ByteLevel(use_regex=False), ignore_merges,
                         merges as pairs, Meta's 256 special tokens after the BPE vocabulary, EOS <|eot_id|>.
  small-llama3-tiktoken/ the same ranks as a tiktoken tokenizer.model (expected ids from TikTokenConverter).
  small-llasa/           small-llama3 plus the 8 task tokens and <|s_0|>..<|s_65535|> (as Llasa's tokenizer has
                         them), merges as "a b" strings; tokenizer.json gzipped (9 MB plain).
  small-gpt2/            GPT-2 layout: ByteLevel(add_prefix_space=True, use_regex=True), merges applied in full.
  small-split-removed/   small-llama3's model behind Split(" ", removed) and an inverted, removed Split.
"""
import argparse
import base64
import codecs
import contextlib
import gzip
import hashlib
import io
import json
import platform
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import tokenizers
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer
from transformers.convert_slow_tokenizer import TikTokenConverter, bytes_to_unicode

HERE = Path(__file__).resolve().parent
LLAMA3_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
# The order get_memmap_from_token.py adds them in.
TASK_TOKENS = ['<|TEXT_GENERATION_START|>', '<|TEXT_GENERATION_END|>',
               '<|TEXT_UNDERSTANDING_START|>', '<|TEXT_UNDERSTANDING_END|>',
               '<|SPEECH_GENERATION_START|>', '<|SPEECH_GENERATION_END|>',
               '<|SPEECH_UNDERSTANDING_START|>', '<|SPEECH_UNDERSTANDING_END|>']
NAMED_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
                  "<|finetune_right_pad_id|>", "<|step_id|>", "<|start_header_id|>", "<|end_header_id|>",
                  "<|eom_id|>", "<|eot_id|>", "<|python_tag|>", "<|image|>"]
LLAMA3_SPECIALS = NAMED_SPECIALS + [f"<|reserved_special_token_{2 + i}|>" for i in range(256 - len(NAMED_SPECIALS))]
MAX_SEQ_LEN = 2048
SEED = 20261125


def stress_texts():
    """Texts meant to break a tokenizer: white space of every kind, contractions, digits, scripts, emoji,
    long words (past the heap threshold and the 256-byte cache limit), added tokens inside text."""
    texts = [
        "", " ", "  ", "   a", "a  ", "hello  world", "hello   world", "\t\tx", " \n", "\n\n\n", "a\r\nb", "x \n y",
        "  \n  \n  ", "trailing   ", "\r", "\r\r\n\n", " \t \n \t", "a\n\n b", "end.\n", "  leading two",
        "don't", "DON'T", "I'M", "we'Re", "y'all", "'s", "'S", "'\u017f", "rock'n'roll", "o'clock", "'llama", "it\u2019s",
        "they'll've", "'", "''", "' s", "'ve'", "x'LL y'D z'M", "'t's",
        "1", "12", "123", "1234", "12345678901", "3.14159", "1,000,000", "\u0663\u0664\u0665\u0666", "\u216b", "\u00bd",
        "\uff10\uff11\uff12\uff13\uff14", "a1b22c333d4444", "-5", "+44 20 7946 0958", "2024-11-25T08:34:36Z",
        "na\u00efve caf\u00e9", "Stra\u00dfe", "\u0130stanbul", "\u01c5emal", "\u03a9\u03bc\u03ad\u03b3\u03b1",
        "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!", "\u4eca\u5929\u5929\u6c14\u5f88\u597d\u3002",
        "\u3053\u3093\u306b\u3061\u306f\u4e16\u754c", "\uc548\ub155\ud558\uc138\uc694", "\u0645\u0631\u062d\u0628\u0627",
        "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
        "e\u0301\u0301 combining", "\u05e9\u05dc\u05d5\u05dd", "\U0001d54f\U0001d552\U0001d55d",
        "\U0001f600", "\U0001f44d\U0001f3fd", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1eb\U0001f1f7",
        "\u2764\ufe0f", "I \u2764\ufe0f NY \U0001f5fd!!", " \U0001f600 \U0001f600  \U0001f600",
        "a\u00a0b", "a \u00a0b", "\u00a0\u00a0x", "x\u00a0", "a\u200bb", "\u200b", "\u3000x\u3000", "a\u2028b", "a\u0085b",
        "a\u202fb", "\ufeffbom", "a\u2009thin", "tab\u000bvt\u000cff", "\u1680ogham",
        "...", "!!!???", " ?!", "--", "(a)", "\u201cquoted\u201d", "\u00abguillemets\u00bb", "a/b/c", "email@example.com",
        "https://x.y/z?a=b&c=d#frag", "C:\\path\\to\\file.txt", "$100.00", "#hashtag @mention", "<tag attr=\"v\">",
        "HE HOPED THERE WOULD BE STEW FOR DINNER TURNIPS AND CARROTS AND BRUISED POTATOES",
        "\x00\x01\x7f", "\x1b[31mred\x1b[0m",
        "a" * 100, "abc" * 300, "\u4e2d" * 120, "9" * 50, "-" * 500, " " * 300, "\U0001f600" * 70,
        "x" + " " * 70 + "y", "\n" * 80 + "z", "supercalifragilisticexpialidocious" * 3,
        "<|eot_id|>", "hello<|eot_id|>world", "<|begin_of_text|>Hi", "<|eot_id|", " <|eot_id|> ",
        "<|TEXT_UNDERSTANDING_START|>x<|TEXT_UNDERSTANDING_END|>", "<|s_123|><|s_65535|>", "<|s_65536|>", "<|s_0|> <|s_1|>",
        "<|endoftext|>tail",
    ]
    rng = random.Random(SEED)
    pools = [range(0x20, 0x7f), range(0x20, 0x7f), range(0xa0, 0x250), range(0x370, 0x500), range(0x2000, 0x2070),
             range(0x3000, 0x3100), range(0x4e00, 0x4f00), range(0xac00, 0xac80), range(0x1f300, 0x1f650), [0x20] * 8,
             [0x0a, 0x0d, 0x09, 0x27] * 2]
    for _ in range(300):
        length = rng.randint(1, 60)
        texts.append("".join(chr(rng.choice(rng.choice(pools))) for _ in range(length)))
    return texts


def training_lines():
    lines = (HERE / "tokenizer_training_text.txt").read_text(encoding="utf-8").splitlines()
    with contextlib.redirect_stdout(io.StringIO()):
        import this  # noqa: F401  (prints the Zen of Python; its text is rot13 in this.s)
    lines += codecs.decode(sys.modules["this"].s, "rot13").splitlines()
    return lines * 3 + stress_texts()


def train(pre_tokenizer, ignore_merges, vocab_size=1500):
    tokenizer = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(training_lines(), trainer)
    return tokenizer


def llama3_pre_tokenizer():
    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
                                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])


def write_config(folder, eos, as_object=False):
    eos_value = {"__type": "AddedToken", "content": eos, "lstrip": False, "normalized": False, "rstrip": False,
                 "single_word": False} if as_object else eos
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>", "eos_token": eos_value,
              "model_max_length": MAX_SEQ_LEN, "clean_up_tokenization_spaces": False}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def merges_as_strings(path):
    """Rewrites merges [["a", "b"], ...] as the older ["a b", ...] form, which Llasa-era files use."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["model"]["merges"] = [" ".join(pair) for pair in data["model"]["merges"]]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def tiktoken_file(tokenizer, path):
    byte_of_char = {c: b for b, c in bytes_to_unicode().items()}
    vocab = tokenizer.get_vocab(with_added_tokens=False)
    assert sorted(vocab.values()) == list(range(len(vocab)))
    with open(path, "w") as out:
        for token, rank in sorted(vocab.items(), key=lambda item: item[1]):
            raw = bytes(byte_of_char[c] for c in token)
            out.write(f"{base64.b64encode(raw).decode()} {rank}\n")


def reference_export_rows(folder, utterances):
    """get_memmap_from_token.py's process_audio_id for each utterance, with its tokenizer set-up. For a Llasa
    tokenizer, which already holds <|s_i|>, the codes are its <|s_i|> tokens (as Llasa's inference code writes
    them) rather than len(tokenizer) + code."""
    tokenizer = AutoTokenizer.from_pretrained(str(folder), model_max_length=MAX_SEQ_LEN, padding_side="right")
    tokenizer.pad_token = tokenizer.eos_token
    tokenizer.add_tokens(TASK_TOKENS)
    task_ids = tokenizer.convert_tokens_to_ids(TASK_TOKENS)
    has_speech_tokens = "<|s_0|>" in tokenizer.get_vocab()
    base_num = tokenizer.convert_tokens_to_ids("<|s_0|>") if has_speech_tokens else len(tokenizer)
    rows = []
    for utterance in utterances:
        codes = np.asarray(utterance["codes"], dtype=np.int64)
        if has_speech_tokens:
            assert tokenizer.convert_tokens_to_ids([f"<|s_{c}|>" for c in codes]) == list(codes + base_num)
        text_with_special = f"<|TEXT_UNDERSTANDING_START|>{utterance['text']}<|TEXT_UNDERSTANDING_END|>"
        # encode_plus is gone in transformers 5; calling the tokenizer is the same encoding.
        text_ids = tokenizer(text_with_special, add_special_tokens=False, return_tensors="np")["input_ids"].squeeze(0)
        code_ids = np.array([tokenizer.convert_tokens_to_ids("<|SPEECH_GENERATION_START|>")] + (codes + base_num).tolist()
                            + [tokenizer.convert_tokens_to_ids("<|SPEECH_GENERATION_END|>")], dtype=np.int32)
        total = np.concatenate([text_ids, code_ids])
        if len(total) > MAX_SEQ_LEN:
            total = total[:MAX_SEQ_LEN]
        else:
            total = np.pad(total, (0, MAX_SEQ_LEN - len(total)), "constant", constant_values=tokenizer.pad_token_id)
        rows.append(total.astype(np.int32))
    return np.stack(rows), {"task_token_ids": task_ids, "speech_base": int(base_num), "pad_id": int(tokenizer.pad_token_id)}


def export_utterances():
    rng = np.random.default_rng(SEED)
    transcripts = ["HE HOPED THERE WOULD BE STEW FOR DINNER", "She said, \"it's 3:30 p.m.\" \u2014 and left.",
                   "na\u00efve caf\u00e9 \u4eca\u5929 \U0001f600", "", "a  b   c", "literal <|eot_id|> inside",
                   "Line one\nLine two", "THE END", "  padded  ", "12345 678", "y'all've", "\u041f\u0440\u0438\u0432\u0435\u0442",
                   "one more sentence for the validation split", "spelled <|TEXT_UNDERSTANDING_END|> inside"]
    lengths = [1, 5, 50, 137, 400, 1000, 1990, 2000, 2025, 2040, 2100, 3000, 80, 7]
    return [{"id": f"utt-{i:02d}", "text": text, "codes": rng.integers(0, 65536, size=n).tolist()}
            for i, (text, n) in enumerate(zip(transcripts, lengths))]


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    out = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    texts = stress_texts()
    expected = {}

    llama3 = train(llama3_pre_tokenizer(), ignore_merges=True)
    base_vocab = llama3.get_vocab_size(with_added_tokens=False)
    llama3.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in LLAMA3_SPECIALS])
    folder = out / "small-llama3"
    folder.mkdir()
    llama3.save(str(folder / "tokenizer.json"))
    write_config(folder, "<|eot_id|>")
    expected["small-llama3"] = [llama3.encode(t, add_special_tokens=False).ids for t in texts]

    # The same model behind Split pre-tokenizers the Llama 3 layout lacks: a literal pattern removed, and an
    # inverted pattern whose gaps are removed (the generic Regex path of the Swift tokenizer).
    split = Tokenizer.from_file(str(out / "small-llama3" / "tokenizer.json"))
    split.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", behavior="removed"),
        pre_tokenizers.Split(Regex(r"\p{L}+|\p{N}+|[^\p{L}\p{N}\s]+"), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    folder = out / "small-split-removed"
    folder.mkdir()
    split.save(str(folder / "tokenizer.json"))
    expected["small-split-removed"] = [split.encode(t, add_special_tokens=False).ids for t in texts]

    folder = out / "small-llama3-tiktoken"
    folder.mkdir()
    tiktoken_file(Tokenizer.from_file(str(out / "small-llama3" / "tokenizer.json")), folder / "tokenizer.model")
    converted = TikTokenConverter(vocab_file=str(folder / "tokenizer.model"), extra_special_tokens=LLAMA3_SPECIALS).converted()
    assert converted.token_to_id("<|eot_id|>") == base_vocab + 9
    expected["small-llama3-tiktoken"] = [converted.encode(t, add_special_tokens=False).ids for t in texts]

    with tempfile.TemporaryDirectory() as scratch:
        llasa = Tokenizer.from_file(str(out / "small-llama3" / "tokenizer.json"))
        llasa.add_tokens(TASK_TOKENS)
        llasa.add_tokens([f"<|s_{i}|>" for i in range(65536)])
        plain = Path(scratch) / "small-llasa"
        plain.mkdir()
        llasa.save(str(plain / "tokenizer.json"))
        merges_as_strings(plain / "tokenizer.json")
        write_config(plain, "<|eot_id|>", as_object=True)
        llasa = Tokenizer.from_file(str(plain / "tokenizer.json"))
        expected["small-llasa"] = [llasa.encode(t, add_special_tokens=False).ids for t in texts]
        folder = out / "small-llasa"
        folder.mkdir()
        with open(plain / "tokenizer.json", "rb") as src, gzip.GzipFile(folder / "tokenizer.json.gz", "wb", mtime=0) as dst:
            shutil.copyfileobj(src, dst)
        shutil.copy(plain / "tokenizer_config.json", folder / "tokenizer_config.json")

        utterances = export_utterances()
        with open(out / "export-utterances.jsonl", "w", encoding="utf-8") as f:
            for u in utterances:
                f.write(json.dumps(u, ensure_ascii=False) + "\n")
        export_facts = {}
        for name, source in [("small-llama3", out / "small-llama3"), ("small-llasa", plain)]:
            rows, facts = reference_export_rows(source, utterances)
            np.save(out / f"expected-export-{name}.npy", rows)
            export_facts[name] = facts

    gpt2 = train(pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True), ignore_merges=False)
    gpt2.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    folder = out / "small-gpt2"
    folder.mkdir()
    gpt2.save(str(folder / "tokenizer.json"))
    expected["small-gpt2"] = [gpt2.encode(t, add_special_tokens=False).ids for t in texts]

    (out / "stress-texts.json").write_text(json.dumps(texts, ensure_ascii=True, indent=0) + "\n")
    (out / "expected-ids.json").write_text(json.dumps(expected, separators=(",", ":")) + "\n")
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    provenance = {
        "script": "scripts/reference/make_tokenizer_fixtures.py",
        "seed": SEED,
        "versions": {"python": platform.python_version(), "tokenizers": tokenizers.__version__,
                     "transformers": transformers.__version__, "numpy": np.__version__},
        "training_text": "scripts/reference/tokenizer_training_text.txt x3 + the Zen of Python x3 + the stress texts",
        "bpe_vocabulary_size": base_vocab,
        "stress_texts": len(texts),
        "export": {"reference": "LLaSA_training data_instruction/get_memmap_from_token.py process_audio_id, max_seq_len 2048",
                   "utterances": "export-utterances.jsonl (codes uniform in [0, 65536), numpy default_rng(seed))",
                   "rows": "expected-export-NAME.npy, int32 [utterances, 2048], in utterance order", **export_facts},
        "sha256": {name: sha256(out / name) for name in files},
    }
    (out / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(json.dumps({k: v for k, v in provenance.items() if k != "sha256"}, indent=2))


if __name__ == "__main__":
    main()
