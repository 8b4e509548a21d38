"""Object readers: the repository's packs and loose objects read in-process, with a `git
cat-file` for whatever they cannot give."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from keyscan.errors import GitError
from keyscan.gitcmd import run_git
from keyscan.sources.gitobjects import CatFile

if TYPE_CHECKING:
    from keyscan._packs import Pack

# Pack entry types (git's Documentation/gitformat-pack.txt).
_TYPE_NAMES = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
# Bases of recent reads kept per reader, as each worker's cat-file had (gitobjects.CatFile).
_BASE_CACHE = 16 << 20


class ObjectReader(Protocol):
    """Gives git objects' contents in the order asked (see CatFile.fetch)."""

    def fetch(
        self, oids: Sequence[str], on_unreadable: Callable[[str, str], None] | None = None
    ) -> Iterator[tuple[str, str, bytes]]: ...

    def close(self) -> None: ...


def _compiled() -> ModuleType | None:
    try:
        from keyscan import _packs
    except ImportError:
        return None
    return _packs


def open_object_reader(repo: Path) -> ObjectReader:
    """A PackReader when the C reader is built and the repository is one it can read (SHA-1
    object ids); otherwise a cat-file."""
    compiled = _compiled()
    if compiled is None:
        return CatFile(repo)
    try:
        done = run_git(repo, ["rev-parse", "--show-object-format", "--git-path", "objects"])
    except GitError:
        # A git before 2.25, which cannot say its object format.
        return CatFile(repo)
    lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) != 2 or lines[0] != "sha1":
        return CatFile(repo)
    objects = repo / lines[1]
    packs: list[Pack] = []
    pack_dir = objects / "pack"
    try:
        names = sorted(os.listdir(pack_dir))
    except OSError:
        names = []
    for name in names:
        if not name.endswith(".idx"):
            continue
        pack = pack_dir / (name[: -len(".idx")] + ".pack")
        try:
            packs.append(compiled.Pack(str(pack), str(pack_dir / name), _BASE_CACHE))
        except (OSError, ValueError):
            # An index of another version, or a pack half-written by a running repack: its
            # objects are asked of cat-file.
            continue
    return PackReader(repo, objects, packs)


class PackReader:
    """Objects straight from the pack files and loose objects of one object directory.

    What is in no pack and not loose there (an alternate's, a quarantined push's), and what a
    pack holds damaged, is asked of a cat-file started on first need: git then finds it, or
    says what is wrong with it, as it would have without this reader.
    """

    def __init__(self, repo: Path, objects: Path, packs: Sequence[Pack]):
        self.repo = repo
        self._objects = objects
        self._packs = list(packs)
        self._catfile: CatFile | None = None

    def fetch(
        self, oids: Sequence[str], on_unreadable: Callable[[str, str], None] | None = None
    ) -> Iterator[tuple[str, str, bytes]]:
        """(oid, type, content) for each oid, in order; see CatFile.fetch for `on_unreadable`."""
        # Objects this reader cannot give go to cat-file in runs, keeping the order.
        pending: list[str] = []
        for oid in oids:
            found = self._read(oid)
            if found is None:
                pending.append(oid)
                continue
            if pending:
                yield from self._fallback().fetch(pending, on_unreadable)
                pending = []
            yield oid, found[0], found[1]
        if pending:
            yield from self._fallback().fetch(pending, on_unreadable)

    def _read(self, oid: str) -> tuple[str, bytes] | None:
        if len(oid) != 40:
            return None
        try:
            binary = bytes.fromhex(oid)
        except ValueError:
            return None
        for pack in self._packs:
            offset = pack.find(binary)
            if offset < 0:
                continue
            try:
                kind, data = pack.read(offset)
            except (ValueError, MemoryError):
                return None
            return _TYPE_NAMES[kind], data
        return self._read_loose(oid)

    def _read_loose(self, oid: str) -> tuple[str, bytes] | None:
        try:
            with open(self._objects / oid[:2] / oid[2:], "rb") as handle:
                stored = handle.read()
            raw = zlib.decompress(stored)
        except (OSError, zlib.error):
            return None
        kind, _, rest = raw.partition(b" ")
        size, nul, data = rest.partition(b"\0")
        if not nul or not size.isdigit() or int(size) != len(data):
            return None
        name = kind.decode("ascii", "replace")
        return (name, data) if name in _TYPE_NAMES.values() else None

    def _fallback(self) -> CatFile:
        if self._catfile is None:
            self._catfile = CatFile(self.repo)
        return self._catfile

    def close(self) -> None:
        for pack in self._packs:
            pack.close()
        self._packs = []
        if self._catfile is not None:
            self._catfile.close()
            self._catfile = None
