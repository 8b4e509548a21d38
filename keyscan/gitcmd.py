"""The one place that runs git: clean environment, NUL-separated output, one-line errors."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from keyscan.errors import GitError


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k == "GIT_EXEC_PATH"}
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    return env


def run_git(
    cwd: Path, args: Sequence[str], check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            env=git_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if check and done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        first = message[-1] if message else f"exit status {done.returncode}"
        raise GitError(f"{cwd}: git {args[0]} failed: {first}")
    return done


def worktree_root(path: Path) -> Path | None:
    """The top of the git work tree holding `path`, or None outside git."""
    directory = path if path.is_dir() else path.parent
    done = run_git(directory, ["rev-parse", "--show-toplevel"], check=False)
    if done.returncode != 0:
        return None
    return Path(done.stdout.decode("utf-8", "surrogateescape").strip())


def listed_files(root: Path, pathspec: str) -> list[str]:
    """Tracked files plus untracked files that are not ignored, relative to `root`."""
    done = run_git(
        root,
        [
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--deduplicate",
            "--",
            pathspec,
        ],
    )
    return [p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
