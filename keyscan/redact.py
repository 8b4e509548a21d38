"""Redaction of secrets for every report: a short prefix, never enough to use or guess."""

from __future__ import annotations


def redact(secret: str) -> str:
    # At most 4 characters and at most a quarter of the value: enough to recognise a token
    # family (ghp_, sk_l, AKIA), never enough to narrow a brute force.
    shown = min(4, len(secret) // 4)
    return secret[:shown] + "…"
