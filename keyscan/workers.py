"""Worker processes: each builds its engine once and scans batches of files it reads itself."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from keyscan.blobscan import BlobResult, BlobScanner
from keyscan.edits import EARLIER_VERSIONS, CleanVersion, EditScanner
from keyscan.engine.base import Engine
from keyscan.fingerprint import blob_id
from keyscan.model import Blob, Dropped, Finding, Provenance, Skip, is_binary
from keyscan.options import ScanOptions
from keyscan.rules.ruleset import Ruleset
from keyscan.sources.gitobjects import ObjectRef
from keyscan.sources.history import COMMIT_MESSAGE, UNREADABLE_OBJECT, commit_author, object_blob
from keyscan.sources.worktree import FileItem

if TYPE_CHECKING:
    from keyscan.sources.packs import ObjectReader


# Messages scanned in one pass (BlobScanner.scan_all): a batch of them is 256 at most.
_MESSAGES_TOGETHER = 256


def build_engine(ruleset: Ruleset, engine_name: str, cache_dir: Path | None) -> Engine:
    from keyscan.engine.hyperscan_engine import HyperscanEngine, hyperscan_available
    from keyscan.engine.regex_engine import RegexEngine
    from keyscan.errors import KeyscanError

    if engine_name == "regex":
        return RegexEngine(ruleset)
    if hyperscan_available():
        return HyperscanEngine(ruleset, cache_dir)
    if engine_name == "hyperscan":
        raise KeyscanError("--engine hyperscan: the hyperscan module cannot be imported")
    return RegexEngine(ruleset)


@dataclass
class BatchResult:
    findings: list[Finding] = field(default_factory=list)
    dropped: list[tuple[str, Dropped]] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    clean_blobs: list[str] = field(default_factory=list)
    # (blob id, path) of git blobs with no finding at their path but a candidate dropped for
    # it (BlobResult.path_dependent): never clean, as they may be a leak at another path.
    path_dependent: list[tuple[str, str]] = field(default_factory=list)
    files_scanned: int = 0
    bytes_scanned: int = 0
    binary_scanned: int = 0


def scan_files(scanner: BlobScanner, items: Sequence[FileItem]) -> BatchResult:
    """Read and scan each file; a file that cannot be read is a Skip, never a crash."""
    batch = BatchResult()
    options = scanner.options
    for item in items:
        try:
            size = os.stat(item.absolute).st_size
            if size > options.max_file_size:
                batch.skips.append(
                    Skip(
                        item.display,
                        "too large",
                        f"{size} bytes > --max-file-size {options.max_file_size}",
                    )
                )
                continue
            with open(item.absolute, "rb") as handle:
                data = handle.read(options.max_file_size + 1)
        except OSError as exc:
            batch.skips.append(Skip(item.display, "unreadable", exc.strerror or type(exc).__name__))
            continue
        if len(data) > options.max_file_size:
            batch.skips.append(Skip(item.display, "too large", "grew while being read"))
            continue
        binary = is_binary(data)
        if binary and not options.scan_binary:
            batch.skips.append(Skip(item.display, "binary", "--no-binary"))
            continue
        blob = Blob(blob_id(data), data, Provenance(item.display), binary=binary)
        result = scanner.scan(blob)
        batch.findings.extend(result.findings)
        batch.dropped.extend((item.display, d) for d in result.dropped)
        batch.skips.extend(result.skips)
        if result.unscanned:
            continue
        batch.files_scanned += 1
        batch.bytes_scanned += len(data)
        batch.binary_scanned += binary
    return batch


def scan_blobs(scanner: BlobScanner, blobs: Iterable[tuple[Blob, bool]]) -> BatchResult:
    """Scan blobs as they come (git sources); a blob fully scanned with no finding is clean.

    Each blob comes with whether it is a version of the file at its path (not a commit or tag
    message): such a blob is scanned as an edit of the closest of the last few clean versions
    of that path, when no other path came in between. Git sources come in path order, and
    holding a few earlier versions keeps a batch's memory at a few blobs however large the
    batch. (A few, not one: the versions of a file come in the order history lists them, and
    where branches run side by side that alternates between them.) Messages one after another
    are scanned together (BlobScanner.scan_all).
    """
    batch = BatchResult()
    edits = EditScanner(scanner)
    earlier_path = ""
    earlier_versions: list[CleanVersion] = []
    messages: list[Blob] = []

    def scan_messages() -> None:
        for message, result in zip(messages, scanner.scan_all(messages), strict=True):
            _take(batch, message, message.provenance.path, result)
        messages.clear()

    for blob, is_version in blobs:
        if not is_version and not blob.binary:
            messages.append(blob)
            if len(messages) >= _MESSAGES_TOGETHER:
                scan_messages()
            continue
        scan_messages()
        if blob.binary and not scanner.options.scan_binary:
            batch.skips.append(Skip(blob.provenance.path, "binary", "--no-binary"))
            continue
        path = blob.provenance.path
        if is_version:
            if path != earlier_path:
                earlier_path, earlier_versions = path, []
            result, version = edits.scan(blob, earlier_versions)
            if version is not None:
                earlier_versions = [version, *earlier_versions[: EARLIER_VERSIONS - 1]]
        else:
            result = scanner.scan(blob)
        _take(batch, blob, path, result)
    scan_messages()
    return batch


def _take(batch: BatchResult, blob: Blob, path: str, result: BlobResult) -> None:
    batch.findings.extend(result.findings)
    batch.dropped.extend((blob.provenance.path, d) for d in result.dropped)
    batch.skips.extend(result.skips)
    if result.path_dependent and not result.findings:
        batch.path_dependent.append((blob.id, path))
    elif not result.findings and not result.skips:
        batch.clean_blobs.append(blob.id)
    if result.unscanned:
        return
    batch.files_scanned += 1
    batch.bytes_scanned += len(blob.data)
    batch.binary_scanned += blob.binary


def scan_objects(
    scanner: BlobScanner, reader: ObjectReader, refs: Sequence[ObjectRef]
) -> BatchResult:
    """Fetch git objects through this process's own reader and scan them; an object git
    cannot read is a skip (the audit is then incomplete), not the end of the audit.

    `refs` may name one object more than once (a change scan wants a blob at each of its
    paths): the reader answers in the order asked, leaving out only what goes to `skip`, so each
    answer is matched to the next ref that names its object.
    """
    pending = iter(refs)
    unreadable: list[Skip] = []

    def answered(oid: str) -> ObjectRef:
        for ref in pending:
            if ref.oid == oid:
                return ref
        raise LookupError(f"{oid}: answered but not asked for")

    def skip(oid: str, why: str) -> None:
        unreadable.append(Skip(oid, UNREADABLE_OBJECT, f"{answered(oid).path or oid}: {why}"))

    # Commits read, for the author and date of the few whose message has a finding.
    commits: dict[str, bytes] = {}

    def blobs() -> Iterator[tuple[Blob, bool]]:
        for oid, _, data in reader.fetch([ref.oid for ref in refs], skip):
            ref = answered(oid)
            if ref.type == "commit":
                commits[oid] = data
            yield object_blob(ref, data, dated=False), ref.type == "blob"

    batch = scan_blobs(scanner, blobs())
    batch.findings = [_dated(finding, commits) for finding in batch.findings]
    batch.skips.extend(unreadable)
    return batch


def _dated(finding: Finding, commits: dict[str, bytes]) -> Finding:
    commit = commits.get(finding.blob) if finding.path == COMMIT_MESSAGE else None
    if commit is None:
        return finding
    author, date = commit_author(commit)
    return replace(finding, author=author, date=date)


class _PoolWorker:
    """Process-local state a pool worker builds once in its initializer: scanner and object
    reader."""

    scanner: BlobScanner | None = None
    reader: ObjectReader | None = None


def init_pool_worker(
    ruleset: Ruleset,
    engine: Engine | str,
    cache_dir: Path | None,
    options: ScanOptions,
    repo: Path | None = None,
) -> None:
    """`engine`: the parent's engine, inherited by a forked worker, or the name of the one to
    build."""
    # Imported here: most scans (a pre-commit hook's) never start a pool.
    from multiprocessing.util import Finalize

    from keyscan.sources.packs import open_object_reader

    if isinstance(engine, str):
        engine = build_engine(ruleset, engine, cache_dir)
    _PoolWorker.scanner = BlobScanner(ruleset, engine, options)
    if repo is not None:
        reader = _PoolWorker.reader = open_object_reader(repo)
        # A worker that exits without waiting for its cat-file leaves it to init: nothing
        # waits for it, and its CPU time is missing from the audit's own resource usage.
        Finalize(reader, reader.close, exitpriority=1)


def worker_ready() -> None:
    """A task that only makes the pool start its workers."""


def _worker_scanner() -> BlobScanner:
    scanner = _PoolWorker.scanner
    if scanner is None:
        raise RuntimeError("worker used before its initializer ran")
    return scanner


def scan_files_in_worker(items: Sequence[FileItem]) -> BatchResult:
    return scan_files(_worker_scanner(), items)


# An ObjectRef as it travels to a worker. Pickling plain tuples takes a seventh of the time
# pickling the dataclasses takes (0.07 s against 0.48 s for 100,000 refs), and a whole history
# travels: on sqlalchemy's, that was a third of a second of the parent's CPU, taken from the
# workers on two cores.
PackedRef = tuple[str, str, int, str]


def packed_refs(refs: Sequence[ObjectRef]) -> list[PackedRef]:
    return [(ref.oid, ref.type, ref.size, ref.path) for ref in refs]


def scan_objects_in_worker(packed: Sequence[PackedRef]) -> BatchResult:
    reader = _PoolWorker.reader
    if reader is None:
        raise RuntimeError("worker has no repository")
    refs = [ObjectRef(*fields) for fields in packed]
    return scan_objects(_worker_scanner(), reader, refs)
