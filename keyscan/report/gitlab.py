"""GitLab secret detection report (schema 15.x): vulnerabilities with stable ids, no raw secret."""

from __future__ import annotations

import json
import uuid
from typing import Any

from keyscan.model import Finding
from keyscan.report.base import ReportContext
from keyscan.report.json_report import sorted_findings

SCHEMA_VERSION = "15.2.1"
_NAMESPACE = uuid.UUID("6f1d7c4e-1f59-4b8a-9c0e-6b2a54d7e0a1")
_SEVERITIES = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}


def _timestamp(iso: str) -> str:
    # GitLab wants YYYY-MM-DDTHH:MM:SS without zone or fraction.
    return iso[:19] if len(iso) >= 19 else "1970-01-01T00:00:00"


def _vulnerability(finding: Finding, ctx: ReportContext) -> dict[str, Any]:
    rule = ctx.rules.get(finding.rule_id)
    identity = f"{finding.fingerprint}:{finding.path}:{finding.line}:{finding.commit or ''}"
    entry: dict[str, Any] = {
        "id": str(uuid.uuid5(_NAMESPACE, identity)),
        "category": "secret_detection",
        "name": finding.rule_name[:255],
        "description": rule.description if rule else finding.rule_name,
        "severity": _SEVERITIES.get(finding.severity, "Unknown"),
        "confidence": "Medium" if rule is not None and rule.generic else "High",
        "solution": "Revoke or rotate the credential, then remove it from the repository.",
        "identifiers": [
            {
                "type": "keyscan_rule_id",
                "name": f"keyscan rule {finding.rule_id}",
                "value": finding.rule_id,
            }
        ],
        "location": {
            "file": finding.path,
            "start_line": finding.line,
            "end_line": finding.end_line,
            "commit": {"sha": finding.commit or "0000000"},
        },
    }
    if finding.author:
        entry["location"]["commit"]["author"] = finding.author
    if finding.date:
        entry["location"]["commit"]["date"] = finding.date
    if ctx.show_secrets:
        entry["raw_source_code_extract"] = finding.secret
    return entry


def render_gitlab(ctx: ReportContext) -> str:
    tool = {
        "id": "keyscan",
        "name": "keyscan",
        "version": ctx.tool_version,
        "vendor": {"name": "keyscan"},
    }
    report = {
        "version": SCHEMA_VERSION,
        "vulnerabilities": [_vulnerability(f, ctx) for f in sorted_findings(ctx)],
        "scan": {
            "analyzer": tool,
            "scanner": tool,
            "type": "secret_detection",
            "start_time": _timestamp(ctx.started),
            "end_time": _timestamp(ctx.finished),
            "status": "success",
        },
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
