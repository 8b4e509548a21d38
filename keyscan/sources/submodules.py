"""Submodules: gitlinks are reported as skipped, never followed into another repository."""

from __future__ import annotations

import re

from keyscan.model import Skip

SUBMODULE = "submodule"
NESTED_REPOSITORY = "nested repository"
# `path = <dir>` in a .gitmodules section (git-config syntax; a value may be quoted).
_DECLARED_PATH = re.compile(rb'^[ \t]*path[ \t]*=[ \t]*"?(.*?)"?[ \t]*\r?$', re.MULTILINE)


def submodule_skip(path: str, commit: str | None = None) -> Skip:
    """A gitlink: the commit it names lives in the submodule's own repository."""
    pointer = f"a gitlink to {commit[:12]}" if commit else "a gitlink"
    return Skip(
        path, SUBMODULE, f"{pointer}: its repository is not scanned here (scan it on its own)"
    )


def nested_repository_skip(path: str) -> Skip:
    return Skip(
        path,
        NESTED_REPOSITORY,
        "an untracked git repository inside this one: scan it on its own",
    )


def declared_paths(gitmodules: bytes) -> list[str]:
    """The submodule paths a .gitmodules file declares."""
    return [
        match.group(1).decode("utf-8", "surrogateescape")
        for match in _DECLARED_PATH.finditer(gitmodules)
        if match.group(1)
    ]
