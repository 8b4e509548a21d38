"""Git objects in bulk: listing through rev-list → cat-file --batch-check, contents through
long-lived cat-file --batch processes; never one process per object."""

from __future__ import annotations

import contextlib
import fcntl
import queue
import subprocess
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple

from keyscan.errors import GitError
from keyscan.gitcmd import GIT, complaint, git_env, not_started
from keyscan.model import value

_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


@value
class ObjectRef:
    """An object to fetch: id, type, size, and the path rev-list first saw it at."""

    oid: str
    type: str
    size: int
    path: str


def _spawn(
    repo: Path,
    args: Sequence[str],
    stdin: int | None,
    stdout: int | IO[bytes] = subprocess.PIPE,
    stderr: int | IO[bytes] = subprocess.PIPE,
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            [*GIT, *args],
            cwd=repo,
            env=git_env(),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            # Reads of many small objects come from one buffer instead of a system call each.
            bufsize=1 << 18,
        )
    except FileNotFoundError:
        raise not_started(repo) from None


def _failure(
    process: subprocess.Popen[bytes], repo: Path, name: str, stderr: bytes | None = None
) -> GitError:
    if stderr is None:
        assert process.stderr is not None
        stderr = process.stderr.read()
    return GitError(f"{repo}: git {name} failed: {complaint(stderr) or process.returncode}")


# What the tree walk gives a history audit: file versions and annotated tags (the commits at
# its tips are listed again there, and came already from the commit listing).
_WALKED_TYPES = frozenset({"blob", "tag"})
# Trees are walked for the paths of blobs but never needed themselves (git 2.32 and later).
_NO_TREES = "--filter=object:type=blob"
# A listing checker's output goes to a reader that takes it in large blocks: buffered, git writes
# it in blocks too instead of a write per object (on sqlalchemy's 256,000 objects, 0.6 s of CPU
# instead of 1.1 s, the difference nearly all system time).
_CHECKER = (
    "cat-file",
    "--buffer",
    "--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)",
)


def list_objects(
    repo: Path,
    rev_args: Sequence[str],
    on_missing: Callable[[str], None] = lambda oid: None,
    walk_filter: str = _NO_TREES,
    on_unreadable: Callable[[str, str], None] | None = None,
) -> Iterator[ObjectRef]:
    """Every commit, annotated tag and blob `git rev-list --objects REV_ARGS` reaches, once:
    the commits first, then tags and blobs in rev-list's order.

    An object the repository lacks (corrupt, or a partial clone) goes to `on_missing` and the
    listing goes on: one lost object must not cost the audit of all the others. A damaged
    object git's walk stops at (a corrupt tree) goes to `on_unreadable` (given), and the trees
    are then read in-process around it (keyscan.sources.treewalk); without `on_unreadable` that
    stop is a GitError.

    Two listings start at once, while the caller sets up its workers. The commits come from a
    plain `rev-list`, which reads no tree, straight through `cat-file --batch-check`: their
    messages are ready to scan within a fraction of a second, instead of after the whole walk.
    The blobs come from `rev-list --objects`, which walks every tree for the paths; it runs to
    completion into a temporary file before `cat-file --batch-check` reads it, because each
    maps most of the pack and, run side by side beside the workers' first batches, they made
    an audit's memory peak. A git that rejects `walk_filter` (before 2.32) walks unfiltered.
    """
    # The file outlives this call: the returned iterator closes it.
    listing = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        walker = _spawn(repo, _object_walk(rev_args, walk_filter), None, stdout=listing)
    except BaseException:
        listing.close()
        raise
    try:
        commits = _commit_listing(repo, rev_args)
    except BaseException:
        walker.kill()
        _reap(walker)
        listing.close()
        raise
    return _all_objects(repo, rev_args, commits, walker, listing, on_missing, on_unreadable)


