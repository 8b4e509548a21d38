"""The Engine protocol: every occurrence of every keyword, and which decoder markers occur."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from keyscan.rules.ruleset import Gate

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

    def escaped_keyword_spans(self, data: bytes) -> list[tuple[int, int]]:
        """Where the ruleset's quote-escaped keywords (Ruleset.quote_escaped_keywords) are in
        `data`, as caseless_spans finds them, in any order."""
        ...

    def quiet_parts(self, parts: Sequence[bytes]) -> list[bool] | None:
        """For each of `parts`, True only if `scan` of that part alone finds nothing at all (no
        hit, no marker, no encoded-text end), told from a pass over all of them together;
        None when this engine cannot tell that way (each part is then scanned alone)."""
        ...


def caseless_spans(data: bytes, literals: Iterable[bytes]) -> list[tuple[int, int]]:
    """Every occurrence of each of `literals` (ASCII, lower case) in `data`, ASCII case
    ignored, overlapping ones included."""
    lowered = data.lower()
    spans: list[tuple[int, int]] = []
    for literal in literals:
        at = lowered.find(literal)
        while at != -1:
            spans.append((at, at + len(literal)))
            at = lowered.find(literal, at + 1)
    return spans


def gated_hits(gates: Iterable[Gate], data: bytes) -> list[KeywordHit]:
    """Hits of the gated keywords (Ruleset.gates): every offset where a keyword occurs and
    its check matches, overlapping matches included, as the per-hit check would keep them."""
    hits: list[KeywordHit] = []
    lowered: bytes | None = None
    for check, keywords, searched in gates:
        if not searched:
            # A check opening with alternatives or in any case makes `re` try every offset:
            # each occurrence of the keyword is tried instead, found by `find` in C.
            for keyword_index, literal, sensitive in keywords:
                if not sensitive and lowered is None:
                    lowered = data.lower()
                haystack = data if sensitive else lowered
                assert haystack is not None
                at = haystack.find(literal)
                while at != -1:
                    if check.match(data, at):
                        hits.append((keyword_index, at))
                    at = haystack.find(literal, at + 1)
            continue
        found = check.search(data)
        while found is not None:
            at = found.start()
            for keyword_index, literal, sensitive in keywords:
                text = data[at : at + len(literal)]
                if text == literal or (not sensitive and text.lower() == literal):
                    hits.append((keyword_index, at))
            found = check.search(data, at + 1)
    return hits
