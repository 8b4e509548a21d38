"""The compiled, immutable ruleset: rules, their keyword table and a content hash."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import fields
from functools import cached_property
from typing import TYPE_CHECKING

from keyscan import __version__
from keyscan.errors import KeyscanError
from keyscan.rules.schema import Rule

if TYPE_CHECKING:
    import regex

# Bumped whenever matching semantics change, so caches keyed on the ruleset hash expire.
ENGINE_SEMANTICS = 3


class Ruleset:
    """Rules plus the keyword table both engines search; stage-2 patterns compile lazily."""

    def __init__(self, rules: Sequence[Rule]):
        if not rules:
            raise KeyscanError("no rules are active: refusing to scan with an empty ruleset")
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.by_id = {rule.id: rule for rule in self.rules}
        keyword_rules: dict[tuple[str, bool], list[int]] = {}
        for index, rule in enumerate(self.rules):
            sensitive = rule.keyword_case == "sensitive"
            for keyword in rule.keywords:
                indices = keyword_rules.setdefault((keyword, sensitive), [])
                if index not in indices:
                    indices.append(index)
        self.keywords: tuple[bytes, ...] = tuple(k.encode("ascii") for k, _ in keyword_rules)
        self.case_sensitive: tuple[bool, ...] = tuple(s for _, s in keyword_rules)
        self.keyword_rules: tuple[tuple[int, ...], ...] = tuple(
            tuple(v) for v in keyword_rules.values()
        )
        self.requires: tuple[tuple[bytes, ...], ...] = tuple(
            tuple(r.encode("utf-8") for r in rule.requires) for rule in self.rules
        )
        self._compiled: dict[int, regex.Pattern[str]] = {}
        self._allow_regexes: dict[int, tuple[regex.Pattern[str], ...]] = {}

    # What follows is worked out on first use: an audit replayed from its record needs only the
    # hash, and a warm audit's whole run is a tenth of a second.

    @cached_property
    def hash(self) -> str:
        return _ruleset_hash(self.rules)

    @cached_property
    def at_keyword(self) -> tuple[re.Pattern[bytes] | None, ...]:
        return tuple(
            re.compile(rule.at_keyword.encode("utf-8")) if rule.at_keyword else None
            for rule in self.rules
        )

    @cached_property
    def gated_keywords(self) -> dict[int, re.Pattern[bytes]]:
        """Keywords whose one rule checks `at_keyword` from the keyword itself on: their hits
        are where that check matches, found by `re` scanning in C, instead of one engine hit
        per occurrence (a changelog holds thousands of `://`, none with credentials)."""
        gated: dict[int, re.Pattern[bytes]] = {}
        for keyword_index, literal in enumerate(self.keywords):
            users = self.keyword_rules[keyword_index]
            check = self.at_keyword[users[0]]
            # The check must begin with the keyword itself (escaped: `.` in a keyword is a dot),
            # so each of its matches starts at an occurrence of the keyword.
            if (
                len(users) == 1
                and check is not None
                and check.pattern.startswith(re.escape(literal))
            ):
                gated[keyword_index] = check
        return gated

    @cached_property
    def quote_escaped_keywords(self) -> tuple[bytes, ...]:
        """What a string literal whose only escapes are `\\"` must hold, in its raw (escaped,
        lower-case) form, for its decoded form to show stage 1 a keyword the raw hits do not:
        a keyword with a quote in it, or a gated keyword (its raw hits are where its check
        matched the raw text, and decoding changes the text the check reads)."""
        return tuple(
            sorted(
                {
                    literal.lower().replace(b'"', b'\\"')
                    for index, literal in enumerate(self.keywords)
                    if b'"' in literal or index in self.gated_keywords
                }
            )
        )

    @cached_property
    def multiline_keywords(self) -> dict[int, tuple[bytes, ...] | None]:
        """Keywords of multi-line rules (their windows run on for 16 KB), each with the
        literals one of which those rules require near it, or None when one of them requires
        none."""
        keywords: dict[int, tuple[bytes, ...] | None] = {}
        for keyword_index, users in enumerate(self.keyword_rules):
            literals: tuple[bytes, ...] | None = ()
            for user in (u for u in users if self.rules[u].multiline):
                required = self.requires[user]
                literals = None if not required or literals is None else (*literals, *required)
                keywords[keyword_index] = literals
        return keywords

    @cached_property
    def edit_reach(self) -> int | None:
        """How far past its own line anything either stage reads for a keyword on that line
        may look: the longest keyword or `at_keyword` check (a check may run on past the
        line's end). None when a check has no bound: edit scans (keyscan.edits) are then off."""
        return _edit_reach(self.keywords, self.at_keyword)

    def pattern(self, index: int) -> regex.Pattern[str]:
        compiled = self._compiled.get(index)
        if compiled is None:
            import regex  # on use, as in keyscan.config

            compiled = regex.compile(self.rules[index].pattern)
            self._compiled[index] = compiled
        return compiled

    def allow_regexes(self, index: int) -> tuple[regex.Pattern[str], ...]:
        compiled = self._allow_regexes.get(index)
        if compiled is None:
            import regex

            compiled = tuple(regex.compile(p) for p in self.rules[index].allowlist.regexes)
            self._allow_regexes[index] = compiled
        return compiled

    def select(self, enable: Iterable[str] = (), disable: Iterable[str] = ()) -> Ruleset:
        """A ruleset restricted to `enable` (if given) minus `disable`; unknown ids are errors."""
        enable, disable = list(enable), list(disable)
        if not enable and not disable:
            return self
        for rule_id in [*enable, *disable]:
            if rule_id not in self.by_id:
                raise KeyscanError(f"unknown rule id {rule_id!r} (see `keyscan rules list`)")
        chosen = [r for r in self.rules if (not enable or r.id in enable) and r.id not in disable]
        return Ruleset(chosen)

    def __getstate__(self) -> dict[str, object]:
        # Workers recompile lazily; compiled patterns are cheap to rebuild and bulky to ship.
        state = dict(self.__dict__)
        state["_compiled"] = {}
        state["_allow_regexes"] = {}
        return state


# A check that may match this many bytes is as good as unbounded for edit scans.
_UNBOUNDED_REACH = 1 << 16
# Assertions just past a match (`\b`, a lookahead of one character) read a little further.
_ASSERTION_SLACK = 8


def _edit_reach(
    keywords: Sequence[bytes], checks: Sequence[re.Pattern[bytes] | None]
) -> int | None:
    # The parser `re` compiles with is the one that knows how long a match can be.
    parser = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")
    widest = max(len(keyword) for keyword in keywords)
    for check in checks:
        if check is None:
            continue
        width = int(parser.parse(check.pattern).getwidth()[1])
        if width >= _UNBOUNDED_REACH:
            return None
        widest = max(widest, width)
    return widest + _ASSERTION_SLACK


def _matching_code_digest() -> bytes:
    # Cached verdicts (clean blobs, replayed audits) depend on the matching and filtering code
    # too: any change to it must expire them, released or not.
    from pathlib import Path

    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for name in (
        "filters.py",
        "blobscan.py",
        "edits.py",
        "options.py",
        "model.py",
        "wordlists.py",
        "checksums.py",
        "engine/base.py",
        "engine/extract.py",
        "engine/hyperscan_engine.py",
        "engine/regex_engine.py",
        "rules/ruleset.py",
        "decoders/driver.py",
        "decoders/encodings.py",
        "decoders/kubernetes.py",
        "decoders/layer.py",
        "decoders/markers.py",
    ):
        try:
            digest.update((package / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return digest.digest()


# What a rule says about where it came from or how it is documented, not what it matches.
_TRANSIENT_FIELDS = frozenset(
    {"source", "line", "examples", "negative_examples", "references", "builtin"}
)
_MEANING_FIELDS = tuple(f.name for f in fields(Rule) if f.name not in _TRANSIENT_FIELDS)
_MAPPING_FIELDS = frozenset({"verify", "revoke"})


def _ruleset_hash(rules: Sequence[Rule]) -> str:
    digest = hashlib.sha256(f"keyscan {__version__} semantics {ENGINE_SEMANTICS}\n".encode())
    digest.update(_matching_code_digest())
    for rule in rules:
        # The repr of the meaningful fields in their declared order (strings, numbers, tuples of
        # strings, the allowlist's dataclass) costs a third of JSON with sorted keys. The
        # verify and revoke sections are YAML mappings, which JSON with sorted keys makes
        # independent of how they were written and of set order (hash randomisation).
        meaning = [
            (name, getattr(rule, name))
            if name not in _MAPPING_FIELDS
            else (name, json.dumps(getattr(rule, name), sort_keys=True, default=str))
            for name in _MEANING_FIELDS
        ]
        digest.update(repr(meaning).encode())
    return digest.hexdigest()
