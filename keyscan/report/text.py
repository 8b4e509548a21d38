"""The default human report: findings grouped by file, then a summary of what was scanned."""

from __future__ import annotations

from itertools import groupby

from keyscan.redact import shown_secret
from keyscan.report.base import ReportContext
from keyscan.report.json_report import sorted_findings

_SEVERITY_COLOURS = {
    "critical": "\x1b[1;31m",
    "high": "\x1b[31m",
    "medium": "\x1b[33m",
    "low": "\x1b[36m",
}
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"


def _paint(text: str, code: str, enabled: bool) -> str:
    return f"{code}{text}{_RESET}" if enabled else text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render_text(ctx: ReportContext) -> str:
    lines: list[str] = []
    colour = ctx.color
    for path, group in groupby(sorted_findings(ctx), key=lambda f: f.path):
        lines.append(_paint(path, _BOLD, colour))
        for finding in group:
            secret = shown_secret(finding, ctx.rules, ctx.show_secrets)
            severity = _paint(
                f"{finding.severity:<8}", _SEVERITY_COLOURS.get(finding.severity, ""), colour
            )
            where = f"{finding.line}:{finding.column}"
            lines.append(f"  {where:<9} {severity} {finding.rule_id:<34} {secret}")
            extra = []
            if finding.commit:
                extra.append(f"commit {finding.commit[:12]}")
            if finding.author:
                extra.append(f"by {finding.author}")
            if finding.date:
                extra.append(finding.date[:10])
            if finding.commit_count is not None:
                extra.append(f"in {_plural(finding.commit_count, 'commit')}")
            if finding.refs:
                extra.append(
                    "refs " + ", ".join(finding.refs[:5]) + (" …" if len(finding.refs) > 5 else "")
                )
            if finding.at_head is False:
                extra.append("not in HEAD (only in history)")
            if extra:
                lines.append(_paint("            " + " · ".join(extra), _DIM, colour))
        lines.append("")
    summary = ctx.summary
    scanned = (
        f"{_plural(summary.files_scanned, 'file')} scanned ({summary.bytes_scanned:,} bytes"
        + (f", {summary.binary_scanned} binary" if summary.binary_scanned else "")
        + f") with {_plural(summary.rules_active, 'rule')} [{summary.engine}]"
    )
    if summary.cached_clean:
        scanned += f"; {summary.cached_clean} known-clean blobs skipped (cache)"
    if ctx.findings:
        head = _paint(f"{_plural(len(ctx.findings), 'finding')}", _SEVERITY_COLOURS["high"], colour)
        lines.append(f"{head}: {scanned}")
        if not ctx.show_secrets:
            lines.append("Secrets are redacted; --show-secrets reveals them.")
    else:
        lines.append(_paint("No secrets found", "\x1b[32m", colour) + f": {scanned}")
    if summary.baselined:
        lines.append(
            f"{_plural(summary.baselined, 'finding')} accepted by the baseline, not shown."
        )
    skipped = summary.skipped_by_reason()
    if skipped:
        lines.append(
            "Skipped: " + ", ".join(f"{count} {reason}" for reason, count in skipped.items())
        )
    return "\n".join(lines) + "\n"
