"""GitHub Actions output: workflow-command annotations, step outputs and the job summary."""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from keyscan.model import Finding
from keyscan.redact import shown_secret
from keyscan.rules.schema import Rule
from keyscan.sources.history import COMMIT_MESSAGE

# GitHub shows 10 error annotations per step (50 per job) and silently drops the rest.
MAX_ANNOTATIONS = 10
# A step summary over 1 MiB is rejected whole; 100 rows of at most a few hundred bytes stay far
# below that, and a longer table is not read anyway: the SARIF report has everything.
MAX_SUMMARY_ROWS = 100
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF would end or corrupt the command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also `:` and `,`, which delimit properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: Mapping[str, str | int] | None = None) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in (properties or {}).items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


@contextmanager
def stop_commands(stream: TextIO) -> Iterator[None]:
    """Scanned file names or content printed to the log must not run as workflow commands."""
    token = secrets.token_hex(16)
    stream.write(f"::stop-commands::{token}\n")
    stream.flush()
    try:
        yield
    finally:
        stream.flush()
        stream.write(f"::{token}::\n")
        stream.flush()


def by_severity(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, so capped annotations and tables keep the findings that matter most."""
    return sorted(
        findings,
        key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.path, f.line, f.column, f.rule_id),
    )


def _located(finding: Finding) -> bool:
    return finding.path != COMMIT_MESSAGE and not finding.path.startswith("(tag ")


def finding_annotation(finding: Finding, rules: Mapping[str, Rule], path_prefix: str = "") -> str:
    """One `::error` line; the secret appears only redacted, as in every report."""
    secret = shown_secret(finding, rules, False)
    commit = f" in commit {finding.commit[:12]}" if finding.commit else ""
    if _located(finding):
        message = f"{finding.rule_name} ({secret}) added{commit}."
        if finding.at_head is False:
            message += " A later commit removes it, but it stays in the git history."
    else:
        message = f"{finding.rule_name} ({secret}) in the {finding.path.strip('()')}{commit}."
    message += " Rotate it at the provider, then remove it (keyscan:allow marks a false positive)."
    properties: dict[str, str | int] = {}
    if _located(finding):
        properties["file"] = path_prefix + finding.path
        properties["line"] = finding.line
        properties["endLine"] = finding.end_line
        if finding.line == finding.end_line:
            properties["col"] = finding.column
            properties["endColumn"] = finding.end_column
    properties["title"] = f"keyscan: {finding.rule_id} ({finding.severity})"
    return command("error", message, properties)


def annotation_lines(
    findings: Sequence[Finding],
    rules: Mapping[str, Rule],
    limit: int = MAX_ANNOTATIONS,
    path_prefix: str = "",
) -> list[str]:
    ordered = by_severity(findings)
    lines = [finding_annotation(f, rules, path_prefix) for f in ordered[:limit]]
    rest = len(ordered) - len(lines)
    if rest > 0:
        lines.append(
            command(
                "notice",
                f"{rest} more secret{'s' if rest != 1 else ''} not annotated (GitHub shows only "
                f"{MAX_ANNOTATIONS} per step): see the job summary and the SARIF report.",
                {"title": "keyscan"},
            )
        )
    return lines


def write_outputs(path: Path, values: Mapping[str, str]) -> None:
    """Append step outputs to $GITHUB_OUTPUT; the heredoc form survives any value."""
    with path.open("a", encoding="utf-8") as handle:
        for name, value in values.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def _md(text: str) -> str:
    """Text in a Markdown table cell: no markup, no HTML, no cell breaks."""
    out = []
    for char in text:
        if char in "\\`*_{}[]()#+-.!|<>~&":
            out.append("\\" + char)
        elif char in "\r\n":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class Links:
    """Where findings link to: `{server}/{repository}/blob/{commit}/{path}#L{line}`."""

    server: str = ""
    repository: str = ""
    head: str = ""

    def blob(self, finding: Finding, path_prefix: str) -> str | None:
        commit = finding.commit or self.head
        if not (self.server and self.repository and commit and _located(finding)):
            return None
        path = urllib.parse.quote(path_prefix + finding.path)
        return f"{self.server}/{self.repository}/blob/{commit}/{path}#L{finding.line}"

    def commit(self, sha: str) -> str | None:
        if not (self.server and self.repository):
            return None
        return f"{self.server}/{self.repository}/commit/{sha}"


def summary_markdown(
    findings: Sequence[Finding],
    rules: Mapping[str, Rule],
    scope: str,
    links: Links,
    notes: Sequence[str] = (),
    sarif_name: str = "",
    path_prefix: str = "",
) -> str:
    """The job summary: a headline, a table of (at most MAX_SUMMARY_ROWS) findings, what to do."""
    count = len(findings)
    if not count:
        lines = [f"### keyscan: no secrets found in {_md(scope)}", ""]
    else:
        noun = "secret" if count == 1 else "secrets"
        lines = [
            f"### keyscan: {count} {noun} found in {_md(scope)}",
            "",
            "| Severity | Rule | Location | Commit | Secret | Fingerprint |",
            "|---|---|---|---|---|---|",
        ]
        ordered = by_severity(findings)
        for finding in ordered[:MAX_SUMMARY_ROWS]:
            if _located(finding):
                where = _md(f"{path_prefix}{finding.path}:{finding.line}")
            else:
                where = _md(finding.path.strip("()"))
            url = links.blob(finding, path_prefix)
            location = f"[{where}]({url})" if url else where
            commit = ""
            if finding.commit:
                commit_url = links.commit(finding.commit)
                short = f"`{finding.commit[:12]}`"
                commit = f"[{short}]({commit_url})" if commit_url else short
                if finding.at_head is False:
                    commit += " (removed later, still in history)"
            secret = _md(shown_secret(finding, rules, False))
            lines.append(
                f"| {finding.severity} | `{finding.rule_id}` {_md(finding.rule_name)} "
                f"| {location} | {commit} | {secret} | `{finding.fingerprint[:12]}` |"
            )
        if count > MAX_SUMMARY_ROWS:
            where = f" in `{_md(sarif_name)}`" if sarif_name else ""
            lines.append("")
            lines.append(
                f"{count - MAX_SUMMARY_ROWS} more are in the SARIF report{where} "
                "(upload it with `github/codeql-action/upload-sarif`)."
            )
        lines += [
            "",
            "**What to do.** Treat each secret as compromised: revoke or rotate it at the "
            "provider first, then remove it from the code (and from the branch's commits, since "
            "git history keeps it). A false positive is silenced with a `keyscan:allow` comment "
            "on its line.",
        ]
    if notes:
        lines += ["", *(f"- {_md(note)}" for note in notes)]
    return "\n".join(lines) + "\n"


def error_summary(message: str) -> str:
    return f"### keyscan could not scan\n\n{_md(message)}\n"
