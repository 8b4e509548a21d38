"""Git hooks: `keyscan hook pre-commit` and `keyscan hook pre-push`, under pre-commit or raw git."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from keyscan.cli import parse_size_option
from keyscan.errors import KeyscanError

if TYPE_CHECKING:
    from keyscan.config import Config
    from keyscan.engine.base import Engine
    from keyscan.model import Finding, ScanResult
    from keyscan.options import ScanOptions
    from keyscan.request import ScanRequest
    from keyscan.rules.ruleset import Ruleset
    from keyscan.sources.changes import Change

_F = TypeVar("_F", bound=Callable[..., Any])

# A hook's report is read between two commands: enough lines to act on, the rest is one command
# away (`keyscan --staged`).
MAX_SHOWN = 20

# Remediation hints, one per way out. The first line of each list is the one that matters most.
COMMIT_HINTS = (
    "remove the secret, `git add` the file again, and rotate the secret if it was ever shared;",
    "not a secret? add a `keyscan:allow` comment on its line "
    "(`keyscan:allow RULE-ID` allows that rule only), or accept it into the baseline "
    "(`keyscan baseline update`).",
)
PUSH_HINTS = (
    "rewrite the commits that add it (`git commit --amend`, `git rebase -i`): a later commit that "
    "deletes it still pushes it; rotate the secret if it was ever shared;",
    "not a secret? add a `keyscan:allow` comment on its line in the commit that adds it "
    "(`keyscan:allow RULE-ID` allows that rule only).",
)


def scan_options(func: _F) -> _F:
    """The scan options that hooks and `keyscan ci` accept, with the scan command's meaning."""
    options = [
        click.option(
            "-c",
            "--config",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Configuration file (default: .keyscan.yaml at the repository root).",
        ),
        click.option(
            "--rules",
            "rule_paths",
            multiple=True,
            type=click.Path(path_type=Path),
            help="Extra rule file or directory (repeatable).",
        ),
        click.option(
            "--enable-rule", multiple=True, metavar="ID", help="Run only these rules (repeatable)."
        ),
        click.option(
            "--disable-rule",
            multiple=True,
            metavar="ID",
            help="Do not run this rule (repeatable).",
        ),
        click.option(
            "--no-inline-ignores",
            is_flag=True,
            help="Ignore keyscan:allow and similar markers.",
        ),
        click.option(
            "--max-file-size",
            callback=parse_size_option,
            metavar="SIZE",
            help="Skip files larger than SIZE (default 10MB).",
        ),
        click.option(
            "--binary/--no-binary",
            default=True,
            help="Scan printable runs of binary files with provider rules (default) or skip them.",
        ),
        click.option(
            "--engine",
            type=click.Choice(("auto", "hyperscan", "regex")),
            default="auto",
            show_default=True,
            help="Stage-1 engine.",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Cache directory (default: the user cache directory).",
        ),
        click.option("--no-cache", is_flag=True, help="Do not read or write any cache."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def request_from_options(target: Path, mode: str, options: Mapping[str, Any]) -> ScanRequest:
    from keyscan.request import ScanRequest

    return ScanRequest(
        target=target,
        mode=mode,
        config=options["config"],
        progress=False,
        jobs=options.get("jobs", 1),
        engine=options["engine"],
        max_file_size=options["max_file_size"],
        scan_binary=options["binary"],
        rule_paths=tuple(options["rule_paths"]),
        enable_rules=tuple(options["enable_rule"]),
        disable_rules=tuple(options["disable_rule"]),
        inline_ignores=not options["no_inline_ignores"],
        cache_dir=options["cache_dir"],
        use_cache=not options["no_cache"],
    )


@dataclass(frozen=True)
class ScanSetup:
    """What every scan needs, built once: the rules, the engine and the options."""

    request: ScanRequest
    config: Config
    ruleset: Ruleset
    engine: Engine
    options: ScanOptions
    cache_dir: Path | None


def prepare_scan(request: ScanRequest, config: Config) -> ScanSetup:

    from keyscan.cachedir import default_cache_dir
    from keyscan.commands.scan import blob_scan_options, build_ruleset
    from keyscan.workers import build_engine

    cache_dir = (request.cache_dir or default_cache_dir()) if request.use_cache else None
    ruleset = build_ruleset(request, config, cache_dir)
    # Path globs are applied to change paths by the sources, not per blob (as in every scan).
    options = blob_scan_options(request, config)
    engine = build_engine(ruleset, request.engine, cache_dir)
    return ScanSetup(request, config, ruleset, engine, options, cache_dir)


def has_commit(repo: Path, rev: str) -> bool:
    from keyscan.gitcmd import run_git

    done = run_git(repo, ["rev-parse", "--verify", "-q", f"{rev}^{{commit}}"], check=False)
    return done.returncode == 0


def index_changes(repo: Path) -> list[Change]:
    """What the commit being made adds, read from the index git commits from (git_env keeps
    GIT_INDEX_FILE, which `git commit -a` and `git commit PATH` point at a temporary index)."""
    from keyscan.sources.changes import staged_changes

    return staged_changes(repo)


def repo_paths(repo: Path, files: Sequence[str]) -> list[str]:
    """File arguments (relative to the current directory) as paths relative to the repository."""
    paths = []
    root = repo.resolve()
    for name in files:
        absolute = Path(os.path.abspath(name))
        try:
            relative = absolute.relative_to(root)
        except ValueError:
            try:
                relative = absolute.resolve().relative_to(root)
            except ValueError:
                raise KeyscanError(f"{name}: not inside the repository {repo}") from None
        paths.append(relative.as_posix())
    return paths


def _allowed(path: str, config: Config) -> bool:
    return not any(p.search(path) for p in config.allowlist.paths)


def _merge_into(total: ScanResult, part: ScanResult) -> None:
    total.findings.extend(part.findings)
    total.dropped.extend(part.dropped)
    summary, more = total.summary, part.summary
    summary.files_scanned += more.files_scanned
    summary.bytes_scanned += more.bytes_scanned
    summary.binary_scanned += more.binary_scanned
    summary.skipped.extend(more.skipped)


def _whole_files(repo: Path, setup: ScanSetup, paths: Sequence[str]) -> ScanResult:
    """Files pre-commit names that have no staged change (`--all-files`, `--files`): as on disk."""
    from keyscan.blobscan import BlobScanner
    from keyscan.model import ScanResult
    from keyscan.sources.worktree import FileItem
    from keyscan.workers import scan_files

    items = [
        FileItem(p, str(repo / p))
        for p in paths
        if _allowed(p, setup.config) and (repo / p).is_file() and not (repo / p).is_symlink()
    ]
    batch = scan_files(BlobScanner(setup.ruleset, setup.engine, setup.options), items)
    result = ScanResult(findings=batch.findings, dropped=batch.dropped)
    result.summary.files_scanned = batch.files_scanned
    result.summary.bytes_scanned = batch.bytes_scanned
    result.summary.binary_scanned = batch.binary_scanned
    result.summary.skipped = batch.skips
    return result


def staged_result(
    repo: Path, setup: ScanSetup, paths: Sequence[str] | None
) -> tuple[ScanResult, bool]:
    """The commit being made: what its staged changes add, limited to `paths` when given.

    The flag says whether some of `paths` had no staged change and were scanned whole.
    """
    from keyscan.commands.rangescan import scan_changes

    changes = index_changes(repo)
    whole: list[str] = []
    if paths is not None:
        staged = {c.path for c in changes}
        wanted = set(paths)
        changes = [c for c in changes if c.path in wanted]
        whole = [p for p in dict.fromkeys(paths) if p not in staged]
    # Against HEAD, a secret that is only moved or renamed (delete + add without rename
    # detection) is not new: HEAD's tree already holds it.
    base = "HEAD" if has_commit(repo, "HEAD") else None
    s = setup
    result = scan_changes(repo, changes, s.ruleset, s.engine, s.options, s.config, base=base)
    if whole:
        _merge_into(result, _whole_files(repo, setup, whole))
        result.findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id))
    return result, bool(whole)


