"""The default human report: findings grouped by file, then a summary of what was scanned."""

from __future__ import annotations

import unicodedata
from itertools import groupby

from keyscan.model import Finding, Summary
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
_GREEN = "\x1b[32m"
_RED = "\x1b[1;31m"
_RESET = "\x1b[0m"
_SEVERITY_WIDTH = max(len(s) for s in _SEVERITY_COLOURS)
_MAX_REFS = 5
# Paths named per kind of skip in the summary, and the kinds never named there.
_SKIPPED_NAMED = 3
_SKIPS_ASKED_FOR = frozenset({"binary", "allowlisted path"})


def _paint(text: str, code: str, enabled: bool) -> str:
    return f"{code}{text}{_RESET}" if enabled and code else text


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _safe(text: str) -> str:
    # File names, authors and secrets come from the scanned repository: an escape sequence in
    # one must not drive the user's terminal, and a stray byte must not crash the UTF-8 write.
    return "".join(
        _escape(c) if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") else c for c in text
    )


def _provenance(finding: Finding) -> list[str]:
    parts: list[str] = []
    if finding.commit:
        parts.append(f"commit {finding.commit[:12]}")
    if finding.author:
        parts.append(f"by {_safe(finding.author)}")
    if finding.date:
        parts.append(finding.date[:10])
    if finding.commit_count is not None:
        parts.append(f"in {_plural(finding.commit_count, 'commit')}")
    if finding.refs:
        refs = ", ".join(_safe(ref) for ref in finding.refs[:_MAX_REFS])
        more = len(finding.refs) - _MAX_REFS
        parts.append(f"refs {refs}" + (f" and {more} more" if more > 0 else ""))
    if finding.at_head is False:
        parts.append("not in HEAD (only in history)")
    if finding.decoded:
        parts.append("decoded from " + " → ".join(finding.decoded))
    if finding.verification:
        reason = _safe(finding.verification_reason)
        parts.append(f"verified {finding.verification.upper()} ({reason})")
    return parts


def _findings_block(ctx: ReportContext) -> list[str]:
    findings = sorted_findings(ctx)
    if not findings:
        return []
    # One set of column widths for the whole report so every file's rows line up.
    where_width = max(len(f"{f.line}:{f.column}") for f in findings)
    id_width = max(len(f.rule_id) for f in findings)
    # A scanned repository's own .keyscan.yaml can name rules, so names are escaped as well.
    name_width = max(len(_safe(f.rule_name)) for f in findings)
    indent = " " * (2 + where_width + 2)
    lines: list[str] = []
    for path, group in groupby(findings, key=lambda f: f.path):
        lines.append(_paint(_safe(path), _BOLD, ctx.color))
        for finding in group:
            where = f"{finding.line}:{finding.column}"
            severity = _paint(
                finding.severity.ljust(_SEVERITY_WIDTH),
                _SEVERITY_COLOURS.get(finding.severity, ""),
                ctx.color,
            )
            secret = _safe(shown_secret(finding, ctx.rules, ctx.show_secrets))
            lines.append(
                f"  {where:<{where_width}}  {severity}  {finding.rule_id:<{id_width}}  "
                f"{_safe(finding.rule_name):<{name_width}}  {secret}"
            )
            extra = _provenance(finding)
            if extra:
                lines.append(_paint(indent + " · ".join(extra), _DIM, ctx.color))
        lines.append("")
    return lines


def _summary_block(ctx: ReportContext) -> list[str]:
    summary = ctx.summary
    count = len(ctx.findings)
    if count:
        head = _paint(f"{_plural(count, 'secret')} found", _RED, ctx.color)
        if not ctx.show_secrets:
            head += " (redacted; --show-secrets prints them in clear)"
    else:
        head = _paint("No secrets found", _GREEN, ctx.color)
    by_reason = summary.skipped_by_reason()
    skipped = f"{len(summary.skipped):,}"
    if by_reason:
        skipped += " (" + ", ".join(f"{n:,} {why}" for why, n in by_reason.items()) + ")"
    rows = [
        ("findings", f"{count:,}"),
        ("files scanned", f"{summary.files_scanned:,} ({_plural(summary.bytes_scanned, 'byte')})"),
        ("binary files", f"{summary.binary_scanned:,} scanned"),
        ("skipped", skipped),
        ("rules active", f"{summary.rules_active:,}"),
        ("engine", summary.engine or "unknown"),
    ]
    if summary.cached_clean:
        rows.append(("cache", f"{summary.cached_clean:,} known-clean blobs not rescanned"))
    if summary.replayed:
        rows.append(
            (
                "replayed",
                f"{summary.replayed:,} objects with findings, from the last audit of these refs "
                "(--show-secrets rescans them)",
            )
        )
    if summary.baselined:
        rows.append(("baseline", f"{summary.baselined:,} accepted findings not shown"))
    if summary.incomplete:
        rows.append(("incomplete", "; ".join(summary.incomplete)))
    width = max(len(label) for label, _ in rows)
    lines = [head]
    for label, value in rows:
        lines.append(f"  {label:<{width}}  {value}")
        if label == "skipped":
            lines.extend(f"  {'':<{width}}  {named}" for named in _skipped_paths(summary))
    return lines


def _skipped_paths(summary: Summary) -> list[str]:
    """A few paths of each kind of skip: what was not scanned is what the user has to look at
    themselves (a file too large, a submodule). Binary files and allowlisted paths are left
    out: --no-binary and the allowlist asked for those."""
    paths: dict[str, list[str]] = {}
    for skip in summary.skipped:
        if skip.reason not in _SKIPS_ASKED_FOR:
            paths.setdefault(skip.reason, []).append(skip.path)
    named = []
    for reason, where in sorted(paths.items()):
        shown = ", ".join(_safe(path) for path in where[:_SKIPPED_NAMED])
        more = len(where) - _SKIPPED_NAMED
        named.append(f"{reason}: {shown}" + (f" and {more:,} more" if more > 0 else ""))
    return named


def render_text(ctx: ReportContext) -> str:
    return "\n".join(_findings_block(ctx) + _summary_block(ctx)) + "\n"
