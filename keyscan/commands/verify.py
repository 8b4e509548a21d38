"""`keyscan verify REPORT`: ask each provider, read-only, whether the reported keys are live."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from keyscan import __version__
from keyscan.cachedir import default_cache_dir
from keyscan.commands.netoptions import network_options, network_options_from, target_options
from keyscan.output import write_report
from keyscan.remote.session import (
    NetworkOptions,
    direct_target,
    make_client,
    recover_targets,
    trusted_specs,
)
from keyscan.remote.targets import ReportedFinding, Target, read_report
from keyscan.remote.verifier import LIVE, UNKNOWN, Verification, Verifier, distinct_key


def verify_targets(
    targets: list[Target], options: NetworkOptions, cache_dir: Path | None
) -> dict[str, Verification]:
    """Verdicts keyed by `distinct_key`; shared by `keyscan verify` and `keyscan scan --verify`."""
    specs = trusted_specs(options, cache_dir)
    verifier = Verifier(specs, make_client(options), options.concurrency)
    return verifier.verify_all(targets)


@click.command("verify")
@target_options
@click.option("-f", "--format", "format_", type=click.Choice(("text", "json")), default="text")
@click.option("-o", "--output", metavar="FILE", help="Write the result to FILE.")
@network_options
def verify_command(
    report: Path | None,
    rule_id: str | None,
    secret_file: str | None,
    root: Path,
    format_: str,
    output: str | None,
    **values: Any,
) -> None:
    """Mark each finding of REPORT (keyscan JSON/JSONL) live, dead or unknown.

    Exit 0 when no key is live or unknown, 1 otherwise, 2 on errors.
    """
    options = network_options_from(values)
    cache_dir = default_cache_dir()
    reported: list[ReportedFinding]
    if rule_id or secret_file:
        if report or not (rule_id and secret_file):
            raise click.UsageError("give REPORT, or --rule with --secret-file")
        specs = trusted_specs(options, cache_dir)
        target = direct_target(rule_id, secret_file, specs)
        targets = [target]
        missing: list[tuple[ReportedFinding, str]] = []
        reported = [ReportedFinding(rule_id, target.fingerprint, target.path, 0)]
    elif report:
        reported = read_report(report)
        targets, missing = recover_targets(reported, root, cache_dir)
    else:
        raise click.UsageError("give REPORT, or --rule with --secret-file")
    verdicts = verify_targets(targets, options, cache_dir)
    by_fingerprint = {t.fingerprint: verdicts[distinct_key(t)] for t in targets}
    gone = {item.fingerprint: reason for item, reason in missing}
    rows = []
    for item in reported:
        verdict = by_fingerprint.get(item.fingerprint) or Verification(
            UNKNOWN, gone.get(item.fingerprint, "not verified")
        )
        rows.append((item, verdict))
    text = _render_json(rows) if format_ == "json" else _render_text(rows)
    write_report(text, output)
    sys.exit(1 if any(v.status in (LIVE, UNKNOWN) for _, v in rows) else 0)


def verification_record(verdict: Verification) -> dict[str, Any]:
    record: dict[str, Any] = {"status": verdict.status, "reason": verdict.reason}
    if verdict.principal:
        record["principal"] = verdict.principal
    return record


def _render_json(rows: list[tuple[ReportedFinding, Verification]]) -> str:
    findings = []
    for item, verdict in rows:
        record = dict(item.record) or {
            "rule_id": item.rule_id,
            "fingerprint": item.fingerprint,
            "path": item.path,
            "line": item.line,
        }
        record["verification"] = verification_record(verdict)
        findings.append(record)
    counts = {s: sum(1 for _, v in rows if v.status == s) for s in ("live", "dead", "unknown")}
    document = {
        "version": "1",
        "tool": {"name": "keyscan", "version": __version__},
        "findings": findings,
        "summary": {"findings": len(rows), **counts},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _render_text(rows: list[tuple[ReportedFinding, Verification]]) -> str:
    if not rows:
        return "No findings to verify.\n"
    lines = []
    for item, verdict in rows:
        where = f"{item.path}:{item.line}" if item.line else item.path
        if item.commit:
            where += f" @ {item.commit[:12]}"
        principal = f" ({verdict.principal})" if verdict.principal else ""
        lines.append(
            f"{verdict.status.upper():8} {item.rule_id}  {where}  "
            f"fp:{item.fingerprint[:16]}  {verdict.reason}{principal}"
        )
    counts = {s: sum(1 for _, v in rows if v.status == s) for s in ("live", "dead", "unknown")}
    lines.append(
        f"\n{len(rows)} finding(s): {counts['live']} live, {counts['dead']} dead, "
        f"{counts['unknown']} unknown"
    )
    return "\n".join(lines) + "\n"
