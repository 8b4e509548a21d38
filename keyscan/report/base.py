"""What every reporter receives, and the Reporter protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from keyscan.model import Finding, Summary
from keyscan.rules.schema import Rule


@dataclass(frozen=True)
class ReportContext:
    """Everything a reporter may use; `show_secrets` is False unless the user asked."""

    findings: Sequence[Finding]
    summary: Summary
    rules: Mapping[str, Rule]
    show_secrets: bool = False
    color: bool = False
    tool_version: str = "0.0.0"
    scan_root: str = "."
    started: str = ""
    finished: str = ""


class Reporter(Protocol):
    def __call__(self, context: ReportContext, /) -> str: ...