def _object_walk(rev_args: Sequence[str], *filters: str) -> list[str]:
    # A filtered walk leaves a missing tree out without a word (git 2.39 prints no `?OID` for
    # it, and nothing under it is listed): it stops at any missing object instead, and the
    # unfiltered walk that follows prints every one.
    missing = [] if filters else ["--missing=print"]
    return ["rev-list", "--objects", *missing, *filters, *rev_args]


class _CommitListing(NamedTuple):
    lister: subprocess.Popen[bytes]
    checker: subprocess.Popen[bytes]
    # rev-list's stderr: a pipe read only once the listing ends could fill up (a warning per
    # broken ref) and stall rev-list, so its checker, so the listing itself.
    complaints: IO[bytes]


def _commit_listing(repo: Path, rev_args: Sequence[str]) -> _CommitListing:
    # The file outlives this call: _all_objects closes it.
    complaints = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        lister = _spawn(repo, ["rev-list", *rev_args], None, stderr=complaints)
    except BaseException:
        complaints.close()
        raise
    assert lister.stdout is not None
    try:
        checker = _spawn(repo, _CHECKER, lister.stdout.fileno())
    except BaseException:
        lister.kill()
        lister.wait()
        complaints.close()
        raise
    finally:
        # The checker holds its own copy: git's end of output reaches it, not us.
        lister.stdout.close()
    return _CommitListing(lister, checker, complaints)


def _all_objects(
    repo: Path,
    rev_args: Sequence[str],
    commits: _CommitListing,
    walker: subprocess.Popen[bytes],
    listing: IO[bytes],
    on_missing: Callable[[str], None],
    on_unreadable: Callable[[str, str], None] | None,
) -> Iterator[ObjectRef]:
    lister, checker, complaints = commits
    listed_commits: list[str] = []
    with listing, complaints:
        try:
            for ref in _checked(repo, checker, frozenset({"commit"}), on_missing):
                listed_commits.append(ref.oid)
                yield ref
            if lister.wait() != 0:
                complaints.seek(0)
                failure = _failure(lister, repo, "rev-list", complaints.read())
                if on_unreadable is None:
                    raise failure
                # A commit git cannot read: its walks stop there, keyscan's go around it.
                from keyscan.sources.treewalk import walked_commits, walked_objects

                known = set(listed_commits)
                for ref in walked_commits(repo, rev_args, known, on_unreadable):
                    listed_commits.append(ref.oid)
                    yield ref
                yield from walked_objects(
                    repo, listed_commits, "--all" in rev_args, on_missing, on_unreadable
                )
                return
            _, errors = walker.communicate()
            if walker.returncode != 0:
                # git before 2.32 cannot leave the trees out, and a filtered walk stops at a
                # missing object (_object_walk): the trees are listed and dropped here. (Any
                # other failure fails again, and that is the one reported.)
                listing.seek(0)
                listing.truncate()
                walker = _spawn(repo, _object_walk(rev_args), None, stdout=listing)
                _, errors = walker.communicate()
            if walker.returncode != 0:
                failure = _failure(walker, repo, "rev-list", errors)
                if on_unreadable is None:
                    raise failure
                # The commits were listed, so the walk stopped at a damaged tree or tag: the
                # in-process walk meets it too, and names it.
                from keyscan.sources.treewalk import walked_objects

                yield from walked_objects(
                    repo, listed_commits, "--all" in rev_args, on_missing, on_unreadable
                )
                return
        finally:
            for process in (lister, checker, walker):
                if process.poll() is None:
                    process.kill()
                _reap(process)
        listing.seek(0)
        checker = _spawn(repo, _CHECKER, listing.fileno())
    yield from _checked(repo, checker, _WALKED_TYPES, on_missing)


