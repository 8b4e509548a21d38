"""`keyscan baseline create | update`: accept today's findings so scans report only new ones."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import click

from keyscan.baseline import BASELINE_NAME, load_baseline, merged, write_baseline
from keyscan.errors import KeyscanError
from keyscan.model import Finding
from keyscan.request import ScanRequest
from keyscan.rules.schema import Rule


@click.group("baseline")
def baseline_group() -> None:
    """Accepted findings, by fingerprint (never the secret).

    \\b
    keyscan baseline create [PATH]   write .keyscan-baseline.yaml from today's findings
    keyscan baseline update [PATH]   add new findings, keep reasons/owners/expiry of known ones
    Scans then report only findings the baseline does not accept (--no-baseline shows all).
    """


def _options(function: Callable[..., None]) -> Callable[..., None]:
    decorators = [
        click.argument("path", required=False, default=".", type=click.Path(path_type=Path)),
        click.option("--history", is_flag=True, help="Baseline all history, not the work tree."),
        click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
                     help=f"Baseline file (default: {BASELINE_NAME} at the repository root)."),
        click.option("-c", "--config", type=click.Path(path_type=Path, dir_okay=False)),
        click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path)),
        click.option("--no-progress", is_flag=True),
    ]  # fmt: skip
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def _collect(path: Path, history: bool, config: Path | None, rule_paths: tuple[Path, ...],
             no_progress: bool) -> tuple[list[Finding], Path, Mapping[str, Rule]]:  # fmt: skip
    from keyscan.commands.scan import execute

    request = ScanRequest(
        target=path,
        mode="history" if history else "worktree",
        config=config,
        rule_paths=rule_paths,
        progress=False if no_progress else None,
        use_baseline=False,
    )
    outcome = execute(request)
    return outcome.result.findings, outcome.config_root, outcome.ruleset.by_id


@baseline_group.command("create")
@_options
@click.option("--force", is_flag=True, help="Replace an existing baseline file.")
def create(path: Path, history: bool, output: Path | None, config: Path | None,
           rule_paths: tuple[Path, ...], no_progress: bool, force: bool) -> None:  # fmt: skip
    """Write a baseline that accepts every finding of a scan of PATH."""
    findings, root, _ = _collect(path, history, config, rule_paths, no_progress)
    target = output or root / BASELINE_NAME
    if target.exists() and not force:
        raise KeyscanError(
            f"{target}: a baseline exists; `keyscan baseline update` keeps its reasons "
            "(or pass --force to replace it)"
        )
    entries = merged(None, findings, prune=True)
    write_baseline(target, entries)
    click.echo(f"{target}: {len(entries)} accepted findings", err=True)


@baseline_group.command("update")
@_options
@click.option("--prune", is_flag=True, help="Also drop entries that no longer match a finding.")
def update(path: Path, history: bool, output: Path | None, config: Path | None,
           rule_paths: tuple[Path, ...], no_progress: bool, prune: bool) -> None:  # fmt: skip
    """Add today's new findings to the baseline, keeping what is already written about the rest."""
    findings, root, _ = _collect(path, history, config, rule_paths, no_progress)
    target = output or root / BASELINE_NAME
    existing = load_baseline(target) if target.exists() else None
    entries = merged(existing, findings, prune=prune)
    write_baseline(target, entries)
    before = len(existing.entries) if existing else 0
    click.echo(f"{target}: {len(entries)} accepted findings (was {before})", err=True)


@baseline_group.command("audit")
@_options
def audit(path: Path, history: bool, output: Path | None, config: Path | None,
          rule_paths: tuple[Path, ...], no_progress: bool) -> None:  # fmt: skip
    """Walk the baseline's entries without a verdict and mark each a real secret or a false
    positive (stored as `verdict`; the secret itself is never written)."""
    from dataclasses import replace

    from keyscan.redact import shown_secret

    findings, root, rules = _collect(path, history, config, rule_paths, no_progress)
    target = output or root / BASELINE_NAME
    if not target.exists():
        raise KeyscanError(f"{target}: no baseline to audit (`keyscan baseline create` first)")
    baseline = load_baseline(target)
    seen: dict[str, list[Finding]] = {}
    for finding in findings:
        seen.setdefault(finding.fingerprint, []).append(finding)
    entries = dict(baseline.entries)
    pending = [e for e in entries.values() if e.verdict is None]
    click.echo(f"{len(pending)} of {len(entries)} entries have no verdict yet.")
    choices = {"r": "real", "f": "false-positive"}
    for number, entry in enumerate(sorted(pending, key=lambda e: (e.rule, e.fingerprint)), 1):
        click.echo(f"\n[{number}/{len(pending)}] {entry.rule}  {entry.fingerprint[:16]}")
        where = seen.get(entry.fingerprint, [])
        for finding in where[:5]:
            shown = shown_secret(finding, rules, show_secrets=False)
            click.echo(f"  {finding.path}:{finding.line}:{finding.column}  {shown}")
        if not where:
            click.echo("  not found by this scan (stale: `keyscan baseline update --prune`)")
        if entry.reason:
            click.echo(f"  reason: {entry.reason}")
        answer = click.prompt(
            "  [r]eal secret, [f]alse positive, [s]kip, [q]uit",
            type=click.Choice(["r", "f", "s", "q"]),
            show_choices=False,
        )
        if answer == "q":
            break
        if answer in choices:
            entries[entry.fingerprint] = replace(entry, verdict=choices[answer])
            # Written after every answer, so an interrupted audit keeps what was decided.
            write_baseline(target, entries.values())
    real = sum(e.verdict == "real" for e in entries.values())
    false = sum(e.verdict == "false-positive" for e in entries.values())
    click.echo(f"{target}: {real} real secrets (rotate them), {false} false positives")


@baseline_group.command("import")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_options
def import_(source: Path, path: Path, history: bool, output: Path | None, config: Path | None,
            rule_paths: tuple[Path, ...], no_progress: bool) -> None:  # fmt: skip
    """Convert a detect-secrets baseline, a gitleaks JSON report or a .gitleaksignore.

    Neither format holds keyscan's fingerprint, so keyscan scans PATH and accepts each of its
    findings that the old file accepted (same file and line, or same hashed secret), and says
    how many old entries matched nothing.
    """
    from keyscan.migrate import match_legacy

    findings, root, _ = _collect(path, history, config, rule_paths, no_progress)
    target = output or root / BASELINE_NAME
    existing = load_baseline(target) if target.exists() else None
    accepted, unmatched, total = match_legacy(source, findings)
    entries = merged(existing, accepted, prune=False)
    write_baseline(target, entries)
    click.echo(
        f"{target}: imported {len(accepted)} findings from {source.name}; "
        f"{unmatched} of its {total} entries matched no keyscan finding (keyscan may not detect "
        "them, or they are gone)",
        err=True,
    )
