"""What a commit range or the index changes: (commit, path, old blob, new blob) per changed file."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from keyscan.errors import GitError
from keyscan.gitcmd import git_env, run_git

ZERO_OIDS = frozenset({"0" * 40, "0" * 64})


@dataclass(frozen=True)
class Change:
    commit: str | None
    path: str
    old: str | None
    new: str
    # Merge commits: the path's blob in every other parent. What a merge takes from any parent
    # is not new; only what it adds beyond all of them (a conflict resolution, an evil merge).
    other_parents: tuple[str, ...] = ()


def _parse_raw(output: bytes, commit: str | None) -> list[Change]:
    """Parse `git diff-tree/diff-index -z --raw` entries: ':m m old new S\\0path\\0'."""
    changes: list[Change] = []
    fields = output.split(b"\0")
    i = 0
    while i < len(fields) - 1:
        meta = fields[i].decode("utf-8", "surrogateescape")
        if not meta.startswith(":"):
            i += 1
            continue
        parts = meta[1:].split()
        path = fields[i + 1].decode("utf-8", "surrogateescape")
        i += 2
        if len(parts) < 5 or parts[4][0] not in "AMT" or parts[1] == "160000":
            continue  # deletions, renames-as-delete, and submodule pointers carry no new content
        old = None if parts[2] in ZERO_OIDS else parts[2]
        changes.append(Change(commit, path, old, parts[3]))
    return changes


def commits_in_range(repo: Path, rev_args: Sequence[str]) -> list[str]:
    """Every commit of the range, merges included, oldest first."""
    done = run_git(repo, ["rev-list", "--reverse", *rev_args], check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else "unknown revision"
        raise GitError(
            f"{repo}: cannot list commits for {' '.join(rev_args)}: {detail} "
            "(in CI, fetch the full history: `fetch-depth: 0`)"
        )
    return done.stdout.decode().split()


def range_changes(repo: Path, commits: Sequence[str]) -> list[Change]:
    changes: list[Change] = []
    parents = _parents(repo, commits)
    for commit in commits:
        # A root commit has no parent and a plain commit one; only merges have more.
        first, *others = parents.get(commit) or [""]
        if not others:
            done = run_git(
                repo, ["diff-tree", "-r", "--root", "-z", "--no-renames", "--no-commit-id", commit]
            )
            changes.extend(_parse_raw(done.stdout, commit))
            continue
        # A merge: what changed against the first parent, and for each such path the blob every
        # other parent holds, so content merged in from a side is known already.
        done = run_git(repo, ["diff-tree", "-r", "-z", "--no-renames", first, commit])
        merged = _parse_raw(done.stdout, commit)
        paths = [change.path for change in merged]
        sides = [tree_blobs(repo, parent, paths) for parent in others]
        for change in merged:
            blobs = tuple(side[change.path] for side in sides if change.path in side)
            changes.append(replace(change, other_parents=blobs))
    return changes


def _parents(repo: Path, commits: Sequence[str]) -> dict[str, list[str]]:
    if not commits:
        return {}
    done = run_git(repo, ["rev-list", "--no-walk=unsorted", "--parents", *commits])
    parents: dict[str, list[str]] = {}
    for line in done.stdout.decode().splitlines():
        commit, *rest = line.split()
        parents[commit] = rest
    return parents


def staged_changes(repo: Path) -> list[Change]:
    head = run_git(repo, ["rev-parse", "--verify", "-q", "HEAD"], check=False)
    if head.returncode == 0:
        done = run_git(repo, ["diff-index", "--cached", "-z", "--no-renames", "HEAD"])
        return _parse_raw(done.stdout, None)
    # Before the first commit everything in the index is new.
    done = run_git(repo, ["ls-files", "-s", "-z"])
    changes = []
    for entry in done.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.decode("utf-8", "surrogateescape").partition("\t")
        mode, oid, _stage = meta.split()
        if mode != "160000":
            changes.append(Change(None, path, None, oid))
    return changes


def tree_blobs(repo: Path, treeish: str, paths: Sequence[str]) -> dict[str, str]:
    """path → blob id in `treeish` for the given paths (missing paths are left out)."""
    if not paths:
        return {}
    done = run_git(repo, ["ls-tree", "-r", "-z", treeish, "--", *paths], check=False)
    if done.returncode != 0:
        return {}
    found: dict[str, str] = {}
    for entry in done.stdout.split(b"\0"):
        meta, _, path = entry.decode("utf-8", "surrogateescape").partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            found[path] = parts[2]
    return found


def merge_base(repo: Path, a: str, b: str) -> str | None:
    done = run_git(repo, ["merge-base", a, b], check=False)
    return done.stdout.decode().strip() or None if done.returncode == 0 else None


def commit_meta(repo: Path, commits: Sequence[str]) -> dict[str, tuple[str, str]]:
    """commit → (author name, ISO date)."""
    if not commits:
        return {}
    done = run_git(repo, ["show", "-s", "--format=%H%x00%an%x00%aI", *commits])
    meta: dict[str, tuple[str, str]] = {}
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split("\0")
        if len(parts) == 3:
            meta[parts[0]] = (parts[1], parts[2])
    return meta


def secrets_in_tree(repo: Path, treeish: str, secrets: Sequence[str]) -> set[str]:
    """Which of `secrets` occur anywhere in `treeish`. Patterns go through stdin, never argv,
    so no secret shows up in the process list."""
    if not secrets:
        return set()
    done = subprocess.run(
        ["git", "grep", "--no-color", "-a", "-F", "-o", "-h", "-f", "-", treeish],
        cwd=repo,
        env=git_env(),
        input="\n".join(sorted(set(secrets))).encode("utf-8", "surrogateescape"),
        capture_output=True,
        check=False,
    )
    found = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    return set(found) & set(secrets)
