"""The Engine protocol: every occurrence of every keyword, and which decoder markers occur."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# (keyword index, start offset) for every occurrence, overlapping ones included.
KeywordHit = tuple[int, int]


@dataclass(frozen=True)
class Stage1:
    """What one pass over the data found: keyword hits, and what the decoders need to know."""

    hits: list[KeywordHit]
    markers: frozenset[str]  # the decoder markers present (decoders.markers)
    # Offsets where base64 or hex text may end (decoders.markers); None when the engine does
    # not look for them, and the decoder then searches the whole data.
    encoded_ends: Sequence[int] | None


class Engine(Protocol):
    name: str

    def scan(self, data: bytes) -> Stage1: ...
