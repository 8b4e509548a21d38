"""`keyscan revoke`: print a revocation plan; with --execute and confirmation, carry it out."""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from keyscan import __version__
from keyscan.cachedir import default_cache_dir
from keyscan.commands.netoptions import network_options, network_options_from, target_options
from keyscan.errors import KeyscanError
from keyscan.remote.audit import AuditLog, default_audit_log, default_config_dir, load_or_create_key
from keyscan.remote.revoker import PlanItem, Revocation, Revoker, build_plan
from keyscan.remote.session import (
    direct_target,
    make_client,
    recover_targets,
    trusted_specs,
)
from keyscan.remote.targets import read_report
from keyscan.remote.verifier import Verifier

RETIRED = ("revoked", "already_dead")


@click.command("revoke")
@target_options
@click.option("--only", "only_rules", multiple=True, metavar="ID", help="Only this rule id.")
@click.option(
    "--finding",
    "only_findings",
    multiple=True,
    metavar="FP",
    help="Only this fingerprint (or prefix).",
)
@click.option("--execute", is_flag=True, help="Send the requests (after confirmation).")
@click.option("--yes", is_flag=True, help="With --execute and --max: no interactive confirmation.")
@click.option(
    "--max", "max_count", type=click.IntRange(min=1), help="Refuse to revoke more than N keys."
)
@click.option(
    "--destructive", is_flag=True, help="Delete instead of deactivate where both exist (AWS)."
)
@click.option(
    "--revoke-unverified",
    is_flag=True,
    help="Also revoke keys whose verification was inconclusive.",
)
@click.option(
    "--audit-log",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append-only JSON Lines log (default: ~/.local/state/keyscan/revocations.jsonl).",
)
@click.option("-f", "--format", "format_", type=click.Choice(("text", "json")), default="text")
@network_options
def revoke_command(
    report: Path | None,
    rule_id: str | None,
    secret_file: str | None,
    root: Path,
    only_rules: tuple[str, ...],
    only_findings: tuple[str, ...],
    execute: bool,
    yes: bool,
    max_count: int | None,
    destructive: bool,
    revoke_unverified: bool,
    audit_log: Path | None,
    format_: str,
    **values: Any,
) -> None:
    """Plan the revocation of the keys in REPORT (a dry run: nothing is sent).

    \b
    keyscan revoke findings.json                       # the plan
    keyscan revoke findings.json --execute             # asks, then revokes
    keyscan revoke findings.json --execute --yes --max 3
    keyscan revoke --rule github.pat-classic --secret-file -   # incident response
    Exit 0 when every planned key was retired, 1 otherwise, 2 on errors.
    """
    if yes and not execute:
        raise click.UsageError("--yes only makes sense with --execute")
    if yes and max_count is None:
        raise click.UsageError("--yes needs --max N, a cap on how many keys may be revoked")
    options = network_options_from(values)
    cache_dir = default_cache_dir()
    specs = trusted_specs(options, cache_dir)
    if rule_id or secret_file:
        if report or not (rule_id and secret_file):
            raise click.UsageError("give REPORT, or --rule with --secret-file")
        targets = [direct_target(rule_id, secret_file, specs)]
        missing: list[Any] = []
    elif report:
        reported = read_report(report)
        if only_rules:
            reported = [r for r in reported if r.rule_id in only_rules]
        if only_findings:
            reported = [
                r for r in reported if any(r.fingerprint.startswith(p) for p in only_findings)
            ]
        targets, missing = recover_targets(reported, root, cache_dir)
    else:
        raise click.UsageError("give REPORT, or --rule with --secret-file")
    env = dict(os.environ)
    plan = build_plan(targets, specs, env, destructive)
    actionable = [item for item in plan if item.blocked is None]
    as_json = format_ == "json"
    # With --format json stdout carries only JSON; the human-readable plan goes to stderr.
    click.echo(_render_plan(plan, missing), nl=False, err=as_json)
    if not execute:
        if as_json:
            click.echo(_plan_json(plan), nl=False)
        click.echo("Dry run: nothing was sent. Add --execute to revoke.", err=as_json)
        sys.exit(0)
    if not actionable:
        click.echo("Nothing to revoke.", err=as_json)
        sys.exit(1 if plan else 0)
    if max_count is not None and len(actionable) > max_count:
        raise KeyscanError(
            f"the plan revokes {len(actionable)} keys, more than --max {max_count}; "
            "nothing was sent"
        )
    if not yes and not _confirmed(actionable):
        click.echo("Not confirmed: nothing was sent.", err=as_json)
        sys.exit(1)
    audit_path = audit_log or default_audit_log(env)
    audit = AuditLog(
        audit_path,
        load_or_create_key(default_config_dir(env) / "audit.key"),
        str(uuid.uuid4()),
        __version__,
    )
    audit.record(
        {
            "mode": "plan",
            "items": [
                {
                    "rule_id": item.target.rule_id,
                    "fingerprint": item.target.fingerprint,
                    "secret_hmac": audit.secret_hash(item.target.secret),
                    "action": item.action,
                }
                for item in actionable
            ],
        }
    )
    client = make_client(options)
    verifier = Verifier(specs, client, options.concurrency)
    revoker = Revoker(client, verifier, audit, env, destructive, revoke_unverified)
    results = [revoker.execute(item) for item in actionable]
    if format_ == "json":
        click.echo(_results_json(results), nl=False)
    else:
        click.echo(_results_text(results), nl=False)
    click.echo(f"Audit log: {audit_path}", err=True)
    sys.exit(0 if all(r.outcome in RETIRED for r in results) else 1)


