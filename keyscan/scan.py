"""The scan pipeline for files: listing → batches → (workers) → findings, skips and counts."""

from __future__ import annotations

import contextlib
import gc
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from keyscan.blobscan import BlobScanner
from keyscan.model import Finding, ScanResult
from keyscan.options import ScanOptions
from keyscan.rules.ruleset import Ruleset
from keyscan.sources.gitobjects import ObjectRef
from keyscan.sources.worktree import FileItem
from keyscan.workers import (
    BatchResult,
    build_engine,
    init_pool_worker,
    packed_refs,
    scan_files,
    scan_files_in_worker,
    scan_objects,
    scan_objects_in_worker,
    worker_ready,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

    from keyscan.engine.base import Engine

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

BATCH_BYTES = 4 * 1024 * 1024
BATCH_FILES = 256
# Below this much work a process pool costs more than it saves.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
# Blobs of a git source put in path order at a time (_object_batches). The first window is
# small, so that the workers start as soon as the listing does; it holds the files at the tip,
# which are one version each.
SORT_WINDOW = 32768
FIRST_SORT_WINDOW = 2048
# A worker streams a batch of objects (one blob and one earlier version in memory at a time),
# so these batches can be larger: each starts its files' versions with a full scan.
OBJECT_BATCH_BYTES = 32 * 1024 * 1024
OBJECT_BATCH_FILES = 256
# The smallest batch the end of a listing is cut into.
TAIL_BATCH_BYTES = 1024 * 1024


def _batches(files: Sequence[FileItem]) -> Iterator[list[FileItem]]:
    batch: list[FileItem] = []
    size = 0
    for item in files:
        batch.append(item)
        with contextlib.suppress(OSError):
            size += os.stat(item.absolute).st_size
        if size >= BATCH_BYTES or len(batch) >= BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _total_bytes(files: Sequence[FileItem]) -> int:
    total = 0
    for item in files:
        with contextlib.suppress(OSError):
            total += os.stat(item.absolute).st_size
    return total


def scan_file_items(
    files: Sequence[FileItem],
    ruleset: Ruleset,
    options: ScanOptions,
    engine_name: str = "auto",
    cache_dir: Path | None = None,
    jobs: int = 0,
    on_progress: Callable[[int], None] = lambda n: None,
) -> ScanResult:
    """Scan files, in worker processes when there is enough work; results are deterministic."""
    result = ScanResult()
    jobs = jobs or (os.cpu_count() or 1)
    batches = list(_batches(files))
    engine = build_engine(ruleset, engine_name, cache_dir)
    result.summary.engine = engine.name
    result.summary.rules_active = len(ruleset.rules)
    outcomes: Iterator[BatchResult]
    if jobs > 1 and len(batches) > 1 and _total_bytes(files) >= PARALLEL_MIN_BYTES:
        # Imported here: multiprocessing costs start-up time that one-process scans (a warm
        # history audit's replay, a small tree) never need.
        from concurrent.futures import ProcessPoolExecutor

        _before_forking_workers()
        pool = ProcessPoolExecutor(
            max_workers=min(jobs, len(batches)),
            initializer=init_pool_worker,
            initargs=(ruleset, _engine_for_workers(engine), cache_dir, options),
        )
        with pool:
            outcomes = pool.map(scan_files_in_worker, batches)
            for batch, outcome in zip(batches, outcomes, strict=True):
                _merge(result, outcome)
                on_progress(len(batch))
    else:
        scanner = BlobScanner(ruleset, engine, options)
        for batch in batches:
            _merge(result, scan_files(scanner, batch))
            on_progress(len(batch))
    result.findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id))
    return result


def _before_forking_workers() -> None:
    """Import what every worker needs at its first candidate: workers forked after this
    inherit it, instead of each importing the filters (and compiling their patterns) again.
    BlobScanner imports them only when it judges a candidate, for the scans that have none.
    The pack reader too: a history audit's workers open it first thing."""
    import keyscan.filters
    import keyscan.sources.packs  # noqa: F401

    # What exists now (modules, rules, the engine) lives as long as the workers: frozen, the
    # collector never walks it again in them, nor writes to the pages they share with us.
    gc.freeze()


