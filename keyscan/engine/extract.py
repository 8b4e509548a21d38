"""Stage 2: run each hit rule's pattern on a bounded window around its keyword hits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from keyscan.engine.base import KeywordHit
from keyscan.memo import BoundedMemo
from keyscan.model import value
from keyscan.rules.ruleset import Ruleset
from keyscan.rules.schema import Rule

if TYPE_CHECKING:
    import regex

LINE_BEFORE = 256
LINE_AFTER = 1024
BLOCK_BEFORE = 256
BLOCK_AFTER = 16384
# Dense hits on one huge line would otherwise merge into one unbounded window.
MAX_WINDOW = 65536
REGEX_TIMEOUT_SECONDS = 2.0
# The regex module arms a timer on every call given a timeout, a fixed cost on each of the
# many short windows; built-in single-line patterns are tested not to backtrack
# catastrophically on windows this size (tests/test_rule_timing.py), so only they go unguarded:
# user rules, multi-line rules (few hits, open-ended blocks) and larger windows keep the guard.
UNGUARDED_WINDOW = 4096


@value
class Candidate:
    """A secret a rule's pattern extracted; offsets are bytes into the scanned data."""

    rule_index: int
    start: int
    end: int
    secret: str


# What a rule's pattern finds in one window: (start, end) as byte offsets into the window, and
# the secret.
WindowMatches = tuple[tuple[int, int, str], ...]


@value
class Extraction:
    candidates: list[Candidate]
    timed_out_rules: list[str]


def _window(data: bytes, start: int, end: int, rule: Rule) -> tuple[int, int]:
    if rule.multiline:
        return max(0, start - BLOCK_BEFORE), min(len(data), end + BLOCK_AFTER)
    # Bounded searches keep a 50 MB single-line file linear: never scan back to offset 0 per hit.
    low = max(0, start - LINE_BEFORE)
    newline = data.rfind(b"\n", low, start)
    high = min(len(data), end + LINE_AFTER)
    next_newline = data.find(b"\n", end, high)
    return (newline + 1 if newline != -1 else low), (next_newline if next_newline != -1 else high)


def _merged_windows(data: bytes, spans: list[tuple[int, int]], rule: Rule) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        # A hit that ends before the newline the last window stops at would only merge into it
        # unchanged (its own window ends at that newline too), so it costs no window of its own:
        # an SDK's generated pages hold hundreds of thousands of hits of its vendor's name.
        if (
            windows
            and not rule.multiline
            and end <= windows[-1][1]
            and data[windows[-1][1] : windows[-1][1] + 1] == b"\n"
        ):
            continue
        low, high = _window(data, start, end, rule)
        if windows and low <= windows[-1][1] and high - windows[-1][0] <= MAX_WINDOW:
            windows[-1] = (windows[-1][0], max(windows[-1][1], high))
        else:
            windows.append((low, high))
    return windows


def _byte_offset(text: str, char_index: int, ascii_only: bool) -> int:
    if ascii_only:
        return char_index
    return len(text[:char_index].encode("utf-8", "surrogateescape"))


def _near_required(
    data: bytes,
    spans: list[tuple[int, int]],
    requires: tuple[bytes, ...],
    before: int,
    after: int,
) -> list[tuple[int, int]]:
    """The sorted spans with a required literal within reach.

    Most hits of a common keyword (every URL's ://) lack the literal nearby. The next occurrence
    of each literal is remembered while the spans advance, so a file with a thousand URLs and no
    `@` costs one search, not a thousand.
    """
    kept: list[tuple[int, int]] = []
    next_at = dict.fromkeys(requires, _NOT_SEARCHED)
    for start, end in spans:
        low, high = max(0, start - before), end + after
        for literal in requires:
            found = next_at[literal]
            if found == _NOT_SEARCHED or -1 < found < low:
                found = next_at[literal] = data.find(literal, low)
            if found != -1 and found + len(literal) <= high:
                kept.append((start, end))
                break
    return kept


_NOT_SEARCHED = -2


def extract(
    data: bytes,
    hits: Sequence[KeywordHit],
    ruleset: Ruleset,
    wanted: Callable[[Rule], bool] = lambda rule: True,
    memo: BoundedMemo[WindowMatches] | None = None,
) -> Extraction:
    """Candidates of every rule whose keyword occurs, deduplicated by (rule, span).

    `memo` keeps what a rule's pattern found in a window, by the window's bytes: only for
    windows whose search runs without a timeout (one that timed out has no answer to keep).
    """
    spans_by_rule: dict[int, list[tuple[int, int]]] = {}
    for keyword_index, start in hits:
        end = start + len(ruleset.keywords[keyword_index])
        for rule_index in ruleset.keyword_rules[keyword_index]:
            spans_by_rule.setdefault(rule_index, []).append((start, end))
    candidates: dict[tuple[int, int, int], Candidate] = {}
    timed_out: list[str] = []
    for rule_index in sorted(spans_by_rule):
        rule = ruleset.rules[rule_index]
        if not wanted(rule):
            continue
        pattern = ruleset.pattern(rule_index)
        requires = ruleset.requires[rule_index]
        spans = spans_by_rule[rule_index]
        at_keyword = ruleset.at_keyword[rule_index]
        if at_keyword is not None:
            spans = [span for span in spans if at_keyword.match(data, span[0])]
        if requires:
            before, after = (
                (BLOCK_BEFORE, BLOCK_AFTER) if rule.multiline else (LINE_BEFORE, LINE_AFTER)
            )
            spans = _near_required(data, sorted(spans), requires, before, after)
        try:
            for low, high in _merged_windows(data, spans, rule):
                chunk = data[low:high]
                guarded = not rule.builtin or rule.multiline or high - low > UNGUARDED_WINDOW
                remembered = None if guarded else memo
                key = (rule_index, chunk)
                found = remembered.get(key) if remembered is not None else None
                if found is None:
                    found = _window_matches(chunk, pattern, requires, guarded)
                    if remembered is not None:
                        remembered.put(key, found, len(chunk))
                for window_start, window_end, secret in found:
                    span = (rule_index, low + window_start, low + window_end)
                    if span not in candidates:
                        candidates[span] = Candidate(rule_index, span[1], span[2], secret)
        except TimeoutError:
            # A pathological pattern loses this blob, not the scan; the caller reports it.
            timed_out.append(rule.id)
    ordered = sorted(candidates.values(), key=lambda c: (c.start, c.end, c.rule_index))
    return Extraction(ordered, timed_out)


def _window_matches(
    chunk: bytes, pattern: regex.Pattern[str], requires: tuple[bytes, ...], guarded: bool
) -> WindowMatches:
    if requires and not any(literal in chunk for literal in requires):
        return ()
    ascii_only = chunk.isascii()
    text = chunk.decode("utf-8", "surrogateescape")
    timeout = REGEX_TIMEOUT_SECONDS if guarded else None
    found: list[tuple[int, int, str]] = []
    for match in pattern.finditer(text, timeout=timeout):
        s_char, e_char = match.span("secret")
        if s_char < 0 or e_char <= s_char:
            continue
        start = _byte_offset(text, s_char, ascii_only)
        end = _byte_offset(text, e_char, ascii_only)
        found.append((start, end, match.group("secret")))
    return tuple(found)
