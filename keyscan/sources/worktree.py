"""Working-tree source: the files under a path, as git sees them or by walking the directory."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from keyscan.errors import SourceError
from keyscan.gitcmd import is_bare_repository, is_ignored, listed_files, worktree_root
from keyscan.model import Skip
from keyscan.sources.submodules import nested_repository_skip, submodule_skip


@dataclass(frozen=True)
class FileItem:
    """A file to read: `display` is the path reported, relative to the scan target."""

    display: str
    absolute: str


@dataclass(frozen=True)
class WorktreeListing:
    files: list[FileItem]
    skips: list[Skip]
    root: Path
    in_git: bool
    # Where configuration is looked for: the work tree's top when in git, else the scan root.
    config_root: Path | None = None


def list_worktree(target: Path) -> WorktreeListing:
    if not os.path.lexists(target):
        raise SourceError(f"{target}: no such file or directory")
    target = target.absolute()
    if target.is_file() and not target.is_symlink():
        return WorktreeListing([FileItem(target.name, str(target))], [], target.parent, False)
    repo = worktree_root(target)
    if repo is not None and is_ignored(repo, os.path.relpath(target, repo)):
        # A directory git ignores was named explicitly (a build output, a vendored copy): the
        # user asked for it, so every file is scanned rather than none.
        files, skips = _admit(_walk(target), target.resolve())
        return WorktreeListing(files, skips, target, False, repo)
    if repo is not None:
        relative = os.path.relpath(target, repo)
        names = listed_files(repo, "." if relative == "." else relative)
        # git lists names relative to the repository root, in POSIX form: trimming the target's
        # prefix is all a display path needs (no per-file path arithmetic on large trees).
        prefix = "" if relative == "." else Path(relative).as_posix() + "/"
        root = str(repo) + os.sep
        items = (FileItem(n[len(prefix) :] if n.startswith(prefix) else n, root + n) for n in names)
        files, skips = _admit(items, target.resolve())
        return WorktreeListing(files, skips, target, True, repo)
    if is_bare_repository(target):
        # Its files are git's own (packs, refs, hooks), not a project's.
        raise SourceError(
            f"{target}: a bare repository has no work tree to scan (audit it with --history)"
        )
    files, skips = _admit(_walk(target), target.resolve())
    return WorktreeListing(files, skips, target, False)


def _display(path: Path, target: Path) -> str:
    return Path(os.path.relpath(path, target)).as_posix()


def _walk(target: Path) -> Iterator[FileItem]:
    for directory, subdirs, names in os.walk(target, followlinks=False):
        linked = [d for d in subdirs if os.path.islink(os.path.join(directory, d))]
        # Directory symlinks are never descended into; listing them lets _admit say why.
        for name in sorted(linked):
            path = Path(directory, name)
            yield FileItem(_display(path, target), str(path))
        subdirs[:] = sorted(d for d in subdirs if d != ".git" and d not in linked)
        for name in sorted(names):
            path = Path(directory, name)
            yield FileItem(_display(path, target), str(path))


def _admit(items: Iterator[FileItem], real_root: Path) -> tuple[list[FileItem], list[Skip]]:
    """Keep regular files inside the tree; symlinks only when they resolve inside it."""
    files: list[FileItem] = []
    skips: list[Skip] = []
    for item in items:
        try:
            info = os.lstat(item.absolute)
        except FileNotFoundError:
            continue  # tracked but deleted from the work tree: nothing to scan
        except OSError as exc:
            skips.append(Skip(item.display, "unreadable", exc.strerror or str(exc)))
            continue
        if stat.S_ISLNK(info.st_mode):
            try:
                resolved = Path(item.absolute).resolve(strict=True)
            except RuntimeError:
                skips.append(Skip(item.display, "symlink loop"))
                continue
            except OSError as exc:
                reason = "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
                skips.append(Skip(item.display, reason))
                continue
            if not resolved.is_relative_to(real_root):
                skips.append(Skip(item.display, "symlink out of the tree"))
                continue
            if not resolved.is_file():
                continue
            files.append(item)
        elif stat.S_ISREG(info.st_mode):
            files.append(item)
        elif stat.S_ISDIR(info.st_mode):
            # Only git lists directories: a submodule (a gitlink in the index) or, with a
            # slash, an untracked repository inside the work tree.
            if item.display.endswith("/"):
                skips.append(nested_repository_skip(item.display.rstrip("/")))
            else:
                skips.append(submodule_skip(item.display))
        else:
            skips.append(Skip(item.display, "not a regular file"))
    return files, skips
