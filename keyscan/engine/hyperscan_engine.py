"""Stage 1 on hyperscan: one literal database of every keyword, cached on disk by ruleset hash."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from keyscan.engine.base import KeywordHit
from keyscan.rules.ruleset import Ruleset


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


class HyperscanEngine:
    """Caseless literal matching of all keywords in one pass over the data."""

    name = "hyperscan"

    def __init__(self, ruleset: Ruleset, cache_dir: Path | None = None):
        import hyperscan

        self._hs = hyperscan
        self._lengths = tuple(len(k) for k in ruleset.keywords)
        self._database = self._load_or_compile(ruleset, cache_dir)
        self._scratch = hyperscan.Scratch(self._database)

    def _compile(self, ruleset: Ruleset) -> Any:
        hs = self._hs
        database = hs.Database(mode=hs.HS_MODE_BLOCK)
        database.compile(
            expressions=list(ruleset.keywords),
            ids=list(range(len(ruleset.keywords))),
            flags=[0 if sensitive else hs.HS_FLAG_CASELESS for sensitive in ruleset.case_sensitive],
            literal=True,
        )
        return database

    def _load_or_compile(self, ruleset: Ruleset, cache_dir: Path | None) -> Any:
        hs = self._hs
        if cache_dir is None:
            return self._compile(ruleset)
        cached = cache_dir / f"hyperscan-{ruleset.hash[:32]}.db"
        try:
            return hs.loadb(cached.read_bytes(), mode=hs.HS_MODE_BLOCK)
        except (OSError, hs.error):
            pass
        database = self._compile(ruleset)
        _write_quietly(cached, hs.dumpb(database))
        return database

    def keyword_hits(self, data: bytes) -> list[KeywordHit]:
        hits: list[KeywordHit] = []
        lengths = self._lengths

        def on_match(index: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            hits.append((index, end - lengths[index]))

        if data:
            self._database.scan(data, match_event_handler=on_match, scratch=self._scratch)
        return hits


def _write_quietly(path: Path, payload: bytes) -> None:
    # A cache is an optimisation: a read-only or full disk must not fail the scan.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except OSError:
        pass
