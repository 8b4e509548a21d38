"""What a commit range or the index changes: (commit, path, old blob, new blob) per changed file."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from keyscan.errors import GitError
from keyscan.gitcmd import GIT, BackgroundGit, complaint, git_env, run_git
from keyscan.sources.gitobjects import CatFile

ZERO_OIDS = frozenset({"0" * 40, "0" * 64})
_GITLINK_MODE = "160000"


@dataclass(frozen=True)
class Change:
    commit: str | None
    path: str
    old: str | None
    new: str
    # Merge commits: the path's blob in every other parent. What a merge takes from any parent
    # is not new; only what it adds beyond all of them (a conflict resolution, an evil merge).
    other_parents: tuple[str, ...] = ()
    # A submodule pointer: `new` is a commit of another repository, reported as skipped.
    gitlink: bool = False


def range_commits(repo: Path, rev_args: Sequence[str]) -> dict[str, list[str]]:
    """Every commit of the range, merges included, oldest first, with its parents."""
    done = run_git(repo, ["rev-list", "--reverse", "--parents", *rev_args], check=False)
    if done.returncode != 0:
        detail = complaint(done.stderr) or "unknown revision"
        raise GitError(
            f"{repo}: cannot list commits for {' '.join(rev_args)}: {detail} "
            "(in CI, fetch the full history: `fetch-depth: 0`)"
        )
    commits: dict[str, list[str]] = {}
    for line in done.stdout.decode().splitlines():
        commit, *parents = line.split()
        commits[commit] = parents
    return commits


def range_changes(repo: Path, commits: dict[str, list[str]]) -> list[Change]:
    """What each commit changes (RangeDiff), with nothing else to do while git diffs."""
    with RangeDiff(repo, commits) as diff:
        return diff.changes()


class RangeDiff:
    """What each commit of a range changes, from one `git diff-tree --stdin` for the whole
    range, started at once and read when asked: git diffs while the caller does something else
    (a range scan scans the commits' messages meanwhile).

    A root commit is compared with the empty tree and a plain commit with its parent. A merge
    is compared with each parent in turn: against the first for what it changed, and against
    each other one for that parent's blob at each changed path (a path the diff leaves out is
    the merge's own blob there; one it adds is in no blob of that parent).
    """

    def __init__(self, repo: Path, commits: dict[str, list[str]]):
        """`commits`: each commit, in the order wanted, with its parents (range_commits)."""
        self.commits = commits
        lines: list[str] = []
        for commit, merged in commits.items():
            lines += [f"{commit} {parent}" for parent in merged] if len(merged) > 1 else [commit]
        request = "".join(line + "\n" for line in lines).encode()
        args = ["diff-tree", "--stdin", "--always", "--root", "-r", "-z", "--no-renames"]
        self._git = BackgroundGit(repo, args, input=request)

    def __enter__(self) -> RangeDiff:
        return self

    def __exit__(self, *_: object) -> None:
        self._git.cancel()

    def changes(self) -> list[Change]:
        diffs = iter(_diffs(self._git.checked_stdout()))
        changes: list[Change] = []
        for commit, merged in self.commits.items():
            if len(merged) <= 1:
                changes += _added(next(diffs), commit)
                continue
            own = _added(next(diffs), commit)
            sides = [{path: parts for parts, path in next(diffs)} for _ in merged[1:]]
            for change in own:
                blobs = tuple(
                    change.new if side.get(change.path) is None else side[change.path][2]
                    for side in sides
                    if side.get(change.path) is None or side[change.path][2] not in ZERO_OIDS
                )
                changes.append(replace(change, other_parents=blobs))
        return changes


# One raw diff entry: (old mode, new mode, old blob, new blob, status) and the path.
_Entry = tuple[list[str], str]


def _diffs(output: bytes, headed: bool = True) -> list[list[_Entry]]:
    """The entries of each commit `diff-tree --stdin --always -z` printed, in its order: a
    commit id starts each, then `:meta` and path fields alternate. Not `headed` (diff-index,
    one diff-tree), all entries are one diff's."""
    diffs: list[list[_Entry]] = [] if headed else [[]]
    fields = output.split(b"\0")
    i = 0
    while i < len(fields):
        field = fields[i].decode("utf-8", "surrogateescape")
        if field.startswith(":") and diffs and i + 1 < len(fields):
            path = fields[i + 1].decode("utf-8", "surrogateescape")
            diffs[-1].append((field[1:].split(), path))
            i += 2
            continue
        if headed and field.strip():
            diffs.append([])
        i += 1
    return diffs


def _added(entries: list[_Entry], commit: str | None) -> list[Change]:
    """The entries that leave content at a path: additions, modifications, type changes."""
    changes = []
    for parts, path in entries:
        if len(parts) < 5 or parts[4][0] not in "AMT":
            continue  # deletions and renames-as-delete carry no new content
        old = None if parts[2] in ZERO_OIDS else parts[2]
        changes.append(Change(commit, path, old, parts[3], gitlink=parts[1] == _GITLINK_MODE))
    return changes


def staged_changes(repo: Path) -> list[Change]:
    head = run_git(repo, ["rev-parse", "--verify", "-q", "HEAD"], check=False)
    if head.returncode == 0:
        done = run_git(repo, ["diff-index", "--cached", "-z", "--no-renames", "HEAD"])
        return _added(_diffs(done.stdout, headed=False)[0], None)
    # Before the first commit everything in the index is new.
    done = run_git(repo, ["ls-files", "-s", "-z"])
    changes = []
    for entry in done.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.decode("utf-8", "surrogateescape").partition("\t")
        mode, oid, _stage = meta.split()
        changes.append(Change(None, path, None, oid, gitlink=mode == _GITLINK_MODE))
    return changes


def tree_blobs(repo: Path, treeish: str, paths: Sequence[str]) -> dict[str, str]:
    """path → blob id in `treeish` for the given paths (missing paths are left out)."""
    if not paths:
        return {}
    # Many paths (a long range, a first push) are looked up in the whole listing: on the
    # command line they could pass the system's bound on its length.
    named = list(paths) if len(paths) <= _NAMED_PATHS else []
    done = run_git(repo, ["ls-tree", "-r", "-z", treeish, "--", *named], check=False)
    if done.returncode != 0:
        return {}
    wanted = set(paths)
    found: dict[str, str] = {}
    for entry in done.stdout.split(b"\0"):
        meta, _, path = entry.decode("utf-8", "surrogateescape").partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob" and path in wanted:
            found[path] = parts[2]
    return found


_NAMED_PATHS = 256


def annotated_tags(repo: Path, tips: Sequence[str]) -> list[str]:
    """The annotated tags among `tips`, and the tags they name in turn (a tag of a tag), each
    once: objects whose messages travel with a push but that no commit listing shows."""
    tags: list[str] = []
    pending = list(dict.fromkeys(tips))
    if not pending:
        return tags
    with CatFile(repo) as catfile:
        while pending:
            named: list[str] = []
            # What cannot be read is not a tag this push carries: git itself names the pushed
            # tips, and the commit listing fails on one that is missing.
            for oid, kind, data in catfile.fetch(pending, lambda oid, why: None):
                if kind != "tag" or oid in tags:
                    continue
                tags.append(oid)
                headers = dict(
                    line.split(b" ", 1)
                    for line in data.partition(b"\n\n")[0].split(b"\n")
                    if b" " in line
                )
                if headers.get(b"type") == b"tag" and b"object" in headers:
                    named.append(headers[b"object"].decode("ascii", "replace"))
            pending = [oid for oid in named if oid not in tags]
    return tags


def merge_base(repo: Path, a: str, b: str) -> str | None:
    done = run_git(repo, ["merge-base", a, b], check=False)
    return done.stdout.decode().strip() or None if done.returncode == 0 else None


def commit_meta(repo: Path, commits: Sequence[str]) -> dict[str, tuple[str, str]]:
    """commit → (author name, ISO date)."""
    if not commits:
        return {}
    request = "".join(commit + "\n" for commit in commits).encode()
    args = ["log", "--no-walk=unsorted", "--stdin", "-s", "--format=%H%x00%an%x00%aI"]
    done = run_git(repo, args, input=request)
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
        [*GIT, "grep", "--no-color", "-a", "-F", "-o", "-h", "-f", "-", treeish],
        cwd=repo,
        env=git_env(),
        input="\n".join(sorted(set(secrets))).encode("utf-8", "surrogateescape"),
        capture_output=True,
        check=False,
    )
    found = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    return set(found) & set(secrets)
