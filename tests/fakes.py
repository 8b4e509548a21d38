"""Synthetic secrets built at test time from a seed, so no secret-shaped literal sits in tests."""

from __future__ import annotations

import random
import string

from keyscan.checksums import base62_crc32
from keyscan.rules.schema import Rule

ALNUM = string.ascii_letters + string.digits


def rng(seed: int) -> random.Random:
    return random.Random(seed)


def random_chars(r: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(r.choice(alphabet) for _ in range(n))


def github_pat(r: random.Random) -> str:
    body = random_chars(r, 30)
    return "gh" + "p_" + body + base62_crc32(body)


def github_pat_bad_checksum(r: random.Random) -> str:
    token = github_pat(r)
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def aws_key_id(r: random.Random) -> str:
    return "AK" + "IA" + random_chars(r, 16, string.ascii_uppercase + "234567")


def password(r: random.Random) -> str:
    return random_chars(r, 16, ALNUM + "#%&*-")


def custom_token(r: random.Random) -> str:
    return "kst" + "_" + random_chars(r, 32)


CUSTOM_RULE = """
rules:
  - id: test.custom-token
    name: Test custom token
    description: A token format that exists only in keyscan's tests.
    severity: high
    keywords: [kst_]
    pattern: '\\b(?P<secret>kst_[A-Za-z0-9]{32})\\b'
    entropy: 3.0
"""


def demo_rule(
    rule_id: str, keywords: tuple[str, ...], at_keyword: str, pattern: str = r"(?P<secret>x)"
) -> Rule:
    """A minimal rule with an `at_keyword` check, for tests of how checks are used."""
    return Rule(
        id=rule_id,
        name="Demo",
        description="Demo.",
        severity="low",
        keywords=keywords,
        pattern=pattern,
        at_keyword=at_keyword,
    )
