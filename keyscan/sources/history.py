"""History source: every blob reachable from any ref, plus commit and tag messages, each once."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keyscan.errors import GitError
from keyscan.gitcmd import OBJECT_ID, run_git
from keyscan.model import Blob, Provenance, Skip, is_binary
from keyscan.sources.gitobjects import ObjectRef, list_objects

COMMIT_MESSAGE = "(commit message)"


MISSING_OBJECT = "missing object"
# An object git lists but cannot read (a corrupt pack entry).
UNREADABLE_OBJECT = "unreadable object"


def lost_objects(skips: Iterable[Skip]) -> list[str]:
    """The objects an audit could not read, in the order it met them: it is incomplete."""
    return [skip.path for skip in skips if skip.reason in (MISSING_OBJECT, UNREADABLE_OBJECT)]


@dataclass
class HistoryStats:
    """What the stream saw, for the summary: objects, skips, and whether history is complete."""

    skips: list[Skip] = field(default_factory=list)
    shallow: bool = False
    cached_clean: int = 0


def repository_root(path: Path) -> Path:
    return git_repository(path)[0]


def git_repository(path: Path) -> tuple[Path, bool]:
    """The repository holding `path` (its work tree's top, or a bare repository's directory),
    and whether it is bare."""
    if not path.exists():
        raise GitError(f"{path}: no such file or directory")
    where = path if path.is_dir() else path.parent
    # One git call for both cases: a bare repository says "true" and then fails to show a top
    # level it does not have; a work tree says "false" and shows it.
    done = run_git(where, ["rev-parse", "--is-bare-repository", "--show-toplevel"], check=False)
    lines = done.stdout.splitlines()
    if lines[:1] == [b"true"]:
        return where, True
    if done.returncode != 0 or len(lines) != 2:
        raise GitError(
            f"{path}: not a git repository (--history, --staged, --diff and --pre-push read one)"
        )
    return Path(lines[1].decode("utf-8", "surrogateescape")), False


def is_shallow(repo: Path) -> bool:
    done = run_git(repo, ["rev-parse", "--is-shallow-repository"], check=False)
    return done.stdout.strip() == b"true"


def ref_tips(repo: Path) -> bytes:
    """`git show-ref --head`: every ref's tip and HEAD, one per line."""
    return run_git(repo, ["show-ref", "--head"], check=False).stdout


_OBJECT_ID = re.compile(OBJECT_ID.encode())


def other_worktree_heads(repo: Path) -> list[tuple[str, str]]:
    """(commit, name) of each detached HEAD of the repository's other worktrees, each
    named as git resolves it (`worktrees/<id>/HEAD`, `main-worktree/HEAD`).

    `rev-list --all` walks from them too, but no ref names them and `show-ref --head` shows
    only this worktree's HEAD: without them a commit made on another worktree's detached HEAD
    was audited but reachable from nothing, and a new one there left the audit's ref state
    unchanged, so a cached audit was replayed without it. A HEAD on a branch is that branch's.
    """
    return _worktree_heads(*_git_directories(repo))


def _worktree_heads(git_dir: Path, common: Path) -> list[tuple[str, str]]:
    heads = [(common / "HEAD", "main-worktree/HEAD")] if git_dir != common else []
    try:
        ids = sorted(os.listdir(common / "worktrees"))
    except OSError:
        ids = []
    for worktree in ids:
        admin = common / "worktrees" / worktree
        if admin != git_dir:
            heads.append((admin / "HEAD", f"worktrees/{worktree}/HEAD"))
    detached = []
    for head, name in heads:
        try:
            content = head.read_bytes().strip()
        except OSError:
            continue
        if _OBJECT_ID.fullmatch(content):
            detached.append((content.decode("ascii"), name))
    return detached


def _git_directories(repo: Path) -> tuple[Path, Path]:
    """This worktree's git directory and the repository's common one (where `worktrees/` is).
    A main worktree's `.git` directory and a bare repository are both at once, which the files
    say without asking git: most audits are of one of them."""
    dot_git = repo / ".git"
    if dot_git.is_dir():
        return dot_git.resolve(), dot_git.resolve()
    if not dot_git.exists() and (repo / "objects").is_dir() and (repo / "HEAD").is_file():
        return repo.resolve(), repo.resolve()
    done = run_git(repo, ["rev-parse", "--git-dir", "--git-common-dir"], check=False)
    lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    if done.returncode != 0 or len(lines) != 2:
        return repo.resolve(), repo.resolve()
    return (repo / lines[0]).resolve(), (repo / lines[1]).resolve()


def reachable_roots(repo: Path, tips: bytes | None = None) -> list[str]:
    """Every ref (branches, tags, remote-tracking, stash) and every stash entry in the reflog.

    Given `tips` (ref_tips) without a stash, the reflog is not asked: one git process fewer
    on every audit, a warm one included (its whole run is a tenth of a second)."""
    roots = ["--all"]
    if tips is not None and b" refs/stash\n" not in tips + b"\n":
        return roots
    stash = run_git(repo, ["reflog", "show", "--format=%H", "refs/stash"], check=False)
    if stash.returncode == 0:
        roots.extend(line.decode() for line in stash.stdout.split() if line)
    return roots


