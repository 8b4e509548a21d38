"""`keyscan rules list | check | explain`: the rule library and a linter for any rule file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keyscan.blobscan import BlobScanner
from keyscan.engine.hyperscan_engine import HyperscanEngine, hyperscan_available
from keyscan.engine.regex_engine import RegexEngine
from keyscan.errors import KeyscanError
from keyscan.fingerprint import blob_id
from keyscan.model import Blob, Finding, Provenance
from keyscan.options import ScanOptions
from keyscan.rules.load import builtin_rule_texts, read_rule_file, rule_files_under
from keyscan.rules.ruleset import Ruleset
from keyscan.rules.schema import Rule, parse_rule_file

EXAMPLE_PATH = "src/settings.txt"


@dataclass
class RuleReport:
    source: str
    rules: int = 0
    problems: list[str] = field(default_factory=list)


def _scan_text(scanner: BlobScanner, text: str) -> list[Finding]:
    data = text.encode("utf-8")
    blob = Blob(blob_id(data), data, Provenance(EXAMPLE_PATH))
    return scanner.scan(blob).findings


def _scanners(rule: Rule, explain: bool = False) -> list[BlobScanner]:
    ruleset = Ruleset([rule])
    options = ScanOptions(explain=explain)
    scanners = [BlobScanner(ruleset, RegexEngine(ruleset), options)]
    if hyperscan_available():
        scanners.append(BlobScanner(ruleset, HyperscanEngine(ruleset), options))
    return scanners


def check_rule(rule: Rule, strict: bool) -> list[str]:
    """Problems with one rule: examples that do not fire, negatives that do, engine disagreement."""
    problems: list[str] = []
    where = f"{rule.source}:{rule.line}: rule {rule.id!r}"
    if strict:
        for name, values in (
            ("examples", rule.examples),
            ("negative_examples", rule.negative_examples),
            ("references", rule.references),
        ):
            if not values:
                problems.append(f"{where}: field {name!r}: --strict requires at least one")
    for index, example in enumerate(rule.examples):
        haystack = example if rule.keyword_case == "sensitive" else example.lower()
        if strict and not any(k in haystack for k in rule.keywords):
            problems.append(f"{where}: examples[{index}]: contains none of the keywords")
    scanners = _scanners(rule)
    for index, example in enumerate(rule.examples):
        outcomes = [_scan_text(s, example) for s in scanners]
        count = len(outcomes[0])
        if count != 1:
            problems.append(
                f"{where}: examples[{index}]: gave {count} findings, expected exactly 1"
            )
        if any(o != outcomes[0] for o in outcomes[1:]):
            problems.append(f"{where}: examples[{index}]: the engines disagree")
    for index, negative in enumerate(rule.negative_examples):
        outcomes = [_scan_text(s, negative) for s in scanners]
        if outcomes[0]:
            problems.append(f"{where}: negative_examples[{index}]: gave a finding, expected none")
        if any(o != outcomes[0] for o in outcomes[1:]):
            problems.append(f"{where}: negative_examples[{index}]: the engines disagree")
    if strict:
        problems.extend(_unexercised_allowlist(rule, where))
    return problems


def _unexercised_allowlist(rule: Rule, where: str) -> list[str]:
    scanner = _scanners(rule, explain=True)[0]
    reasons: list[str] = []
    for negative in rule.negative_examples:
        data = negative.encode("utf-8")
        blob = Blob(blob_id(data), data, Provenance(EXAMPLE_PATH))
        reasons.extend(d.reason for d in scanner.scan(blob).dropped)
    problems = []
    for word in rule.allowlist.stopwords:
        if not any(f"stopword {word!r}" in r for r in reasons):
            problems.append(
                f"{where}: allowlist.stopwords {word!r}: no negative example exercises it"
            )
    for pattern in rule.allowlist.regexes:
        if not any(f"regex {pattern!r}" in r for r in reasons):
            problems.append(
                f"{where}: allowlist.regexes {pattern!r}: no negative example exercises it"
            )
    return problems


def check_files(paths: Sequence[Path], strict: bool) -> list[RuleReport]:
    """Lint rule files (or the built-ins when no path is given); never raises on a bad file."""
    reports: list[RuleReport] = []
    sources: list[tuple[str, Path | str]] = []
    if paths:
        for path in paths:
            try:
                sources.extend((str(p), p) for p in rule_files_under(path))
            except KeyscanError as exc:
                reports.append(RuleReport(str(path), problems=[str(exc)]))
    else:
        sources.extend((name, text) for name, text in builtin_rule_texts())
    seen: dict[str, str] = {}
    for name, origin in sources:
        report = RuleReport(name)
        reports.append(report)
        try:
            rules = (
                read_rule_file(origin)
                if isinstance(origin, Path)
                else parse_rule_file(origin, name)
            )
        except KeyscanError as exc:
            report.problems.append(str(exc))
            continue
        report.rules = len(rules)
        for rule in rules:
            if rule.id in seen:
                report.problems.append(
                    f"{name}:{rule.line}: rule {rule.id!r}: duplicate id, first in {seen[rule.id]}"
                )
            seen.setdefault(rule.id, f"{name}:{rule.line}")
            report.problems.extend(check_rule(rule, strict))
    if hyperscan_available():
        _check_hyperscan_compiles(sources, reports)
    return reports


def _check_hyperscan_compiles(
    sources: Sequence[tuple[str, Path | str]], reports: list[RuleReport]
) -> None:
    rules: list[Rule] = []
    for name, origin in sources:
        try:
            rules.extend(
                read_rule_file(origin)
                if isinstance(origin, Path)
                else parse_rule_file(origin, name)
            )
        except KeyscanError:
            continue
    if rules:
        try:
            HyperscanEngine(Ruleset(rules))
        except Exception as exc:  # hyperscan raises its own error hierarchy
            reports[-1].problems.append(f"hyperscan cannot compile the keyword database: {exc}")