def range_result(
    repo: Path, setup: ScanSetup, base: str, head: str, paths: Sequence[str] | None
) -> ScanResult:
    """What BASE..HEAD adds (merge-base aware), limited to `paths` when given."""
    from keyscan.commands.rangescan import range_scan, scan_changes
    from keyscan.sources.changes import merge_base, range_changes, range_commits

    s = setup
    if paths is None:
        return range_scan(repo, base, head, s.ruleset, s.engine, s.options, s.config)
    wanted = set(paths)
    commits = range_commits(repo, [head, f"^{base}"])
    changes = [c for c in range_changes(repo, commits) if c.path in wanted]
    fork = merge_base(repo, base, head)
    return scan_changes(
        repo, changes, s.ruleset, s.engine, s.options, s.config, base=fork, tip=head
    )


def _outgoing_line(repo: Path, local: str) -> str:
    """A pre-push line for `local` as if the remote had none of it: what no remote has yet."""
    from keyscan.gitcmd import run_git

    done = run_git(repo, ["rev-parse", "--verify", "-q", f"{local}^{{commit}}"], check=False)
    if done.returncode != 0:
        raise KeyscanError(f"{local}: not a commit in {repo}")
    sha = done.stdout.decode().strip()
    return f"{local} {sha} {local} {'0' * len(sha)}"


