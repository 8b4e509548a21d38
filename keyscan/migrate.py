"""Reading other scanners' triage files (detect-secrets baselines, gitleaks reports and ignore
files) and matching their entries to keyscan findings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keyscan.errors import ConfigError
from keyscan.model import Finding


def _detect_secrets(
    doc: dict[str, Any], findings: Sequence[Finding]
) -> tuple[list[Finding], int, int]:
    # detect-secrets stores sha1(secret) per file and line. Entries audited as real secrets
    # (is_secret: true) are not accepted; everything else the baseline lists is.
    old: list[tuple[str, str, int]] = []
    total = 0
    for path, entries in (doc.get("results") or {}).items():
        for entry in entries:
            total += 1
            if entry.get("is_secret") is not True:
                old.append(
                    (path, str(entry.get("hashed_secret", "")), int(entry.get("line_number", 0)))
                )
    hashes = {(path, digest) for path, digest, _ in old}
    lines = {(path, line) for path, _, line in old}
    accepted = []
    for finding in findings:
        digest = hashlib.sha1(finding.secret.encode(), usedforsecurity=False).hexdigest()
        if (finding.path, digest) in hashes or (finding.path, finding.line) in lines:
            accepted.append(finding)
    hit_hashes = {
        (f.path, hashlib.sha1(f.secret.encode(), usedforsecurity=False).hexdigest())
        for f in accepted
    }
    hit_lines = {(f.path, f.line) for f in accepted}
    unmatched = sum(
        1
        for path, digest, line in old
        if (path, digest) not in hit_hashes and (path, line) not in hit_lines
    )
    return accepted, unmatched, total


def _gitleaks_locations(
    entries: Sequence[tuple[str, int]], findings: Sequence[Finding]
) -> tuple[list[Finding], int, int]:
    wanted = set(entries)
    accepted = [f for f in findings if (f.path, f.line) in wanted]
    found = {(f.path, f.line) for f in accepted}
    return accepted, len(wanted - found), len(wanted)


def match_legacy(source: Path, findings: Sequence[Finding]) -> tuple[list[Finding], int, int]:
    """(keyscan findings the old file accepted, old entries that matched nothing, old entries)."""
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{source}: invalid JSON: {exc}") from None
        if isinstance(doc, dict) and "results" in doc:
            return _detect_secrets(doc, findings)
        if isinstance(doc, list):
            entries = [
                (str(e.get("File", "")), int(e.get("StartLine", 0)))
                for e in doc
                if isinstance(e, dict)
            ]
            return _gitleaks_locations(entries, findings)
        raise ConfigError(f"{source}: neither a detect-secrets baseline nor a gitleaks report")
    # .gitleaksignore: one fingerprint per line, `[commit:]file:rule:line`.
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(":")
        if len(parts) < 3 or not parts[-1].isdigit():
            raise ConfigError(f"{source}:{number}: expected [commit:]file:rule-id:line")
        entries.append((parts[-3], int(parts[-1])))
    return _gitleaks_locations(entries, findings)
