"""The scan command: build the ruleset and source, run the pipeline, report, pick the exit code."""

from __future__ import annotations

import datetime
import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import click

from keyscan import __version__
from keyscan.baseline import BASELINE_NAME, Baseline, apply_baseline, load_baseline
from keyscan.cachedir import default_cache_dir
from keyscan.config import Config, discover_config
from keyscan.errors import ConfigError, KeyscanError
from keyscan.ignorefile import IGNORE_FILE, apply_ignore_file, load_ignore_file
from keyscan.model import Finding, ScanResult, Skip, Summary
from keyscan.options import DEFAULT_DEPTH, ScanOptions
from keyscan.output import write_report
from keyscan.report.base import ReportContext
from keyscan.request import ScanRequest
from keyscan.rules.load import load_rules
from keyscan.rules.ruleset import Ruleset
from keyscan.sources.worktree import FileItem, list_worktree
from keyscan.terminal import use_color, use_progress

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024


def build_ruleset(request: ScanRequest, config: Config, cache_dir: Path | None) -> Ruleset:
    rules = load_rules([*config.rule_paths, *request.rule_paths], cache_dir=cache_dir)
    if config.severity:
        known = {rule.id for rule in rules}
        for rule_id, _ in config.severity:
            if rule_id not in known:
                raise ConfigError(f"{config.source}: severity: unknown rule id {rule_id!r}")
        levels = dict(config.severity)
        rules = tuple(replace(r, severity=levels[r.id]) if r.id in levels else r for r in rules)
    ruleset = Ruleset(rules)
    return ruleset.select(request.enable_rules, [*config.disable, *request.disable_rules])


def _allowlisted(files: list[FileItem], config: Config) -> tuple[list[FileItem], list[Skip]]:
    if not config.allowlist.paths:
        return files, []
    kept: list[FileItem] = []
    skipped: list[Skip] = []
    root = config.root.resolve()
    for item in files:
        try:
            relative = Path(item.absolute).resolve().relative_to(root).as_posix()
        except ValueError:
            relative = item.display
        if any(p.search(relative) for p in config.allowlist.paths):
            skipped.append(Skip(item.display, "allowlisted path", config.source))
        else:
            kept.append(item)
    return kept, skipped


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    if not enabled or total == 0:
        yield lambda n: None
        return
    with click.progressbar(length=total, label="scanning", file=sys.stderr) as bar:
        yield bar.update


@dataclass
class Outcome:
    """A finished scan before reporting: what was found, with what, and where the config lives."""

    result: ScanResult
    ruleset: Ruleset
    root: Path
    config_root: Path
    started: str
    report_format: str | None = None  # the configuration's `format`


# A scan makes millions of short-lived objects and hardly any reference cycles: the collector's
# defaults (a pass every 700 allocations, and now and then a pass over every object alive, the
# listing and provenance of a whole history included) took 0.3-0.4 s of an audit's main process
# on sqlalchemy, and its workers inherit the settings. Found cycles are still collected.
_COLLECTOR_THRESHOLDS = (50_000, 50, 100)


def run_scan(request: ScanRequest) -> int:
    gc.set_threshold(*_COLLECTOR_THRESHOLDS)
    outcome = execute(request)
    ignore_file = outcome.config_root / IGNORE_FILE
    if request.inline_ignores and ignore_file.is_file():
        kept, ignored = apply_ignore_file(outcome.result.findings, load_ignore_file(ignore_file))
        outcome.result.findings = kept
        outcome.result.summary.baselined += ignored
    baseline = _baseline_for(request, outcome.config_root)
    if baseline is not None:
        kept, accepted = apply_baseline(outcome.result.findings, baseline)
        outcome.result.findings = kept
        outcome.result.summary.baselined += accepted
    if request.verify is not None and outcome.result.findings:
        outcome.result.findings = _verified(outcome.result.findings, request)
    if not request.format:
        request = replace(request, format=outcome.report_format or "text")
    _report(request, outcome.ruleset, outcome.result, outcome.root, outcome.started)
    if said_incomplete(outcome.result.summary):
        return 2
    return 1 if outcome.result.findings else 0


def said_incomplete(summary: Summary) -> bool:
    """Name on stderr each reason the scan is incomplete; whether there was one (exit 2: what
    could not be read was not checked, whatever was reported)."""
    for reason in summary.incomplete:
        click.echo(f"keyscan: error: incomplete: {reason}", err=True)
    return bool(summary.incomplete)


def _verified(findings: list[Finding], request: ScanRequest) -> list[Finding]:
    # Imported here: a scan without --verify never loads the network code at all.
    from keyscan.commands.verify import verify_targets
    from keyscan.remote.targets import targets_from_findings
    from keyscan.remote.verifier import distinct_key

    assert request.verify is not None
    cache_dir = (request.cache_dir or default_cache_dir()) if request.use_cache else None
    targets = targets_from_findings(findings)
    verdicts = verify_targets(targets, request.verify, cache_dir)
    return [
        replace(
            finding,
            verification=verdicts[distinct_key(target)].status,
            verification_reason=verdicts[distinct_key(target)].reason,
        )
        for finding, target in zip(findings, targets, strict=True)
    ]


