"""Command-line wiring only: options become a ScanRequest; KeyscanError becomes exit code 2."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from keyscan import __version__
from keyscan.commands.netoptions import network_options, network_options_from
from keyscan.errors import KeyscanError

FORMATS = ("text", "json", "jsonl", "sarif", "gitlab")
SUBCOMMANDS = ("scan", "rules")


# Commands whose modules load only when used, so `keyscan --version` and plain scans start fast.
LAZY_COMMANDS = {
    "baseline": ("keyscan.commands.baseline", "baseline_group"),
    "hook": ("keyscan.commands.hook", "hook_group"),
    "ci": ("keyscan.commands.ci", "ci_command"),
    "config": ("keyscan.commands.config_init", "config_group"),
    "ignores": ("keyscan.commands.ignores", "ignores_command"),
    "verify": ("keyscan.commands.verify", "verify_command"),
    "revoke": ("keyscan.commands.revoke", "revoke_command"),
}


class DefaultToScan(click.Group):
    """`keyscan PATH` means `keyscan scan PATH`: anything not naming a subcommand goes to scan."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        known = (*self.commands, *LAZY_COMMANDS, "--help", "-h", "--version")
        if not args or args[0] not in known:
            args = ["scan", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            import importlib

            module, attribute = LAZY_COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=DefaultToScan, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="keyscan")
def cli() -> None:
    """Find leaked keys, tokens, private keys and passwords.

    \b
    keyscan [PATH]                  scan a working tree (default: the current directory)
    keyscan rules list|check|explain
    Exit codes: 0 clean, 1 findings, 2 usage, configuration, rule or runtime error.
    """


def parse_size_option(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> int | None:
    if value is None:
        return None
    from keyscan.config import parse_size

    try:
        return parse_size(value)
    except KeyscanError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command("scan")
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@click.option(
    "--history",
    is_flag=True,
    help="Audit every blob reachable from any ref, and every commit and tag message.",
)
@click.option("--staged", is_flag=True, help="Scan exactly what the next commit will contain.")
@click.option(
    "--pre-push",
    is_flag=True,
    help="Read git's pre-push lines on stdin and scan the commits being pushed.",
)
@click.option(
    "--diff",
    "diff_range",
    metavar="BASE..HEAD",
    help="Scan what the commits in BASE..HEAD add (merge-base aware).",
)
@click.option(
    "-f",
    "--format",
    "format_",
    type=click.Choice(FORMATS, case_sensitive=False),
    default=None,
    help="Report format (default: the configuration's `format`, else text).",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write the report to FILE (atomically) instead of stdout.",
)
@click.option(
    "-c",
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Configuration file (default: .keyscan.yaml at the scan root).",
)
@click.option(
    "--show-secrets", is_flag=True, help="Print secrets in clear text (redacted by default)."
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour text output (default: on a terminal, unless NO_COLOR is set).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: on a terminal).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Worker processes (0 = one per core).",
)
@click.option(
    "--engine",
    type=click.Choice(("auto", "hyperscan", "regex")),
    default="auto",
    show_default=True,
    help="Stage-1 engine.",
)
@click.option(
    "--max-file-size",
    callback=parse_size_option,
    metavar="SIZE",
    help="Skip files larger than SIZE (default 10MB).",
)
@click.option(
    "--binary/--no-binary",
    default=True,
    help="Scan printable runs of binary files with provider rules (default) or skip them.",
)
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra rule file or directory (repeatable).",
)
@click.option(
    "--enable-rule", multiple=True, metavar="ID", help="Run only these rules (repeatable)."
)
@click.option(
    "--disable-rule", multiple=True, metavar="ID", help="Do not run this rule (repeatable)."
)
@click.option(
    "--no-inline-ignores",
    is_flag=True,
    help="Ignore keyscan:allow and similar markers (for audits).",
)
@click.option(
    "--explain", is_flag=True, help="Print to stderr every candidate a filter dropped, and why."
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Cache directory (default: the user cache directory).",
)
@click.option("--no-cache", is_flag=True, help="Do not read or write any cache.")
@click.option(
    "--baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Accepted findings (default: .keyscan-baseline.yaml at the repository root, if any).",
)
@click.option("--no-baseline", is_flag=True, help="Report every finding, baseline or not.")
@click.option(
    "--decode-depth",
    type=click.IntRange(0, 3),
    default=None,
    help="Look inside base64, hex, percent-encoding, string escapes and Kubernetes Secrets, "
    "this many encodings deep (default 2; 0 = off).",
)
@click.option(
    "--whole-versions",
    is_flag=True,
    help="--history: scan every version of a file whole, not only the lines it changed since "
    "an earlier clean version (the findings are the same; for checking that, it is slower).",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Ask each provider (read-only) whether the found keys are live. Off by default: "
    "without it keyscan makes no network call.",
)
@network_options
def scan_command(path: Path, format_: str | None, output: str | None, **options: Any) -> None:
    """Scan PATH: tracked and untracked-not-ignored files in git, every file elsewhere."""
    from keyscan.commands.scan import run_scan
    from keyscan.request import ScanRequest

    network = network_options_from(options) if options.pop("verify") else None
    request = ScanRequest(
        target=path,
        mode=_mode(
            [name for name in ("history", "staged", "pre-push") if options[name.replace("-", "_")]],
            options["diff_range"],
        ),
        diff_range=options["diff_range"],
        format=format_.lower() if format_ else "",
        output=output,
        config=options["config"],
        show_secrets=options["show_secrets"],
        color=options["color"],
        progress=options["progress"],
        jobs=options["jobs"],
        engine=options["engine"],
        max_file_size=options["max_file_size"],
        scan_binary=options["binary"],
        rule_paths=tuple(options["rule_paths"]),
        enable_rules=tuple(options["enable_rule"]),
        disable_rules=tuple(options["disable_rule"]),
        inline_ignores=not options["no_inline_ignores"],
        explain=options["explain"],
        cache_dir=options["cache_dir"],
        use_cache=not options["no_cache"],
        baseline=options["baseline"],
        use_baseline=not options["no_baseline"],
        verify=network,
        decode_depth=options["decode_depth"],
        edit_scans=not options["whole_versions"],
    )
    sys.exit(run_scan(request))


