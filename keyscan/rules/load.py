"""Finding and reading rule files: the built-ins shipped in the wheel plus any the user adds."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from keyscan.errors import RuleError
from keyscan.rules.cache import load_cached_rules, store_cached_rules
from keyscan.rules.schema import Rule, parse_rule_file

if TYPE_CHECKING:
    from importlib.abc import Traversable

BUILTIN_PACKAGE = "keyscan.builtin_rules"


def _builtin_root() -> Traversable:
    # An installed wheel carries top-level rules/ as the package keyscan.builtin_rules; a source
    # checkout (editable install, tests) reads rules/ beside the package. A package on disk is
    # read as a directory: importlib.resources, which also reads zip archives, imports zipfile
    # and more, a few milliseconds of every start (a warm audit takes a tenth of a second).
    spec = importlib.util.find_spec(BUILTIN_PACKAGE)
    if spec is None:
        return Path(__file__).resolve().parents[2] / "rules"
    locations = list(spec.submodule_search_locations or ())
    if len(locations) == 1 and Path(locations[0]).is_dir():
        return Path(locations[0])
    from importlib import resources

    return resources.files(BUILTIN_PACKAGE)


def builtin_rule_texts() -> list[tuple[str, str]]:
    """(name, text) of every built-in rule file, in a stable order."""
    files = sorted(
        (e for e in _builtin_root().iterdir() if e.name.endswith((".yaml", ".yml"))),
        key=lambda entry: entry.name,
    )
    return [(f"rules/{entry.name}", entry.read_text(encoding="utf-8")) for entry in files]


def rule_files_under(path: Path) -> list[Path]:
    """A rule file, or every *.yaml/*.yml file below a directory."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if path.is_file():
        return [path]
    raise RuleError(str(path), "no such rule file or directory")


def read_rule_file(path: Path) -> tuple[Rule, ...]:
    return parse_rule_file(_read_text(path), str(path))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RuleError(str(path), "is not valid UTF-8") from None
    except OSError as exc:
        raise RuleError(str(path), f"cannot be read: {exc.strerror}") from None


def load_rules(
    extra_paths: Iterable[Path] = (), include_builtin: bool = True, cache_dir: Path | None = None
) -> tuple[Rule, ...]:
    """Built-in rules then extra ones; a duplicate id is an error naming both files.

    Parsed rules are cached by the hash of every file's text, which keeps start-up fast: the
    validation (every pattern compiled) runs once per ruleset, not once per command.
    """
    texts: list[tuple[str, str]] = list(builtin_rule_texts()) if include_builtin else []
    builtin_files = len(texts)
    for extra in extra_paths:
        texts.extend((str(path), _read_text(path)) for path in rule_files_under(extra))
    cached = load_cached_rules(texts, cache_dir)
    if cached is not None:
        return cached
    rules: list[Rule] = []
    for position, (name, text) in enumerate(texts):
        builtin = position < builtin_files
        # The built-in patterns are compiled by `rules check` in CI, not at every cold start.
        parsed = parse_rule_file(text, name, compile_patterns=not builtin)
        if builtin:
            parsed = tuple(replace(rule, builtin=True) for rule in parsed)
        rules.extend(parsed)
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            first = seen[rule.id]
            raise RuleError(
                f"{rule.source}:{rule.line}",
                f"duplicate rule id, first defined in {first.source}:{first.line}",
                rule.id,
                "id",
            )
        seen[rule.id] = rule
    store_cached_rules(texts, cache_dir, rules)
    return tuple(rules)
