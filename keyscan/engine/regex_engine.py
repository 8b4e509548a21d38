"""Pure-Python stage 1: every keyword occurrence found with bytes.find on lowered data."""

from __future__ import annotations

from keyscan.engine.base import KeywordHit
from keyscan.rules.ruleset import Ruleset


class RegexEngine:
    """The fallback engine; gives exactly the hits hyperscan gives, only slower."""

    name = "regex"

    def __init__(self, ruleset: Ruleset):
        self._keywords = ruleset.keywords

    def keyword_hits(self, data: bytes) -> list[KeywordHit]:
        # Keywords are ASCII and matched ASCII-case-insensitively, as HS_FLAG_CASELESS does.
        lowered = data.lower()
        hits: list[KeywordHit] = []
        for index, keyword in enumerate(self._keywords):
            position = lowered.find(keyword)
            while position != -1:
                hits.append((index, position))
                position = lowered.find(keyword, position + 1)
        return hits
