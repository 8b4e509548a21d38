"""Every report format: golden files, SARIF schema validity, redaction, colour, determinism."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyscan import cli
from keyscan.fingerprint import fingerprint
from keyscan.model import Finding, Skip, Summary
from keyscan.redact import ELLIPSIS, redact, shown_secret
from keyscan.report.base import ReportContext
from keyscan.report.gitlab import render_gitlab
from keyscan.report.json_report import finding_to_dict, render_json, render_jsonl
from keyscan.report.registry import FORMATS, REPORTERS
from keyscan.report.sarif import render_sarif
from keyscan.report.text import render_text
from keyscan.rules.schema import Rule
from tests.fakes import custom_token, github_pat, password, random_chars, rng

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0.json").read_text())
EXTENSIONS = {"text": "txt", "json": "json", "jsonl": "jsonl", "sarif": "sarif", "gitlab": "json"}
FINDING_KEYS = [
    "rule_id",
    "rule_name",
    "severity",
    "description",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "secret",
    "redacted",
    "fingerprint",
    "entropy",
    "commit",
    "author",
    "date",
    "tags",
]
COMMIT = "0123456789abcdef0123456789abcdef01234567"

# Rules are written here rather than loaded from rules/*.yaml so that editing a built-in rule's
# wording does not change these golden files.
RULES = {
    rule.id: rule
    for rule in (
        Rule(
            id="test.github-token",
            name="Test GitHub-style token",
            description="A token shaped like a GitHub personal access token.",
            severity="critical",
            keywords=("ghp_",),
            pattern=r"(?P<secret>ghp_[A-Za-z0-9]{36})",
            tags=("source-hosting", "github"),
            references=("https://example.com/docs/revoking-tokens",),
        ),
        Rule(
            id="test.password",
            name="Test password assignment",
            description="A password assigned to a password-like name.",
            severity="high",
            keywords=("password",),
            pattern=r"password=(?P<secret>\S+)",
            kind="generic",
            tags=("password", "generic"),
        ),
        Rule(
            id="test.private-key",
            name="Test private key",
            description="A private key block.",
            severity="medium",
            keywords=("private",),
            pattern=r"(?P<secret>b3Blbn\S+)",
            tags=("private-key",),
        ),
        Rule(
            id="test.custom-token",
            name="Test custom token",
            description="A token format that exists only in keyscan's tests.",
            severity="low",
            keywords=("kst_",),
            pattern=r"(?P<secret>kst_[A-Za-z0-9]{32})",
        ),
    )
}


def make_finding(
    rule_id: str, secret: str, path: str, line: int, column: int, **extra: Any
) -> Finding:
    rule = RULES.get(rule_id)
    fields: dict[str, Any] = {
        "rule_id": rule_id,
        "rule_name": rule.name if rule else "Unknown rule",
        "severity": rule.severity if rule else "high",
        "path": path,
        "line": line,
        "column": column,
        "end_line": line,
        "end_column": column + len(secret),
        "secret": secret,
        "fingerprint": fingerprint(rule_id, secret),
        "entropy": 4.123456,
        "tags": rule.tags if rule else (),
    }
    fields.update(extra)
    return Finding(**fields)


def sample_findings() -> list[Finding]:
    """Six findings in deliberately unsorted order; the secrets come from a fixed seed."""
    r = rng(2026)
    token, other_token = github_pat(r), github_pat(r)
    key = "b3Blbn" + random_chars(r, 60)
    return [
        make_finding("test.github-token", token, "src/app.py", 12, 9),
        make_finding("test.password", password(r), "config/.env", 3, 10, decoded=("base64",)),
        make_finding(
            "test.custom-token",
            custom_token(r),
            "app/settings.py",
            10,
            12,
            commit=COMMIT,
            author="Dev One",
            date="2026-01-02T03:04:05+00:00",
            commit_count=3,
            refs=("main",),
            at_head=False,
        ),
        make_finding(
            "test.github-token",
            other_token,
            "app/settings.py",
            2,
            5,
            verification="dead",
            verification_reason="HTTP 401",
        ),
        make_finding("test.private-key", key, "deploy/id_ed25519", 2, 1, end_line=5, end_column=30),
        make_finding("test.github-token", token, "docs/setup guide#1.md", 7, 3),
    ]


def sample_summary() -> Summary:
    return Summary(
        files_scanned=42,
        bytes_scanned=123456,
        binary_scanned=1,
        skipped=[Skip("link", "symlink loop"), Skip("big.bin", "too large", "20000000 bytes")],
        rules_active=4,
        engine="hyperscan",
    )


def context(
    findings: list[Finding] | None = None,
    show_secrets: bool = False,
    color: bool = False,
    started: str = "2026-11-22T10:00:00+00:00",
    finished: str = "2026-11-22T10:00:07+00:00",
) -> ReportContext:
    return ReportContext(
        findings=sample_findings() if findings is None else findings,
        summary=sample_summary(),
        rules=RULES,
        show_secrets=show_secrets,
        color=color,
        tool_version="1.2.3-test",
        scan_root="/work/repo",
        started=started,
        finished=finished,
    )


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a parsed JSON document, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def windows(secret: str, size: int = 6) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


# --- golden files -----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["report", "clean"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_output_matches_golden_file(fmt: str, variant: str) -> None:
    ctx = context(findings=[] if variant == "clean" else None)
    rendered = REPORTERS[fmt](ctx)
    golden = GOLDEN / f"{variant}.{fmt}.{EXTENSIONS[fmt]}"
    if os.environ.get("KEYSCAN_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8"), (
        f"{golden} differs; regenerate with KEYSCAN_UPDATE_GOLDEN=1 if the change is intended"
    )


def test_golden_files_hold_no_secret() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(GOLDEN.glob("*.*"))]
    assert texts
    for finding in sample_findings():
        for text in texts:
            assert not any(w in text for w in windows(finding.secret))


def test_output_is_deterministic_whatever_the_input_order() -> None:
    shuffled = sample_findings()
    random.Random(7).shuffle(shuffled)
    for fmt in FORMATS:
        assert REPORTERS[fmt](context(findings=shuffled)) == REPORTERS[fmt](context())


# --- redaction --------------------------------------------------------------------------------


def test_redact_shows_a_short_prefix_and_nothing_else() -> None:
    assert redact("ghp_" + "x" * 36) == "ghp_…"
    assert redact("sk_live_" + "y" * 24) == "sk_l…"
    assert redact("abcdefgh") == "ab…"
    assert redact("abc") == "…"
    assert redact("") == "…"
    assert redact("ghp_" + "x" * 36, show_prefix=False) == "…"


@given(st.text())
def test_redact_never_shows_more_than_four_chars_or_a_quarter(secret: str) -> None:
    shown = redact(secret)
    assert shown.endswith(ELLIPSIS)
    prefix = shown[: -len(ELLIPSIS)]
    assert secret.startswith(prefix)
    assert len(prefix) <= 4 and len(prefix) * 4 <= len(secret)


def test_generic_and_unknown_rules_show_no_prefix() -> None:
    findings = {f.rule_id: f for f in sample_findings()}
    assert shown_secret(findings["test.github-token"], RULES, False) == "ghp_…"
    assert shown_secret(findings["test.password"], RULES, False) == ELLIPSIS
    assert shown_secret(findings["test.github-token"], {}, False) == ELLIPSIS
    assert shown_secret(findings["test.password"], RULES, True) == findings["test.password"].secret


@pytest.mark.parametrize("fmt", FORMATS)
def test_secrets_are_redacted_unless_asked(fmt: str) -> None:
    hidden = REPORTERS[fmt](context())
    shown = REPORTERS[fmt](context(show_secrets=True))
    for finding in sample_findings():
        assert not any(w in hidden for w in windows(finding.secret)), finding.rule_id
        if fmt == "sarif":
            # SARIF never carries the secret: code scanning shows it to every alert reader.
            assert not any(w in shown for w in windows(finding.secret)), finding.rule_id
        else:
            assert finding.secret in shown, finding.rule_id


def test_sarif_never_carries_even_the_redacted_prefix() -> None:
    document = json.loads(render_sarif(context(show_secrets=True)))
    assert "ghp_" not in json.dumps(document)
    assert ELLIPSIS not in json.dumps(document["runs"][0]["results"], ensure_ascii=False)


# --- text -------------------------------------------------------------------------------------


def test_text_groups_findings_by_path_in_order() -> None:
    text = render_text(context())
    paths = [line for line in text.splitlines() if line and not line.startswith(" ")]
    paths = paths[: paths.index(next(p for p in paths if "found" in p))]
    assert paths == sorted(paths) == sorted({f.path for f in sample_findings()})
    settings = text[text.index("app/settings.py") : text.index("config/.env")]
    assert settings.index("2:5") < settings.index("10:12")
    row = next(line for line in text.splitlines() if "test.password" in line)
    assert re.fullmatch(r"  3:10 +high +test\.password +Test password assignment +…", row)


def test_text_shows_commit_author_and_date() -> None:
    text = render_text(context())
    assert f"commit {COMMIT[:12]}" in text and "by Dev One" in text and "2026-01-02" in text
    assert COMMIT not in text


def test_text_names_a_few_refs_and_counts_the_rest() -> None:
    from dataclasses import replace

    [history, *_] = [f for f in sample_findings() if f.refs]
    tags = tuple(f"v1.{n}" for n in range(12))
    text = render_text(context([replace(history, refs=("main", *tags))]))
    assert "refs main, v1.0, v1.1, v1.2, v1.3 and 8 more" in text
    text = render_text(context([replace(history, refs=("main", "v1.0"))]))
    assert "refs main, v1.0 ·" in text and "more" not in text


def test_text_summary_names_a_few_paths_of_each_kind_of_skip() -> None:
    summary = Summary(
        skipped=[
            *(Skip(f"vendor/lib{n}", "submodule") for n in range(5)),
            Skip("dist/app.min.js", "too large", "20000000 bytes"),
            Skip("\x1b[2Jevil", "unreadable", "permission denied"),
            Skip("logo.png", "binary", "--no-binary"),
            Skip("tests/fixtures/key.pem", "allowlisted path"),
        ]
    )
    text = render_text(dataclasses.replace(context([]), summary=summary))
    named = [line.strip() for line in text.splitlines() if line.startswith("   ") and ":" in line]
    assert named == [
        "submodule: vendor/lib0, vendor/lib1, vendor/lib2 and 2 more",
        "too large: dist/app.min.js",
        "unreadable: \\x1b[2Jevil",
    ]


def test_text_summary_for_findings() -> None:
    text = render_text(context())
    assert "6 secrets found (redacted; --show-secrets prints them in clear)" in text
    assert re.search(r"files scanned +42 \(123,456 bytes\)", text)
    assert re.search(r"binary files +1 scanned", text)
    assert re.search(r"skipped +2 \(1 symlink loop, 1 too large\)", text)
    assert re.search(r"rules active +4", text) and re.search(r"engine +hyperscan", text)


def test_text_summary_for_a_clean_scan() -> None:
    text = render_text(context(findings=[]))
    assert text.startswith("No secrets found\n")
    assert re.search(r"findings +0\n", text) and re.search(r"files scanned +42 ", text)
    assert "1 too large" in text and "1 symlink loop" in text


def test_colour_only_when_asked() -> None:
    for fmt in FORMATS:
        assert "\x1b" not in REPORTERS[fmt](context())
        if fmt != "text":
            assert "\x1b" not in REPORTERS[fmt](context(color=True))
    coloured = render_text(context(color=True))
    assert "\x1b[1;31mcritical" in coloured and "\x1b[31mhigh" in coloured
    assert "\x1b[33mmedium" in coloured and "\x1b[36mlow" in coloured
    assert "\x1b[32mNo secrets found" in render_text(context(findings=[], color=True))


def test_text_escapes_terminal_controls_from_the_repository() -> None:
    r = rng(5)
    finding = make_finding("test.github-token", github_pat(r), "evil\x1b[2Jname.py", 1, 1)
    text = render_text(context(findings=[finding]))
    assert "\x1b" not in text and "evil\\x1b[2Jname.py" in text


def test_paths_that_are_not_utf8_do_not_break_any_format() -> None:
    r = rng(6)
    path = b"caf\xe9/key.py".decode("utf-8", "surrogateescape")
    finding = make_finding("test.github-token", github_pat(r), path, 1, 1, author="A\udcffB")
    for fmt in FORMATS:
        REPORTERS[fmt](context(findings=[finding])).encode("utf-8")
    assert "caf\\xe9/key.py" in render_text(context(findings=[finding]))
    sarif = json.loads(render_sarif(context(findings=[finding])))
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "caf%E9/key.py"


# --- JSON and JSON Lines ----------------------------------------------------------------------


def test_json_document_shape() -> None:
    document = json.loads(render_json(context()))
    assert list(document) == ["version", "tool", "findings", "summary"]
    assert document["version"] == "1"
    assert document["tool"] == {"name": "keyscan", "version": "1.2.3-test"}
    summary = document["summary"]
    assert list(summary)[:8] == [
        "files_scanned",
        "bytes_scanned",
        "binary_scanned",
        "findings",
        "rules_active",
        "engine",
        "skipped",
        "skipped_by_reason",
    ]
    assert summary["findings"] == 6 and summary["files_scanned"] == 42
    assert summary["skipped"][0] == {
        "path": "big.bin",
        "reason": "too large",
        "detail": "20000000 bytes",
    }
    assert summary["skipped_by_reason"] == {"symlink loop": 1, "too large": 1}
    for record in document["findings"]:
        assert list(record)[: len(FINDING_KEYS)] == FINDING_KEYS
        assert record["redacted"] is True and record["entropy"] == 4.123
        assert record["description"] == RULES[record["rule_id"]].description


def test_json_history_fields_only_when_known() -> None:
    lines = render_jsonl(context()).splitlines()
    records = {(r["path"], r["line"]): r for r in map(json.loads, lines)}
    history = records[("app/settings.py", 10)]
    assert history["commit"] == COMMIT and history["author"] == "Dev One"
    assert history["commit_count"] == 3 and history["refs"] == ["main"]
    assert history["at_head"] is False
    work_tree = records[("config/.env", 3)]
    assert "commit_count" not in work_tree and "at_head" not in work_tree
    assert work_tree["commit"] is None and work_tree["author"] is None


def test_jsonl_is_one_finding_per_line_and_matches_json() -> None:
    text = render_jsonl(context())
    assert text.endswith("\n")
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == 6
    assert records == json.loads(render_json(context()))["findings"]
    assert render_jsonl(context(findings=[])) == ""


def test_findings_are_sorted_in_every_structured_format() -> None:
    expected = sorted((f.path, f.line, f.column, f.rule_id) for f in sample_findings())
    records = [json.loads(line) for line in render_jsonl(context()).splitlines()]
    assert [(r["path"], r["line"], r["column"], r["rule_id"]) for r in records] == expected
    sarif = json.loads(render_sarif(context()))["runs"][0]["results"]
    regions = [
        (
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        )
        for r in sarif
    ]
    assert regions == [(e[1], e[2]) for e in expected]
    gitlab = json.loads(render_gitlab(context()))["vulnerabilities"]
    assert [(v["location"]["file"], v["location"]["start_line"]) for v in gitlab] == [
        e[:2] for e in expected
    ]


def test_finding_to_dict_without_a_known_rule() -> None:
    finding = make_finding("test.unknown", "z" * 20, "a.txt", 1, 1)
    record = finding_to_dict(finding, context(findings=[finding]))
    assert record["description"] == "" and record["secret"] == ELLIPSIS


# --- SARIF ------------------------------------------------------------------------------------


def schema_errors(document: Any) -> list[str]:
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("empty", [False, True])
def test_sarif_is_valid_against_the_official_schema(empty: bool) -> None:
    document = json.loads(render_sarif(context(findings=[] if empty else None)))
    assert schema_errors(document) == []
    run = document["runs"][0]
    assert len(run["results"]) == (0 if empty else 6)
    assert len(run["tool"]["driver"]["rules"]) == (0 if empty else 4)


def test_sarif_meets_github_code_scanning_requirements() -> None:
    document = json.loads(render_sarif(context()))
    assert document["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert document["version"] == "2.1.0" and len(document["runs"]) == 1
    run = document["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "keyscan" and driver["semanticVersion"] == "1.2.3-test"
    assert driver["informationUri"] == "https://github.com/keyscan/keyscan"
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///work/repo/"}}
    assert run["automationDetails"] == {"id": "keyscan/"}
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    for rule in rules:
        declared = RULES[rule["id"]]
        words = re.split(r"\W+", declared.name)
        assert rule["name"] == "".join(w[:1].upper() + w[1:] for w in words)
        assert rule["shortDescription"]["text"] == declared.name
        assert rule["fullDescription"]["text"] == declared.description
        assert len(rule["fullDescription"]["text"]) <= 1024
        for help_text in (rule["help"]["text"], rule["help"]["markdown"]):
            assert "Revoke or rotate" in help_text and "git history" in help_text
        assert rule["properties"]["tags"][:3] == ["security", "secret", "external/cwe/cwe-798"]
        assert rule["properties"]["precision"] == ("medium" if declared.generic else "high")
    by_id = {r["id"]: r for r in rules}
    assert "https://example.com/docs/revoking-tokens" in by_id["test.github-token"]["help"]["text"]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    severities = {r["id"]: r["properties"]["security-severity"] for r in rules}
    assert levels == {
        "test.github-token": "error",
        "test.password": "error",
        "test.private-key": "warning",
        "test.custom-token": "note",
    }
    assert severities == {
        "test.github-token": "9.5",
        "test.password": "8.0",
        "test.private-key": "5.5",
        "test.custom-token": "3.0",
    }
    line_hashes = set()
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == levels[result["ruleId"]]
        assert result["message"]["text"]
        fingerprints = result["partialFingerprints"]
        assert re.fullmatch(r"[0-9a-f]{64}", fingerprints["keyscan/v1"])
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        # GitHub tracks an alert by file and line hash, so the pair must be unique.
        line_hashes.add(
            (location["artifactLocation"]["uri"], fingerprints["primaryLocationLineHash"])
        )
    assert len(line_hashes) == len(run["results"])
    assert not [key for key, _ in walk(document) if key == "snippet"]


def test_sarif_regions_and_uris() -> None:
    results = json.loads(render_sarif(context()))["runs"][0]["results"]
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in results}
    assert "docs/setup%20guide%231.md" in by_uri
    key = by_uri["deploy/id_ed25519"]
    assert key["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 2,
        "startColumn": 1,
        "endLine": 5,
        "endColumn": 30,
    }
    app = by_uri["src/app.py"]["locations"][0]["physicalLocation"]["region"]
    assert app["startColumn"] == 9 and app["endColumn"] == 9 + 40  # exclusive end
    history = by_uri["app/settings.py"]
    assert history["message"]["text"] == (
        f"Test custom token found in app/settings.py (commit {COMMIT[:12]})."
    )
    assert history["properties"] == {
        "commitSha": COMMIT,
        "author": "Dev One",
        "date": "2026-01-02T03:04:05+00:00",
        "severity": "low",
    }


def test_sarif_line_hash_is_stable_when_the_secret_moves() -> None:
    r = rng(11)
    token = github_pat(r)
    before = make_finding("test.github-token", token, "a.py", 3, 1)
    after = make_finding("test.github-token", token, "a.py", 30, 8)

    def line_hash(finding: Finding) -> str:
        result = json.loads(render_sarif(context(findings=[finding])))["runs"][0]["results"][0]
        return str(result["partialFingerprints"]["primaryLocationLineHash"])

    assert line_hash(before) == line_hash(after)
    assert token not in line_hash(before)


def test_sarif_two_copies_in_one_file_are_two_alerts() -> None:
    token = github_pat(rng(12))
    copies = [make_finding("test.github-token", token, "a.py", n, 1) for n in (9, 4)]
    results = json.loads(render_sarif(context(findings=copies)))["runs"][0]["results"]
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]
    assert hashes[0].endswith(":1") and hashes[1] == hashes[0][:-1] + "2"


def test_sarif_for_a_rule_the_context_does_not_know_is_still_complete() -> None:
    finding = make_finding("test.unknown", "z" * 20, "a.txt", 1, 1)
    document = json.loads(render_sarif(context(findings=[finding])))
    assert schema_errors(document) == []
    [rule] = document["runs"][0]["tool"]["driver"]["rules"]
    assert rule["fullDescription"]["text"] and rule["help"]["text"]
    assert rule["properties"]["precision"] == "medium"


def test_sarif_omits_semantic_version_that_is_not_semver() -> None:
    ctx = ReportContext(findings=[], summary=Summary(), rules={}, tool_version="0.1.dev3")
    driver = json.loads(render_sarif(ctx))["runs"][0]["tool"]["driver"]
    assert driver["version"] == "0.1.dev3" and "semanticVersion" not in driver


def test_sarif_invocation_says_whether_the_scan_was_complete() -> None:
    run = json.loads(render_sarif(context()))["runs"][0]
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is True
    assert invocation["startTimeUtc"] == "2026-11-22T10:00:00Z"
    assert invocation["endTimeUtc"] == "2026-11-22T10:00:07Z"
    skipped = {n["message"]["text"]: n["level"] for n in invocation["toolExecutionNotifications"]}
    assert skipped == {"1 skipped: symlink loop": "warning", "1 skipped: too large": "warning"}

    missing = "repo: 2 object(s) missing from the repository, first 0123abcd"
    summary = Summary(incomplete=[missing], skipped=[Skip("0123abcd", "missing object")])
    ctx = ReportContext(findings=sample_findings(), summary=summary, rules=RULES)
    document = json.loads(render_sarif(ctx))
    assert schema_errors(document) == []
    [invocation] = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert "startTimeUtc" not in invocation
    assert invocation["toolExecutionNotifications"][0] == {
        "level": "error",
        "message": {"text": missing},
        "descriptor": {"id": "incomplete"},
    }
    # The findings of the part that was read are still reported.
    assert len(document["runs"][0]["results"]) == len(sample_findings())


def test_sarif_root_uri_of_the_filesystem_root() -> None:
    ctx = ReportContext(findings=[], summary=Summary(), rules={}, scan_root="/")
    run = json.loads(render_sarif(ctx))["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///"


# --- GitLab -----------------------------------------------------------------------------------


def test_gitlab_report_has_the_required_fields() -> None:
    report = json.loads(render_gitlab(context()))
    assert report["version"] == "15.2.1"
    scan = report["scan"]
    for tool in (scan["analyzer"], scan["scanner"]):
        assert tool == {
            "id": "keyscan",
            "name": "keyscan",
            "version": "1.2.3-test",
            "vendor": {"name": "keyscan"},
        }
    assert scan["type"] == "secret_detection" and scan["status"] == "success"
    assert scan["start_time"] == "2026-11-22T10:00:00"
    assert scan["end_time"] == "2026-11-22T10:00:07"
    vulnerabilities = report["vulnerabilities"]
    assert len(vulnerabilities) == 6
    assert len({v["id"] for v in vulnerabilities}) == 6
    for vulnerability in vulnerabilities:
        assert uuid.UUID(vulnerability["id"]).version == 5
        assert vulnerability["category"] == "secret_detection"
        assert vulnerability["name"] and vulnerability["description"]
        assert vulnerability["severity"] in ("Critical", "High", "Medium", "Low")
        rule = RULES[vulnerability["identifiers"][0]["value"]]
        assert vulnerability["confidence"] == ("Medium" if rule.generic else "High")
        assert vulnerability["identifiers"] == [
            {"type": "keyscan_rule_id", "name": f"keyscan rule {rule.id}", "value": rule.id}
        ]
        location = vulnerability["location"]
        assert location["file"] and location["start_line"] <= location["end_line"]
        assert location["commit"]["sha"]
        assert "raw_source_code_extract" not in vulnerability
    shas = {v["location"]["commit"]["sha"] for v in vulnerabilities}
    assert shas == {COMMIT, "0000000"}


def test_gitlab_ids_are_deterministic() -> None:
    first = [v["id"] for v in json.loads(render_gitlab(context()))["vulnerabilities"]]
    again = [v["id"] for v in json.loads(render_gitlab(context()))["vulnerabilities"]]
    assert first == again


def test_gitlab_raw_extract_only_with_show_secrets() -> None:
    report = json.loads(render_gitlab(context(show_secrets=True)))
    secrets = {f.secret for f in sample_findings()}
    assert {v["raw_source_code_extract"] for v in report["vulnerabilities"]} == secrets


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        ("", "1970-01-01T00:00:00"),
        ("not a time", "1970-01-01T00:00:00"),
        ("2026-11-22T12:00:00.123456+02:00", "2026-11-22T10:00:00"),
        ("2026-11-22T10:00:00Z", "2026-11-22T10:00:00"),
        ("2026-11-22T10:00:00", "2026-11-22T10:00:00"),
    ],
)
def test_gitlab_times(started: str, expected: str) -> None:
    report = json.loads(render_gitlab(context(findings=[], started=started, finished="")))
    assert report["scan"]["start_time"] == expected
    assert report["scan"]["end_time"] == "1970-01-01T00:00:00"


# --- registry ---------------------------------------------------------------------------------


def test_registry_offers_every_format_the_cli_accepts() -> None:
    assert FORMATS == ("text", "json", "jsonl", "sarif", "gitlab")
    assert set(cli.FORMATS) == set(FORMATS)
    assert REPORTERS["text"] is render_text and REPORTERS["gitlab"] is render_gitlab
