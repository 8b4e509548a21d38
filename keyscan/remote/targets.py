"""Targets of verify/revoke: findings paired with their secret, read back from where found.

Reports are redacted by default, so a report alone does not hold the secrets. keyscan reads the
file (or the git blob of a history finding) again, rescans it and keeps the match whose
fingerprint the report names: the secret never has to be written down anywhere.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex

from keyscan.blobscan import BlobScanner
from keyscan.errors import KeyscanError
from keyscan.fingerprint import blob_id, fingerprint
from keyscan.gitcmd import GIT, git_env
from keyscan.model import Blob, Finding, Provenance

# Rules whose secret needs a partner from the same file (an AWS key id and its secret key).
PARTNERS = {
    "aws.access-key-id": ("aws.secret-access-key", "aws_secret_access_key"),
    "aws.secret-access-key": ("aws.access-key-id", "aws_access_key_id"),
}
_PARTNER_LINES = 10


class ReportError(KeyscanError):
    """A report that cannot be read as keyscan JSON or JSON Lines."""


@dataclass(frozen=True)
class ReportedFinding:
    """The fields of a report record that locate a finding; `secret` only if it was shown."""

    rule_id: str
    fingerprint: str
    path: str
    line: int
    commit: str | None = None
    secret: str | None = None
    severity: str = ""
    # The report's own record, so `keyscan verify` can hand it back with a verdict added.
    record: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Target:
    """A finding with its secret in memory, ready for a provider call."""

    rule_id: str
    secret: str
    fingerprint: str
    path: str
    line: int
    commit: str | None = None
    captures: Mapping[str, str] = field(default_factory=dict)
    partners: Mapping[str, str] = field(default_factory=dict)

    @property
    def location(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}@{self.commit[:12]}" if self.commit else where


@dataclass
class Recovery:
    targets: list[Target] = field(default_factory=list)
    missing: list[tuple[ReportedFinding, str]] = field(default_factory=list)


def read_report(path: Path) -> list[ReportedFinding]:
    """Findings of a keyscan `--format json` or `--format jsonl` report."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"{path}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ReportError(f"{path}: is not UTF-8 (expected a keyscan JSON report)") from None
    stripped = text.lstrip()
    records: list[object]
    if stripped.startswith("{") and not stripped.startswith('{"rule_id"'):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise ReportError(f"{path}: line {exc.lineno}: not valid JSON") from None  # type: ignore[attr-defined]
        if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
            raise ReportError(f"{path}: not a keyscan JSON report (no 'findings' list)")
        records = document["findings"]
    else:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                raise ReportError(f"{path}: line {number}: not valid JSON") from None
    return [_record(path, index, record) for index, record in enumerate(records)]


def _record(path: Path, index: int, record: object) -> ReportedFinding:
    if not isinstance(record, dict):
        raise ReportError(f"{path}: finding {index + 1} is not an object")
    try:
        rule_id, fp, file_path, line = (
            record["rule_id"],
            record["fingerprint"],
            record["path"],
            record["line"],
        )
    except KeyError as exc:
        raise ReportError(f"{path}: finding {index + 1} has no {exc.args[0]!r}") from None
    if not all(isinstance(v, str) for v in (rule_id, fp, file_path)) or not isinstance(line, int):
        raise ReportError(f"{path}: finding {index + 1} has fields of the wrong type")
    secret = record.get("secret") if record.get("redacted") is False else None
    commit = record.get("commit")
    return ReportedFinding(
        rule_id=rule_id,
        fingerprint=fp,
        path=file_path,
        line=line,
        commit=commit if isinstance(commit, str) else None,
        secret=secret if isinstance(secret, str) else None,
        severity=str(record.get("severity", "")),
        record={k: v for k, v in record.items() if k != "secret" or record.get("redacted")},
    )


def reported_from_findings(findings: Iterable[Finding]) -> list[ReportedFinding]:
    return [
        ReportedFinding(f.rule_id, f.fingerprint, f.path, f.line, f.commit, f.secret, f.severity)
        for f in findings
    ]


