"""Scanning one blob: engine hits, stage-2 extraction, filters, and locating findings."""

from __future__ import annotations

from dataclasses import dataclass, field

from keyscan.engine.base import Engine
from keyscan.engine.extract import Candidate, extract
from keyscan.entropy import shannon_entropy
from keyscan.filters import (
    GENERIC_FILTERS,
    PROVIDER_FILTERS,
    FilterInput,
    GlobalAllowlist,
    first_reason,
    global_allowlist,
)
from keyscan.fingerprint import fingerprint
from keyscan.model import Blob, Dropped, Finding, Skip
from keyscan.rules.ruleset import Ruleset

BINARY_SNIFF_BYTES = 8000
_LINE_CONTEXT = 2048
# Binary content is scanned as its printable runs: everything else becomes a line break, which keeps
# byte offsets unchanged.
_PRINTABLE_RUNS = bytes(b if 0x20 <= b < 0x7F or b == 0x09 else 0x0A for b in range(256))


def is_binary(data: bytes) -> bool:
    """git's rule: a NUL byte in the first 8000 bytes."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


@dataclass(frozen=True)
class ScanOptions:
    """Knobs of the scan path; no network, no output concerns."""

    max_file_size: int = 10 * 1024 * 1024
    scan_binary: bool = True
    inline_ignores: bool = True
    foreign_markers: bool = True
    explain: bool = False
    allowlist: GlobalAllowlist = GlobalAllowlist()


@dataclass
class BlobResult:
    findings: list[Finding] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)


class BlobScanner:
    """Turns blobs into findings with one ruleset and one engine; holds no per-scan state."""

    def __init__(self, ruleset: Ruleset, engine: Engine, options: ScanOptions):
        self.ruleset = ruleset
        self.engine = engine
        self.options = options

    def scan(self, blob: Blob) -> BlobResult:
        result = BlobResult()
        data = blob.data.translate(_PRINTABLE_RUNS) if blob.binary else blob.data
        hits = self.engine.keyword_hits(data)
        if not hits:
            return result
        wanted = (lambda rule: not rule.generic) if blob.binary else (lambda rule: True)
        extraction = extract(data, hits, self.ruleset, wanted)
        for rule_id in extraction.timed_out_rules:
            result.skips.append(
                Skip(
                    blob.provenance.path, "rule timed out", f"rule {rule_id} skipped for this file"
                )
            )
        rules = self.ruleset.rules
        # A span a provider rule recognised (kept, or rejected by its checksum: the token's own
        # format says it is not real) is never reported again by a generic rule.
        claimed: list[tuple[int, int]] = []
        for candidate in (c for c in extraction.candidates if not rules[c.rule_index].generic):
            if self._judge(blob, data, candidate, result) in (None, "checksum"):
                claimed.append((candidate.start, candidate.end))
        for candidate in (c for c in extraction.candidates if rules[c.rule_index].generic):
            if any(candidate.start < end and start < candidate.end for start, end in claimed):
                if self.options.explain:
                    result.dropped.append(
                        Dropped(
                            rules[candidate.rule_index].id,
                            candidate.start,
                            candidate.end,
                            "provider-match",
                            "a provider rule already recognised this value",
                        )
                    )
                continue
            self._judge(blob, data, candidate, result)
        return result

    def _judge(
        self, blob: Blob, data: bytes, candidate: Candidate, result: BlobResult
    ) -> str | None:
        """Record a finding, or the filter that dropped the candidate; returns that filter."""
        rule = self.ruleset.rules[candidate.rule_index]
        path = blob.provenance.path
        line_start = _line_start(data, candidate.start)
        line_end = data.find(b"\n", candidate.end, candidate.end + _LINE_CONTEXT)
        if line_end == -1:
            line_end = min(len(data), candidate.end + _LINE_CONTEXT)
        previous_start = _line_start(data, max(0, line_start - 1)) if line_start else line_start
        item = FilterInput(
            foreign_markers=self.options.foreign_markers,
            before=data[max(line_start, candidate.start - 100) : candidate.start].decode(
                "utf-8", "replace"
            ),
            after=data[candidate.end : min(line_end, candidate.end + 100)].decode(
                "utf-8", "replace"
            ),
            rule=rule,
            secret=candidate.secret,
            path=path,
            line=data[line_start:line_end].decode("utf-8", "replace"),
            previous_line=data[previous_start:line_start].decode("utf-8", "replace"),
            allow_regexes=self.ruleset.allow_regexes(candidate.rule_index),
        )
        filters = GENERIC_FILTERS if rule.generic else PROVIDER_FILTERS
        verdict = first_reason(item, filters, self.options.inline_ignores)
        if verdict is None:
            reason = global_allowlist(self.options.allowlist, candidate.secret, path)
            verdict = ("global-allowlist", reason) if reason else None
        if verdict is not None:
            if self.options.explain:
                result.dropped.append(
                    Dropped(rule.id, candidate.start, candidate.end, verdict[0], verdict[1])
                )
            return verdict[0]
        line, column = _position(blob.data, candidate.start)
        end_line, end_column = _position(blob.data, candidate.end)
        result.findings.append(
            Finding(
                rule_id=rule.id,
                rule_name=rule.name,
                severity=rule.severity,
                path=path,
                line=line,
                column=column,
                end_line=end_line,
                end_column=end_column,
                secret=candidate.secret,
                fingerprint=fingerprint(rule.id, candidate.secret),
                entropy=shannon_entropy(candidate.secret),
                commit=blob.provenance.commit,
                author=blob.provenance.author,
                date=blob.provenance.date,
                tags=rule.tags,
                blob=blob.id,
            )
        )
        return None


def _line_start(data: bytes, offset: int) -> int:
    # Bounded look-back: a 50 MB single-line file must not cost O(size) per candidate.
    low = max(0, offset - _LINE_CONTEXT)
    newline = data.rfind(b"\n", low, offset)
    return newline + 1 if newline != -1 else low


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and 1-based column in characters (SARIF's unicodeCodePoints)."""
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, len(data[start:offset].decode("utf-8", "surrogateescape")) + 1
