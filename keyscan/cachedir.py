"""Where keyscan keeps caches: --cache-dir, then KEYSCAN_CACHE_DIR, XDG_CACHE_HOME, ~/.cache."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    explicit = os.environ.get("KEYSCAN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "keyscan"
