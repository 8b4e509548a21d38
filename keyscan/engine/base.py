"""The Engine protocol: find every occurrence of every keyword of the ruleset."""

from __future__ import annotations

from typing import Protocol

# (keyword index, start offset) for every occurrence, overlapping ones included.
KeywordHit = tuple[int, int]


class Engine(Protocol):
    name: str

    def keyword_hits(self, data: bytes) -> list[KeywordHit]: ...
