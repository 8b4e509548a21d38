"""SARIF 2.1.0 for GitHub code scanning: rules with help, levels, fingerprints, never a secret."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from keyscan.model import Finding
from keyscan.report.base import ReportContext
from keyscan.report.json_report import sorted_findings, utf8
from keyscan.rules.schema import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://github.com/keyscan/keyscan"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "keyscan/v1"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub labels security-severity > 9 critical, 7-8.9 high, 4-6.9 medium, below that low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
BASE_TAGS = ("security", "secret", "external/cwe/cwe-798")
_GITHUB_TEXT_LIMIT = 1024  # shortDescription and fullDescription
_GITHUB_NAME_LIMIT = 255
# SemVer 2.0.0, which SARIF requires of semanticVersion.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

_STEPS = (
    "Revoke or rotate the credential where it was issued: in the provider's console or API; "
    "for a password, change it; for a private key, remove its public key from every server and "
    "service that trusts it. Deleting it from the code does not make it safe, because anyone "
    "who could read the repository may already have copied it.",
    "Load the new credential at run time from the environment or a secret manager instead of "
    "writing it into the code or configuration.",
    "If it was committed, remove it from git history (for example with git filter-repo) and "
    "force-push, or once it is revoked accept it with `keyscan baseline update`.",
    "Check the provider's access logs for use of the credential since it was committed.",
)
_FALSE_POSITIVE = (
    "If this is not a secret, add `keyscan:allow {rule_id} reason=...` to the line, or a "
    "`fingerprint:` entry to .keyscanignore for files that cannot carry a comment."
)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _camel(name: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in name).split()
    return _clip("".join(w[:1].upper() + w[1:] for w in words), _GITHUB_NAME_LIMIT) or "Secret"


def _help(rule_id: str, description: str, references: Sequence[str]) -> dict[str, str]:
    false_positive = _FALSE_POSITIVE.format(rule_id=rule_id)
    text = "\n".join(
        [
            description,
            "",
            "How to fix:",
            *(f"{n}. {step}" for n, step in enumerate(_STEPS, 1)),
            "",
            false_positive,
        ]
    )
    markdown = "\n".join(
        [
            description,
            "",
            "**How to fix**",
            "",
            *(f"{n}. {step}" for n, step in enumerate(_STEPS, 1)),
            "",
            false_positive,
        ]
    )
    if references:
        text += "\n\nReferences:\n" + "\n".join(f"- {ref}" for ref in references)
        markdown += "\n\n**References**\n\n" + "\n".join(f"- <{ref}>" for ref in references)
    return {"text": text, "markdown": markdown}


def _descriptor(finding: Finding, rule: Rule | None) -> dict[str, Any]:
    # A finding whose rule the context lacks still gets a complete descriptor: GitHub rejects
    # rules without fullDescription or help, and the rule must not vanish from the log.
    name = rule.name if rule else finding.rule_name
    description = rule.description if rule else f"{name}."
    severity = rule.severity if rule else finding.severity
    tags = list(dict.fromkeys([*BASE_TAGS, *(rule.tags if rule else finding.tags)]))
    return {
        "id": finding.rule_id,
        "name": _camel(name),
        "shortDescription": {"text": _clip(name, _GITHUB_TEXT_LIMIT)},
        "fullDescription": {"text": _clip(description, _GITHUB_TEXT_LIMIT)},
        "help": _help(finding.rule_id, description, rule.references if rule else ()),
        "defaultConfiguration": {"level": LEVELS.get(severity, "warning")},
        "properties": {
            "tags": tags,
            "precision": "high" if rule is not None and not rule.generic else "medium",
            "security-severity": SECURITY_SEVERITY.get(severity, "5.5"),
        },
    }


def _line_hash(finding: Finding, occurrence: int) -> str:
    # GitHub matches alerts across runs by this hash. Built from the fingerprint (itself a
    # one-way hash of rule and secret) it survives edits that move the line and reveals nothing
    # of the secret; the ":n" ordinal keeps two copies of one secret in one file two alerts.
    digest = hashlib.sha256(f"{finding.rule_id}\0{finding.fingerprint}".encode()).hexdigest()
    return f"{digest[:16]}:{occurrence}"


def _artifact_location(path: str) -> dict[str, str]:
    # SARIF wants a URI reference: percent-encode the raw bytes so spaces, '#', '%' and names
    # that are not UTF-8 all survive the round trip.
    raw = path.encode("utf-8", "surrogateescape")
    if PurePosixPath(path).is_absolute():
        return {"uri": "file://" + urllib.parse.quote(raw, safe="/")}
    return {"uri": urllib.parse.quote(raw, safe="/"), "uriBaseId": SRCROOT}


def _result(finding: Finding, rule_index: int, occurrence: int) -> dict[str, Any]:
    # The message names the rule and the place only: never the secret, not even redacted, since
    # code scanning shows messages to everyone who can read the repository's alerts.
    where = utf8(finding.path)
    if finding.commit:
        where += f" (commit {finding.commit[:12]})"
    properties: dict[str, Any] = {}
    if finding.commit:
        properties["commitSha"] = finding.commit
    if finding.author:
        properties["author"] = utf8(finding.author)
    if finding.date:
        properties["date"] = finding.date
    properties["severity"] = finding.severity
    if finding.decoded:
        properties["decoded"] = list(finding.decoded)
    if finding.verification:
        properties["verification"] = finding.verification
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": f"{finding.rule_name} found in {where}."},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _artifact_location(finding.path),
                    "region": {
                        "startLine": finding.line,
                        "startColumn": finding.column,
                        "endLine": finding.end_line,
                        "endColumn": finding.end_column,
                    },
                }
            }
        ],
        "partialFingerprints": {
            FINGERPRINT_KEY: finding.fingerprint,
            "primaryLocationLineHash": _line_hash(finding, occurrence),
        },
        "properties": properties,
    }


def _root_uri(scan_root: str) -> str:
    uri = Path(scan_root).absolute().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _driver(ctx: ReportContext, rules: list[dict[str, Any]]) -> dict[str, Any]:
    driver: dict[str, Any] = {"name": "keyscan", "version": ctx.tool_version}
    if _SEMVER.match(ctx.tool_version):
        driver["semanticVersion"] = ctx.tool_version
    driver["informationUri"] = INFORMATION_URI
    driver["rules"] = rules
    return driver


def _utc(timestamp: str) -> str:
    # SARIF times are UTC written with a Z (SARIF 2.1.0, 3.9); the scan records +00:00.
    return timestamp.removesuffix("+00:00") + "Z"


def _invocation(ctx: ReportContext) -> dict[str, Any]:
    """Whether the scan covered everything it was asked to, and what it could not read.

    A missing object or an unreadable file is not an alert about the code, so it goes here,
    where code scanning shows tool problems, instead of among the results."""
    summary = ctx.summary
    notifications: list[dict[str, Any]] = [
        {"level": "error", "message": {"text": text}, "descriptor": {"id": "incomplete"}}
        for text in summary.incomplete
    ]
    notifications += [
        {
            "level": "warning",
            "message": {"text": f"{count} skipped: {reason}"},
            "descriptor": {"id": "skipped"},
        }
        for reason, count in summary.skipped_by_reason().items()
    ]
    invocation: dict[str, Any] = {"executionSuccessful": not summary.incomplete}
    if ctx.started:
        invocation["startTimeUtc"] = _utc(ctx.started)
    if ctx.finished:
        invocation["endTimeUtc"] = _utc(ctx.finished)
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def render_sarif(ctx: ReportContext) -> str:
    findings = sorted_findings(ctx)
    first: dict[str, Finding] = {}
    for finding in findings:
        first.setdefault(finding.rule_id, finding)
    rule_ids = sorted(first)
    rule_index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    descriptors = [_descriptor(first[r], ctx.rules.get(r)) for r in rule_ids]
    seen: dict[tuple[str, str, str, str], int] = {}
    results = []
    for finding in findings:
        key = (finding.commit or "", finding.path, finding.rule_id, finding.fingerprint)
        seen[key] = seen.get(key, 0) + 1
        results.append(_result(finding, rule_index[finding.rule_id], seen[key]))
    log = {
        "$schema": SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": _driver(ctx, descriptors)},
                "automationDetails": {"id": "keyscan/"},
                "invocations": [_invocation(ctx)],
                "columnKind": "unicodeCodePoints",
                "originalUriBaseIds": {SRCROOT: {"uri": _root_uri(ctx.scan_root)}},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
