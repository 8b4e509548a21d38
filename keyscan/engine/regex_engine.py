"""Pure-Python stage 1: every keyword occurrence found with bytes.find on lowered data."""

from __future__ import annotations

import re
from collections.abc import Sequence

from keyscan.decoders.markers import DECODER_MARKERS
from keyscan.engine.base import KeywordHit, Stage1, caseless_spans, gated_hits
from keyscan.rules.ruleset import Ruleset


class RegexEngine:
    """The fallback engine; gives exactly the hits hyperscan gives, only slower."""

    name = "regex"

    def __init__(self, ruleset: Ruleset):
        self._keywords = ruleset.keywords
        self._sensitive = ruleset.case_sensitive
        self._gates = ruleset.gates
        self._gated = ruleset.gated_keywords
        self._markers = tuple((name, re.compile(pattern)) for name, pattern in DECODER_MARKERS)
        self._escaped_keywords = ruleset.quote_escaped_keywords

    def scan(self, data: bytes) -> Stage1:
        markers = frozenset(name for name, pattern in self._markers if pattern.search(data))
        # Encoded text is left to the decoder's own full search: `re` would be slower at it.
        return Stage1(self._keyword_hits(data), markers, None)

    def quiet_parts(self, parts: Sequence[bytes]) -> list[bool] | None:
        # `re` gains nothing from one pass over many parts: each is scanned alone.
        return None

    def escaped_keyword_spans(self, data: bytes) -> list[tuple[int, int]]:
        return caseless_spans(data, self._escaped_keywords)

    def _keyword_hits(self, data: bytes) -> list[KeywordHit]:
        # Keywords are ASCII and matched ASCII-case-insensitively, as HS_FLAG_CASELESS does.
        lowered = data.lower()
        hits = gated_hits(self._gates, data)
        for index, keyword in enumerate(self._keywords):
            if index in self._gated:
                continue
            haystack = data if self._sensitive[index] else lowered
            position = haystack.find(keyword)
            while position != -1:
                hits.append((index, position))
                position = haystack.find(keyword, position + 1)
        return hits
