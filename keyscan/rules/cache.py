"""On-disk cache of parsed rules (JSON, never pickle), keyed by the hash of the rule texts."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from keyscan import __version__
from keyscan.rules.schema import Allowlist, Rule

_LAYOUT = 3
_TUPLE_FIELDS = frozenset(f.name for f in fields(Rule) if str(f.type).startswith("tuple"))


def _cache_file(texts: Sequence[tuple[str, str]], cache_dir: Path) -> Path:
    # The layout number changes whenever Rule gains a field, so an older file is never read as
    # if the new field had its default.
    digest = hashlib.sha256(f"keyscan {__version__} layout {_LAYOUT}".encode())
    for name, text in texts:
        digest.update(b"\x00" + name.encode() + b"\x00" + text.encode())
    return cache_dir / f"rules-{digest.hexdigest()[:32]}.json"


def _rule_from_json(raw: dict[str, Any]) -> Rule:
    # In place, and only the fields that are tuples: this runs for every rule of every warm
    # start.
    for name in _TUPLE_FIELDS:
        raw[name] = tuple(raw[name])
    raw["allowlist"] = Allowlist(**{k: tuple(v) for k, v in raw["allowlist"].items()})
    return Rule(**raw)


def load_cached_rules(
    texts: Sequence[tuple[str, str]], cache_dir: Path | None
) -> tuple[Rule, ...] | None:
    if cache_dir is None:
        return None
    try:
        raw = json.loads(_cache_file(texts, cache_dir).read_text(encoding="utf-8"))
        return tuple(_rule_from_json(r) for r in raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def store_cached_rules(
    texts: Sequence[tuple[str, str]], cache_dir: Path | None, rules: Sequence[Rule]
) -> None:
    if cache_dir is None:
        return
    try:
        payload = json.dumps([asdict(r) for r in rules])
    except (TypeError, ValueError):
        return  # a verify/revoke section with non-JSON YAML values: just parse next time
    target = _cache_file(texts, cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=cache_dir, prefix=".rules-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
        os.replace(temporary, target)
    except OSError:
        pass
