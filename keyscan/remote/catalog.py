"""Which rules may make network calls: the built-ins and rule files the user explicitly trusts.

Rules discovered in the scanned repository (its .keyscan.yaml or pyproject) are never trusted for
network calls: a hostile repository could otherwise ship a rule that sends every secret it finds
to a host of its choosing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import regex

from keyscan.errors import RuleError
from keyscan.remote.spec import NetworkSpec, SpecError, parse_network
from keyscan.rules.load import load_rules, read_rule_file, rule_files_under
from keyscan.rules.schema import Rule


def network_specs(
    trusted_paths: Iterable[Path] = (), cache_dir: Path | None = None, allow_http: bool = False
) -> dict[str, NetworkSpec]:
    """Rule id -> NetworkSpec for built-in rules and the trusted rule files."""
    rules: list[Rule] = list(load_rules(cache_dir=cache_dir))
    for path in trusted_paths:
        for file in rule_files_under(path):
            rules.extend(read_rule_file(file))
    specs: dict[str, NetworkSpec] = {}
    for rule in rules:
        spec = spec_for(rule)
        if spec is None:
            continue
        if not allow_http and any(origin.scheme != "https" for origin in spec.hosts):
            raise RuleError(
                rule.source,
                "declares an http:// host (allowed only with --insecure-loopback-http)",
                rule.id,
                "hosts",
            )
        specs[rule.id] = spec
    return specs


def spec_for(rule: Rule) -> NetworkSpec | None:
    groups = frozenset(regex.compile(rule.pattern).groupindex) - {"secret"}
    try:
        return parse_network(rule.id, list(rule.hosts) or None, rule.verify, rule.revoke, groups)
    except SpecError as exc:
        raise RuleError(rule.source, exc.message, rule.id, exc.field) from None
