"""GitLab secret detection report (schema 15.x): vulnerabilities with stable ids, no raw secret."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from keyscan.model import Finding
from keyscan.report.base import ReportContext
from keyscan.report.json_report import sorted_findings, utf8

SCHEMA_VERSION = "15.2.1"
# Fixed for good: vulnerability ids are uuid5s in this namespace, and GitLab compares ids
# between pipelines, so changing it would make every existing vulnerability look new.
_NAMESPACE = uuid.UUID("6f1d7c4e-1f59-4b8a-9c0e-6b2a54d7e0a1")
_SEVERITIES = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
_EPOCH = "1970-01-01T00:00:00"
_NO_COMMIT = "0000000"  # what GitLab's own analyzer writes for work-tree scans
_SOLUTION = (
    "Revoke or rotate the credential at its provider, load it from the environment or a "
    "secret manager instead, and remove it from git history if it was pushed."
)


def _timestamp(iso: str) -> str:
    # GitLab wants YYYY-MM-DDTHH:MM:SS with neither zone nor fraction; a zoned time is turned
    # into UTC first so the start and end of one scan never appear out of order.
    if not iso:
        return _EPOCH
    try:
        moment = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return _EPOCH
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat()


def _vulnerability_id(finding: Finding) -> str:
    # The commit is part of the identity too: a history audit can report one secret at the same
    # path and line in several commits, and each vulnerability needs its own id.
    identity = f"{finding.fingerprint}:{finding.path}:{finding.line}:{finding.commit or ''}"
    return str(uuid.uuid5(_NAMESPACE, utf8(identity)))


def _vulnerability(finding: Finding, ctx: ReportContext) -> dict[str, Any]:
    rule = ctx.rules.get(finding.rule_id)
    commit: dict[str, str] = {"sha": finding.commit or _NO_COMMIT}
    if finding.author:
        commit["author"] = utf8(finding.author)
    if finding.date:
        commit["date"] = finding.date
    entry: dict[str, Any] = {
        "id": _vulnerability_id(finding),
        "category": "secret_detection",
        "name": finding.rule_name[:255],
        "description": (rule.description if rule else finding.rule_name)
        + (f" Found inside {' → '.join(finding.decoded)}-encoded text." if finding.decoded else ""),
        "severity": _SEVERITIES.get(finding.severity, "Unknown"),
        "confidence": "Medium" if rule is None or rule.generic else "High",
        "solution": _SOLUTION,
        "identifiers": [
            {
                "type": "keyscan_rule_id",
                "name": f"keyscan rule {finding.rule_id}",
                "value": finding.rule_id,
            }
        ],
        "location": {
            "file": utf8(finding.path),
            "start_line": finding.line,
            "end_line": finding.end_line,
            "commit": commit,
        },
    }
    # GitLab uses the raw extract for token-status checks, which is exactly why it stays out
    # of the report unless the user explicitly asked for clear-text secrets.
    if ctx.show_secrets:
        entry["raw_source_code_extract"] = utf8(finding.secret)
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
            "scanner": dict(tool),
            "type": "secret_detection",
            "start_time": _timestamp(ctx.started),
            "end_time": _timestamp(ctx.finished),
            "status": "success",
        },
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
