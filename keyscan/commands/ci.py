"""`keyscan ci`: the GitHub Action's logic: range from the event, trusted config, CI reports."""

from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keyscan.commands.hook import (
    has_commit,
    prepare_scan,
    request_from_options,
    scan_options,
)
from keyscan.errors import KeyscanError

if TYPE_CHECKING:
    from keyscan.baseline import Baseline
    from keyscan.commands.hook import ScanSetup
    from keyscan.config import Config
    from keyscan.scan import ScanResult

FORMATS = ("text", "json", "jsonl", "sarif", "gitlab")
PR_EVENTS = ("pull_request", "pull_request_target")
AUDIT_EVENTS = ("schedule", "workflow_dispatch")
SUPPORTED_EVENTS = (*PR_EVENTS, "merge_group", "push", *AUDIT_EVENTS)
FETCH_HINT = "use actions/checkout with `fetch-depth: 0` so the clone has the full history"


@dataclass(frozen=True)
class Note:
    """Something the run wants the reader to know: shown as an annotation and in the summary."""

    level: str  # notice | warning
    text: str


@dataclass
class Plan:
    """What to scan for one event.

    kind: `range` (what BASE..HEAD adds, merge-base aware), `commits` (the commits REV_ARGS list,
    against BASE when one is known), `history` (every ref) or `nothing`.
    """

    kind: str
    scope: str
    base: str | None = None
    head: str | None = None
    rev_args: tuple[str, ...] = ()
    trusted: str | None = None  # the commit whose configuration and baseline apply (PRs: base)
    notes: list[Note] = field(default_factory=list)


def _run(repo: Path, args: list[str]) -> str:
    from keyscan.gitcmd import run_git

    return run_git(repo, args).stdout.decode("utf-8", "surrogateescape")


def _commit(repo: Path, rev: str | None, what: str) -> str:
    from keyscan.gitcmd import run_git

    if not rev:
        raise KeyscanError(f"the event payload has no {what}")
    done = run_git(repo, ["rev-parse", "--verify", "-q", f"{rev}^{{commit}}"], check=False)
    if done.returncode != 0:
        raise KeyscanError(f"{what} {rev[:12]} is not in the clone: {FETCH_HINT}")
    return done.stdout.decode().strip()


def _shallow(repo: Path) -> bool:
    from keyscan.sources.history import is_shallow

    return is_shallow(repo)


def _require_fork(repo: Path, base: str, head: str) -> None:
    """In a shallow clone the range is only right if the merge base made it into the clone."""
    from keyscan.sources.changes import merge_base

    if _shallow(repo) and merge_base(repo, base, head) is None:
        raise KeyscanError(
            f"the clone is shallow and has no merge base of {base[:12]} and {head[:12]}: "
            + FETCH_HINT
        )


def _range_plan(repo: Path, base: str, head: str, scope: str, trusted: str | None) -> Plan:
    if base == head:
        raise KeyscanError(
            f"base and head are the same commit ({base[:12]}): there is nothing to compare"
        )
    _require_fork(repo, base, head)
    return Plan("range", scope, base=base, head=head, trusted=trusted)


def _remote_branches(repo: Path) -> list[str]:
    text = _run(repo, ["for-each-ref", "--format=%(refname)", "refs/remotes/"])
    return [ref for ref in text.split() if not ref.endswith("/HEAD")]


def _new_commits_plan(
    repo: Path, after: str, branch: str | None, default_branch: str | None, scope: str
) -> Plan:
    """The commits of `after` that no other branch of the remote has (new or rewritten branch)."""
    from keyscan.sources.changes import merge_base

    if _shallow(repo):
        raise KeyscanError(f"a shallow clone cannot tell which commits are new: {FETCH_HINT}")
    others = []
    base_ref = None
    for ref in _remote_branches(repo):
        name = ref.split("/", 3)[3] if ref.count("/") >= 3 else ref
        if name == branch:
            continue  # the checkout already has the pushed branch itself
        others.append(ref)
        if default_branch and name == default_branch:
            base_ref = ref
    base = merge_base(repo, base_ref, after) if base_ref else None
    rev_args = (after, "--not", *others) if others else (after,)
    return Plan("commits", scope, base=base, head=after, rev_args=rev_args)


