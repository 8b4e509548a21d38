"""Every report format: golden files, SARIF schema validity, redaction, colour, determinism."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from keyscan.fingerprint import fingerprint
from keyscan.model import Finding, Skip, Summary
from keyscan.report.base import ReportContext
from keyscan.report.registry import REPORTERS
from keyscan.rules.load import load_rules
from tests.fakes import custom_token, password, rng

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0.json").read_text())


def _finding(
    rule_id: str, secret: str, path: str, line: int, column: int, **extra: object
) -> Finding:
    rules = {r.id: r for r in load_rules()}
    rule = rules[rule_id]
    return Finding(
        rule_id=rule_id,
        rule_name=rule.name,
        severity=rule.severity,
        path=path,
        line=line,
        column=column,
        end_line=line,
        end_column=column + len(secret),
        secret=secret,
        fingerprint=fingerprint(rule_id, secret),
        entropy=4.0,
        tags=rule.tags,
        **extra,  # type: ignore[arg-type]
    )


def context(show_secrets: bool = False, color: bool = False, empty: bool = False) -> ReportContext:
    r = rng(99)
    findings = (
        []
        if empty
        else [
            _finding("generic.password-assignment", password(r), "config/.env", 3, 13),
            _finding(
                "private-key.openssh", "b3Blbn" + custom_token(r) * 3, "deploy/id_ed25519", 2, 1
            ),
            _finding(
                "generic.secret-assignment",
                custom_token(r),
                "app/settings.py",
                10,
                12,
                commit="0123456789abcdef0123456789abcdef01234567",
                author="Dev One",
                date="2026-01-02T03:04:05+00:00",
                commit_count=3,
                refs=("main",),
                at_head=False,
            ),
        ]
    )
    summary = Summary(
        files_scanned=42,
        bytes_scanned=123456,
        binary_scanned=1,
        skipped=[Skip("big.bin", "too large", "20000000 bytes"), Skip("link", "symlink loop")],
        rules_active=99,
        engine="hyperscan",
    )
    return ReportContext(
        findings=findings,
        summary=summary,
        rules={r.id: r for r in load_rules()},
        show_secrets=show_secrets,
        color=color,
        tool_version="0.0.0-test",
        scan_root="/work/repo",
        started="2026-11-22T10:00:00+00:00",
        finished="2026-11-22T10:00:07+00:00",
    )


EXTENSIONS = {"text": "txt", "json": "json", "jsonl": "jsonl", "sarif": "sarif", "gitlab": "json"}


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_output_matches_golden_file(fmt: str) -> None:
    rendered = REPORTERS[fmt](context())
    golden = GOLDEN / f"report.{fmt}.{EXTENSIONS[fmt]}"
    if os.environ.get("KEYSCAN_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(rendered)
    assert rendered == golden.read_text(), (
        f"regenerate with KEYSCAN_UPDATE_GOLDEN=1 if intended ({golden})"
    )


@pytest.mark.parametrize("empty", [False, True])
def test_sarif_is_valid_against_the_official_schema(empty: bool) -> None:
    document = json.loads(REPORTERS["sarif"](context(empty=empty)))
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    assert [e.message for e in validator.iter_errors(document)] == []
    run = document["runs"][0]
    assert len(run["results"]) == (0 if empty else 3)
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["properties"]["security-severity"]
    for result in run["results"]:
        assert result["partialFingerprints"]["primaryLocationLineHash"]
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_secrets_are_redacted_unless_asked(fmt: str) -> None:
    hidden = REPORTERS[fmt](context())
    shown = REPORTERS[fmt](context(show_secrets=True))
    for finding in context().findings:
        assert finding.secret not in hidden
        assert finding.secret[:6] not in hidden
        if fmt == "sarif":
            assert finding.secret not in shown  # SARIF never carries the secret
        else:
            assert finding.secret in shown


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in REPORTERS["text"](context())
    assert "\x1b[" in REPORTERS["text"](context(color=True))


def test_jsonl_is_one_finding_per_line_sorted() -> None:
    lines = REPORTERS["jsonl"](context()).splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 3
    assert [r["path"] for r in records] == sorted(r["path"] for r in records)
    assert records[0]["commit_count"] == 3 and records[0]["at_head"] is False
    assert records[1]["secret"] == "…(16 chars)"  # nothing of a password is shown


def test_gitlab_report_has_required_fields() -> None:
    report = json.loads(REPORTERS["gitlab"](context()))
    assert report["version"].count(".") == 2
    assert report["scan"]["type"] == "secret_detection"
    assert report["scan"]["start_time"] == "2026-11-22T10:00:00"
    for vulnerability in report["vulnerabilities"]:
        assert vulnerability["id"] and vulnerability["identifiers"]
        assert vulnerability["location"]["commit"]["sha"]
        assert "raw_source_code_extract" not in vulnerability


def test_text_summary_for_a_clean_scan() -> None:
    text = REPORTERS["text"](context(empty=True))
    assert "No secrets found" in text and "42 files scanned" in text
    assert "1 too large" in text and "1 symlink loop" in text