def targets_from_findings(findings: Sequence[Finding]) -> list[Target]:
    """Targets straight from a scan's findings: the secrets are already in memory."""
    by_file: dict[tuple[str, str | None], list[Finding]] = {}
    for finding in findings:
        by_file.setdefault((finding.path, finding.commit), []).append(finding)
    targets = []
    for finding in findings:
        neighbours = by_file[(finding.path, finding.commit)]
        targets.append(
            Target(
                rule_id=finding.rule_id,
                secret=finding.secret,
                fingerprint=finding.fingerprint,
                path=finding.path,
                line=finding.line,
                commit=finding.commit,
                partners=partners_for(finding, neighbours),
            )
        )
    return targets


def partners_for(finding: Finding, neighbours: Sequence[Finding]) -> dict[str, str]:
    """The nearest partner secret in the same file (an AWS key id beside its secret key)."""
    partner = PARTNERS.get(finding.rule_id)
    if partner is None:
        return {}
    candidates = [
        f
        for f in neighbours
        if f.rule_id == partner[0] and abs(f.line - finding.line) <= _PARTNER_LINES
    ]
    if not candidates:
        return {}
    nearest = min(candidates, key=lambda f: abs(f.line - finding.line))
    return {partner[1]: nearest.secret}


class TargetReader:
    """Reads a finding's content back and rescans it; one instance per verify or revoke run."""

    def __init__(self, root: Path, scanner: BlobScanner, patterns: Mapping[str, str]):
        self.root = root
        self.scanner = scanner
        self.patterns = patterns
        self._scanned: dict[tuple[str | None, str], tuple[bytes, list[Finding]] | str] = {}

    def recover(self, reported: Sequence[ReportedFinding]) -> Recovery:
        recovery = Recovery()
        for item in reported:
            scanned = self._scan(item)
            if isinstance(scanned, str):
                shown = item.secret
                if shown is not None and fingerprint(item.rule_id, shown) == item.fingerprint:
                    recovery.targets.append(self._target(item, shown, None, b"", []))
                else:
                    recovery.missing.append((item, scanned))
                continue
            data, found = scanned
            match = next((f for f in found if f.fingerprint == item.fingerprint), None)
            if match is None:
                recovery.missing.append((item, "the secret is no longer at this location"))
                continue
            recovery.targets.append(self._target(item, match.secret, match, data, found))
        return recovery

    def _target(
        self,
        item: ReportedFinding,
        secret: str,
        match: Finding | None,
        data: bytes,
        neighbours: list[Finding],
    ) -> Target:
        partners = partners_for(match, neighbours) if match is not None else {}
        return Target(
            rule_id=item.rule_id,
            secret=secret,
            fingerprint=item.fingerprint,
            path=item.path,
            line=item.line,
            commit=item.commit,
            captures=self._captures(item.rule_id, secret, data, match.line) if match else {},
            partners=partners,
        )

    def _captures(self, rule_id: str, secret: str, data: bytes, line: int) -> dict[str, str]:
        # Named groups other than `secret` are re-derived from the line the secret sits on.
        pattern = self.patterns.get(rule_id)
        if not pattern:
            return {}
        compiled = regex.compile(pattern)
        if len(compiled.groupindex) <= 1:
            return {}
        lines = data.split(b"\n")
        if not 0 < line <= len(lines):
            return {}
        text = lines[line - 1].decode("utf-8", "surrogateescape")
        for found in compiled.finditer(text, timeout=1.0):
            if found.group("secret") == secret:
                return {k: v for k, v in found.groupdict().items() if v and k != "secret"}
        return {}

    def _scan(self, item: ReportedFinding) -> tuple[bytes, list[Finding]] | str:
        key = (item.commit, item.path)
        if key not in self._scanned:
            data = self._read(item)
            if isinstance(data, str):
                self._scanned[key] = data
            else:
                blob = Blob(blob_id(data), data, Provenance(item.path, item.commit))
                self._scanned[key] = (data, self.scanner.scan(blob).findings)
        return self._scanned[key]

    def _read(self, item: ReportedFinding) -> bytes | str:
        if item.commit:
            try:
                completed = subprocess.run(
                    [*GIT, "cat-file", "blob", f"{item.commit}:{item.path}"],
                    cwd=self.root,
                    env=git_env(),
                    capture_output=True,
                    check=False,
                )
            except OSError as exc:
                return f"git could not run: {exc.strerror}"
            if completed.returncode != 0:
                return (
                    f"commit {item.commit[:12]} or its path is not in the repository at {self.root}"
                )
            return completed.stdout
        try:
            return (self.root / item.path).read_bytes()
        except OSError as exc:
            return f"cannot read {item.path}: {exc.strerror}"
