"""`keyscan rules list | check | explain`, and how broken rule files are reported."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from keyscan.rules.load import load_rules
from keyscan.rules.ruleset import Ruleset
from tests.conftest import run_keyscan

GOOD_RULE = """
rules:
  - id: acme.token
    name: Acme token
    description: A token for the Acme API.
    severity: high
    keywords: [acme_]
    pattern: '\\b(?P<secret>acme_[a-z0-9]{20})\\b'
    examples: ['ACME = "acme_q8w7e6r5t4y3u2i1o9p0"']
    negative_examples: ['ACME = "acme_short"']
    references: [https://acme.invalid/docs/tokens]
"""


def test_builtin_rules_pass_strict_check() -> None:
    done = run_keyscan("rules", "check", "--strict")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: ")


def test_builtin_rules_read_the_same_whether_their_patterns_are_compiled_or_not() -> None:
    # A cold start reads the built-in rules without compiling their patterns (`rules check`
    # above compiles them all): what it reads must be exactly what the full check reads.
    from keyscan.rules.load import builtin_rule_texts
    from keyscan.rules.schema import _group_names, parse_rule_file

    for name, text in builtin_rule_texts():
        checked = parse_rule_file(text, name)
        assert parse_rule_file(text, name, compile_patterns=False) == checked
        for rule in checked:
            assert _group_names(rule.pattern, False) == _group_names(rule.pattern, True), rule.id


def test_a_cold_start_compiles_no_builtin_pattern() -> None:
    code = (
        "import sys\n"
        "from keyscan.rules.load import load_rules\n"
        "assert len(load_rules(cache_dir=None)) > 100\n"
        "print('regex' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_user_rule_is_still_compiled_when_it_loads(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(GOOD_RULE.replace("(?P<secret>acme_", "(?P<secret>(acme_"))
    done = run_keyscan(str(tmp_path), "--rules", str(tmp_path / "bad.yaml"), "--no-progress")
    assert done.returncode == 2
    assert "bad.yaml" in done.stderr and "does not compile" in done.stderr


def test_builtin_library_covers_the_families() -> None:
    rules = load_rules()
    provider = [r for r in rules if not r.generic]
    assert len(provider) >= 80
    for rule in rules:
        assert rule.examples and rule.negative_examples and rule.references, rule.id


def test_list_and_explain(tmp_path: Path) -> None:
    listing = run_keyscan("rules", "list")
    assert listing.returncode == 0
    assert "generic.password-assignment" in listing.stdout
    explained = run_keyscan("rules", "explain", "private-key.openssh")
    assert explained.returncode == 0
    assert "OpenSSH private key" in explained.stdout and "severity:   critical" in explained.stdout
    unknown = run_keyscan("rules", "explain", "no.such")
    assert unknown.returncode == 2 and "unknown rule id 'no.such'" in unknown.stderr


def test_check_accepts_a_good_user_rule_file(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD_RULE)
    done = run_keyscan("rules", "check", "--strict", str(path))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (("severity: high", "severity: urgent"), "rule 'acme.token': field 'severity'"),
        (("    keywords", "    colour: red\n    keywords"), "field 'colour': unknown key 'colour'"),
        (("(?P<secret>acme_", "(acme_"), "field 'pattern': must define the named group"),
        (("(?P<secret>acme_", "(?P<secret>(acme_"), "field 'pattern': does not compile"),
        (('ACME = "acme_q8w', 'ACME = "acmx_q8w'), "examples[0]: gave 0 findings"),
        (("acme_short", "acme_q8w7e6r5t4y3u2i1o9p1"), "negative_examples[0]: gave a finding"),
        (("  - id: acme.token", "  - id: Acme Token"), "field 'id'"),
        (("    keywords", "    at_keyword: 'acme_[a-z'\n    keywords"), "field 'at_keyword'"),
    ],
)
def test_check_names_file_rule_and_field(
    tmp_path: Path, mutation: tuple[str, str], expected: str
) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD_RULE.replace(*mutation))
    done = run_keyscan("rules", "check", str(path))
    assert done.returncode == 2
    assert f"{path}:" in done.stderr
    assert expected in done.stderr


def test_strict_check_requires_examples(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD_RULE.replace("    references: [https://acme.invalid/docs/tokens]\n", ""))
    assert run_keyscan("rules", "check", str(path)).returncode == 0
    done = run_keyscan("rules", "check", "--strict", str(path))
    assert done.returncode == 2 and "field 'references'" in done.stderr


def test_malformed_yaml_and_duplicates_in_user_rules_stop_a_scan(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  - id: x\n    name: [unclosed\n")
    done = run_keyscan(str(tmp_path), "--rules", str(broken), "--no-progress")
    assert done.returncode == 2
    assert "broken.yaml:" in done.stderr and "invalid YAML" in done.stderr
    dup = tmp_path / "dup.yaml"
    dup.write_text(GOOD_RULE.replace("acme.token", "generic.password-assignment"))
    done = run_keyscan(str(tmp_path), "--rules", str(dup), "--no-progress")
    assert done.returncode == 2
    assert "duplicate rule id" in done.stderr and "rules/generic.yaml" in done.stderr


def test_pathological_rule_times_out_without_hanging(tmp_path: Path) -> None:
    rule = tmp_path / "slow.yaml"
    rule.write_text(
        "rules:\n  - id: slow.rule\n    name: Slow\n    description: Catastrophic backtracking.\n"
        "    severity: low\n    keywords: [aaaa]\n"
        "    pattern: '(?P<secret>(a|aa)+)$'\n    multiline: true\n"
    )
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("a" * 3000 + "!\n")
    done = run_keyscan(
        str(tree),
        "--rules",
        str(rule),
        "--enable-rule",
        "slow.rule",
        "--format",
        "json",
        "--no-progress",
    )
    assert done.returncode == 0, done.stderr
    assert '"rule timed out"' in done.stdout


def test_the_ruleset_hash_is_the_same_in_every_process_and_follows_what_a_rule_matches(
    tmp_path: Path,
) -> None:
    # Audit caches are keyed on it: a hash that moved with string hash randomisation would
    # miss every cache, and one blind to a rule's meaning would replay stale verdicts.
    program = (
        "import sys; from keyscan.rules.load import load_rules; "
        "from keyscan.rules.ruleset import Ruleset; "
        "print(Ruleset(load_rules(cache_dir=None)).hash)"
    )
    hashes = {
        subprocess.run(
            [sys.executable, "-c", program],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(hashes) == 1
    rules = load_rules(cache_dir=None)
    same = Ruleset(rules).hash
    assert same in hashes
    changed = [replace(rules[0], pattern=rules[0].pattern + "x"), *rules[1:]]
    assert Ruleset(changed).hash != same
    allowed = [replace(rules[0], allowlist=replace(rules[0].allowlist, stopwords=("x",)))]
    assert Ruleset([*allowed, *rules[1:]]).hash != same
    verify = [replace(rules[0], verify={"url": "https://a", "headers": {"b": "1", "a": "2"}})]
    reordered = [replace(rules[0], verify={"headers": {"a": "2", "b": "1"}, "url": "https://a"})]
    assert Ruleset([*verify, *rules[1:]]).hash == Ruleset([*reordered, *rules[1:]]).hash
    # Where a rule is documented is not what it matches.
    documented = [replace(rules[0], references=("https://example.org",), line=99)]
    assert Ruleset([*documented, *rules[1:]]).hash == same
