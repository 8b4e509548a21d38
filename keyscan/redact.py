"""Redaction of secrets for every report: a short prefix, never enough to use or guess."""

from __future__ import annotations

from collections.abc import Mapping

from keyscan.model import Finding
from keyscan.rules.schema import Rule

ELLIPSIS = "…"
# A provider token's first characters name its format (ghp_, sk_l, AKIA) and help triage; capped
# at 4 characters and a quarter of the value so the prefix never narrows a brute force much.
_MAX_PREFIX = 4


def redact(secret: str, show_prefix: bool = True) -> str:
    # Nothing but the prefix derives from the secret: not even its length, which would tell an
    # attacker how much is left to guess and tell apart otherwise identical redactions.
    shown = min(_MAX_PREFIX, len(secret) // 4) if show_prefix else 0
    return secret[:shown] + ELLIPSIS


def shown_secret(finding: Finding, rules: Mapping[str, Rule], show_secrets: bool) -> str:
    """The secret as a report may print it: clear only when the user asked for it."""
    if finding.secret_withheld:
        return finding.secret  # already redacted when it was recorded; the clear text is gone
    if show_secrets:
        return finding.secret
    rule = rules.get(finding.rule_id)
    # A password or a generic high-entropy value has no format for a prefix to name, so any
    # prefix would be pure leak; only provider rules (a known format) show one, and a rule this
    # report does not know is treated as generic.
    return redact(finding.secret, show_prefix=rule is not None and not rule.generic)