def push_result(repo: Path, setup: ScanSetup, stdin_lines: Sequence[str] | None) -> ScanResult:
    """What a push sends: pre-commit's FROM/TO refs, git's stdin lines, or outgoing commits."""
    from keyscan.blobscan import BlobScanner
    from keyscan.commands.rangescan import pre_push_scan, range_scan, scan_tag_messages

    s = setup
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF")
    to_ref = os.environ.get("PRE_COMMIT_TO_REF")
    if from_ref and to_ref:
        result = range_scan(repo, from_ref, to_ref, s.ruleset, s.engine, s.options, s.config)
        # pre-commit names what is pushed: an annotated tag's object, when a tag is (a branch
        # always names a commit).
        if not os.environ.get("PRE_COMMIT_LOCAL_BRANCH", "").startswith("refs/heads/"):
            scanner = BlobScanner(s.ruleset, s.engine, s.options)
            scan_tag_messages(repo, [to_ref], scanner, result)
        return result
    if stdin_lines is None:
        # pre-commit read git's stdin itself. Without refs it either pushes a branch whose root
        # commit is new (it names the local branch) or runs by hand (manual stage).
        local = os.environ.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD"
        stdin_lines = [_outgoing_line(repo, local)]
    return pre_push_scan(repo, stdin_lines, s.ruleset, s.engine, s.options, s.config)


def current_repository() -> Path:
    from keyscan.errors import GitError
    from keyscan.gitcmd import worktree_root

    try:
        root = worktree_root(Path.cwd())
    except GitError:
        root = None
    if root is None:
        raise KeyscanError(f"{Path.cwd()}: not inside a git work tree (git hooks run in one)")
    return root


def _where(finding: Finding) -> str:
    from keyscan.sources.history import COMMIT_MESSAGE

    if finding.path == COMMIT_MESSAGE:
        return f"message of commit {(finding.commit or '')[:12]}"
    return f"{finding.path}:{finding.line}:{finding.column}"


def render_short(
    findings: Sequence[Finding],
    rules: Mapping[str, Any],
    what: str,
    blocked: str,
    hints: Sequence[str],
    command: str,
    color: bool,
) -> str:
    """The hook's report: one line per secret (redacted), then how to get past the hook."""
    from keyscan.redact import shown_secret
    from keyscan.sources.history import COMMIT_MESSAGE

    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    count = len(findings)
    noun = "secret" if count == 1 else "secrets"
    lines = [paint(f"keyscan: {count} {noun} in {what} — {blocked}", "1;31")]
    for finding in findings[:MAX_SHOWN]:
        line = (
            f"  {_where(finding)}  {finding.rule_id} ({finding.severity})  "
            f"{shown_secret(finding, rules, False)}"
        )
        if finding.commit and finding.path != COMMIT_MESSAGE:
            line += f"  commit {finding.commit[:12]}"
            if finding.at_head is False:
                line += " (deleted later, still in the commits)"
        lines.append(line)
    if count > MAX_SHOWN:
        lines.append(f"  … and {count - MAX_SHOWN} more: `{command}` lists them all")
    lines.append(paint("How to proceed:", "1"))
    lines.extend(f"  - {hint}" for hint in hints)
    return "\n".join(lines) + "\n"