def stash_entries(roots: Sequence[str]) -> list[tuple[str, str]]:
    """(commit, `stash@{n}`) of each older stash entry among `roots` (reachable_roots lists
    them newest first). No ref reaches an older entry: refs/stash names only the newest, which
    the `stash` ref already stands for."""
    entries = [root for root in roots if not root.startswith("-")]
    return [(commit, f"stash@{{{n}}}") for n, commit in enumerate(entries) if n]


def ref_state(tips: bytes, roots: Sequence[str], extras: bytes = b"") -> str:
    """A digest of every ref tip, HEAD, the stash entries and history_extras: equal digests,
    equal history."""
    return hashlib.sha256(tips + b"\0" + " ".join(roots).encode() + b"\0" + extras).hexdigest()


def history_extras(repo: Path) -> bytes:
    """What decides an audit's answer besides the tips of its refs (show-ref): the detached
    HEADs of the other worktrees (other_worktree_heads); this worktree's HEAD as its file has
    it (a branch's name, or the commit itself when detached, and then the commits it reaches
    list `HEAD` among their refs: show-ref shows the same commit either way); and a shallow
    clone's boundary (git's `shallow` file: `git fetch --deepen` or `--unshallow` changes what
    history holds while every ref stays where it was)."""
    git_dir, common = _git_directories(repo)
    parts = [
        "".join(f"{commit} {name}\n" for commit, name in _worktree_heads(git_dir, common)).encode()
    ]
    for file in (git_dir / "HEAD", common / "shallow"):
        try:
            parts.append(file.read_bytes())
        except OSError:
            parts.append(b"")
    return b"\0".join(parts)


def _message(data: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    return data.partition(b"\n\n")[2], object_headers(data)


def object_headers(data: bytes) -> dict[bytes, bytes]:
    """A commit's or tag's header lines by name, the first of each (a commit's `parent` lines
    give its first parent only)."""
    headers: dict[bytes, bytes] = {}
    for line in data.partition(b"\n\n")[0].split(b"\n"):
        key, _, value = line.partition(b" ")
        headers.setdefault(key, value)
    return headers


def commit_author(commit: bytes) -> tuple[str | None, str | None]:
    """The author and date of a commit object."""
    return _author(_message(commit)[1], b"author")


def _author(headers: dict[bytes, bytes], key: bytes) -> tuple[str | None, str | None]:
    raw = headers.get(key)
    if not raw:
        return None, None
    name, _, rest = raw.partition(b" <")
    parts = rest.rsplit(b" ", 2)
    date = None
    if len(parts) == 3 and parts[1].isdigit():
        import datetime

        date = datetime.datetime.fromtimestamp(int(parts[1]), datetime.timezone.utc).isoformat()
    return name.decode("utf-8", "replace"), date


def history_objects(
    repo: Path,
    max_size: int,
    stats: HistoryStats,
    already_clean: Callable[[str], bool] = lambda oid: False,
    rev_args: list[str] | None = None,
) -> Iterator[ObjectRef]:
    """Every reachable blob, commit and annotated tag once, minus oversize and known-clean blobs.

    The listing starts at once; the objects come as the returned iterator is consumed.
    """
    roots = rev_args if rev_args is not None else reachable_roots(repo)

    def lost(oid: str) -> None:
        stats.skips.append(Skip(oid, MISSING_OBJECT, f"object {oid} is missing from {repo}"))

    def unreadable(oid: str, why: str) -> None:
        stats.skips.append(Skip(oid, UNREADABLE_OBJECT, why))

    listed = list_objects(repo, roots, lost, on_unreadable=unreadable)
    stats.shallow = is_shallow(repo)
    return _scannable(listed, max_size, stats, already_clean)


def _scannable(
    listed: Iterator[ObjectRef],
    max_size: int,
    stats: HistoryStats,
    already_clean: Callable[[str], bool],
) -> Iterator[ObjectRef]:
    for ref in listed:
        if ref.type == "blob" and ref.size > max_size:
            stats.skips.append(
                Skip(ref.path or ref.oid, "too large", f"blob {ref.oid[:12]}: {ref.size} bytes")
            )
            continue
        if already_clean(ref.oid):
            # Known clean under these rules and options (a blob, or a commit's or tag's
            # message): never even decompressed.
            stats.cached_clean += 1
            continue
        yield ref


def object_blob(ref: ObjectRef, data: bytes, dated: bool = True) -> Blob:
    """What to scan of an object: a file's content, or a commit's or tag's message.

    `dated=False` leaves a commit message's author and date out: reading them cost as much as
    scanning the message, and few messages have a finding (commit_author gives them then)."""
    if ref.type == "blob":
        return Blob(ref.oid, data, Provenance(ref.path or ref.oid), binary=is_binary(data))
    if ref.type == "commit" and not dated:
        message = data.partition(b"\n\n")[2]
        return Blob(ref.oid, message, Provenance(COMMIT_MESSAGE, commit=ref.oid))
    message, headers = _message(data)
    if ref.type == "commit":
        author, date = _author(headers, b"author")
        return Blob(
            ref.oid, message, Provenance(COMMIT_MESSAGE, commit=ref.oid, author=author, date=date)
        )
    author, date = _author(headers, b"tagger")
    name = headers.get(b"tag", b"").decode("utf-8", "replace")
    provenance = Provenance(f"(tag {name} message)", commit=ref.oid, author=author, date=date)
    return Blob(ref.oid, message, provenance)
