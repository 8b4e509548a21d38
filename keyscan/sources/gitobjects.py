"""Streaming git objects: rev-list → cat-file --batch-check → cat-file --batch, one process each."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from keyscan.errors import GitError
from keyscan.gitcmd import git_env


@dataclass(frozen=True)
class GitObject:
    """One object from the stream; `data` is None when it was too large to fetch."""

    oid: str
    type: str
    size: int
    path: str
    data: bytes | None


# (oid, type, size, path, fetch?) in stream order; None ends the stream.
_Pending = tuple[str, str, int, str, bool]


def _spawn(
    repo: Path, args: Sequence[str], stdin: IO[bytes] | int | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["git", "-c", "core.quotepath=off", *args],
        cwd=repo,
        env=git_env(),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def stream_objects(
    repo: Path,
    rev_args: Sequence[str],
    max_size: int,
    want_types: frozenset[str],
    skip: Callable[[str], bool] = lambda oid: False,
) -> Iterator[GitObject]:
    """Every object `git rev-list --objects REV_ARGS` lists, blobs filtered to `want_types`.

    Contents come through one long-lived `git cat-file --batch`; a feeder thread keeps it busy
    while this generator reads, so memory holds one object at a time.
    """
    lister = _spawn(repo, ["rev-list", "--objects", *rev_args], None)
    checker = _spawn(
        repo,
        ["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)"],
        lister.stdout,
    )
    assert lister.stdout is not None
    lister.stdout.close()  # the checker owns the pipe now
    fetcher = _spawn(repo, ["cat-file", "--batch"], subprocess.PIPE)
    pending: queue.Queue[_Pending | None] = queue.Queue(maxsize=4096)
    feeder = threading.Thread(
        target=_feed,
        args=(checker, fetcher, pending, max_size, want_types, skip),
        daemon=True,
    )
    feeder.start()
    try:
        assert fetcher.stdout is not None
        while True:
            item = pending.get()
            if item is None:
                break
            oid, kind, size, path, fetch = item
            if not fetch:
                yield GitObject(oid, kind, size, path, None)
                continue
            header = fetcher.stdout.readline().split()
            if len(header) < 3 or header[0].decode() != oid:
                raise GitError(f"{repo}: git cat-file returned an unexpected header for {oid}")
            data = fetcher.stdout.read(int(header[2]))
            fetcher.stdout.read(1)
            yield GitObject(oid, kind, size, path, data)
    finally:
        feeder.join(timeout=5)
        for process in (lister, checker, fetcher):
            if process.poll() is None:
                process.kill()
            process.wait()
    for process, name in ((lister, "rev-list"), (checker, "cat-file --batch-check")):
        if process.returncode not in (0, None):
            assert process.stderr is not None
            message = process.stderr.read().decode("utf-8", "replace").strip().splitlines()
            raise GitError(
                f"{repo}: git {name} failed: {message[-1] if message else process.returncode}"
            )


def _feed(
    checker: subprocess.Popen[bytes],
    fetcher: subprocess.Popen[bytes],
    pending: queue.Queue[_Pending | None],
    max_size: int,
    want_types: frozenset[str],
    skip: Callable[[str], bool],
) -> None:
    assert checker.stdout is not None and fetcher.stdin is not None
    try:
        for line in checker.stdout:
            parts = line.rstrip(b"\n").split(b" ", 3)
            if len(parts) < 3 or parts[1] == b"missing":
                continue
            oid, kind, size = parts[0].decode(), parts[1].decode(), int(parts[2])
            if kind not in want_types:
                continue
            path = parts[3].decode("utf-8", "surrogateescape") if len(parts) > 3 else ""
            # Known-clean blobs (the audit cache) are never decompressed at all.
            fetch = size <= max_size and not (kind == "blob" and skip(oid))
            pending.put((oid, kind, size, path, fetch))
            if fetch:
                fetcher.stdin.write(oid.encode() + b"\n")
                fetcher.stdin.flush()
    except (BrokenPipeError, OSError):
        pass  # the reader stopped early; it kills the processes
    finally:
        with contextlib.suppress(OSError):
            fetcher.stdin.close()
        pending.put(None)


def fetch_objects(repo: Path, oids: Sequence[str], max_size: int) -> Iterator[GitObject]:
    """Contents of the given objects through one `git cat-file --batch`; oversize ones as None."""
    if not oids:
        return
    fetcher = _spawn(repo, ["cat-file", "--batch"], subprocess.PIPE)
    assert fetcher.stdin is not None and fetcher.stdout is not None

    def feed() -> None:
        assert fetcher.stdin is not None
        try:
            for oid in oids:
                fetcher.stdin.write(oid.encode() + b"\n")
            fetcher.stdin.close()
        except OSError:
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        for oid in oids:
            header = fetcher.stdout.readline().split()
            if len(header) == 2 and header[1] == b"missing":
                raise GitError(f"{repo}: object {oid} is missing (corrupt or shallow repository)")
            if len(header) < 3:
                raise GitError(f"{repo}: git cat-file returned an unexpected header for {oid}")
            size = int(header[2])
            data = fetcher.stdout.read(size)
            fetcher.stdout.read(1)
            yield GitObject(oid, header[1].decode(), size, "", data if size <= max_size else None)
    finally:
        feeder.join(timeout=5)
        if fetcher.poll() is None:
            fetcher.kill()
        fetcher.wait()