def _finish(
    setup: ScanSetup,
    result: ScanResult,
    what: str,
    blocked: str,
    hints: Sequence[str],
    command: str,
    color: bool | None,
) -> int:
    from keyscan.baseline import BASELINE_NAME, apply_baseline, load_baseline
    from keyscan.commands.scan import said_incomplete
    from keyscan.terminal import use_color

    baseline = setup.config.root / BASELINE_NAME
    if result.findings and baseline.is_file():
        result.findings, _ = apply_baseline(result.findings, load_baseline(baseline))
    if result.findings:
        rules = setup.ruleset.by_id
        painted = use_color(color, sys.stdout)
        text = render_short(result.findings, rules, what, blocked, hints, command, painted)
        sys.stdout.write(text)
        sys.stdout.flush()
    # What could not be read was not checked: the hook must not pass it as clean.
    if said_incomplete(result.summary):
        return 2
    return 1 if result.findings else 0


@click.group("hook")
def hook_group() -> None:
    """Git hooks (for pre-commit's `.pre-commit-hooks.yaml` or `.git/hooks`).

    \b
    keyscan hook pre-commit [FILES]   block a commit whose staged changes add a secret
    keyscan hook pre-push [REMOTE]    block a push whose commits add a secret
    Exit codes: 0 clean, 1 secrets found (the hook blocks), 2 error.
    """


@hook_group.command("pre-commit")
@click.argument("files", nargs=-1, type=click.Path(path_type=str))
@scan_options
@click.option("--color/--no-color", default=None, help="Colour the report (default: terminal).")
def pre_commit_command(files: tuple[str, ...], color: bool | None, **options: Any) -> None:
    """Scan what the commit being made adds.

    With FILES (as pre-commit passes them) only those files: what their staged change adds, or
    the whole file when it has no staged change (`pre-commit run --all-files`). Under
    `pre-commit run --from-ref A --to-ref B` the files' changes in A..B are scanned instead.
    """
    from keyscan.config import discover_config

    repo = current_repository()
    request = request_from_options(repo, "staged", options)
    setup = prepare_scan(request, discover_config(request.config, repo))
    paths = repo_paths(repo, files) if files else None
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF")
    to_ref = os.environ.get("PRE_COMMIT_TO_REF")
    if from_ref and to_ref:
        result = range_result(repo, setup, from_ref, to_ref, paths)
        what = f"the changes of {from_ref}..{to_ref}"
        command = f"keyscan --diff {from_ref}..{to_ref}"
        sys.exit(_finish(setup, result, what, "check failed", PUSH_HINTS, command, color))
    result, whole = staged_result(repo, setup, paths)
    what = "the files checked" if whole else "the staged changes"
    sys.exit(
        _finish(setup, result, what, "commit blocked", COMMIT_HINTS, "keyscan --staged", color)
    )


@hook_group.command("pre-push")
@click.argument("remote", required=False)
@click.argument("url", required=False)
@scan_options
@click.option("--color/--no-color", default=None, help="Colour the report (default: terminal).")
def pre_push_command(
    remote: str | None, url: str | None, color: bool | None, **options: Any
) -> None:
    """Scan the commits a push sends.

    Under pre-commit the range comes from PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF; as a raw git
    hook (`.git/hooks/pre-push`) from git's lines on standard input. Run by hand, it scans the
    commits of HEAD that no remote-tracking branch has.
    """
    from keyscan.commands.rangescan import read_pre_push_lines
    from keyscan.config import discover_config

    repo = current_repository()
    request = request_from_options(repo, "pre-push", options)
    setup = prepare_scan(request, discover_config(request.config, repo))
    lines: list[str] | None = None
    if not os.environ.get("PRE_COMMIT"):
        lines = [] if sys.stdin is None or sys.stdin.isatty() else read_pre_push_lines()
        if not lines and (remote is None or sys.stdin is None or sys.stdin.isatty()):
            lines = None  # by hand: what HEAD would push
    result = push_result(repo, setup, lines)
    what = "the commits being pushed"
    command = "keyscan --diff REMOTE/BRANCH..HEAD"
    sys.exit(_finish(setup, result, what, "push blocked", PUSH_HINTS, command, color))