def plan_for_event(
    repo: Path,
    event_name: str,
    event: dict[str, Any],
    base: str | None = None,
    head: str | None = None,
) -> Plan:
    """Pick the range for an event (or for explicit --base/--head, which win)."""
    from keyscan.sources.changes import ZERO_OIDS

    if base:
        base_sha = _commit(repo, base, "--base")
        head_sha = _commit(repo, head or "HEAD", "--head")
        return _range_plan(
            repo, base_sha, head_sha, f"{base[:40]}..{(head or 'HEAD')[:40]}", base_sha
        )
    if event_name in PR_EVENTS:
        pr = event.get("pull_request") or {}
        base_sha = _commit(repo, (pr.get("base") or {}).get("sha"), "pull_request.base.sha")
        head_sha = _commit(repo, (pr.get("head") or {}).get("sha"), "pull_request.head.sha")
        number = event.get("number") or pr.get("number")
        scope = f"pull request #{number}" if number else "the pull request"
        return _range_plan(repo, base_sha, head_sha, scope, base_sha)
    if event_name == "merge_group":
        group = event.get("merge_group") or {}
        base_sha = _commit(repo, group.get("base_sha"), "merge_group.base_sha")
        head_sha = _commit(repo, group.get("head_sha"), "merge_group.head_sha")
        return _range_plan(repo, base_sha, head_sha, "the merge queue group", base_sha)
    if event_name == "push":
        return _push_plan(repo, event, ZERO_OIDS)
    if event_name in AUDIT_EVENTS:
        if _shallow(repo):
            raise KeyscanError(f"a history audit of a shallow clone is incomplete: {FETCH_HINT}")
        return Plan("history", "the whole history (every branch and tag)")
    raise KeyscanError(
        f"event {event_name or '(none)'!r} is not supported (supported: "
        f"{', '.join(SUPPORTED_EVENTS)}); pass --base and --head to scan a range"
    )


def _push_plan(repo: Path, event: dict[str, Any], zero: frozenset[str]) -> Plan:
    ref = str(event.get("ref") or "")
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    after = event.get("after") or ""
    if event.get("deleted") or after in zero:
        return Plan("nothing", f"the deletion of {ref or 'a ref'}")
    after_sha = _commit(repo, after, "the pushed commit (after)")
    before = event.get("before") or ""
    default_branch = (event.get("repository") or {}).get("default_branch")
    if before and before not in zero and has_commit(repo, before):
        before_sha = _commit(repo, before, "before")
        scope = f"the push to {ref} ({before_sha[:7]}..{after_sha[:7]})"
        plan = _range_plan(repo, before_sha, after_sha, scope, None)
        if event.get("forced"):
            plan.notes.append(
                Note("notice", "forced push: scanned the commits the old tip did not have")
            )
        return plan
    if before and before not in zero:
        # A force push replaced commits the clone never fetched: compare with the other
        # branches instead, which is what a new branch gets too.
        scope = f"the forced push to {ref}"
        plan = _new_commits_plan(repo, after_sha, branch, default_branch, scope)
        plan.notes.append(
            Note(
                "warning",
                f"the previous tip {before[:12]} is not in the clone (force push?): scanned the "
                "commits no other branch has",
            )
        )
        return plan
    scope = f"the new {'branch' if branch else 'ref'} {branch or ref}"
    return _new_commits_plan(repo, after_sha, branch, default_branch, scope)


def _relative_in_repo(repo: Path, path: Path) -> str | None:
    absolute = Path(os.path.abspath(path))
    for root in (repo, repo.resolve()):
        try:
            return absolute.relative_to(root).as_posix()
        except ValueError:
            continue
    return None


def _blob_at(repo: Path, commit: str, path: str) -> bytes | None:
    from keyscan.gitcmd import run_git

    done = run_git(repo, ["cat-file", "blob", f"{commit}:{path}"], check=False)
    return done.stdout if done.returncode == 0 else None