def _engine_for_workers(engine: Engine) -> Engine | str:
    """What a worker builds its engine from: the parent's own engine where workers are forked
    (they inherit its compiled database, which `--no-cache` otherwise has every worker compile
    again), else its name (a spawned worker builds its own; an engine does not pickle)."""
    import multiprocessing

    return engine if multiprocessing.get_start_method() == "fork" else engine.name


def _merge(result: ScanResult, outcome: BatchResult) -> None:
    result.findings.extend(outcome.findings)
    result.dropped.extend(outcome.dropped)
    result.summary.skipped.extend(outcome.skips)
    result.summary.files_scanned += outcome.files_scanned
    result.summary.bytes_scanned += outcome.bytes_scanned
    result.summary.binary_scanned += outcome.binary_scanned


def _object_batches(refs: Iterator[ObjectRef], workers: int) -> Iterator[list[ObjectRef]]:
    # The versions of a file, met one after another, are scanned as edits of each other
    # (keyscan.edits): blobs are put in path order one window at a time, which keeps memory
    # flat and most versions of a file in the same batch. Commit and tag messages need no
    # order, and rev-list lists every commit first: they go out as they come, which keeps the
    # workers busy while the first window of blobs is read.
    listing = _Listing(refs)
    while True:
        yield from listing.read(SORT_WINDOW)
        window, last = listing.take_window()
        batches = list(_window_batches(window, workers if last else 1))
        # The next window is read while this one's batches are scanned, a share after each:
        # read all at once at the end, it kept the workers waiting.
        share = -(-SORT_WINDOW // max(1, len(batches)))
        for batch in batches:
            yield batch
            yield from listing.read(share)
        if last:
            break
    yield from listing.rest()


class _Listing:
    """The listing as it is read: messages in batches as they come, blobs into the window.

    Windows count the messages listed in them too, as if they were put in order: the blobs of
    each window, and so the versions scanned as edits, do not depend on how far ahead the
    listing is read.
    """

    def __init__(self, refs: Iterator[ObjectRef]):
        self.refs = refs
        self.messages: list[ObjectRef] = []
        self.messages_size = 0
        self.window: list[ObjectRef] = []
        self.listed = 0
        self.limit = FIRST_SORT_WINDOW
        self.exhausted = False

    def read(self, count: int) -> Iterator[list[ObjectRef]]:
        """Read up to `count` more objects, never past the window's end; yield each batch of
        messages that fills."""
        while count > 0 and self.listed < self.limit and not self.exhausted:
            ref = next(self.refs, None)
            if ref is None:
                self.exhausted = True
                return
            count -= 1
            self.listed += 1
            if ref.type == "blob":
                self.window.append(ref)
                continue
            self.messages.append(ref)
            self.messages_size += ref.size
            if self.messages_size >= OBJECT_BATCH_BYTES or len(self.messages) >= OBJECT_BATCH_FILES:
                yield self.messages
                self.messages, self.messages_size = [], 0

    def take_window(self) -> tuple[list[ObjectRef], bool]:
        """The blobs of the window read (it is full, or the listing ended) and whether it is
        known to be the last."""
        window, self.window = self.window, []
        self.listed, self.limit = 0, SORT_WINDOW
        return window, self.exhausted

    def rest(self) -> Iterator[list[ObjectRef]]:
        if self.messages:
            yield self.messages
            self.messages = []


def _window_batches(window: list[ObjectRef], shrink_for: int) -> Iterator[list[ObjectRef]]:
    """A window's blobs in path order, in batches. `shrink_for` is the number of workers when
    this is the last window (else 1): with more than one, the batches shrink as the window runs
    out, so that at the end no worker is left alone with a large batch while the others wait.
    Every batch starts its files with a full scan, which is why the others stay large."""
    window.sort(key=lambda ref: ref.path)
    left = sum(ref.size for ref in window)
    batch: list[ObjectRef] = []
    size = 0
    for ref in window:
        batch.append(ref)
        size += ref.size
        limit = OBJECT_BATCH_BYTES
        if shrink_for > 1:
            limit = min(limit, max(TAIL_BATCH_BYTES, left // (2 * shrink_for)))
        if size >= limit or len(batch) >= OBJECT_BATCH_FILES:
            yield batch
            left -= size
            batch, size = [], 0
    if batch:
        yield batch


def scan_git_objects(
    refs: Iterator[ObjectRef],
    repo: Path,
    ruleset: Ruleset,
    options: ScanOptions,
    engine: Engine | str = "auto",
    cache_dir: Path | None = None,
    jobs: int = 0,
    on_progress: Callable[[int], None] = lambda n: None,
    on_clean: Callable[[list[str]], None] = lambda ids: None,
    on_findings: Callable[[list[Finding]], None] = lambda findings: None,
    on_path_dependent: Callable[[list[tuple[str, str]]], None] = lambda blobs: None,
) -> ScanResult:
    """Scan git objects with bounded memory: workers fetch contents through their own cat-file,
    so only object ids travel between processes, and a few batches at most are in flight.

    `engine`: one the caller built for `ruleset` already (with `--no-cache` each build compiles
    the hyperscan database again), or the name of the one to build."""
    result = ScanResult()
    jobs = jobs or (os.cpu_count() or 1)
    if isinstance(engine, str):
        engine = build_engine(ruleset, engine, cache_dir)
    result.summary.engine = engine.name
    result.summary.rules_active = len(ruleset.rules)
    batches = _object_batches(refs, jobs)

    def take(outcome: BatchResult, count: int) -> None:
        _merge(result, outcome)
        on_clean(outcome.clean_blobs)
        if outcome.path_dependent:
            on_path_dependent(outcome.path_dependent)
        if outcome.findings:
            on_findings(outcome.findings)
        on_progress(count)

    if jobs == 1:
        scanner = BlobScanner(ruleset, engine, options)
        # Imported here: a pre-commit hook's scans never read packs in-process.
        from keyscan.sources.packs import open_object_reader

        reader = open_object_reader(repo)
        try:
            for batch in batches:
                take(scan_objects(scanner, reader, batch), len(batch))
        finally:
            reader.close()
    else:
        from concurrent.futures import ProcessPoolExecutor

        _before_forking_workers()
        with ProcessPoolExecutor(
            max_workers=jobs,
            initializer=init_pool_worker,
            initargs=(ruleset, _engine_for_workers(engine), cache_dir, options, repo),
        ) as pool:
            # The workers start (and build their scanners) now, while the listing is read,
            # instead of when the first batch is ready.
            pool.submit(worker_ready)
            # Back-pressure: listing never runs far ahead of the workers.
            for batch, outcome in in_submission_order(
                lambda batch: pool.submit(scan_objects_in_worker, packed_refs(batch)),
                batches,
                2 * jobs,
            ):
                take(outcome, len(batch))
    result.findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id, f.commit or ""))
    return result


def in_submission_order(
    submit: Callable[[Item], Future[Outcome]], items: Iterable[Item], limit: int
) -> Iterator[tuple[Item, Outcome]]:
    """Each item with its outcome, in the order of `items`, with at most `limit` submitted
    and not yet done at any time.

    A new item goes out as soon as any one is done, not only the oldest: waiting for the oldest
    left a worker that had finished the younger ones idle behind one long batch. Outcomes still
    come in submission order, so what a run reports does not depend on which worker was quicker.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    submitted: deque[tuple[Item, Future[Outcome]]] = deque()
    running: set[Future[Outcome]] = set()
    for item in items:
        future = submit(item)
        submitted.append((item, future))
        running.add(future)
        while len(running) >= limit:
            running = wait(running, return_when=FIRST_COMPLETED).not_done
        while submitted and submitted[0][1].done():
            done_item, done = submitted.popleft()
            yield done_item, done.result()
    while submitted:
        done_item, done = submitted.popleft()
        yield done_item, done.result()
