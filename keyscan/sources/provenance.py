"""History provenance for blobs with findings: first commit, author, date, carriers, refs, HEAD.

Everything is answered from two passes over history (`git rev-list --parents` for the commit
graph and one `git log --raw` for what each commit changed against its first parent, merges
included), whatever the number of blobs with findings; commit sets are bitmasks over the graph.

A commit's version of a path is its first parent's unless its own diff against that parent
names the path. Following that rule down the graph gives every commit's version of a path
exactly, so a count of the commits carrying a blob never counts a merge (or anything after it)
for a version the merge replaced, and a version that only a merge produced has that merge as
its first commit.
"""

from __future__ import annotations

import bisect
import datetime
import re
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keyscan.gitcmd import OBJECT_ID, BackgroundGit, run_git
from keyscan.sources.history import other_worktree_heads, stash_entries


@dataclass(frozen=True)
class BlobHistory:
    """Where a blob (or a message's commit) lives in history."""

    first_commit: str | None
    author: str | None
    date: str | None
    path: str | None
    commit_count: int
    refs: tuple[str, ...]
    at_head: bool


@dataclass
class _Events:
    # (author time, commit, author, path) of each commit whose diff leaves the blob at a path.
    adders: list[tuple[int, str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Change:
    """One line of `git log --raw`: a commit left `new` (None: nothing) at `path`."""

    commit: str
    seconds: int
    author: str
    path: str
    new: str | None


# Object ids are 40 or 64 hex digits (OBJECT_ID); "no blob" is all zeros in either length.
_OBJECT_ID = OBJECT_ID.encode()
_NO_BLOBS = frozenset({b"0" * 40, b"0" * 64})
# A commit header (`@@sha NUL time NUL author`) or one raw diff line, in a single pattern so one
# pass over the log sees every raw line after the header it belongs to.
_LOG_LINE = re.compile(
    rb"^(?:@@([^\n]*)|:[0-7]{6} [0-7]{6} "
    + _OBJECT_ID
    + rb" ("
    + _OBJECT_ID
    + rb") [A-Z][0-9]*\t([^\n]*))$",
    re.MULTILINE,
)
# Up to this many wanted ids (or paths), each is searched for in the log; beyond it one pass
# parses every raw line, so the cost stops growing with the number of findings.
_SEARCH_LIMIT = 16


# How `git log --raw` writes a path holding a control character, a double quote or a backslash
# (core.quotepath=off leaves other bytes as they are): in double quotes, C escapes inside.
_C_ESCAPES = {
    7: b"a",
    8: b"b",
    9: b"t",
    10: b"n",
    11: b"v",
    12: b"f",
    13: b"r",
    34: b'"',
    92: b"\\",
}
_NEEDS_QUOTES = re.compile(rb'[\x00-\x1f"\\\x7f]')
_ESCAPE = re.compile(rb"\\(?:([0-7]{3})|(.))", re.DOTALL)
_UNESCAPES = {letter: bytes([code]) for code, letter in _C_ESCAPES.items()}


def quoted_path(path: bytes) -> bytes:
    """`path` as git's raw diff output writes it."""
    if not _NEEDS_QUOTES.search(path):
        return path
    escaped = b"".join(
        b"\\" + _C_ESCAPES[byte]
        if byte in _C_ESCAPES
        else b"\\%03o" % byte
        if byte < 0x20 or byte == 0x7F
        else bytes([byte])
        for byte in path
    )
    return b'"' + escaped + b'"'


def unquoted_path(written: bytes) -> bytes:
    """The path git's raw diff output wrote as `written`."""
    if len(written) < 2 or not (written.startswith(b'"') and written.endswith(b'"')):
        return written
    return _ESCAPE.sub(_unescaped, written[1:-1])


def _unescaped(escape: re.Match[bytes]) -> bytes:
    octal, letter = escape.groups()
    return bytes([int(octal, 8)]) if octal else _UNESCAPES.get(letter, letter)


def _change(header: bytes, new: bytes, raw_path: bytes) -> _Change:
    sha, seconds, author = [*header.split(b"\0"), b"", b""][:3]
    return _Change(
        commit=sha.decode("ascii", "replace"),
        seconds=int(seconds) if seconds.isdigit() else 0,
        author=author.decode("utf-8", "surrogateescape"),
        path=unquoted_path(raw_path).decode("utf-8", "surrogateescape"),
        new=None if new in _NO_BLOBS else new.decode("ascii"),
    )


def _changes(log: bytes, needle: bytes) -> Iterator[_Change]:
    """The raw diff lines of `log` that contain `needle`, with the commit each belongs to."""
    position = log.find(needle)
    while position != -1:
        line_start = log.rfind(b"\n", 0, position) + 1
        line = _LOG_LINE.match(log, line_start)
        header_start = log.rfind(b"\n@@", 0, line_start) + 1
        position = log.find(needle, line.end() if line else position + 1)
        if line is None or line.group(1) is not None:
            continue
        if header_start == 0 and not log.startswith(b"@@"):
            continue
        header = _LOG_LINE.match(log, header_start)
        if header is not None and header.group(1) is not None:
            yield _change(header.group(1), line.group(2), line.group(3))


def _new_id(id_length: int) -> slice:
    """Where a raw diff line (`:old_mode new_mode old_id new_id status<TAB>path`) holds its new
    id, for ids of `id_length` hex digits."""
    start = len(":100644 100644 ") + id_length + 1
    return slice(start, start + id_length)


def _all_changes(
    log: bytes, new_blobs: frozenset[bytes] | None = None, paths: frozenset[bytes] | None = None
) -> Iterator[_Change]:
    """Every raw diff line of `log` that leaves one of `new_blobs` (hex) or changes one of
    `paths` (raw bytes), with the commit each belongs to. Lines are picked by a slice first and
    only those are matched and decoded: a long history has hundreds of thousands, and only a
    few are wanted (a match per line took 1.5 to 2.5 times as long on sqlalchemy's log)."""
    lines = log.split(b"\n")
    picked: Iterable[int] = range(len(lines))
    if new_blobs is not None:
        # One repository has one id length, which any of its ids gives.
        at = _new_id(len(next(iter(new_blobs), b"")))
        picked = [i for i, line in enumerate(lines) if line[at] in new_blobs]
    if paths is not None:
        picked = [i for i in picked if lines[i].partition(b"\t")[2] in paths]
    if not picked:
        return
    headers = [i for i, line in enumerate(lines) if line[:2] == b"@@"]
    for i in picked:
        raw = _LOG_LINE.fullmatch(lines[i])
        if raw is None or raw.group(1) is not None:
            continue
        above = bisect.bisect_right(headers, i) - 1
        header = lines[headers[above]][2:] if above >= 0 else b""
        yield _change(header, raw.group(2), raw.group(3))


def _lines(repo: Path, args: Sequence[str]) -> list[str]:
    done = run_git(repo, args, check=False)
    if done.returncode != 0:
        return []
    return done.stdout.decode("utf-8", "surrogateescape").splitlines()


def _tree_entries(ls_tree: bytes) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Each blob id of `git ls-tree -r -z` output with its paths, and each gitlink's path
    with the commit it names."""
    paths: dict[str, set[str]] = {}
    gitlinks: dict[str, str] = {}
    for entry in ls_tree.split(b"\0"):
        meta, _, raw_path = entry.partition(b"\t")
        fields = meta.split()
        if len(fields) != 3:
            continue
        path = raw_path.decode("utf-8", "surrogateescape")
        if fields[1] == b"blob":
            paths.setdefault(fields[2].decode(), set()).add(path)
        elif fields[1] == b"commit":
            gitlinks[path] = fields[2].decode()
    return paths, gitlinks


_TIP_FORMAT = "%(objectname) %(*objectname) %(refname:short)"


def _ref_tips(for_each_ref: bytes) -> dict[str, list[str]]:
    """commit id → names of refs pointing at it (annotated tags peeled), from _TIP_FORMAT lines."""
    tips: dict[str, list[str]] = {}
    for line in for_each_ref.decode("utf-8", "surrogateescape").splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            tips.setdefault(parts[1] or parts[0], []).append(parts[2])
    return tips


def _iso(seconds: int) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat()


class _CommitGraph:
    """The commit graph, answering "which commits descend from these" as bitmasks: bit i is the
    i-th commit in topological order (children first), so a set is one int and set algebra and
    counting are single C-level operations.

    Up to _PRECOMPUTED_COMMITS commits every commit's descendants are computed once, in one pass
    over the graph (a commit's descendants only use lower bits, so all of them take about
    commits²/16 bytes); beyond that each question walks the graph.
    """

    def __init__(self, rev_list: bytes):
        self.index: dict[str, int] = {}
        parents_of: list[list[str]] = []
        for line in rev_list.decode("ascii", "replace").splitlines():
            commit, *parents = line.split()
            self.index[commit] = len(parents_of)
            parents_of.append(parents)
        self.children: list[list[int]] = [[] for _ in parents_of]
        # A root (or a commit whose parents lie beyond a shallow boundary) points one past the
        # last position, where a path's state is "absent".
        self.first_parent: list[int] = [len(parents_of)] * len(parents_of)
        for child, parents in enumerate(parents_of):
            for order, parent in enumerate(parents):
                position = self.index.get(parent)
                if position is not None:
                    self.children[position].append(child)
                    if order == 0:
                        self.first_parent[child] = position
        self._masks: list[int] | None = None
        if len(parents_of) <= _PRECOMPUTED_COMMITS:
            masks: list[int] = []
            for position, children in enumerate(self.children):
                mask = 1 << position
                for child in children:
                    mask |= masks[child]
                masks.append(mask)
            self._masks = masks
        self._first_parent_walk: tuple[Sequence[int], Sequence[int]] | None = None

    def first_parent_walk(self) -> tuple[Sequence[int], Sequence[int]]:
        """Where each commit enters and leaves a depth-first walk of the first-parent forest
        (roots: commits whose first parent is outside the graph), numbered in the order entered:
        the commits whose first-parent chain passes through commit c are exactly those entered
        from enter[c] up to leave[c], so each such set is one contiguous run of bits."""
        if self._first_parent_walk is None:
            count = len(self.first_parent)
            # Each commit's first-parent children as linked lists in two flat arrays (a list per
            # commit would cost a million lists on a history that long): `first_child[p]` is
            # one of p's, `next_sibling[c]` the next after c, -1 ends them; p = count stands
            # for the roots' missing parent.
            first_child = array("l", [-1]) * (count + 1)
            next_sibling = array("l", [-1]) * count
            for child, parent in enumerate(self.first_parent):
                next_sibling[child] = first_child[parent]
                first_child[parent] = child
            enter, leave = array("l", [0]) * count, array("l", [0]) * count
            entered = 0
            # ~c on the stack marks where c's subtree ends; `count`, the roots' missing parent,
            # is walked but not numbered.
            stack = [count]
            while stack:
                node = stack.pop()
                if node < 0:
                    leave[~node] = entered
                    continue
                if node < count:
                    enter[node] = entered
                    entered += 1
                    stack.append(~node)
                child = first_child[node]
                while child != -1:
                    stack.append(child)
                    child = next_sibling[child]
            self._first_parent_walk = enter, leave
        return self._first_parent_walk

    def descendants(self, commits: Iterable[str]) -> int:
        """The commits descending from any of `commits`, themselves included."""
        starts = [self.index[sha] for sha in commits if sha in self.index]
        if self._masks is not None:
            mask = 0
            for start in starts:
                mask |= self._masks[start]
            return mask
        seen = bytearray(len(self.children))
        queue = deque(starts)
        for start in starts:
            seen[start] = 1
        while queue:
            for child in self.children[queue.popleft()]:
                if not seen[child]:
                    seen[child] = 1
                    queue.append(child)
        return _mask(seen)


_PRECOMPUTED_COMMITS = 30_000
_FIRST_PARENT_DIFFS = "--diff-merges=first-parent"
_BINARY_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def _mask(flags: bytearray) -> int:
    """Bit i set where flags[i] is 1."""
    # bytes 0/1 → the digits of a binary number, highest position first.
    return int(flags.translate(_BINARY_DIGITS)[::-1] or b"0", 2)


class ProvenanceResolver:
    """Answers provenance questions about one repository from one pass over its history."""

    def __init__(self, repo: Path, roots: Sequence[str]):
        self.repo = repo
        self.roots = list(roots)
        self._head_tree: tuple[dict[str, set[str]], dict[str, str]] | None = None
        self._tips: dict[str, list[str]] | None = None
        self._commit_graph: _CommitGraph | None = None
        self._tip_bits: tuple[dict[int, list[str]], int] | None = None
        self._head_ancestors: set[str] | None = None
        self._events: dict[str, _Events] = {}
        self._log_output: bytes | None = None
        self._path_holders: dict[str, dict[str, int]] = {}
        self._path_changes: dict[str, dict[int, str | None]] = {}
        self._background: dict[str, BackgroundGit] = {}

    def _passes(self) -> dict[str, list[str]]:
        return {
            "head": ["ls-tree", "-r", "-z", "HEAD"],
            "tips": ["for-each-ref", f"--format={_TIP_FORMAT}"],
            "graph": ["rev-list", "--parents", "--topo-order", *self.roots],
            "log": [
                # It runs beside the scan, so it keeps a small delta-base cache: the scan's
                # cat-files hold the memory that matters for speed.
                "-c",
                "core.deltaBaseCacheLimit=8m",
                "log",
                *self.roots,
                "--raw",
                _FIRST_PARENT_DIFFS,
                "--no-abbrev",
                "--no-renames",
                "--format=@@%H%x00%at%x00%an",
            ],
        }

    def prefetch(self) -> None:
        """Start every pass now (a scan that found something calls this early), so the answers
        later wait only for what is left of them; a scan that finds nothing runs none."""
        for name, args in self._passes().items():
            if name not in self._background:
                self._background[name] = BackgroundGit(self.repo, args)

    def _pass_output(self, name: str) -> bytes:
        running = self._background.pop(name, None)
        return (running or BackgroundGit(self.repo, self._passes()[name])).stdout() or b""

    def _at_head(self, oid: str, path: str | None = None) -> bool:
        """Whether HEAD's tree holds `oid` (at `path`, if given)."""
        paths = self._head_entries()[0].get(oid)
        return paths is not None and (path is None or path in paths)

    def head_gitlinks(self) -> dict[str, str]:
        """Submodule path → the commit HEAD's tree points it at."""
        return self._head_entries()[1]

    def _head_entries(self) -> tuple[dict[str, set[str]], dict[str, str]]:
        if self._head_tree is None:
            listed = self._pass_output("head")
            if listed:
                self._head_tree = _tree_entries(listed)
            else:
                # No HEAD, an empty tree, or one git stops in (a damaged tree): read in-process.
                from keyscan.sources.treewalk import head_entries

                self._head_tree = head_entries(self.repo)
        return self._head_tree

    def _tip_refs(self) -> dict[str, list[str]]:
        if self._tips is None:
            tips = _ref_tips(self._pass_output("tips"))
            for commit, name in [*other_worktree_heads(self.repo), *stash_entries(self.roots)]:
                tips.setdefault(commit, []).append(name)
            detached = self._detached_head()
            if detached is not None:
                # No ref names a commit made on a detached HEAD: HEAD itself reaches it.
                tips.setdefault(detached, []).append("HEAD")
            self._tips = tips
        return self._tips

    def _detached_head(self) -> str | None:
        # HEAD's commit, and its symbolic name: "HEAD" itself when it names no branch.
        head = _lines(self.repo, ["rev-parse", "HEAD^{commit}", "--symbolic-full-name", "HEAD"])
        return head[0] if head[1:] == ["HEAD"] else None

    def _graph(self) -> _CommitGraph:
        if self._commit_graph is None:
            self._commit_graph = _CommitGraph(self._pass_output("graph"))
        return self._commit_graph

    def _in_head(self, commit: str) -> bool:
        if self._head_ancestors is None:
            self._head_ancestors = set(_lines(self.repo, ["rev-list", "HEAD"]))
        return commit in self._head_ancestors

    def _refs_within(self, commits: int) -> tuple[str, ...]:
        tips_at, tips_mask = self._tip_positions()
        names: list[str] = []
        # One conversion, then a search per tip reached: bit arithmetic on a mask as wide as
        # history costs as much as the conversion, once per tip.
        digits = bin(commits & tips_mask)
        highest = len(digits) - 1
        at = digits.find("1", 2)
        while at != -1:
            names.extend(tips_at[highest - at])
            at = digits.find("1", at + 1)
        return tuple(sorted(names))

    def _tip_positions(self) -> tuple[dict[int, list[str]], int]:
        """Graph position → the names of the refs there, and those positions as a mask: a set
        of commits meets the tips in one operation, however many refs there are."""
        if self._tip_bits is None:
            index = self._graph().index
            tips_at = {index[tip]: names for tip, names in self._tip_refs().items() if tip in index}
            self._tip_bits = tips_at, sum(1 << position for position in tips_at)
        return self._tip_bits

    def load(self, oids: Iterable[str]) -> None:
        """Find where every wanted blob was left at a path, in the one `git log --raw` pass.

        A few wanted ids are searched for in the log (a handful of blobs against hundreds of
        thousands of lines); more than _SEARCH_LIMIT take one parse of every line instead.
        """
        wanted = {oid for oid in oids if oid not in self._events}
        if not wanted:
            return
        log = self._log()
        for oid in wanted:
            self._events[oid] = _Events()
        if len(wanted) > _SEARCH_LIMIT:
            changes: Iterable[_Change] = _all_changes(
                log, new_blobs=frozenset(oid.encode("ascii") for oid in wanted)
            )
        else:
            changes = (c for oid in wanted for c in _changes(log, oid.encode("ascii")))
        for change in changes:
            if change.new in wanted:
                self._events[change.new].adders.append(
                    (change.seconds, change.commit, change.author, change.path)
                )

    def _log(self) -> bytes:
        if self._log_output is None:
            self._log_output = self._pass_output("log")
            if not self._log_output:
                # git before 2.31 has no --diff-merges. Without it a merge shows no changes, so
                # it counts as carrying its first parent's versions, and a version only a merge
                # produced has no first commit; counts still never exceed the commits.
                merge_blind = [a for a in self._passes()["log"] if a != _FIRST_PARENT_DIFFS]
                self._log_output = BackgroundGit(self.repo, merge_blind).stdout() or b""
        return self._log_output

    def _changed_at(self, path: str) -> dict[int, str | None]:
        """Graph position → the version each commit that changed `path` left there (None:
        deleted). Asked for one path, it answers every path a loaded blob was added at, in one
        pass over the log once there are many."""
        known = self._path_changes.get(path)
        if known is not None:
            return known
        graph = self._graph()
        pending = {path} | {
            added_at
            for events in self._events.values()
            for _, _, _, added_at in events.adders
            if added_at not in self._path_changes
        }
        if len(pending) <= _SEARCH_LIMIT:
            pending = {path}
        for wanted in pending:
            self._path_changes[wanted] = {}
        if len(pending) > 1:
            raw_paths = frozenset(
                quoted_path(p.encode("utf-8", "surrogateescape")) for p in pending
            )
            changes: Iterable[_Change] = _all_changes(self._log(), paths=raw_paths)
        else:
            needle = b"\t" + quoted_path(path.encode("utf-8", "surrogateescape")) + b"\n"
            changes = (c for c in _changes(self._log(), needle) if c.path == path)
        for change in changes:
            position = graph.index.get(change.commit)
            if position is not None:
                self._path_changes[change.path][position] = change.new
        return self._path_changes[path]

    def _holders(self, path: str) -> dict[str, int]:
        """For each version (blob id) of `path`: the commits holding it there, as a bitmask.

        Bits here are places in the first-parent walk (_CommitGraph.first_parent_walk), not in
        topological order: these masks are only ever combined with each other and counted.
        A commit holds the version left by the nearest commit on its first-parent chain (itself
        included) that changed the path, so each change owns its run of the walk less the runs
        of the changes below it: a few operations per change, none per commit.
        """
        holders = self._path_holders.get(path)
        if holders is not None:
            return holders
        enter, leave = self._graph().first_parent_walk()
        changed_at = self._changed_at(path)
        owned: dict[int, int] = {}
        # Changes in the order the walk enters them, each with the runs that enclose it.
        enclosing: list[int] = []
        for position in sorted(changed_at, key=enter.__getitem__):
            start, stop = enter[position], leave[position]
            run = ((1 << (stop - start)) - 1) << start
            while enclosing and leave[enclosing[-1]] <= start:
                enclosing.pop()
            if enclosing:
                # Runs below a change are disjoint and inside its own: taking one away is a flip.
                owned[enclosing[-1]] ^= run
            owned[position] = run
            enclosing.append(position)
        holders = self._path_holders[path] = {}
        for position, run in owned.items():
            version = changed_at[position]
            if version is not None:
                holders[version] = holders.get(version, 0) | run
        return holders

    def _carriers(self, oid: str, paths: Iterable[str]) -> int:
        """The commits whose tree holds `oid` at one of `paths`."""
        carriers = 0
        for path in set(paths):
            carriers |= self._holders(path).get(oid, 0)
        return carriers

    def paths(self, oid: str) -> list[str]:
        """Every path a commit left `oid` at, the first introduced first."""
        self.load([oid])
        adders = self._by_introduction(self._events[oid].adders)
        return list(dict.fromkeys(path for _, _, _, path in adders))

    def _by_introduction(
        self, adders: list[tuple[int, str, str, str]]
    ) -> list[tuple[int, str, str, str]]:
        # Earliest author time first; within one second, the commit deepest in history.
        return sorted(adders, key=lambda a: (a[0], -self.age(a[1]), a[1]))

    def blob(self, oid: str, path: str | None = None) -> BlobHistory:
        """Where `oid` lives: at `path` if commits left it there, else at every path."""
        self.load([oid])
        adders = self._events[oid].adders
        at_path = [adder for adder in adders if adder[3] == path]
        if at_path:
            adders = at_path
        else:
            path = None
        if not adders:
            # No commit holds it: a ref names the blob itself (a tag of a public key, as git's
            # own repository has), and that ref is where it is reachable from.
            refs = tuple(sorted(self._tip_refs().get(oid, ())))
            return BlobHistory(None, None, None, None, 0, refs, self._at_head(oid))
        graph = self._graph()
        adders = self._by_introduction(adders)
        # A ref reaches the secret when its history holds a commit that added it, even if a
        # later commit deleted the file: the content stays retrievable from that ref.
        reaching = graph.descendants([sha for _, sha, _, _ in adders])
        carriers = self._carriers(oid, [path for _, _, _, path in adders])
        seconds, sha, author, first_path = adders[0]
        return BlobHistory(
            first_commit=sha,
            author=author,
            date=_iso(seconds),
            path=first_path,
            commit_count=carriers.bit_count(),
            refs=self._refs_within(reaching),
            at_head=self._at_head(oid, path),
        )

    def age(self, commit: str | None) -> int:
        """Position in topological order, children first: an ancestor is always older; -1 for
        a commit outside the graph."""
        position = self._graph().index.get(commit or "")
        return -1 if position is None else position

    def commit(self, sha: str) -> BlobHistory:
        """For a finding in a commit or tag message: the refs whose history holds that object."""
        reaching = self._graph().descendants([sha])
        return BlobHistory(
            sha, None, None, None, 1, self._refs_within(reaching), self._in_head(sha)
        )
