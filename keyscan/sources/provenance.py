"""History provenance for blobs with findings: first commit, author, date, carriers, refs, HEAD."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from keyscan.gitcmd import run_git


@dataclass(frozen=True)
class BlobHistory:
    """Where a blob lives in history; computed only for blobs that have findings."""

    first_commit: str | None
    author: str | None
    date: str | None
    path: str | None
    commit_count: int
    refs: tuple[str, ...]
    at_head: bool


def _lines(repo: Path, args: Sequence[str]) -> list[str]:
    done = run_git(repo, args, check=False)
    if done.returncode != 0:
        return []
    return done.stdout.decode("utf-8", "surrogateescape").splitlines()


def head_blob_ids(repo: Path) -> frozenset[str]:
    done = run_git(repo, ["ls-tree", "-r", "-z", "HEAD"], check=False)
    if done.returncode != 0:
        return frozenset()
    ids = set()
    for entry in done.stdout.split(b"\0"):
        meta = entry.split(b"\t", 1)[0].split()
        if len(meta) == 3 and meta[1] == b"blob":
            ids.add(meta[2].decode())
    return frozenset(ids)


def ref_tips(repo: Path) -> dict[str, list[str]]:
    """commit id → names of refs pointing at it (annotated tags peeled)."""
    tips: dict[str, list[str]] = {}
    fmt = "%(objectname) %(*objectname) %(refname:short)"
    for line in _lines(repo, ["for-each-ref", f"--format={fmt}"]):
        parts = line.split(" ", 2)
        if len(parts) == 3:
            target = parts[1] or parts[0]
            tips.setdefault(target, []).append(parts[2])
    return tips


def _descendants(repo: Path, commit: str, roots: Sequence[str]) -> set[str]:
    return {commit, *_lines(repo, ["rev-list", "--ancestry-path", *roots, f"^{commit}"])}


def _iso(timestamp: str) -> str | None:
    if not timestamp.isdigit():
        return None
    return datetime.datetime.fromtimestamp(int(timestamp), datetime.timezone.utc).isoformat()


class ProvenanceResolver:
    """Answers provenance questions about one repository, caching what every answer shares."""

    def __init__(self, repo: Path, roots: Sequence[str]):
        self.repo = repo
        self.roots = list(roots)
        self._head = head_blob_ids(repo)
        self._tips = ref_tips(repo)

    def _refs_within(self, commits: set[str]) -> tuple[str, ...]:
        return tuple(
            sorted(name for tip, names in self._tips.items() if tip in commits for name in names)
        )

    def blob(self, oid: str) -> BlobHistory:
        adders: list[tuple[int, str, str, str]] = []
        removers: list[str] = []
        current: tuple[str, str, str] | None = None
        log = [
            "log",
            *self.roots,
            "--raw",
            "--no-abbrev",
            "--no-renames",
            f"--find-object={oid}",
            "--format=@@%H%x00%at%x00%an",
        ]
        for line in _lines(self.repo, log):
            if line.startswith("@@"):
                sha, stamp, author = [*line[2:].split("\0"), "", ""][:3]
                current = (sha, stamp, author)
            elif line.startswith(":") and current is not None:
                meta, _, path = line.partition("\t")
                fields = meta.split()
                if len(fields) >= 4 and fields[3] == oid:
                    seconds = int(current[1]) if current[1].isdigit() else 0
                    adders.append((seconds, current[0], current[2], path))
                elif len(fields) >= 3 and fields[2] == oid:
                    removers.append(current[0])
        if not adders:
            return BlobHistory(None, None, None, None, 0, (), oid in self._head)
        adders.sort()
        reaching: set[str] = set()
        for _, sha, _, _ in adders:
            reaching |= _descendants(self.repo, sha, self.roots)
        # A ref reaches the secret when its history holds an adding commit, even if a later
        # commit deleted the file: the content stays retrievable from that ref.
        carriers = set(reaching)
        for sha in removers:
            carriers -= _descendants(self.repo, sha, self.roots)
        seconds, sha, author, path = adders[0]
        return BlobHistory(
            first_commit=sha,
            author=author,
            date=_iso(str(seconds)),
            path=path,
            commit_count=len(carriers),
            refs=self._refs_within(reaching),
            at_head=oid in self._head,
        )

    def commit(self, sha: str) -> BlobHistory:
        """For a finding in a commit or tag message: the refs whose history holds that object."""
        refs = tuple(
            sorted(
                _lines(self.repo, ["for-each-ref", "--format=%(refname:short)", "--contains", sha])
            )
        )
        in_head = (
            run_git(self.repo, ["merge-base", "--is-ancestor", sha, "HEAD"], check=False).returncode
            == 0
        )
        return BlobHistory(sha, None, None, None, 1, refs, in_head)


def resolve_all(
    repo: Path, roots: Sequence[str], blob_ids: Iterable[str]
) -> dict[str, BlobHistory]:
    resolver = ProvenanceResolver(repo, roots)
    return {oid: resolver.blob(oid) for oid in sorted(set(blob_ids))}