def _baseline_for(request: ScanRequest, config_root: Path) -> Baseline | None:
    """--baseline FILE, else .keyscan-baseline.yaml beside the configuration when it exists."""
    if not request.use_baseline:
        return None
    if request.baseline is not None:
        return load_baseline(request.baseline)
    found = config_root / BASELINE_NAME
    return load_baseline(found) if found.is_file() else None


def execute(request: ScanRequest) -> Outcome:
    """Run the scan the request describes, without reporting it."""
    if request.mode == "history":
        return _run_history_scan(request)
    if request.mode in ("staged", "diff", "pre-push"):
        return _run_change_scan(request)
    from keyscan.scan import scan_file_items

    started = _now()
    listing = list_worktree(request.target)
    config_root = listing.config_root or listing.root
    config = discover_config(request.config, config_root)
    cache_dir = (request.cache_dir or default_cache_dir()) if request.use_cache else None
    ruleset = build_ruleset(request, config, cache_dir)
    options = blob_scan_options(request, config)
    files, allow_skips = _allowlisted(listing.files, config)
    with _progress(use_progress(request.progress, sys.stderr), len(files)) as advance:
        result = scan_file_items(
            files, ruleset, options, request.engine, cache_dir, request.jobs, advance
        )
    result.summary.skipped[:0] = [*listing.skips, *allow_skips]
    return Outcome(result, ruleset, listing.root, config_root, started, config.format)


def blob_scan_options(request: ScanRequest, config: Config) -> ScanOptions:
    return ScanOptions(
        max_file_size=request.max_file_size or config.max_file_size or DEFAULT_MAX_FILE_SIZE,
        scan_binary=request.scan_binary,
        inline_ignores=request.inline_ignores,
        foreign_markers=config.foreign_markers,
        explain=request.explain,
        allowlist=replace(config.allowlist, paths=()),
        decode_depth=_first_set(request.decode_depth, config.decode_depth, DEFAULT_DEPTH),
        edit_scans=request.edit_scans,
    )


def _first_set(*values: int | None) -> int:
    return next(value for value in values if value is not None)


def _run_history_scan(request: ScanRequest) -> Outcome:
    from keyscan.commands.history import run_history
    from keyscan.sources.history import repository_root

    started = _now()
    repo = repository_root(request.target.absolute())
    config = discover_config(request.config, repo)
    cache_dir = (request.cache_dir or default_cache_dir()) if request.use_cache else None
    ruleset = build_ruleset(request, config, cache_dir)
    progress = use_progress(request.progress, sys.stderr)
    result, _ = run_history(
        request, repo, config, ruleset, blob_scan_options(request, config), cache_dir, progress
    )
    return Outcome(result, ruleset, repo, repo, started, config.format)


def _run_change_scan(request: ScanRequest) -> Outcome:
    from keyscan.commands import rangescan
    from keyscan.sources.history import git_repository
    from keyscan.workers import build_engine

    started = _now()
    pre_push_lines = rangescan.read_pre_push_lines() if request.mode == "pre-push" else []
    repo, bare = git_repository(request.target.absolute())
    if bare and request.mode == "staged":
        raise KeyscanError(
            f"{repo}: a bare repository has no index: --staged needs a work tree "
            "(audit a bare repository with --history)"
        )
    config = discover_config(request.config, repo)
    cache_dir = (request.cache_dir or default_cache_dir()) if request.use_cache else None
    ruleset = build_ruleset(request, config, cache_dir)
    engine = build_engine(ruleset, request.engine, cache_dir)
    options = blob_scan_options(request, config)
    parallelism = rangescan.Parallelism(request.jobs, cache_dir)
    if request.mode == "staged":
        result = rangescan.staged_scan(repo, ruleset, engine, options, config, parallelism)
    elif request.mode == "pre-push":
        result = rangescan.pre_push_scan(
            repo, pre_push_lines, ruleset, engine, options, config, parallelism
        )
    else:
        base, head = rangescan.parse_range(request.diff_range or "")
        result = rangescan.range_scan(
            repo, base, head, ruleset, engine, options, config, parallelism
        )
    return Outcome(result, ruleset, repo, repo, started, config.format)


def _report(
    request: ScanRequest, ruleset: Ruleset, result: ScanResult, root: Path, started: str
) -> None:
    from keyscan.report.registry import REPORTERS

    to_terminal = request.output in (None, "-")
    context = ReportContext(
        findings=result.findings,
        summary=result.summary,
        rules=ruleset.by_id,
        show_secrets=request.show_secrets,
        color=request.format == "text" and to_terminal and use_color(request.color, sys.stdout),
        tool_version=__version__,
        scan_root=str(root),
        started=started,
        finished=_now(),
    )
    write_report(REPORTERS[request.format](context), request.output)
    if request.explain:
        for path, dropped in result.dropped:
            click.echo(
                f"dropped {path} [{dropped.rule_id}] by {dropped.filter}: {dropped.reason}",
                err=True,
            )


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
