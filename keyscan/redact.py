"""Redaction of secrets for every report: a short prefix, never enough to use or guess."""

from __future__ import annotations

from collections.abc import Mapping

from keyscan.model import Finding
from keyscan.rules.schema import Rule


def redact(secret: str, show_prefix: bool = True) -> str:
    # A provider token's first characters name its format (ghp_, sk_l, AKIA) and help triage; at
    # most 4 characters and a quarter of the value, never enough to narrow a brute force. A
    # password has no format to name, so nothing of it is shown.
    shown = min(4, len(secret) // 4) if show_prefix else 0
    return f"{secret[:shown]}…({len(secret)} chars)"


def shown_secret(finding: Finding, rules: Mapping[str, Rule], show_secrets: bool) -> str:
    if show_secrets:
        return finding.secret
    rule = rules.get(finding.rule_id)
    return redact(finding.secret, show_prefix=rule is None or not rule.generic)
