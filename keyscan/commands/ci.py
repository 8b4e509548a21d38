"""`keyscan ci`: the GitHub Action's logic: run the plan for an event and write CI reports."""

from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keyscan.commands.ci_plan import PR_EVENTS, Plan, plan_for_event
from keyscan.commands.ci_trust import relative_in_repo, trusted_baseline, trusted_config
from keyscan.commands.hook import prepare_scan, request_from_options, scan_options
from keyscan.errors import KeyscanError

if TYPE_CHECKING:
    from keyscan.commands.hook import ScanSetup
    from keyscan.model import ScanResult

FORMATS = ("text", "json", "jsonl", "sarif", "gitlab")


def execute(repo: Path, plan: Plan, setup: ScanSetup) -> ScanResult:
    from keyscan.blobscan import BlobScanner
    from keyscan.commands.rangescan import scan_tag_messages

    result = _execute_commits(repo, plan, setup)
    if plan.tags:
        scanner = BlobScanner(setup.ruleset, setup.engine, setup.options)
        scan_tag_messages(repo, plan.tags, scanner, result)
    return result


def _execute_commits(repo: Path, plan: Plan, setup: ScanSetup) -> ScanResult:
    from keyscan.blobscan import BlobScanner
    from keyscan.commands.rangescan import changes_and_messages, range_scan, scan_changes
    from keyscan.model import ScanResult
    from keyscan.sources.changes import range_commits

    s = setup
    if plan.kind == "range" and plan.base and plan.head:
        return range_scan(repo, plan.base, plan.head, s.ruleset, s.engine, s.options, s.config)
    if plan.kind == "commits":
        commits = range_commits(repo, list(plan.rev_args))
        scanner = BlobScanner(s.ruleset, s.engine, s.options)
        changes, in_messages = changes_and_messages(repo, commits, scanner)
        result = scan_changes(
            repo, changes, s.ruleset, s.engine, s.options, s.config, base=plan.base, tip=plan.head
        )
        result.findings.extend(in_messages)
        result.summary.files_scanned += len(commits)
        return result
    if plan.kind == "history":
        from keyscan.commands.history import run_history

        result, _ = run_history(s.request, repo, s.config, s.ruleset, s.options, s.cache_dir, False)
        return result
    result = ScanResult()
    result.summary.engine = s.engine.name
    result.summary.rules_active = len(s.ruleset.rules)
    return result


def _load_event(path: Path | None, event_name: str) -> dict[str, Any]:
    if path is None or not path.is_file():
        if event_name in (*PR_EVENTS, "push", "merge_group"):
            raise KeyscanError(f"{event_name} needs the event payload (GITHUB_EVENT_PATH)")
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyscanError(f"{path}: cannot read the event payload: {exc}") from None
    return loaded if isinstance(loaded, dict) else {}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class CiOptions:
    """The ci command's own options (the scan options travel in the ScanRequest)."""

    github: bool
    event_name: str
    event_path: Path | None
    base: str | None
    head: str | None
    baseline: Path | None
    format: str
    output: str | None
    sarif: Path | None
    fail_on_findings: bool
    max_annotations: int


