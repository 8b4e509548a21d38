"""`keyscan config init`: write a commented starter .keyscan.yaml."""

from __future__ import annotations

from pathlib import Path

import click

from keyscan.errors import KeyscanError
from keyscan.output import write_report

STARTER = """\
# keyscan configuration. It always extends the built-in rules; `keyscan rules list` shows them.
# Unknown keys are errors, so a typo never silently disables anything.

# Paths never scanned (gitignore-style globs relative to this file): test fixtures, vendored code.
allowlist:
  paths: []
  #  - tests/fixtures/
  #  - "*.pem.sample"
  # Values never reported, matched against the secret (regexes) or contained in it (stopwords).
  regexes: []
  stopwords: []

# Rule ids to switch off, and severity overrides (low | medium | high | critical).
disable: []
severity: {}
#  generic.bearer-token: low

# Extra rule files or directories (see docs/writing-rules.md).
rules: []

# Files larger than this are skipped (and counted in the summary).
# max_file_size: 10MB
"""


@click.group("config")
def config_group() -> None:
    """keyscan's configuration file."""


@config_group.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing .keyscan.yaml.")
def init(directory: Path, force: bool) -> None:
    """Write a commented starter .keyscan.yaml into DIRECTORY."""
    target = directory / ".keyscan.yaml"
    if target.exists() and not force:
        raise KeyscanError(f"{target}: already exists (--force replaces it)")
    write_report(STARTER, str(target))
    click.echo(f"wrote {target}", err=True)
