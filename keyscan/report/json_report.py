"""JSON and JSON Lines reports: stable snake_case keys, redacted unless asked otherwise."""

from __future__ import annotations

import json
from typing import Any

from keyscan.model import Finding
from keyscan.redact import shown_secret
from keyscan.report.base import ReportContext


def sorted_findings(ctx: ReportContext) -> list[Finding]:
    return sorted(ctx.findings, key=lambda f: (f.path, f.line, f.column, f.rule_id, f.commit or ""))


def finding_to_dict(finding: Finding, ctx: ReportContext) -> dict[str, Any]:
    rule = ctx.rules.get(finding.rule_id)
    record: dict[str, Any] = {
        "rule_id": finding.rule_id,
        "rule_name": finding.rule_name,
        "severity": finding.severity,
        "description": rule.description if rule else "",
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "secret": shown_secret(finding, ctx.rules, ctx.show_secrets),
        "redacted": not ctx.show_secrets,
        "fingerprint": finding.fingerprint,
        "entropy": round(finding.entropy, 3),
        "commit": finding.commit,
        "author": finding.author,
        "date": finding.date,
        "tags": list(finding.tags),
    }
    if finding.commit_count is not None:
        record["commit_count"] = finding.commit_count
        record["refs"] = list(finding.refs)
    if finding.at_head is not None:
        record["at_head"] = finding.at_head
    return record


def summary_to_dict(ctx: ReportContext) -> dict[str, Any]:
    summary = ctx.summary
    return {
        "files_scanned": summary.files_scanned,
        "bytes_scanned": summary.bytes_scanned,
        "binary_scanned": summary.binary_scanned,
        "findings": len(ctx.findings),
        "rules_active": summary.rules_active,
        "engine": summary.engine,
        "cached_clean": summary.cached_clean,
        "baselined": summary.baselined,
        "skipped": [
            {"path": s.path, "reason": s.reason, "detail": s.detail} for s in summary.skipped
        ],
        "skipped_by_reason": summary.skipped_by_reason(),
    }


def render_json(ctx: ReportContext) -> str:
    document = {
        "version": "1",
        "tool": {"name": "keyscan", "version": ctx.tool_version},
        "findings": [finding_to_dict(f, ctx) for f in sorted_findings(ctx)],
        "summary": summary_to_dict(ctx),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_jsonl(ctx: ReportContext) -> str:
    return "".join(
        json.dumps(finding_to_dict(f, ctx), ensure_ascii=False) + "\n" for f in sorted_findings(ctx)
    )