def _mode(flags: list[str], diff_range: str | None) -> str:
    """The one scan mode asked for: two (`--history --staged`) would leave one silently unrun."""
    given = [f"--{flag}" for flag in flags] + (["--diff"] if diff_range else [])
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} cannot be combined")
    return "diff" if diff_range else (flags[0] if flags else "worktree")


@cli.group("rules")
def rules_group() -> None:
    """The rule library: list, lint and explain rules."""


@rules_group.command("list")
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra rule file or directory.",
)
def rules_list(rule_paths: tuple[Path, ...]) -> None:
    """List every active rule: id, severity, kind and name."""
    from keyscan.rules.load import load_rules

    rules = load_rules(rule_paths)
    width = max(len(r.id) for r in rules) if rules else 10
    for rule in sorted(rules, key=lambda r: r.id):
        click.echo(f"{rule.id:<{width}}  {rule.severity:<8}  {rule.kind:<8}  {rule.name}")
    click.echo(f"{len(rules)} rules", err=True)


@rules_group.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--strict", is_flag=True, help="Also require examples, negative examples and references."
)
def rules_check(files: tuple[Path, ...], strict: bool) -> None:
    """Lint rule FILES (default: the built-in rules): schema, both engines, examples."""
    from keyscan.commands.rules import check_files

    reports = check_files(files, strict)
    problems = [p for r in reports for p in r.problems]
    for problem in problems:
        click.echo(problem, err=True)
    total = sum(r.rules for r in reports)
    if problems:
        click.echo(f"{len(problems)} problems in {total} rules from {len(reports)} files", err=True)
        sys.exit(2)
    click.echo(f"ok: {total} rules from {len(reports)} files")


@rules_group.command("explain")
@click.argument("rule_id")
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra rule file or directory.",
)
def rules_explain(rule_id: str, rule_paths: tuple[Path, ...]) -> None:
    """Show everything about one rule."""
    from keyscan.rules.load import load_rules

    rules = {r.id: r for r in load_rules(rule_paths)}
    rule = rules.get(rule_id)
    if rule is None:
        raise KeyscanError(f"unknown rule id {rule_id!r} (see `keyscan rules list`)")
    lines = [
        f"{rule.id}: {rule.name}",
        f"  severity:   {rule.severity}",
        f"  kind:       {rule.kind}{' (not run on binary files)' if rule.generic else ''}",
        f"  tags:       {', '.join(rule.tags) or '-'}",
        f"  keywords:   {', '.join(rule.keywords)}",
        f"  pattern:    {rule.pattern}",
        f"  entropy:    {rule.entropy if rule.entropy is not None else '-'}",
        f"  checksum:   {rule.checksum or '-'}",
        f"  defined in: {rule.source}:{rule.line}",
        "",
        "  " + rule.description,
    ]
    if rule.references:
        lines += ["", "  references:", *(f"    {ref}" for ref in rule.references)]
    lines.append(
        f"\n  {len(rule.examples)} examples, {len(rule.negative_examples)} negative examples"
    )
    click.echo("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="keyscan", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        exc.show()
        return 2
    except click.Abort:
        click.echo("keyscan: interrupted", err=True)
        return 2
    except KeyscanError as exc:
        click.echo(f"keyscan: error: {exc}", err=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return 2
    except KeyboardInterrupt:
        click.echo("keyscan: interrupted", err=True)
        return 2
    except Exception as exc:  # the last line of defence: one line, exit 2, never a traceback
        if os.environ.get("KEYSCAN_DEBUG"):
            raise
        click.echo(
            f"keyscan: internal error: {type(exc).__name__} (set KEYSCAN_DEBUG=1 for details)",
            err=True,
        )
        return 2
    return 0
