"""Digests of keyscan's own source files, which expire what was cached under other code."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def source_digest(names: Iterable[str]) -> bytes:
    """SHA-256 over the named files of the package (paths relative to it), in order; a file
    that cannot be read counts by its name, so the digest still differs from one that can."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in names:
        try:
            digest.update((package / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return digest.digest()