def _extract_tree(repo: Path, commit: str, path: str, into: Path) -> None:
    """Write `path` (a file or a directory) as `commit` has it under `into`."""
    from keyscan.gitcmd import run_git

    done = run_git(repo, ["ls-tree", "-r", "-z", "--full-tree", commit, "--", path], check=False)
    for entry in done.stdout.split(b"\0"):
        meta, _, name = entry.decode("utf-8", "surrogateescape").partition("\t")
        parts = meta.split()
        if len(parts) != 3 or parts[1] != "blob":
            continue
        data = _blob_at(repo, commit, name)
        if data is not None:
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def trusted_config(
    repo: Path, commit: str, requested: Path | None, workdir: Path, head: str | None
) -> tuple[Config, list[Note]]:
    """The configuration as `commit` has it, with the rule files it names from `commit` too.

    A pull request cannot loosen its own scan: neither its edits to `.keyscan.yaml` nor to the
    rule files that configuration loads take effect before they are merged.
    """
    from keyscan.config import CONFIG_NAMES, Config, load_config

    notes: list[Note] = []
    if requested is not None:
        relative = _relative_in_repo(repo, requested)
        if relative is None:
            # Outside the repository, so not something the pull request can edit.
            return load_config(requested), notes
        candidates: tuple[str, ...] = (relative,)
    else:
        candidates = CONFIG_NAMES
    for name in candidates:
        data = _blob_at(repo, commit, name)
        if data is None:
            continue
        root = workdir / "trusted"
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        config = load_config(target)
        for rule_path in config.rule_paths:
            inside = _relative_in_repo(root, rule_path)
            if inside is not None:
                _extract_tree(repo, commit, inside, root)
        if head is not None and _blob_at(repo, head, name) != data:
            notes.append(
                Note(
                    "warning",
                    f"this change edits {name}; the version in {commit[:12]} applies until "
                    "it is merged",
                )
            )
        return config, notes
    if requested is not None:
        notes.append(
            Note("warning", f"{candidates[0]} does not exist in {commit[:12]}: built-in settings")
        )
    elif head is not None and any(_blob_at(repo, head, n) is not None for n in CONFIG_NAMES):
        notes.append(
            Note(
                "warning",
                f"this change adds a keyscan configuration; {commit[:12]} has none, so the "
                "built-in settings apply until it is merged",
            )
        )
    return Config(root=repo), notes


def trusted_baseline(
    repo: Path, baseline: Path | None, trusted: str | None, workdir: Path
) -> tuple[Baseline | None, list[Note]]:
    """The baseline that applies: in pull requests the base commit's, so a pull request cannot
    accept its own leak by adding it to the baseline."""
    from keyscan.baseline import BASELINE_NAME, load_baseline

    path = baseline or repo / BASELINE_NAME
    if trusted is None:
        return (load_baseline(path) if path.is_file() else None), []
    relative = _relative_in_repo(repo, path)
    content = _blob_at(repo, trusted, relative) if relative is not None else None
    notes: list[Note] = []
    if relative is not None and path.is_file() and path.read_bytes() != (content or b""):
        notes.append(
            Note(
                "warning",
                f"this pull request changes {relative}; the base commit's baseline applies "
                "until it is merged",
            )
        )
    if content is None:
        return None, notes
    copy = workdir / "trusted-baseline.yaml"
    copy.write_bytes(content)
    return load_baseline(copy), notes


def execute(repo: Path, plan: Plan, setup: ScanSetup) -> ScanResult:
    from keyscan.blobscan import BlobScanner
    from keyscan.commands.rangescan import range_scan, scan_changes, scan_messages
    from keyscan.scan import ScanResult
    from keyscan.sources.changes import commits_in_range, range_changes

    s = setup
    if plan.kind == "range" and plan.base and plan.head:
        return range_scan(repo, plan.base, plan.head, s.ruleset, s.engine, s.options, s.config)
    if plan.kind == "commits":
        commits = commits_in_range(repo, list(plan.rev_args))
        result = scan_changes(
            repo,
            range_changes(repo, commits),
            s.ruleset,
            s.engine,
            s.options,
            s.config,
            base=plan.base,
            tip=plan.head,
        )
        scanner = BlobScanner(s.ruleset, s.engine, s.options)
        result.findings.extend(scan_messages(repo, commits, scanner))
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
    relative = _relative_in_repo(Path(workspace), repo)
    return "" if relative in (None, ".", "") else f"{relative}/"


def run_ci(target: Path, ci: CiOptions, scan: dict[str, Any]) -> int:
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
        code = 1 if result.findings and ci.fail_on_findings else 0
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