def object_sizes(repo: Path, oids: Sequence[str]) -> dict[str, int]:
    """The size of each object git has, from `cat-file --batch-check`; an object git cannot
    find (a corrupt or partial repository) is left out, for the caller to report."""
    sizes: dict[str, int] = {}
    remaining = list(oids)
    while remaining:
        checker = _spawn(
            repo, ["cat-file", "--batch-check=%(objectname) %(objectsize)"], subprocess.PIPE
        )
        request = b"".join(oid.encode() + b"\n" for oid in remaining)
        output, errors = checker.communicate(request)
        answers = output.decode().splitlines()
        for line in answers:
            oid, size = line.split(" ", 1)
            if size != "missing":
                sizes[oid] = int(size)
        if checker.returncode == 0:
            break
        # git stops at an object it may not fetch (a partial clone's, with no transport
        # allowed) instead of answering "missing": that one is missing, the rest asked again.
        if len(answers) >= len(remaining) or remaining[len(answers)].encode() not in errors:
            raise _failure(checker, repo, "cat-file --batch-check", errors)
        remaining = remaining[len(answers) + 1 :]
    return sizes


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for a process whose output is read elsewhere, and close its stderr pipe."""
    process.wait()
    if process.stderr is not None:
        process.stderr.close()


def _checked(
    repo: Path,
    checker: subprocess.Popen[bytes],
    want_types: frozenset[str],
    on_missing: Callable[[str], None],
) -> Iterator[ObjectRef]:
    """The objects of the wanted types that `checker` (a `cat-file --batch-check` reading a
    rev-list) describes; missing ones go to `on_missing`."""
    assert checker.stdout is not None
    # The listing is drained as fast as git writes it, so the checker finishes (and frees the
    # pack mappings it holds) early instead of living as long as the scan that consumes the
    # list; the list itself is a few MB.
    chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    drain = threading.Thread(target=_drain, args=(checker.stdout, chunks), daemon=True)
    drain.start()
    try:
        for chunk in iter(chunks.get, b""):
            for line in chunk.splitlines():
                parts = line.split(b" ", 3)
                if len(parts) == 2 and parts[1] == b"missing":
                    # rev-list prints what it cannot find as `?OID`, and the checker cannot find
                    # it either.
                    on_missing(parts[0].lstrip(b"?").decode("ascii", "replace"))
                    continue
                if len(parts) < 3:
                    continue
                kind = parts[1].decode()
                if kind in want_types:
                    path = parts[3].decode("utf-8", "surrogateescape") if len(parts) > 3 else ""
                    yield ObjectRef(parts[0].decode(), kind, int(parts[2]), path)
    finally:
        if checker.poll() is None:
            checker.kill()
        checker.wait()
        drain.join()  # git has exited, so the pipe is at its end
        checker.stdout.close()
    try:
        if checker.returncode != 0:
            raise _failure(checker, repo, "cat-file --batch-check")
    finally:
        assert checker.stderr is not None
        checker.stderr.close()


def _drain(stream: IO[bytes], chunks: queue.SimpleQueue[bytes]) -> None:
    """Move whole lines from `stream` into `chunks`; an empty chunk marks the end."""
    pending = b""
    try:
        while block := stream.read1(1 << 20):  # type: ignore[attr-defined]
            pending += block
            cut = pending.rfind(b"\n") + 1
            if cut:
                chunks.put(pending[:cut])
                pending = pending[cut:]
    except (OSError, ValueError):
        pass  # the consumer stopped early and closed the pipe
    finally:
        if pending:
            chunks.put(pending)
        chunks.put(b"")


# How git's option parser stops on an option it does not know.
_USAGE_ERROR = 129


class CatFile:
    """One long-lived `git cat-file --batch`, asked for one bounded batch of objects at a time."""

    def __init__(self, repo: Path, batch_command: bool = True):
        """`batch_command`: ask in `--batch-command --buffer` mode (git 2.36 and later); a git
        that does not know it is then asked in plain `--batch` mode."""
        self.repo = repo
        self._batch_command = batch_command
        self._process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        # One may run per worker (where packs are not read in-process, keyscan.sources.packs):
        # a 16 MiB delta-base cache each instead of git's 96 keeps the tree's memory down
        # (tree PSS in docs/benchmarks.md). Objects come in path order
        # (scan.py), so consecutive ones share delta bases and even this cache stays full:
        # 32 MiB cost 20 MB more per process for 3% less git time on mypy's history.
        # (Smaller pack windows were tried too: the remapping cost more time than the memory
        # they saved.)
        # Plain --batch writes each object's header, contents and newline in three system calls
        # as it goes; buffered, git writes in large blocks and the batch ends with a flush.
        mode = ["--batch-command", "--buffer"] if self._batch_command else ["--batch"]
        process = _spawn(
            self.repo,
            ["-c", "core.deltaBaseCacheLimit=16m", "cat-file", *mode],
            subprocess.PIPE,
        )
        assert process.stdout is not None
        # A larger pipe lets git run ahead of the scan instead of stalling every 64 KiB.
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(process.stdout.fileno(), _F_SETPIPE_SZ, 1 << 20)
        return process

    def fetch(
        self, oids: Sequence[str], on_unreadable: Callable[[str, str], None] | None = None
    ) -> Iterator[tuple[str, str, bytes]]:
        """(oid, type, content) for each oid git can read, in order.

        An object git cannot read (missing, or corrupt so that cat-file dies on it) goes to
        `on_unreadable(oid, why)` and the others still come, through a new cat-file when the
        old one died: one damaged object must not cost the rest of the batch. Without
        `on_unreadable` it is a GitError.
        """
        remaining = list(oids)
        while remaining:
            read = yield from self._fetch_until_failure(remaining, on_unreadable)
            if read == len(remaining):
                return
            if self._rejected_batch_command():
                remaining = remaining[read:]
                continue
            # cat-file died on remaining[read]: what it said on the way out names the damage.
            error = _failure(self._process, self.repo, "cat-file --batch")
            if on_unreadable is None:
                raise error
            on_unreadable(remaining[read], str(error))
            self.close()
            self._process = self._start()
            remaining = remaining[read + 1 :]

    def _rejected_batch_command(self) -> bool:
        """Whether cat-file stopped because this git predates `--batch-command` (a usage
        error, before any answer); if so it is started again in plain `--batch` mode. Asking
        git for its version instead cost a process for every cat-file."""
        if not self._batch_command or self._process.wait() != _USAGE_ERROR:
            return False
        self._batch_command = False
        self.close()
        self._process = self._start()
        return True

    def _fetch_until_failure(
        self, oids: Sequence[str], on_unreadable: Callable[[str, str], None] | None
    ) -> Generator[tuple[str, str, bytes], None, int]:
        """Yield each object until cat-file dies; return how many oids were answered.

        A writer thread queues every request at once and the output pipe is enlarged, so git
        decompresses ahead while the caller scans what already arrived.
        """
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout

        if self._batch_command:
            request = b"".join(b"contents " + oid.encode() + b"\n" for oid in oids) + b"flush\n"
        else:
            request = b"".join(oid.encode() + b"\n" for oid in oids)

        def write() -> None:
            with contextlib.suppress(OSError):
                stdin.write(request)
                stdin.flush()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        for answered, oid in enumerate(oids):
            header = stdout.readline().split()
            if len(header) == 2 and header[1] == b"missing":
                why = f"{self.repo}: object {oid} is missing (corrupt or incomplete)"
                if on_unreadable is None:
                    raise GitError(why)
                on_unreadable(oid, why)
                continue
            data = stdout.read(int(header[2])) if len(header) == 3 else b""
            if len(header) != 3 or len(data) != int(header[2]):
                # cat-file died, on this object (inside it, for a corrupt pack entry): the
                # writer's next write fails and it ends.
                writer.join()
                return answered
            stdout.read(1)
            yield oid, header[1].decode(), data
        writer.join()
        return len(oids)

    def close(self) -> None:
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> CatFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
