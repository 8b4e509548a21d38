"""Detection benchmark: keyscan and its peers on keyscan's labelled corpus, one scorer for all.

Usage (after `bash bench/setup.sh`):

    PYTHONPATH=. bench/.env/bin/python bench/detection_bench.py [--out bench/work/detection]

The corpus is the one `tests/test_corpus.py` builds (same generator, same seed), written to disk
outside any git repository. Every tool runs under `unshare -n` with a throw-away HOME, validation
off. Peers' rule ids differ from keyscan's, so peers are scored on (path, line) only; keyscan is
scored the same way (its per-family table uses its own rule families for false positives).
Prints a markdown section for docs/detection.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worktree_bench import make_tools, tool_env, unshare_prefix

from tests.corpus.generate import SEED, build
from tests.corpus.score import Reported, score, table

Parse = Callable[[Any, Path], list[Reported]]


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def parse_keyscan(data: Any, root: Path) -> list[Reported]:
    from keyscan.rules.doc import family
    from keyscan.rules.load import load_rules

    families = {rule.id: family(rule) for rule in load_rules()}
    return [
        Reported(f["path"], f["line"], families.get(f["rule_id"], "")) for f in data["findings"]
    ]


def parse_gitleaks(data: Any, root: Path) -> list[Reported]:
    return [Reported(_relative(f["File"], root), f["StartLine"]) for f in data or []]


def parse_betterleaks(data: Any, root: Path) -> list[Reported]:
    return [
        Reported(_relative(f["location"]["path"], root), f["location"]["start_line"])
        for f in data.get("findings") or []
    ]


def parse_kingfisher(data: Any, root: Path) -> list[Reported]:
    return [
        Reported(_relative(f["finding"]["path"], root), f["finding"]["line"])
        for f in data.get("findings") or []
    ]


PARSERS: dict[str, Parse] = {
    "keyscan": parse_keyscan,
    "gitleaks": parse_gitleaks,
    "betterleaks": parse_betterleaks,
    "kingfisher": parse_kingfisher,
}


def run(tool: Any, target: Path, prefix: list[str], home: Path) -> Any:
    report = home / f"{tool.name}.json"
    report.unlink(missing_ok=True)
    argv = tool.scan(tool.binary, str(target), str(report))
    done = subprocess.run(
        prefix + argv, env=tool_env(home), cwd=home, capture_output=True, text=True, timeout=1800
    )
    if done.returncode not in tool.ok_exit_codes:
        sys.exit(f"detection_bench: {tool.name} exited {done.returncode}: {done.stderr[-500:]}")
    return json.loads(report.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/work/detection"))
    parser.add_argument("--env", type=Path, default=Path("bench/.env"))
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    corpus = build(args.out / "corpus", SEED)
    prefix, network = unshare_prefix(True)
    tools = make_tools(args.env.resolve(), None)
    lines = [
        f"Corpus: {len(corpus.positives)} labelled secrets in as many files, "
        f"{corpus.negative_files} hard-negative files of {len(corpus.negative_kinds)} kinds "
        f"(seed {SEED}). Network: {network}.",
        "",
        "| tool | TP | FN | FP | recall | precision | F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    tables: dict[str, str] = {}
    for name in ("keyscan", "gitleaks", "betterleaks", "kingfisher"):
        tool = tools[name]
        with tempfile.TemporaryDirectory() as home:
            data = run(tool, corpus.root, prefix, Path(home))
        scores = score(corpus.positives, PARSERS[name](data, corpus.root))
        overall = scores["all"]
        lines.append(
            f"| {name} | {overall.tp} | {overall.fn} | {overall.fp} | {overall.recall:.3f} "
            f"| {overall.precision:.3f} | {overall.f1:.3f} |"
        )
        tables[name] = table(scores)
        missed: dict[str, int] = {}
        for miss in overall.misses:
            missed[miss.kind] = missed.get(miss.kind, 0) + 1
        noisy: dict[str, int] = {}
        for item in overall.false_positives:
            kind = item.path.split("/")[1] if item.path.startswith("neg/") else item.path
            noisy[kind] = noisy.get(kind, 0) + 1
        tables[name] += f"\n\nmissed by kind: {dict(sorted(missed.items()))}"
        tables[name] += f"\n\nfalse positives by negative kind: {dict(sorted(noisy.items()))}"
    print("\n".join(lines))
    for name, text in tables.items():
        print(f"\n#### {name} by family\n\n{text}")


if __name__ == "__main__":
    main()
