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
from typing import TYPE_CHECKING, Any, NamedTuple

from keyscan import __version__
from keyscan.errors import KeyscanError
from keyscan.rules.schema import Rule

if TYPE_CHECKING:
    import regex


class Gate(NamedTuple):
    """A rule's `at_keyword` check and the keywords whose hits are where it matches: (index,
    literal, case-sensitive), the literal lower-case when it is not. `searched`: the check
    opens with one case-sensitive literal, which `re` skips ahead to at C speed, so its
    matches are found by searching it; otherwise each keyword occurrence is tried."""

    check: re.Pattern[bytes]
    keywords: tuple[tuple[int, bytes, bool], ...]
    searched: bool


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
    def gates(self) -> tuple[Gate, ...]:
        """Keywords whose one rule checks `at_keyword`, where the check opens with the keyword
        (or with literals one of which does): their hits are the occurrences where the check
        matches, found by `re` searching the check in C, instead of one engine hit per
        occurrence (a changelog holds thousands of `://`, none with credentials; a notebook's
        images hold runs of `A` that the Twitter token's prefix sees at every offset). The
        keywords of one rule share its check, so it is searched once for all of them."""
        by_rule: dict[int, list[tuple[int, bytes, bool]]] = {}
        for keyword_index, literal in enumerate(self.keywords):
            users = self.keyword_rules[keyword_index]
            check = self.at_keyword[users[0]]
            if len(users) == 1 and check is not None and _opens_with(check.pattern, literal):
                sensitive = self.case_sensitive[keyword_index]
                by_rule.setdefault(users[0], []).append(
                    (keyword_index, literal if sensitive else literal.lower(), sensitive)
                )
        gates = []
        for rule_index, keywords in by_rule.items():
            check = self.at_keyword[rule_index]
            assert check is not None
            gates.append(Gate(check, tuple(keywords), _opens_with_one_literal(check.pattern)))
        return tuple(gates)

    @cached_property
    def gated_keywords(self) -> dict[int, re.Pattern[bytes]]:
        """The gated keywords (see `gates`), each with its check."""
        return {index: gate.check for gate in self.gates for index, _, _ in gate.keywords}

    @cached_property
    def quote_escaped_keywords(self) -> tuple[bytes, ...]:
        """What a string literal whose only escapes are `\\"`, `\\n`, `\\t` and `\\r` must
        hold, in its raw (escaped, lower-case) form, for its decoded form to show stage 1 a
        keyword the raw hits do not: a keyword with a quote in it, or a gated keyword whose
        check may read what those escapes decode to (its raw hits are where the check matched
        the raw text). A check that can match none of those characters, and asserts nothing
        about its surroundings, matches decoded text only where the same bytes are raw."""
        return tuple(
            sorted(
                {
                    literal.lower().replace(b'"', b'\\"')
                    for index, literal in enumerate(self.keywords)
                    if b'"' in literal
                    or (
                        index in self.gated_keywords
                        and _may_read(self.gated_keywords[index], _DECODED_ESCAPES)
                    )
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


# A literal as a regular expression writes it: characters that are not special, or escaped
# punctuation (an escaped letter is a class: `\\d`).
_LITERAL = rb"(?:[^\\.^$*+?{}\[\]|()]|\\[^A-Za-z0-9])+"
# What a check opens with: an optional `(?i)`, then a literal or a group of literal
# alternatives, not made optional or repeated by a quantifier after it.
_ALTERNATIVES = rb"\(\?:(" + _LITERAL + rb"(?:\|" + _LITERAL + rb")*)\)"
_OPENING = re.compile(rb"(?:\(\?i\))?(?:" + _ALTERNATIVES + rb"|(" + _LITERAL + rb"))(?![*+?{])")


def _opens_with_one_literal(check: bytes) -> bool:
    opening = _OPENING.match(check)
    return opening is not None and opening.group(2) is not None and not check.startswith(b"(?i)")


def _opens_with(check: bytes, keyword: bytes) -> bool:
    """Whether every match of `check` starts with a literal, one of which begins with `keyword`
    or, three characters or more, begins it (ignoring case): then its matches are few and most
    are the keyword's. Only what gating costs depends on this: gated hits are the check's
    matches where the keyword occurs, whatever the check."""
    opening = _OPENING.match(check)
    if opening is None:
        return False
    alternatives = (opening.group(1) or opening.group(2)).split(b"|")
    literals = [re.sub(rb"\\(.)", rb"\1", alternative).lower() for alternative in alternatives]
    keyword = keyword.lower()
    return any(
        literal.startswith(keyword) or (len(literal) >= 3 and keyword.startswith(literal))
        for literal in literals
    )


# What the escapes a string literal may hold without being decoded (decoders.encodings) decode
# to.
_DECODED_ESCAPES = b'"\n\t\r'
_CATEGORIES = {
    "CATEGORY_SPACE": re.compile(rb"\s"),
    "CATEGORY_NOT_SPACE": re.compile(rb"\S"),
    "CATEGORY_DIGIT": re.compile(rb"\d"),
    "CATEGORY_NOT_DIGIT": re.compile(rb"\D"),
    "CATEGORY_WORD": re.compile(rb"\w"),
    "CATEGORY_NOT_WORD": re.compile(rb"\W"),
}


def _may_read(check: re.Pattern[bytes], characters: bytes) -> bool:
    """Whether `check` may match one of `characters` or asserts anything (a lookaround, a
    boundary, an anchor): then where it matches depends on more than the bytes it matched.
    Read from the parse `re` compiles; whatever the walk does not know counts as may."""
    parser = _re_parser()

    def in_class(items: list[tuple[object, object]], byte: int) -> bool:
        negated, member = False, False
        for op, value in items:
            name = str(op)
            if name == "NEGATE":
                negated = True
            elif name == "LITERAL":
                member = member or value == byte
            elif name == "RANGE":
                bounds: tuple[int, int] = value  # type: ignore[assignment]
                member = member or bounds[0] <= byte <= bounds[1]
            elif name == "CATEGORY" and str(value) in _CATEGORIES:
                member = member or _CATEGORIES[str(value)].match(bytes([byte])) is not None
            else:
                return True
        return member != negated

    def may(items: object) -> bool:
        for op, value in items:  # type: ignore[attr-defined]
            name = str(op)
            if name == "LITERAL":
                if value in characters:
                    return True
            elif name == "NOT_LITERAL":
                if any(byte != value for byte in characters):
                    return True
            elif name == "ANY":
                return True
            elif name == "IN":
                if any(in_class(value, byte) for byte in characters):
                    return True
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                if may(value[2]):
                    return True
            elif name == "SUBPATTERN":
                if may(value[3]):
                    return True
            elif name == "BRANCH":
                if any(may(branch) for branch in value[1]):
                    return True
            else:
                # AT, ASSERT, ASSERT_NOT, GROUPREF and anything newer.
                return True
        return False

    return may(parser.parse(check.pattern))


def _re_parser() -> Any:
    # The parser `re` compiles with: it knows how long a match can be and what it can read.
    return importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")


# A check that may match this many bytes is as good as unbounded for edit scans.
_UNBOUNDED_REACH = 1 << 16
# Assertions just past a match (`\b`, a lookahead of one character) read a little further.
_ASSERTION_SLACK = 8


def _edit_reach(
    keywords: Sequence[bytes], checks: Sequence[re.Pattern[bytes] | None]
) -> int | None:
    parser = _re_parser()
    widest = max(len(keyword) for keyword in keywords)
    for check in checks:
        # A check that cannot match a line break, and asserts nothing past what it matched,
        # stops at its line's end however wide it may be.
        if check is None or not _may_read(check, b"\n"):
            continue
        width = int(parser.parse(check.pattern).getwidth()[1])
        if width >= _UNBOUNDED_REACH:
            return None
        widest = max(widest, width)
    return widest + _ASSERTION_SLACK


def _matching_code_digest() -> bytes:
    # Cached verdicts (clean blobs, replayed audits) depend on the matching and filtering code
    # too: any change to it must expire them, released or not.
    from keyscan.sourcedigest import source_digest

    return source_digest(
        (
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
        )
    )


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
