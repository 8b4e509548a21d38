"""The Engine protocol: every occurrence of every keyword, and which decoder markers occur."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

# (keyword index, start offset) for every occurrence, overlapping ones included.
KeywordHit = tuple[int, int]


class Stage1(NamedTuple):
    """What one pass over the data found: keyword hits, and what the decoders need to know.

    (A named tuple: one is made for every blob and layer, and a frozen dataclass took twice as
    long to make.)
    """

    hits: list[KeywordHit]
    markers: frozenset[str]  # the decoder markers present (decoders.markers)
    # Offsets where base64 or hex text may end (decoders.markers); None when the engine does
    # not look for them, and the decoder then searches the whole data.
    encoded_ends: Sequence[int] | None


class Engine(Protocol):
    name: str

    def scan(self, data: bytes) -> Stage1: ...


def gated_hits(gated: Mapping[int, re.Pattern[bytes]], data: bytes) -> list[KeywordHit]:
    """Hits of the gated keywords (Ruleset.gated_keywords): every offset where the keyword's
    check matches, overlapping matches included, as the per-hit check would keep them."""
    hits: list[KeywordHit] = []
    for keyword_index, check in gated.items():
        found = check.search(data)
        while found is not None:
            hits.append((keyword_index, found.start()))
            found = check.search(data, found.start() + 1)
    return hits