def _confirmed(actionable: list[PlanItem]) -> bool:
    irreversible = sum(1 for item in actionable if item.reversible is False)
    click.echo(
        f"About to revoke {len(actionable)} key(s)"
        + (f", {irreversible} of them irreversibly" if irreversible else "")
        + ".",
        err=True,
    )
    try:
        answer = click.prompt(
            f"Type {len(actionable)} to confirm", default="", show_default=False, err=True
        )
    except click.Abort:
        return False
    return str(answer).strip() == str(len(actionable))


def _render_plan(plan: list[PlanItem], missing: list[Any]) -> str:
    lines = [f"Revocation plan: {len(plan)} distinct key(s)"]
    for index, item in enumerate(plan, 1):
        target = item.target
        provider = target.rule_id.split(".", 1)[0]
        reversible = {True: "reversible", False: "IRREVERSIBLE", None: "-"}[item.reversible]
        lines.append(
            f"{index:3}. {target.rule_id} ({provider})  {target.location}  "
            f"fp:{target.fingerprint[:16]}"
        )
        if item.blocked:
            lines.append(f"     cannot revoke: {item.blocked}")
            continue
        lines.append(f"     action: {item.action} [{reversible}]")
        lines.extend(f"     request: {request}" for request in item.requests)
        if item.notice:
            lines.append(f"     note: {item.notice}")
    for reported, reason in missing:
        lines.append(f"  -  {reported.rule_id}  {reported.path}:{reported.line}  skipped: {reason}")
    return "\n".join(lines) + "\n"


def _plan_json(plan: list[PlanItem]) -> str:
    records = [
        {
            "rule_id": item.target.rule_id,
            "fingerprint": item.target.fingerprint,
            "path": item.target.path,
            "line": item.target.line,
            "commit": item.target.commit,
            "action": item.action,
            "reversible": item.reversible,
            "requests": list(item.requests),
            "blocked": item.blocked,
        }
        for item in plan
    ]
    return json.dumps({"plan": records}, indent=2) + "\n"


def _results_text(results: list[Revocation]) -> str:
    lines = []
    for result in results:
        target = result.item.target
        after = f" (re-verified: {result.post_check})" if result.post_check else ""
        lines.append(
            f"{result.outcome.upper():15} {target.rule_id}  {target.location}  "
            f"fp:{target.fingerprint[:16]}  {result.reason}{after}"
        )
        if result.post_check == "live":
            lines.append("                still live: providers can take a moment; verify again")
        if result.outcome == "unknown":
            lines.append("                outcome unknown: check the provider before retrying")
    return "\n".join(lines) + "\n"


def _results_json(results: list[Revocation]) -> str:
    records = [
        {
            "rule_id": r.item.target.rule_id,
            "fingerprint": r.item.target.fingerprint,
            "path": r.item.target.path,
            "line": r.item.target.line,
            "commit": r.item.target.commit,
            "outcome": r.outcome,
            "reason": r.reason,
            "post_check": r.post_check,
        }
        for r in results
    ]
    return json.dumps({"revocations": records}, indent=2) + "\n"
