"""Finding and reading rule files: the built-ins shipped in the wheel plus any the user adds."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from pathlib import Path
from typing import TYPE_CHECKING

from keyscan.errors import RuleError
from keyscan.rules.schema import Rule, parse_rule_file

if TYPE_CHECKING:
    from importlib.abc import Traversable

BUILTIN_PACKAGE = "keyscan.builtin_rules"


def _builtin_root() -> Traversable:
    # An installed wheel carries top-level rules/ as the package keyscan.builtin_rules; a source
    # checkout (editable install, tests) reads rules/ beside the package.
    try:
        return resources.files(BUILTIN_PACKAGE)
    except ModuleNotFoundError:
        return resources.files("keyscan").joinpath("..", "rules")


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
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RuleError(str(path), "is not valid UTF-8") from None
    except OSError as exc:
        raise RuleError(str(path), f"cannot be read: {exc.strerror}") from None
    return parse_rule_file(text, str(path))


def load_rules(extra_paths: Iterable[Path] = (), include_builtin: bool = True) -> tuple[Rule, ...]:
    """Built-in rules then extra ones; a duplicate id is an error naming both files."""
    rules: list[Rule] = []
    if include_builtin:
        for name, text in builtin_rule_texts():
            rules.extend(parse_rule_file(text, name))
    for extra in extra_paths:
        for path in rule_files_under(extra):
            rules.extend(read_rule_file(path))
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
    return tuple(rules)
