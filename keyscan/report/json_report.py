"""JSON and JSON Lines reports, and the finding/summary records other reporters reuse."""

from __future__ import annotations

import json
from typing import Any

from keyscan.model import Finding
from keyscan.redact import shown_secret
from keyscan.report.base import ReportContext

JSON_REPORT_VERSION = "1"


def sorted_findings(ctx: ReportContext) -> list[Finding]:
    """Findings in report order; the trailing keys only break ties so output is deterministic."""
    return sorted(
        ctx.findings,
        key=lambda f: (f.path, f.line, f.column, f.rule_id, f.commit or "", f.fingerprint),
    )


def utf8(text: str) -> str:
    # Paths, authors and secrets are decoded with surrogateescape so odd bytes survive the scan;
    # a lone surrogate cannot be written as UTF-8, so reports show U+FFFD in its place.
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _optional(text: str | None) -> str | None:
    return None if text is None else utf8(text)


def finding_to_dict(finding: Finding, ctx: ReportContext) -> dict[str, Any]:
    """One finding as a JSON-ready mapping, keys in their documented order."""
    rule = ctx.rules.get(finding.rule_id)
    record: dict[str, Any] = {
        "rule_id": finding.rule_id,
        "rule_name": finding.rule_name,
        "severity": finding.severity,
        "description": rule.description if rule else "",
        "path": utf8(finding.path),
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "secret": utf8(shown_secret(finding, ctx.rules, ctx.show_secrets)),
        "redacted": not ctx.show_secrets,
        "fingerprint": finding.fingerprint,
        "entropy": round(finding.entropy, 3),
        "commit": finding.commit,
        "author": _optional(finding.author),
        "date": finding.date,
        "tags": list(finding.tags),
    }
    # History audits add these; leaving them out elsewhere keeps work-tree records short.
    if finding.commit_count is not None:
        record["commit_count"] = finding.commit_count
        record["refs"] = [utf8(ref) for ref in finding.refs]
    if finding.at_head is not None:
        record["at_head"] = finding.at_head
    if finding.decoded:
        record["decoded"] = list(finding.decoded)
    if finding.verification is not None:
        record["verification"] = {
            "status": finding.verification,
            "reason": finding.verification_reason,
        }
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
        "skipped": [
            {"path": utf8(s.path), "reason": s.reason, "detail": utf8(s.detail)}
            # Workers finish in any order; sorting keeps two runs of one scan identical.
            for s in sorted(summary.skipped, key=lambda s: (s.path, s.reason, s.detail))
        ],
        "skipped_by_reason": summary.skipped_by_reason(),
        "cached_clean": summary.cached_clean,
        "replayed": summary.replayed,
        "baselined": summary.baselined,
        "incomplete": list(summary.incomplete),
    }


def render_json(ctx: ReportContext) -> str:
    document = {
        "version": JSON_REPORT_VERSION,
        "tool": {"name": "keyscan", "version": ctx.tool_version},
        "findings": [finding_to_dict(f, ctx) for f in sorted_findings(ctx)],
        "summary": summary_to_dict(ctx),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_jsonl(ctx: ReportContext) -> str:
    # No trailer record: every line is a finding, so batches concatenate and grep/jq stay simple.
    return "".join(
        json.dumps(finding_to_dict(f, ctx), ensure_ascii=False) + "\n" for f in sorted_findings(ctx)
    )
