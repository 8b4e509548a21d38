"""The baseline: accepted findings by fingerprint, in a sorted, merge-friendly YAML file."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keyscan.errors import ConfigError
from keyscan.model import Finding
from keyscan.output import write_report
from keyscan.rules.yamlload import LinedDict, load_yaml

BASELINE_NAME = ".keyscan-baseline.yaml"
_ENTRY_KEYS = frozenset({"fingerprint", "rule", "reason", "owner", "expires", "verdict"})
VERDICTS = ("real", "false-positive")
_HEADER = (
    "# keyscan baseline: findings accepted on purpose, by fingerprint (sha256 of rule id and\n"
    "# secret; never the secret). An entry past its `expires` date turns back into a finding.\n"
    "# Written by `keyscan baseline create|update`; edit reason, owner and expires by hand.\n"
)


@dataclass(frozen=True)
class BaselineEntry:
    fingerprint: str
    rule: str
    reason: str | None = None
    owner: str | None = None
    expires: datetime.date | None = None
    verdict: str | None = None  # set by `keyscan baseline audit`: real | false-positive

    def active(self, today: datetime.date) -> bool:
        return self.expires is None or today <= self.expires


@dataclass(frozen=True)
class Baseline:
    entries: dict[str, BaselineEntry]
    source: str = ""

    def suppresses(self, finding: Finding, today: datetime.date) -> bool:
        entry = self.entries.get(finding.fingerprint)
        return entry is not None and entry.rule == finding.rule_id and entry.active(today)


def _date(value: Any, where: str) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{where}: expires: must be a date like 2027-01-31")


def load_baseline(path: Path) -> Baseline:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the baseline: {exc}") from None
    doc = load_yaml(text, str(path)) or {}
    if not isinstance(doc, dict) or set(doc) - {"version", "entries"}:
        raise ConfigError(f"{path}: a baseline has only `version` and `entries`")
    if doc.get("version", 1) != 1:
        raise ConfigError(f"{path}: version: unsupported baseline version {doc.get('version')!r}")
    raw_entries = doc.get("entries") or []
    if not isinstance(raw_entries, list):
        raise ConfigError(f"{path}: entries: must be a list")
    entries: dict[str, BaselineEntry] = {}
    for index, raw in enumerate(raw_entries):
        line = raw.line if isinstance(raw, LinedDict) else 0
        where = f"{path}:{line}" if line else f"{path}: entries[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: an entry must be a mapping")
        unknown = sorted(set(raw) - _ENTRY_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}")
        fingerprint, rule = raw.get("fingerprint"), raw.get("rule")
        if not isinstance(fingerprint, str) or len(fingerprint) != 64:
            raise ConfigError(f"{where}: fingerprint: must be a 64-character sha256 hex digest")
        if not isinstance(rule, str) or not rule:
            raise ConfigError(f"{where}: rule: must be a rule id")
        for key in ("reason", "owner"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise ConfigError(f"{where}: {key}: must be text")
        verdict = raw.get("verdict")
        if verdict is not None and verdict not in VERDICTS:
            raise ConfigError(f"{where}: verdict: must be one of {', '.join(VERDICTS)}")
        entries[fingerprint] = BaselineEntry(
            fingerprint,
            rule,
            raw.get("reason"),
            raw.get("owner"),
            _date(raw.get("expires"), where),
            verdict,
        )
    return Baseline(entries, str(path))


def render_baseline(entries: Iterable[BaselineEntry]) -> str:
    """Deterministic: sorted by rule then fingerprint, no timestamps, no line numbers."""
    records = []
    for entry in sorted(entries, key=lambda e: (e.rule, e.fingerprint)):
        record: dict[str, Any] = {"fingerprint": entry.fingerprint, "rule": entry.rule}
        for key in ("reason", "owner"):
            if getattr(entry, key):
                record[key] = getattr(entry, key)
        if entry.expires:
            record["expires"] = entry.expires.isoformat()
        if entry.verdict:
            record["verdict"] = entry.verdict
        records.append(record)
    import yaml  # only writing a baseline needs PyYAML's dumper

    body = yaml.safe_dump(
        {"version": 1, "entries": records}, sort_keys=False, default_flow_style=False, width=100
    )
    return _HEADER + body


def merged(
    existing: Baseline | None, findings: Sequence[Finding], prune: bool
) -> list[BaselineEntry]:
    """Today's findings as entries, keeping the reason/owner/expires already written for them."""
    old = existing.entries if existing else {}
    current = {
        f.fingerprint: old.get(f.fingerprint) or BaselineEntry(f.fingerprint, f.rule_id)
        for f in findings
    }
    if not prune:
        for fingerprint, entry in old.items():
            current.setdefault(fingerprint, entry)
    return list(current.values())


def write_baseline(path: Path, entries: Iterable[BaselineEntry]) -> None:
    write_report(render_baseline(entries), str(path))


def apply_baseline(
    findings: Sequence[Finding], baseline: Baseline, today: datetime.date | None = None
) -> tuple[list[Finding], int]:
    """(findings not accepted by the baseline, how many it accepted)."""
    day = today or datetime.date.today()
    kept = [f for f in findings if not baseline.suppresses(f, day)]
    return kept, len(findings) - len(kept)
