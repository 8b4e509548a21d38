"""Fingerprints: sha256 of (rule id, secret), so they survive moved lines and renamed files."""

from __future__ import annotations

import hashlib


def fingerprint(rule_id: str, secret: str) -> str:
    # The NUL separator keeps ("a", "bc") and ("ab", "c") apart; rule ids never contain NUL.
    payload = rule_id.encode("utf-8") + b"\x00" + secret.encode("utf-8", "surrogateescape")
    return hashlib.sha256(payload).hexdigest()


def blob_id(data: bytes) -> str:
    """git's blob id, so a file on disk and the same content in history share one identity."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()
