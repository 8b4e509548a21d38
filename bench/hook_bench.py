#!/usr/bin/env python3
"""Pre-commit hook latency: `keyscan hook pre-commit FILE` for a one-file commit in a big repo.

Builds a repository of --files files (real-looking Python modules, about 4 KB each) in a
temporary directory, commits them, stages one edited file, and times the hook the way pre-commit
runs it (median of --runs after a warm-up run), with the rule cache warm and with --no-cache.

    bench/.env/bin/python bench/hook_bench.py --files 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULE = (
    '''"""Module {n}: part of a large synthetic project."""

import os


def handler_{n}(request, settings):
    timeout = settings.get("timeout", {n})
    for attempt in range(3):
        response = request.get(os.path.join("/api/v1/items", str(attempt)), timeout=timeout)
        if response.ok:
            return response.json()
    return None
'''
    * 10
)


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@bench.invalid",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@bench.invalid"}  # fmt: skip
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def time_hook(keyscan: str, repo: Path, extra: list[str], runs: int) -> list[float]:
    walls = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run([keyscan, "hook", "pre-commit", "pkg/m0.py", *extra], cwd=repo,
                              capture_output=True)  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"hook_bench: the hook failed: {done.stderr.decode()[-300:]}")
        if i:  # the first run warms the page cache and keyscan's caches
            walls.append(time.perf_counter() - start)
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keyscan", default=str(HERE / ".env" / "bin" / "keyscan"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hook-bench-") as tmp:
        repo = Path(tmp) / "big"
        (repo / "pkg").mkdir(parents=True)
        git(repo, "init", "-q")
        for n in range(args.files):
            (repo / "pkg" / f"m{n}.py").write_text(MODULE.format(n=n))
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", "big")
        (repo / "pkg" / "m0.py").write_text(MODULE.format(n=0) + "\nRETRIES = 5\n")
        git(repo, "add", "pkg/m0.py")
        size = sum(p.stat().st_size for p in (repo / "pkg").iterdir()) / 1e6
        env_cache = Path(tmp) / "cache"
        os.environ["KEYSCAN_CACHE_DIR"] = str(env_cache)
        warm = time_hook(args.keyscan, repo, [], args.runs)
        cold = time_hook(args.keyscan, repo, ["--no-cache"], args.runs)
    print(f"one-file commit in a {args.files}-file repository ({size:.0f} MB work tree):")
    print(f"  keyscan hook pre-commit FILE             median {statistics.median(warm):.3f} s "
          f"(runs {', '.join(f'{w:.3f}' for w in warm)})")  # fmt: skip
    print(f"  keyscan hook pre-commit FILE --no-cache  median {statistics.median(cold):.3f} s "
          f"(runs {', '.join(f'{w:.3f}' for w in cold)})")  # fmt: skip


if __name__ == "__main__":
    main()
