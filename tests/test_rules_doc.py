"""The generated rule reference docs/rules.md: up to date, complete, and free of example values."""

from __future__ import annotations

import pytest

from keyscan.rules.doc import DOC_PATH, render_rules_markdown
from keyscan.rules.load import load_rules
from keyscan.rules.schema import Rule


@pytest.fixture(scope="module")
def rules() -> tuple[Rule, ...]:
    return load_rules()


@pytest.fixture(scope="module")
def committed() -> str:
    return DOC_PATH.read_text(encoding="utf-8")


def test_committed_reference_is_up_to_date(rules: tuple[Rule, ...], committed: str) -> None:
    assert committed == render_rules_markdown(rules), (
        "docs/rules.md is stale: run `python -m keyscan.rules.doc` to regenerate it"
    )


def test_every_rule_has_a_table_row(rules: tuple[Rule, ...], committed: str) -> None:
    for rule in rules:
        assert f"\n| `{rule.id}` |" in committed, rule.id


def test_no_example_value_appears(rules: tuple[Rule, ...], committed: str) -> None:
    for rule in rules:
        for example in (*rule.examples, *rule.negative_examples):
            assert example not in committed, rule.id


def test_render_escapes_pipes_and_groups_by_family() -> None:
    rules = [
        Rule(
            id="b.token",
            name="Pipe | name",
            description="x",
            severity="high",
            keywords=("a|b",),
            pattern="(?P<secret>x)",
            entropy=3.5,
            checksum="github-crc32",
            examples=("TOKEN = b_" + "q8w7e6r5t4y3u2i1o9p0",),
            references=("https://example.invalid/docs",),
            hosts=("https://api.example.invalid",),
            verify={"request": {"method": "GET", "url": "https://api.example.invalid/me"}},
            source="rules/zeta.yaml",
        ),
        Rule(
            id="a.token",
            name="Generic",
            description="x",
            severity="low",
            keywords=("token",),
            pattern="(?P<secret>x)",
            kind="generic",
            source="rules/alpha.yaml",
        ),
    ]
    text = render_rules_markdown(rules)
    assert text == render_rules_markdown(list(reversed(rules)))
    assert "2 rules: 1 provider, 1 generic; by family: alpha 1, zeta 1." in text
    assert text.index("## alpha") < text.index("## zeta")
    assert "| `a.token` | Generic | low | generic | `token` | - | - | - |" in text
    assert (
        "| `b.token` | Pipe \\| name | high | provider | `a\\|b` | entropy ≥ 3.5, checksum "
        "`github-crc32` | verify | [example.invalid](https://example.invalid/docs) |"
    ) in text
    assert "q8w7e6r5t4y3u2i1o9p0" not in text
