#!/usr/bin/env python3
"""Runs the ```console examples of README.md, docs/formats.md and docs/store.md and checks that they print what the
page shows.

Each `$ command` line runs (bash, in order, in one scratch folder that links `manifests` and `Tests` from the
repository, with .build/release first on PATH), its stdout and stderr together, line-buffered as on a terminal.
A `...` line in the README stands for any lines (the progress of a run); `in 0.3 s` timings are compared as
`in N s`. Exit 1 naming the first difference; `--update` writes what the commands print into README.md instead.

    python3 scripts/check_readme.py            # after swift build -c release
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", REPO / "docs/formats.md", REPO / "docs/store.md"]


def normalize(line):
    return re.sub(r"\bin \d+(\.\d+)? s\b", "in N s", line.rstrip())


def matches(expected, actual):
    """expected lines with `...` wildcards against actual lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and normalize(expected[0]) == normalize(actual[0]) and matches(expected[1:], actual[1:])


def updated(expected, actual):
    """The README's lines for `actual`: in full, or around its `...` as before (head and tail kept literal)."""
    if "..." not in expected or expected == ["..."]:
        return actual
    head = expected.index("...")
    tail = len(expected) - 1 - max(i for i, line in enumerate(expected) if line == "...")
    return actual[:head] + ["..."] + (actual[len(actual) - tail:] if tail else [])


def check(page, update):
    name = page.relative_to(REPO)
    lines = page.read_text().split("\n")
    work = Path(tempfile.mkdtemp(prefix="readme-"))
    for link in ["manifests", "Tests"]:
        (work / link).symlink_to(REPO / link)
    env = dict(os.environ, PATH=f"{REPO / '.build/release'}:{os.environ['PATH']}", HF_HUB_OFFLINE="1",
               HF_HOME=str(work / "hf"))
    out, i, failures, commands = [], 0, 0, 0
    while i < len(lines):
        out.append(lines[i])
        i += 1
        if lines[i - 1].strip() != "```console":
            continue
        while lines[i].strip() != "```":
            assert lines[i].startswith("$ "), f"{name}:{i + 1}: a console block holds `$ command` lines and their output"
            command = lines[i][2:]
            out.append(lines[i])
            i += 1
            expected = []
            while not lines[i].startswith("$ ") and lines[i].strip() != "```":
                expected.append(lines[i])
                i += 1
            result = subprocess.run(["stdbuf", "-oL", "-eL", "bash", "-o", "pipefail", "-c", command], cwd=work, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            # The scratch folder's path, wherever a command prints it, reads as $PWD.
            printed = result.stdout.replace(str(work), "$PWD")
            actual = printed.rstrip("\n").split("\n") if printed.strip() else []
            commands += 1
            if result.returncode != 0:
                print(f"{name}: `{command}` exited {result.returncode}:\n{result.stdout}")
                failures += 1
            elif not matches(expected, actual):
                failures += 1
                print(f"{name}: `{command}` prints other lines than the page shows:")
                print("  page:    " + "\n           ".join(expected))
                print("  printed: " + "\n           ".join(actual))
            out.extend(updated(expected, actual) if update else expected)
        out.append(lines[i])
        i += 1
    if update:
        page.write_text("\n".join(out))
        print(f"{name}: {commands} commands run, outputs written")
        return 0
    print(f"{name}: {commands} commands run, {failures} differ")
    return failures


def main():
    update = "--update" in sys.argv
    return 1 if sum([check(page, update) for page in PAGES]) else 0


if __name__ == "__main__":
    sys.exit(main())
