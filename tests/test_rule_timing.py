"""Built-in patterns run without the regex timeout on short windows: none may backtrack
catastrophically on a window of that size, whatever it holds."""

from __future__ import annotations

import pytest
import regex

from keyscan.engine.extract import BLOCK_AFTER, UNGUARDED_WINDOW
from keyscan.rules.load import load_rules
from keyscan.rules.schema import Rule

# A hang guard, not a speed assertion: a linear pattern needs milliseconds on 4 KiB, a
# catastrophic one needs longer than the age of the universe.
HANG_GUARD_SECONDS = 10.0
# Characters that feed the quantifiers of assignment-, URL- and token-shaped patterns.
FILLERS = ("a", "A", "0", "=", ":", '"', "'", " ", "\t", "-", "_", ".", "/", "+", "@", "\\", "%")


def adversarial_windows(rule: Rule) -> list[str]:
    """Windows of UNGUARDED_WINDOW bytes built from the rule's own vocabulary."""
    size = UNGUARDED_WINDOW
    keyword = rule.keywords[0]
    windows = []
    for filler in FILLERS:
        run = (keyword + filler * size)[:size]
        # Once as is, once ending in a character nothing expects, so a tail anchor fails late.
        windows += [run, run[:-1] + "!"]
        windows.append(((keyword + filler) * size)[:size])
    windows += [((keyword + " = " + filler * 40 + " ") * size)[:size] for filler in "aA0"]
    for example in (*rule.examples, *rule.negative_examples):
        windows.append((example * (size // max(1, len(example)) + 1))[:size])
        windows.append(((example + " ") * size)[:size])
        # An example cut short: the pattern's tail fails at every position.
        body = example[: max(1, len(example) * 3 // 4)]
        windows.append((body * size)[:size])
    return windows


def runs_within_guard(
    pattern: regex.Pattern[str], window: str, guard: float = HANG_GUARD_SECONDS
) -> bool:
    try:
        for _ in pattern.finditer(window, timeout=guard):
            pass
    except TimeoutError:
        return False
    return True


BUILTIN_RULES = [rule for rule in load_rules() if not rule.multiline]


def test_every_builtin_rule_is_marked_builtin() -> None:
    rules = load_rules()
    assert rules and all(rule.builtin for rule in rules)


@pytest.mark.parametrize("rule", BUILTIN_RULES, ids=lambda rule: rule.id)
def test_builtin_rule_never_backtracks_catastrophically(rule: Rule) -> None:
    pattern = regex.compile(rule.pattern)
    slow = [w[:40] for w in adversarial_windows(rule) if not runs_within_guard(pattern, w)]
    assert not slow, f"{rule.id} hangs on windows starting {slow}"


def test_the_harness_catches_a_catastrophic_pattern() -> None:
    # The same windows, with a pattern whose nested alternation is exponential on them.
    rule = Rule(
        id="demo.slow",
        name="Slow",
        description="Nested alternation.",
        severity="low",
        keywords=("aaaa",),
        pattern=r"(?P<secret>(?:a|aa)+)$",
    )
    pattern = regex.compile(rule.pattern)
    first_windows = adversarial_windows(rule)[:2]
    assert not all(runs_within_guard(pattern, window, guard=0.5) for window in first_windows)


MULTILINE_RULES = [rule for rule in load_rules() if rule.multiline]


@pytest.mark.parametrize("rule", MULTILINE_RULES, ids=lambda rule: rule.id)
@pytest.mark.parametrize("separator", ["\n", '\\n" +\n  "'], ids=["lines", "concatenated"])
def test_multiline_rule_never_backtracks_on_a_block_that_never_ends(
    rule: Rule, separator: str
) -> None:
    # A key header whose END line is missing (a truncated fixture, a docs excerpt) followed
    # by a window's worth of base64: `+` fits both a base64 character and a string
    # concatenation, and a pattern that lets it be either doubles its work at each one.
    header = rule.examples[0].splitlines()[0]
    line = "Ab+/" * 16 + separator
    window = header + separator + line * (BLOCK_AFTER // len(line))
    assert runs_within_guard(regex.compile(rule.pattern), window), rule.id
