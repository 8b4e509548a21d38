"""`.keyscan.yaml` discovery and validation; a config always extends the built-in rules."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keyscan.errors import ConfigError, KeyscanError
from keyscan.options import MAX_DEPTH, GlobalAllowlist
from keyscan.rules.yamlload import LinedDict, load_yaml

CONFIG_NAMES = (".keyscan.yaml", ".keyscan.yml")
_TOP_KEYS = frozenset(
    {
        "allowlist",
        "disable",
        "rules",
        "max_file_size",
        "severity",
        "format",
        "foreign_markers",
        "decode_depth",
    }
)
_SEVERITIES = ("low", "medium", "high", "critical")
_ALLOW_KEYS = frozenset({"paths", "regexes", "stopwords"})


@dataclass(frozen=True)
class Config:
    """The user's settings, already validated; `root` anchors path globs and rule paths."""

    source: str = ""
    root: Path = Path(".")
    allowlist: GlobalAllowlist = GlobalAllowlist()
    disable: tuple[str, ...] = ()
    rule_paths: tuple[Path, ...] = ()
    max_file_size: int | None = None
    severity: tuple[tuple[str, str], ...] = ()  # (rule id, level) overrides
    format: str | None = None  # the report format when --format is not given
    foreign_markers: bool = True  # honour `pragma: allowlist secret` and `gitleaks:allow`
    decode_depth: int | None = None  # nested encodings to look through (0 = off)


def glob_to_regex(glob: str) -> str:
    """A gitignore-like glob (`**`, `*`, `?`, trailing `/` for a directory) as a path regex."""
    anchored = glob.startswith("/")
    glob = glob.lstrip("/")
    directory = glob.endswith("/")
    glob = glob.rstrip("/")
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    prefix = "^" if anchored or "/" in glob else "^(?:.*/)?"
    suffix = "/" if directory else "(?:/|$)"
    return prefix + "".join(out) + suffix


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: {key}: must be a list of non-empty strings")
    return tuple(value)


def parse_size(text: str | int) -> int:
    """`10MB`, `512k`, `2GiB` or a plain byte count."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text <= 0:
            raise KeyscanError(f"size must be positive, got {text}")
        return text
    value = str(text).strip().lower().replace("ib", "b")
    units = {
        "gb": 1 << 30,
        "mb": 1 << 20,
        "kb": 1 << 10,
        "g": 1 << 30,
        "m": 1 << 20,
        "k": 1 << 10,
        "b": 1,
    }
    for unit, factor in units.items():
        if value.endswith(unit) and value[: -len(unit)].strip().replace(".", "", 1).isdigit():
            return int(float(value[: -len(unit)]) * factor)
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise KeyscanError(f"invalid size {text!r}: use a byte count or a unit like 10MB or 512KB")


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from None
    if path.name == "pyproject.toml":
        return config_from_mapping(_pyproject_table(text, path), path)
    return config_from_mapping(load_yaml(text, str(path)), path)


def _pyproject_table(text: str, path: Path) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return document.get("tool", {}).get("keyscan")


def has_keyscan_table(path: Path) -> bool:
    try:
        return _pyproject_table(path.read_text(encoding="utf-8"), path) is not None
    except (OSError, UnicodeDecodeError, ConfigError):
        return False


def _line_of(mapping: Any, key: str) -> str:
    """`:LINE` of a key read from YAML, or nothing (TOML tables carry no lines)."""
    lines = getattr(mapping, "key_lines", None)
    return f":{lines[key]}" if isinstance(lines, dict) and key in lines else ""


def config_from_mapping(doc: Any, path: Path) -> Config:
    """Validate a configuration mapping (from .keyscan.yaml or [tool.keyscan])."""
    if doc is None:
        return Config(source=str(path), root=path.parent)
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping")
    line = doc.line if isinstance(doc, LinedDict) else 0
    for key in doc:
        if key not in _TOP_KEYS:
            at = _line_of(doc, key)
            raise ConfigError(
                f"{path}{at}: unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})"
            )
    allow = doc.get("allowlist") or {}
    if not isinstance(allow, dict):
        raise ConfigError(f"{path}:{line}: allowlist: must be a mapping")
    for key in allow:
        if key not in _ALLOW_KEYS:
            raise ConfigError(f"{path}{_line_of(allow, key)}: allowlist: unknown key {key!r}")
    # Imported on use: most scans have no patterns to compile, and a warm history audit, which
    # compiles none at all, would spend a tenth of its time importing regex.
    import regex

    try:
        allowlist = GlobalAllowlist(
            paths=tuple(
                regex.compile(glob_to_regex(g))
                for g in _strings(allow.get("paths"), str(path), "allowlist.paths")
            ),
            regexes=tuple(
                regex.compile(r)
                for r in _strings(allow.get("regexes"), str(path), "allowlist.regexes")
            ),
            stopwords=tuple(
                w.lower()
                for w in _strings(allow.get("stopwords"), str(path), "allowlist.stopwords")
            ),
        )
    except regex.error as exc:
        raise ConfigError(f"{path}: allowlist.regexes: does not compile: {exc}") from None
    size = doc.get("max_file_size")
    severity = doc.get("severity") or {}
    if not isinstance(severity, dict) or not all(
        isinstance(k, str) and v in _SEVERITIES for k, v in severity.items()
    ):
        raise ConfigError(f"{path}: severity: must map rule ids to one of {', '.join(_SEVERITIES)}")
    report_format = doc.get("format")
    if report_format is not None and report_format not in (
        "text",
        "json",
        "jsonl",
        "sarif",
        "gitlab",
    ):
        raise ConfigError(f"{path}: format: must be one of text, json, jsonl, sarif, gitlab")
    foreign = doc.get("foreign_markers", True)
    if not isinstance(foreign, bool):
        raise ConfigError(f"{path}: foreign_markers: must be true or false")
    depth = doc.get("decode_depth")
    if depth is not None and (isinstance(depth, bool) or depth not in range(MAX_DEPTH + 1)):
        raise ConfigError(f"{path}: decode_depth: must be a whole number from 0 to {MAX_DEPTH}")
    return Config(
        source=str(path),
        root=path.parent,
        format=report_format,
        foreign_markers=foreign,
        decode_depth=depth,
        allowlist=allowlist,
        disable=_strings(doc.get("disable"), str(path), "disable"),
        rule_paths=tuple(path.parent / p for p in _strings(doc.get("rules"), str(path), "rules")),
        max_file_size=parse_size(size) if size is not None else None,
        severity=tuple(sorted(severity.items())),
    )


def discover_config(explicit: Path | None, scan_root: Path) -> Config:
    """--config, then KEYSCAN_CONFIG, then .keyscan.yaml, then [tool.keyscan] in pyproject.toml
    at the scan root; else the built-in defaults (a configuration always extends them)."""
    if explicit is not None:
        return load_config(explicit)
    from_env = os.environ.get("KEYSCAN_CONFIG")
    if from_env:
        return load_config(Path(from_env))
    for name in CONFIG_NAMES:
        candidate = scan_root / name
        if candidate.is_file():
            return load_config(candidate)
    pyproject = scan_root / "pyproject.toml"
    if pyproject.is_file() and has_keyscan_table(pyproject):
        return load_config(pyproject)
    return Config(root=scan_root)
