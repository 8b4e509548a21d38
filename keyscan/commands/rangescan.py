"""Scans of what changes add: --staged (the index), --diff BASE..HEAD and --pre-push ranges.

A finding is reported only where a change introduces it: a secret whose fingerprint is already in
the file's previous version, or on the base branch, is not new and is not reported.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from keyscan.blobscan import BlobScanner
from keyscan.config import Config
from keyscan.engine.base import Engine
from keyscan.errors import KeyscanError
from keyscan.gitcmd import OBJECT_ID, run_git
from keyscan.model import Finding, ScanResult, Skip, Summary
from keyscan.options import ScanOptions
from keyscan.rules.ruleset import Ruleset
from keyscan.scan import PARALLEL_MIN_BYTES, scan_git_objects
from keyscan.sources.changes import (
    ZERO_OIDS,
    Change,
    RangeDiff,
    annotated_tags,
    commit_meta,
    merge_base,
    range_commits,
    secrets_in_tree,
    staged_changes,
    tree_blobs,
)
from keyscan.sources.gitobjects import CatFile, ObjectRef, object_sizes
from keyscan.sources.history import UNREADABLE_OBJECT, lost_objects, object_blob
from keyscan.sources.submodules import submodule_skip
from keyscan.workers import BatchResult, scan_objects


@dataclass(frozen=True)
class Parallelism:
    """How a change scan large enough for it (a long range, a first push) runs on several
    processes: `jobs` of them (0: one per core), their compiled rules cached in `cache_dir`."""

    jobs: int = 0
    cache_dir: Path | None = None


class _BlobFindings:
    """Scans each blob once at each path it is wanted at, and remembers its findings.

    A blob is scanned at its path because filters read the path (a rule's allowlist paths, an
    unquoted value in source code being an expression, lockfiles), as the working-tree and
    history scans do. The versions of a path come one after another, oldest first, so that
    each is scanned as an edit of the one before (keyscan.edits).
    """

    def __init__(
        self, repo: Path, scanner: BlobScanner, summary: Summary, parallelism: Parallelism
    ):
        self.repo = repo
        self.scanner = scanner
        self.summary = summary
        self.parallelism = parallelism
        self.findings: dict[tuple[str, str], list[Finding]] = {}
        # Objects git could not read: the scan goes on without them and says it is incomplete.
        self.unreadable: list[str] = []

    def scan(self, wanted: Sequence[tuple[str, str]]) -> None:
        """Scan each (blob id, path) not scanned yet; within a path, in the order given."""
        pending = sorted(dict.fromkeys(w for w in wanted if w not in self.findings), key=_path)
        if not pending:
            return
        sizes = object_sizes(self.repo, list(dict.fromkeys(oid for oid, _ in pending)))
        # A blob wanted at several paths (the empty file, a copy) is named once per path.
        refs: list[ObjectRef] = []
        for oid, path in pending:
            self.findings[(oid, path)] = []
            if oid not in sizes:
                why = f"{path}: object {oid} is missing (corrupt or incomplete repository)"
                self._take(BatchResult(skips=[Skip(oid, UNREADABLE_OBJECT, why)]))
                continue
            if sizes[oid] > self.scanner.options.max_file_size:
                self.summary.skipped.append(
                    Skip(path, "too large", f"blob {oid[:12]}: {sizes[oid]} bytes")
                )
                continue
            refs.append(ObjectRef(oid, "blob", sizes[oid], path))
        self._scan_round(refs)

    def _scan_round(self, refs: list[ObjectRef]) -> None:
        jobs = self.parallelism.jobs
        if jobs != 1 and sum(ref.size for ref in refs) >= PARALLEL_MIN_BYTES:
            scanner = self.scanner
            result = scan_git_objects(
                iter(refs),
                self.repo,
                scanner.ruleset,
                scanner.options,
                scanner.engine,
                self.parallelism.cache_dir,
                jobs,
            )
            summary = result.summary
            self._take(
                BatchResult(
                    findings=result.findings,
                    skips=summary.skipped,
                    files_scanned=summary.files_scanned,
                    bytes_scanned=summary.bytes_scanned,
                    binary_scanned=summary.binary_scanned,
                )
            )
        else:
            with CatFile(self.repo) as catfile:
                self._take(scan_objects(self.scanner, catfile, refs))

    def _take(self, batch: BatchResult) -> None:
        self.unreadable += lost_objects(batch.skips)
        for finding in batch.findings:
            self.findings[(finding.blob, finding.path)].append(finding)
        self.summary.skipped.extend(batch.skips)
        self.summary.files_scanned += batch.files_scanned
        self.summary.bytes_scanned += batch.bytes_scanned
        self.summary.binary_scanned += batch.binary_scanned

    def fingerprints(self, oid: str | None, path: str) -> set[str]:
        return {f.fingerprint for f in self.findings.get((oid or "", path), [])}


def _path(wanted: tuple[str, str]) -> str:
    return wanted[1]


def _path_allowed(path: str, config: Config) -> bool:
    return not any(p.search(path) for p in config.allowlist.paths)


def scan_changes(
    repo: Path,
    changes: Sequence[Change],
    ruleset: Ruleset,
    engine: Engine,
    options: ScanOptions,
    config: Config,
    base: str | None = None,
    tip: str | None = None,
    parallelism: Parallelism = Parallelism(),
) -> ScanResult:
    result = ScanResult()
    result.summary.engine = engine.name
    result.summary.rules_active = len(ruleset.rules)
    changes = [c for c in changes if _path_allowed(c.path, config)]
    # A submodule pointer the range moves (not one a merge took from a parent as it was).
    moved = {c.path: c.new for c in changes if c.gitlink and c.new not in c.other_parents}
    result.summary.skipped.extend(submodule_skip(p, moved[p]) for p in sorted(moved))
    changes = [c for c in changes if not c.gitlink]
    scanner = BlobScanner(ruleset, engine, options)
    blobs = _BlobFindings(repo, scanner, result.summary, parallelism)
    # What the changes bring first, each path's versions in commit order. What was there before
    # (the base's versions, a change's earlier version, a merge's other parents) and what the
    # tip holds matter only once that found something: most ranges then cost half the scanning.
    blobs.scan([(change.new, change.path) for change in changes])
    flagged = {c.path for c in changes if blobs.findings.get((c.new, c.path))}
    base_blobs: dict[str, str] = {}
    tip_blobs: dict[str, str] = {}
    if flagged:
        # A finding is measured against the base's version of every path with one (a secret
        # moved from one to another is on the base), and against the whole base tree below.
        base_blobs = tree_blobs(repo, base, sorted(flagged)) if base else {}
        tip_blobs = tree_blobs(repo, tip, sorted(flagged)) if tip else {}
        earlier = [(oid, path) for path, oid in base_blobs.items()]
        for change in (c for c in changes if c.path in flagged):
            before = [change.old] if change.old else []
            earlier += [(oid, change.path) for oid in (*before, *change.other_parents)]
        blobs.scan(earlier + [(oid, path) for path, oid in tip_blobs.items()])
    on_base = set().union(*(blobs.fingerprints(oid, path) for path, oid in base_blobs.items()))
    reported: set[tuple[str, str]] = set()
    for change in changes:
        known = blobs.fingerprints(change.old, change.path) | on_base
        for oid in change.other_parents:
            known |= blobs.fingerprints(oid, change.path)
        for finding in blobs.findings.get((change.new, change.path), []):
            key = (finding.fingerprint, change.path)
            if finding.fingerprint in known or key in reported:
                continue
            reported.add(key)
            at_head = None
            if tip is not None:
                tip_fingerprints = blobs.fingerprints(tip_blobs.get(change.path), change.path)
                at_head = finding.fingerprint in tip_fingerprints
            result.findings.append(
                replace(finding, path=change.path, commit=change.commit, at_head=at_head)
            )
    # Authors and dates of the commits that introduce something, not of the whole range.
    metas = commit_meta(repo, sorted({f.commit for f in result.findings if f.commit}))
    result.findings = [
        replace(f, author=metas[f.commit][0], date=metas[f.commit][1]) if f.commit in metas else f
        for f in result.findings
    ]
    if base is not None:
        # A secret the base branch already holds anywhere (copied into a new file, say) is not
        # one this change introduces.
        old = secrets_in_tree(repo, base, [f.secret for f in result.findings])
        result.findings = [f for f in result.findings if f.secret not in old]
    result.findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id))
    if blobs.unreadable:
        lost = list(dict.fromkeys(blobs.unreadable))
        result.summary.incomplete.append(
            f"{repo}: {len(lost)} object(s) missing or unreadable (a corrupt or partial "
            f"repository), first {lost[0]}: the rest of the changes were scanned"
        )
    return result


def scan_messages(repo: Path, commits: Sequence[str], scanner: BlobScanner) -> list[Finding]:
    found: list[Finding] = []
    with CatFile(repo) as catfile:
        for oid, kind, data in catfile.fetch(list(commits)):
            ref = ObjectRef(oid, kind, len(data), "")
            found.extend(scanner.scan(object_blob(ref, data)).findings)
    return found


def scan_tag_messages(
    repo: Path, tips: Sequence[str], scanner: BlobScanner, result: ScanResult
) -> None:
    """Add to `result` what the messages of the annotated tags among `tips` (and of the tags
    they name) hold. A tag goes to the remote with its message, which rev-list, peeling the tag
    to its commit, never shows: a release note can carry a key as a commit message can."""
    tags = annotated_tags(repo, tips)
    result.findings.extend(scan_messages(repo, tags, scanner))
    result.summary.files_scanned += len(tags)


def parse_range(text: str) -> tuple[str, str]:
    if "..." in text:
        raise KeyscanError(
            f"--diff {text}: use BASE..HEAD (two dots); keyscan finds the merge base itself"
        )
    base, sep, head = text.partition("..")
    if not sep or not base or not head:
        raise KeyscanError(f"--diff {text}: expected BASE..HEAD, for example origin/main..HEAD")
    return base, head


def changes_and_messages(
    repo: Path, commits: dict[str, list[str]], scanner: BlobScanner
) -> tuple[list[Change], list[Finding]]:
    """What the commits change, and the findings in their messages, scanned while git diffs
    the commits in its own process: working out a range's changes is otherwise a wait with a
    core idle (ipython's last 7,907 commits take 0.45 s to diff and 0.3 s to scan the messages
    of)."""
    with RangeDiff(repo, commits) as diff:
        in_messages = scan_messages(repo, list(commits), scanner)
        return diff.changes(), in_messages


def range_scan(
    repo: Path,
    base: str,
    head: str,
    ruleset: Ruleset,
    engine: Engine,
    options: ScanOptions,
    config: Config,
    parallelism: Parallelism = Parallelism(),
) -> ScanResult:
    """--diff BASE..HEAD: commits on HEAD that BASE lacks; secrets on the base are not new."""
    commits = range_commits(repo, [head, f"^{base}"])
    fork = merge_base(repo, base, head)
    scanner = BlobScanner(ruleset, engine, options)
    changes, in_messages = changes_and_messages(repo, commits, scanner)
    result = scan_changes(repo, changes, ruleset, engine, options, config, fork, head, parallelism)
    result.findings.extend(in_messages)
    result.summary.files_scanned += len(commits)
    return result


_HEX_ID = re.compile(OBJECT_ID)


def pre_push_scan(
    repo: Path,
    lines: Sequence[str],
    ruleset: Ruleset,
    engine: Engine,
    options: ScanOptions,
    config: Config,
    parallelism: Parallelism = Parallelism(),
) -> ScanResult:
    """git's pre-push protocol: `<local ref> <local sha> <remote ref> <remote sha>` per line."""
    total = ScanResult()
    scanner = BlobScanner(ruleset, engine, options)
    pushed: list[str] = []
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4 or not all(_HEX_ID.fullmatch(sha) for sha in parts[1::2]):
            raise KeyscanError(
                "--pre-push: expected '<local ref> <local sha> <remote ref> <remote sha>', "
                f"got {line!r}"
            )
        local_ref, local_sha, _remote_ref, remote_sha = parts
        if local_sha in ZERO_OIDS:
            continue  # a deletion pushes no content
        # A branch always names a commit (git refuses anything else there): no tag to read.
        if local_sha != remote_sha and not local_ref.startswith("refs/heads/"):
            pushed.append(local_sha)
        if remote_sha in ZERO_OIDS:
            # A new branch: everything the remote does not have yet, as far as we know it.
            rev_args = [local_sha, "--not", "--remotes"]
            base = None
        else:
            rev_args = [local_sha, f"^{remote_sha}"]
            base = merge_base(repo, remote_sha, local_sha)
        commits = range_commits(repo, rev_args)
        changes, in_messages = changes_and_messages(repo, commits, scanner)
        part = scan_changes(
            repo,
            changes,
            ruleset,
            engine,
            options,
            config,
            base=base,
            tip=local_sha,
            parallelism=parallelism,
        )
        part.findings.extend(in_messages)
        total.findings.extend(part.findings)
        total.summary.skipped.extend(part.summary.skipped)
        total.summary.incomplete.extend(part.summary.incomplete)
        total.summary.files_scanned += part.summary.files_scanned
        total.summary.bytes_scanned += part.summary.bytes_scanned
        total.summary.binary_scanned += part.summary.binary_scanned
    scan_tag_messages(repo, pushed, scanner, total)
    total.summary.engine = engine.name
    total.summary.rules_active = len(ruleset.rules)
    return total


def staged_scan(
    repo: Path,
    ruleset: Ruleset,
    engine: Engine,
    options: ScanOptions,
    config: Config,
    parallelism: Parallelism = Parallelism(),
) -> ScanResult:
    """--staged: exactly what the next commit will contain; unstaged edits are ignored."""
    head = run_git(repo, ["rev-parse", "-q", "--verify", "HEAD"], check=False)
    # A secret HEAD already holds anywhere (a moved or renamed file) is not what this commit adds.
    base = "HEAD" if head.returncode == 0 else None
    changes = staged_changes(repo)
    return scan_changes(repo, changes, ruleset, engine, options, config, base, None, parallelism)


def read_pre_push_lines() -> list[str]:
    return [line for line in sys.stdin.read().splitlines() if line.strip()]
