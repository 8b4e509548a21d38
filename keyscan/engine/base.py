"""The Engine protocol: every occurrence of every keyword, and which decoder markers occur."""

from __future__ import annotations

from typing import Protocol

# (keyword index, start offset) for every occurrence, overlapping ones included.
KeywordHit = tuple[int, int]


class Engine(Protocol):
    name: str

    def keyword_hits(self, data: bytes) -> list[KeywordHit]: ...

    def scan(self, data: bytes) -> tuple[list[KeywordHit], frozenset[str]]:
        """Keyword hits, and the names of the decoder markers present (see decoders.markers)."""
        ...