def _path_prefix(repo: Path) -> str:
    """Annotations name files relative to the workspace, which may hold the repository deeper."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if not workspace:
        return ""
    relative = relative_in_repo(Path(workspace), repo)
    return "" if relative in (None, ".", "") else f"{relative}/"


def run_ci(target: Path, ci: CiOptions, scan: dict[str, Any]) -> int:
    from keyscan.commands.scan import said_incomplete
    from keyscan.sources.history import repository_root

    started = _now()
    repo = repository_root(target.absolute())
    event = _load_event(ci.event_path, ci.event_name)
    plan = plan_for_event(repo, ci.event_name, event, ci.base, ci.head)
    request = request_from_options(repo, "ci", scan)
    with tempfile.TemporaryDirectory(prefix="keyscan-ci-") as temporary:
        workdir = Path(temporary)
        requested = request.config
        if requested is None and os.environ.get("KEYSCAN_CONFIG"):
            requested = Path(os.environ["KEYSCAN_CONFIG"])
        if plan.trusted is not None:
            config, notes = trusted_config(repo, plan.trusted, requested, workdir, plan.head)
            plan.notes.extend(notes)
        else:
            from keyscan.config import discover_config

            config = discover_config(requested, repo)
        baseline, baseline_notes = trusted_baseline(repo, ci.baseline, plan.trusted, workdir)
        plan.notes.extend(baseline_notes)
        setup = prepare_scan(request, config)
        result = execute(repo, plan, setup)
        if baseline is not None:
            from keyscan.baseline import apply_baseline

            result.findings, result.summary.baselined = apply_baseline(result.findings, baseline)
    _report(repo, ci, plan, setup, result, started)
    said_incomplete(result.summary)
    return _exit_code(result, ci)


def _exit_code(result: ScanResult, ci: CiOptions) -> int:
    # An incomplete scan fails the check whatever --fail-on-findings says: what could not be
    # read was not checked.
    if result.summary.incomplete:
        return 2
    return 1 if result.findings and ci.fail_on_findings else 0


def _report(
    repo: Path, ci: CiOptions, plan: Plan, setup: ScanSetup, result: ScanResult, started: str
) -> None:
    from keyscan import __version__
    from keyscan.output import write_report
    from keyscan.report import github
    from keyscan.report.base import ReportContext
    from keyscan.report.registry import REPORTERS
    from keyscan.terminal import use_color

    context = ReportContext(
        findings=result.findings,
        summary=result.summary,
        rules=setup.ruleset.by_id,
        color=ci.format == "text" and ci.output is None and use_color(None, sys.stdout),
        tool_version=__version__,
        scan_root=str(repo),
        started=started,
        finished=_now(),
    )
    out = sys.stdout
    out.write(f"keyscan ci: scanning {plan.scope}\n")
    for note in plan.notes:
        line = github.command(note.level, note.text, {"title": "keyscan"})
        out.write((line if ci.github else f"keyscan: {note.level}: {note.text}") + "\n")
    out.flush()
    if ci.output:
        write_report(REPORTERS[ci.format](context), ci.output)
        out.write(f"keyscan ci: {ci.format} report written to {ci.output}\n")
    elif ci.github:
        with github.stop_commands(out):
            write_report(REPORTERS[ci.format](context), None)
    else:
        write_report(REPORTERS[ci.format](context), None)
    sarif = ci.sarif
    if sarif is None and ci.github:
        sarif = Path(os.environ.get("RUNNER_TEMP") or ".") / "keyscan.sarif"
    if sarif is not None:
        write_report(REPORTERS["sarif"](context), str(sarif))
    if not ci.github:
        return
    prefix = _path_prefix(repo)
    rules = setup.ruleset.by_id
    for line in github.annotation_lines(result.findings, rules, ci.max_annotations, prefix):
        out.write(line + "\n")
    out.flush()
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        links = github.Links(
            server=os.environ.get("GITHUB_SERVER_URL", "https://github.com"),
            repository=os.environ.get("GITHUB_REPOSITORY", ""),
            head=plan.head or os.environ.get("GITHUB_SHA", ""),
        )
        text = github.summary_markdown(
            result.findings,
            rules,
            plan.scope,
            links,
            [n.text for n in plan.notes],
            sarif.name if sarif else "",
            prefix,
        )
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(text)
    output_file = os.environ.get("GITHUB_OUTPUT")
    if output_file:
        code = _exit_code(result, ci)
        github.write_outputs(
            Path(output_file),
            {
                "findings": str(len(result.findings)),
                "sarif-file": str(Path(sarif).absolute()) if sarif else "",
                "report-file": str(Path(ci.output).absolute()) if ci.output else "",
                "exit-code": str(code),
            },
        )


def _fail(ci: CiOptions, error: KeyscanError) -> None:
    """In Actions an error is an annotation, a summary and outputs, not only a log line."""
    from keyscan.report import github

    if not ci.github:
        return
    sys.stdout.write(github.command("error", str(error), {"title": "keyscan failed"}) + "\n")
    sys.stdout.flush()
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(github.error_summary(str(error)))
    output_file = os.environ.get("GITHUB_OUTPUT")
    if output_file:
        github.write_outputs(
            Path(output_file),
            {"findings": "", "sarif-file": "", "report-file": "", "exit-code": "2"},
        )


@click.command("ci")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option(
    "--github-actions/--no-github-actions",
    "github",
    default=None,
    help="Write annotations, a job summary and step outputs (default: when GITHUB_ACTIONS=true).",
)
@click.option(
    "--event-name",
    envvar="GITHUB_EVENT_NAME",
    default="",
    help="The triggering event [env: GITHUB_EVENT_NAME].",
)
@click.option(
    "--event-path",
    envvar="GITHUB_EVENT_PATH",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The event payload JSON [env: GITHUB_EVENT_PATH].",
)
@click.option("--base", envvar="KEYSCAN_BASE", help="Scan BASE..HEAD instead of the event's range.")
@click.option("--head", envvar="KEYSCAN_HEAD", help="With --base: the head (default HEAD).")
@click.option(
    "--baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Baseline file (read from the base commit in pull requests).",
)
@click.option(
    "-f",
    "--format",
    "format_",
    type=click.Choice(FORMATS, case_sensitive=False),
    default="text",
    show_default=True,
    help="Report format for the log (or --output).",
)
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE, not the log.")
@click.option(
    "--sarif",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SARIF file for code scanning (default in Actions: $RUNNER_TEMP/keyscan.sarif).",
)
@click.option(
    "--fail-on-findings/--no-fail-on-findings",
    default=True,
    show_default=True,
    help="Exit 1 when secrets are found.",
)
@click.option(
    "--max-annotations",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Annotate at most N findings (GitHub shows 10 per step); the summary lists them all.",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(min=0), default=0, help="Worker processes (0 = per core)."
)
@scan_options
def ci_command(
    path: Path | None,
    github: bool | None,
    event_name: str,
    event_path: Path | None,
    base: str | None,
    head: str | None,
    baseline: Path | None,
    format_: str,
    output: str | None,
    sarif: Path | None,
    fail_on_findings: bool,
    max_annotations: int,
    **scan: Any,
) -> None:
    """Scan what a CI event brings in: a pull request, a push, or (scheduled) the whole history.

    \b
    pull_request, pull_request_target, merge_group: what BASE..HEAD adds (merge-base aware),
      with the configuration of the base commit
    push: what before..after adds; a new branch or a force push: the commits no other
      branch has; a deleted branch: nothing
    schedule, workflow_dispatch: the whole history
    """
    if github is None:
        github = os.environ.get("GITHUB_ACTIONS") == "true"
    options = CiOptions(
        github=github,
        event_name=event_name,
        event_path=event_path,
        base=base or None,
        head=head or None,
        baseline=baseline,
        format=format_.lower(),
        output=output,
        sarif=sarif,
        fail_on_findings=fail_on_findings,
        max_annotations=max_annotations,
    )
    target = path or Path(os.environ.get("GITHUB_WORKSPACE") or ".")
    try:
        code = run_ci(target, options, scan)
    except KeyscanError as exc:
        _fail(options, exc)
        raise
    sys.exit(code)
