"""Reachable commits and blobs found by reading objects in-process: the listing when git's own
walks stop at a damaged or missing commit or tree."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from keyscan.gitcmd import OBJECT_ID, run_git
from keyscan.sources.gitobjects import ObjectRef, object_sizes
from keyscan.sources.history import object_headers, other_worktree_heads
from keyscan.sources.packs import ObjectReader, open_object_reader

# Sizes are asked of git for this many blobs at a time (one `cat-file --batch-check` each).
_SIZES_AT_ONCE = 4096
# Commits read at a time, for the tree each names.
_COMMITS_AT_ONCE = 256
_TREE_MODE = b"40000"
_GITLINK_MODE = b"160000"


def walked_objects(
    repo: Path,
    commits: Sequence[str],
    with_refs: bool,
    on_missing: Callable[[str], None],
    on_unreadable: Callable[[str, str], None],
) -> Iterator[ObjectRef]:
    """Each blob the trees of `commits` reach, once, at the first path met (and, `with_refs`,
    each annotated tag the refs name and what a ref or tag names that is not a commit), as
    `git rev-list --objects` would list them; a tree that cannot be read goes to
    `on_unreadable` and the walk goes on around it, a blob git does not have to `on_missing`.

    `rev-list` stops at the first damaged tree, leaving nothing of the history to scan; this
    reads every tree through keyscan's own object reader (a few times slower than git, which
    only a damaged repository pays)."""
    reader = open_object_reader(repo)
    try:
        walk = _TreeWalk(reader, len(commits[0]) // 2 if commits else 20, on_unreadable)
        starts: list[tuple[str, str, str]] = []  # (oid, type, path) of ref targets
        if with_refs:
            yield from walk.tags(_ref_targets(repo), starts)
        pending: list[tuple[str, str]] = []
        for at in range(0, len(commits), _COMMITS_AT_ONCE):
            chunk = commits[at : at + _COMMITS_AT_ONCE]
            for _, kind, data in reader.fetch(chunk, on_unreadable):
                if kind == "commit" and (tree := _tree_of(data)):
                    pending.extend(walk.blobs(tree, ""))
                if len(pending) >= _SIZES_AT_ONCE:
                    yield from _sized(repo, pending, on_missing)
                    pending = []
        for oid, kind, path in starts:
            if kind == "tree":
                pending.extend(walk.blobs(oid, ""))
            elif kind == "blob" and walk.first_time(oid):
                pending.append((oid, path))
        yield from _sized(repo, pending, on_missing)
    finally:
        reader.close()


def walked_commits(
    repo: Path,
    rev_args: Sequence[str],
    listed: set[str],
    on_unreadable: Callable[[str, str], None],
) -> Iterator[ObjectRef]:
    """Each commit reachable from `rev_args` (commit ids, and `--all`: every ref, HEAD and the
    other worktrees' HEADs) that is not in `listed`, read in-process through its parents; a
    commit that cannot be read goes to `on_unreadable`, and what only it leads to is not
    reached.

    `rev-list` stops at the first commit it cannot read and lists nothing more, leaving the rest
    of history unaudited; this walks around it."""
    reader = open_object_reader(repo)
    try:
        tips = [arg for arg in rev_args if _COMMIT_ID.fullmatch(arg)]
        if "--all" in rev_args:
            walk = _TreeWalk(reader, 20, on_unreadable)
            targets = _ref_targets(repo)
            head = run_git(repo, ["rev-parse", "--verify", "-q", "HEAD"], check=False)
            targets += [(oid, "commit") for oid in head.stdout.decode("ascii").split()]
            targets += [(oid, "commit") for oid, _ in other_worktree_heads(repo)]
            tips += walk.peeled_commits(targets)
        # A shallow clone's boundary commits have their parents cut on purpose.
        boundary = _shallow_boundary(repo)
        seen: set[str] = set()
        pending = list(dict.fromkeys(tips))
        while pending:
            fresh = [oid for oid in dict.fromkeys(pending) if oid not in seen]
            seen.update(fresh)
            pending = []
            for oid, kind, data in reader.fetch(fresh, on_unreadable):
                if kind != "commit":
                    continue
                if oid not in listed:
                    yield ObjectRef(oid, "commit", len(data), "")
                if oid in boundary:
                    continue
                headers = data.partition(b"\n\n")[0].split(b"\n")
                pending += [line[7:].decode("ascii") for line in headers if line[:7] == b"parent "]
    finally:
        reader.close()


_COMMIT_ID = re.compile(OBJECT_ID)


def _shallow_boundary(repo: Path) -> set[str]:
    """The commits git's `shallow` file names: a shallow clone's history ends at them."""
    where = run_git(repo, ["rev-parse", "--git-path", "shallow"], check=False)
    shallow = repo / where.stdout.decode("utf-8", "surrogateescape").strip()
    try:
        return set(shallow.read_text(encoding="ascii", errors="replace").split())
    except OSError:
        return set()


def head_entries(repo: Path) -> tuple[dict[str, set[str]], dict[str, str]]:
    """What `git ls-tree -r HEAD` tells, read in-process around any tree that cannot be read
    (where git's stops, telling nothing): each blob with every path HEAD's tree holds it at,
    and each gitlink's path with the commit it names. Empty without a HEAD commit."""
    head = run_git(repo, ["rev-parse", "--verify", "-q", "HEAD"], check=False)
    commit = head.stdout.decode("ascii", "replace").strip()
    paths: dict[str, set[str]] = {}
    gitlinks: dict[str, str] = {}
    if not _COMMIT_ID.fullmatch(commit):
        return paths, gitlinks
    reader = open_object_reader(repo)
    try:
        stack: list[tuple[str, str]] = []
        for _, kind, data in reader.fetch([commit], lambda oid, why: None):
            if kind == "commit" and (tree := _tree_of(data)):
                stack.append((tree, ""))
        while stack:
            tree, prefix = stack.pop()
            for _, _, data in reader.fetch([tree], lambda oid, why: None):
                for mode, name, child in _entries(data, len(commit) // 2):
                    if mode == _TREE_MODE:
                        stack.append((child, f"{prefix}{name}/"))
                    elif mode == _GITLINK_MODE:
                        gitlinks[f"{prefix}{name}"] = child
                    else:
                        paths.setdefault(child, set()).add(f"{prefix}{name}")
    finally:
        reader.close()
    return paths, gitlinks


def _ref_targets(repo: Path) -> list[tuple[str, str]]:
    """(object, type) of what each ref names."""
    listed = run_git(repo, ["for-each-ref", "--format=%(objectname) %(objecttype)"], check=False)
    targets = []
    for line in listed.stdout.decode("ascii", "replace").splitlines():
        oid, _, kind = line.partition(" ")
        targets.append((oid, kind))
    return targets


class _TreeWalk:
    """Trees read once each, blobs listed once each, over one walk."""

    def __init__(
        self, reader: ObjectReader, id_bytes: int, on_unreadable: Callable[[str, str], None]
    ):
        self.reader = reader
        self.id_bytes = id_bytes
        self.on_unreadable = on_unreadable
        self.seen: set[str] = set()

    def first_time(self, oid: str) -> bool:
        if oid in self.seen:
            return False
        self.seen.add(oid)
        return True

    def tags(
        self, targets: list[tuple[str, str]], starts: list[tuple[str, str, str]]
    ) -> Iterator[ObjectRef]:
        """Each annotated tag (a tag of a tag too), as rev-list lists one: its name as its path;
        what the tags and refs name that is not a commit goes to `starts`."""
        while targets:
            oid, kind = targets.pop()
            if kind != "tag":
                if kind in ("tree", "blob"):
                    starts.append((oid, kind, ""))
                continue
            if not self.first_time(oid):
                continue
            for _, _, data in self.reader.fetch([oid], self.on_unreadable):
                headers = object_headers(data)
                name = headers.get(b"tag", b"").decode("utf-8", "surrogateescape")
                yield ObjectRef(oid, "tag", len(data), name)
                target = headers.get(b"object", b"").decode("ascii", "replace")
                targets.append((target, headers.get(b"type", b"").decode("ascii", "replace")))

    def peeled_commits(self, targets: list[tuple[str, str]]) -> list[str]:
        """The commits `targets` name, through any chain of annotated tags."""
        commits = []
        while targets:
            oid, kind = targets.pop()
            if kind == "commit":
                commits.append(oid)
            elif kind == "tag" and self.first_time(oid):
                for _, _, data in self.reader.fetch([oid], self.on_unreadable):
                    headers = object_headers(data)
                    targets.append(
                        (
                            headers.get(b"object", b"").decode("ascii", "replace"),
                            headers.get(b"type", b"").decode("ascii", "replace"),
                        )
                    )
        return commits

    def blobs(self, tree: str, prefix: str) -> Iterator[tuple[str, str]]:
        """(blob, path) of each blob under `tree` not listed before; trees read once each."""
        stack = [(tree, prefix)]
        while stack:
            oid, path = stack.pop()
            if not self.first_time(oid):
                continue
            entries = [data for _, _, data in self.reader.fetch([oid], self.on_unreadable)]
            if not entries:
                continue
            subtrees = []
            for mode, name, child in _entries(entries[0], self.id_bytes):
                full = f"{path}{name}"
                if mode == _TREE_MODE:
                    subtrees.append((child, f"{full}/"))
                elif mode != _GITLINK_MODE and self.first_time(child):
                    yield child, full
            # Popped in the order the tree lists them, as git walks.
            stack.extend(reversed(subtrees))


def _tree_of(commit: bytes) -> str:
    """The id of a commit object's tree ("" for a commit without one, which lists nothing)."""
    return object_headers(commit).get(b"tree", b"").decode("ascii", "replace")


def _entries(tree: bytes, id_bytes: int) -> Iterator[tuple[bytes, str, str]]:
    """(mode, name, object id) of each entry of a tree object."""
    at = 0
    while at < len(tree):
        space = tree.find(b" ", at)
        nul = tree.find(b"\0", space)
        if space == -1 or nul == -1 or nul + 1 + id_bytes > len(tree):
            return  # a truncated tree: what was read of it stands
        name = tree[space + 1 : nul].decode("utf-8", "surrogateescape")
        yield tree[at:space], name, tree[nul + 1 : nul + 1 + id_bytes].hex()
        at = nul + 1 + id_bytes


def _sized(
    repo: Path, blobs: list[tuple[str, str]], on_missing: Callable[[str], None]
) -> Iterator[ObjectRef]:
    for at in range(0, len(blobs), _SIZES_AT_ONCE):
        chunk = blobs[at : at + _SIZES_AT_ONCE]
        sizes = object_sizes(repo, [oid for oid, _ in chunk])
        for oid, path in chunk:
            size = sizes.get(oid)
            if size is None:
                on_missing(oid)
            else:
                yield ObjectRef(oid, "blob", size, path)
