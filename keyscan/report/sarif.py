"""SARIF 2.1.0 for GitHub code scanning: rules with help, levels, fingerprints, never a secret."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from keyscan.model import Finding
from keyscan.report.base import ReportContext
from keyscan.report.json_report import sorted_findings
from keyscan.rules.schema import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/keyscan/keyscan"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub maps security-severity to its labels: > 9 critical, 7-8.9 high, 4-6.9 medium.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def _camel(name: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in name).split()
    return "".join(w[:1].upper() + w[1:] for w in words)[:255] or "Secret"


def _help(rule: Rule) -> tuple[str, str]:
    steps = (
        "Treat the credential as compromised: revoke or rotate it at the provider first, then "
        "remove it from the code (and from git history if it was pushed), and load it from a "
        "secret store or the environment instead."
    )
    text = f"{rule.description}\n\n{steps}"
    markdown = f"{rule.description}\n\n**Remediation.** {steps}"
    if rule.references:
        text += "\n\nReferences: " + " ".join(rule.references)
        markdown += "\n\n**References**\n" + "\n".join(f"- <{ref}>" for ref in rule.references)
    return text, markdown


def _rule_descriptor(rule_id: str, finding: Finding, rule: Rule | None) -> dict[str, Any]:
    name = rule.name if rule else finding.rule_name
    description = rule.description if rule else name
    help_text, help_markdown = _help(rule) if rule else (name, name)
    kind_tags = list(rule.tags) if rule else []
    return {
        "id": rule_id,
        "name": _camel(name),
        "shortDescription": {"text": name[:1024]},
        "fullDescription": {"text": description[:1024]},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": LEVELS.get(finding.severity, "warning")},
        "properties": {
            "tags": ["security", "secret", "external/cwe/cwe-798", *kind_tags],
            "precision": "medium" if rule is not None and rule.generic else "high",
            "security-severity": SECURITY_SEVERITY.get(finding.severity, "5.5"),
        },
    }


def _line_hash(finding: Finding) -> str:
    # GitHub tracks alerts by primaryLocationLineHash; derive it from the fingerprint (which is
    # already a one-way hash) so it is stable across moves and reveals nothing about the secret.
    digest = hashlib.sha256(f"{finding.rule_id}\0{finding.fingerprint}".encode()).hexdigest()
    return f"{digest[:16]}:1"


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    where = finding.path
    if finding.commit:
        where += f" (commit {finding.commit[:12]})"
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": f"{finding.rule_name} found in {where}."},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
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
            "keyscan/v1": finding.fingerprint,
            "primaryLocationLineHash": _line_hash(finding),
        },
        "properties": {"severity": finding.severity},
    }
    properties = result["properties"]
    if finding.commit:
        properties["commitSha"] = finding.commit
    if finding.author:
        properties["author"] = finding.author
    if finding.date:
        properties["date"] = finding.date
    return result


def render_sarif(ctx: ReportContext) -> str:
    findings = sorted_findings(ctx)
    rule_index: dict[str, int] = {}
    descriptors: list[dict[str, Any]] = []
    for finding in findings:
        if finding.rule_id not in rule_index:
            rule_index[finding.rule_id] = len(descriptors)
            descriptors.append(
                _rule_descriptor(finding.rule_id, finding, ctx.rules.get(finding.rule_id))
            )
    root = Path(ctx.scan_root).absolute().as_uri().rstrip("/") + "/"
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "keyscan",
                        "version": ctx.tool_version,
                        "semanticVersion": ctx.tool_version,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "automationDetails": {"id": "keyscan/"},
                "columnKind": "unicodeCodePoints",
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root}},
                "results": [_result(f, rule_index[f.rule_id]) for f in findings],
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
