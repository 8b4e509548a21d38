"""The closed rule schema: YAML mappings in, frozen `Rule` values out, or a RuleError."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keyscan.errors import RuleError
from keyscan.rules.yamlload import LinedDict, load_yaml

if TYPE_CHECKING:
    import regex

SEVERITIES = ("low", "medium", "high", "critical")
KINDS = ("provider", "generic")
CHECKSUMS = ("github-crc32", "npm-crc32", "pypi-macaroon", "basic-auth", "jwt")
_ID_SHAPE = re.compile(r"^[a-z0-9]+(?:[.\-_][a-z0-9]+)*$")
_TOP_KEYS = frozenset({"rules"})
_RULE_KEYS = frozenset(
    {
        "id",
        "name",
        "description",
        "severity",
        "kind",
        "tags",
        "keywords",
        "keyword_case",
        "requires",
        "at_keyword",
        "pattern",
        "entropy",
        "checksum",
        "multiline",
        "allowlist",
        "examples",
        "negative_examples",
        "references",
        "hosts",
        "verify",
        "revoke",
    }
)
_ALLOWLIST_KEYS = frozenset({"regexes", "stopwords", "paths"})
_REQUIRED = ("id", "name", "description", "severity", "keywords", "pattern")


@dataclass(frozen=True)
class Allowlist:
    """Values a rule never reports: regexes and stopwords on the secret, regexes on the path."""

    regexes: tuple[str, ...] = ()
    stopwords: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One detection rule, exactly as declared; compilation happens in the ruleset."""

    id: str
    name: str
    description: str
    severity: str
    keywords: tuple[str, ...]
    pattern: str
    kind: str = "provider"
    # "sensitive" when a keyword only means something in its exact case (SG. but not msg.).
    keyword_case: str = "insensitive"
    # Literals that must also occur in the window before the pattern runs: a cheap C-level
    # check that spares the regex on the many keyword hits that cannot match (:// without @).
    requires: tuple[str, ...] = ()
    # A regex (Python `re`, on the raw bytes) that must match at a keyword occurrence for the
    # pattern to be possible there: URL credentials need `@` before the first `/` after `://`,
    # which spares the pattern every link in a changelog full of @mentions.
    at_keyword: str | None = None
    tags: tuple[str, ...] = ()
    entropy: float | None = None
    checksum: str | None = None
    multiline: bool = False
    allowlist: Allowlist = Allowlist()
    examples: tuple[str, ...] = ()
    negative_examples: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    verify: Mapping[str, Any] | None = None
    revoke: Mapping[str, Any] | None = None
    source: str = ""
    line: int = 0
    # Shipped with keyscan: a single-line pattern is tested against adversarial windows
    # (tests/test_rule_timing.py), so its short windows skip the per-call regex timeout.
    builtin: bool = False

    @property
    def generic(self) -> bool:
        return self.kind == "generic"


def _str(value: Any, file: str, rule: str | None, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError(file, "must be a non-empty string", rule, field)
    return value


def _str_list(value: Any, file: str, rule: str | None, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RuleError(file, "must be a list of non-empty strings", rule, field)
    return tuple(value)


# A named group's opening, `(?P<name>` or `(?<name>` (not a lookbehind: `=` and `!` are no name).
_GROUP_NAME = re.compile(r"\(\?P?<([A-Za-z_]\w*)>")


def _compiled(pattern: str) -> regex.Pattern[str]:
    import regex  # on use, as in keyscan.config: rules mostly come parsed from the rule cache

    return regex.compile(pattern)


def _compile_check(pattern: str, file: str, rule: str | None, field: str) -> None:
    import regex

    try:
        regex.compile(pattern)
    except regex.error as exc:
        raise RuleError(file, f"does not compile: {exc}", rule, field) from None


def _group_names(pattern: str, compiled: bool) -> frozenset[str]:
    """The named groups of `pattern`: from the compiled pattern, or (for rules `rules check`
    has compiled already, see parse_rule) read from its text."""
    if compiled:
        return frozenset(_compiled(pattern).groupindex)
    return frozenset(_GROUP_NAME.findall(pattern))


def _allowlist(value: Any, file: str, rule: str, compile_patterns: bool) -> Allowlist:
    if value is None:
        return Allowlist()
    if not isinstance(value, dict):
        raise RuleError(file, "must be a mapping", rule, "allowlist")
    unknown = sorted(set(value) - _ALLOWLIST_KEYS)
    if unknown:
        raise RuleError(file, f"unknown key {unknown[0]!r}", rule, "allowlist")
    allow = Allowlist(
        regexes=_str_list(value.get("regexes"), file, rule, "allowlist.regexes"),
        stopwords=tuple(
            s.lower() for s in _str_list(value.get("stopwords"), file, rule, "allowlist.stopwords")
        ),
        paths=_str_list(value.get("paths"), file, rule, "allowlist.paths"),
    )
    if compile_patterns:
        for field, patterns in (
            ("allowlist.regexes", allow.regexes),
            ("allowlist.paths", allow.paths),
        ):
            for pattern in patterns:
                _compile_check(pattern, file, rule, field)
    return allow


def _check_network(
    raw: Mapping[str, Any], pattern: str, where: str, rule_id: str, compiled: bool
) -> None:
    """hosts/verify/revoke are checked when the rule loads, long before anything is sent."""
    if not any(key in raw for key in ("hosts", "verify", "revoke")):
        return
    from keyscan.remote.spec import SpecError, parse_network

    groups = _group_names(pattern, compiled) - {"secret"}
    try:
        parse_network(rule_id, raw.get("hosts"), raw.get("verify"), raw.get("revoke"), groups)
    except SpecError as exc:
        raise RuleError(where, exc.message, rule_id, exc.field) from None


def parse_rule(raw: Any, file: str, index: int, compile_patterns: bool = True) -> Rule:
    """Validate one rule mapping against the closed schema.

    `compile_patterns=False` is for the built-in rules only: compiling their 289 patterns took
    most of a cold start (about 0.3 s), and `keyscan rules check --strict`, which compiles every
    one of them, runs in CI before any release. Everything else is still checked.
    """
    if not isinstance(raw, dict):
        raise RuleError(file, f"rules[{index}] must be a mapping")
    line = raw.line if isinstance(raw, LinedDict) else 0
    where = f"{file}:{line}" if line else file
    rid = raw.get("id")
    label = rid if isinstance(rid, str) else f"rules[{index}]"
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise RuleError(where, f"unknown key {unknown[0]!r}", label, unknown[0])
    for key in _REQUIRED:
        if key not in raw:
            raise RuleError(where, "is required", label, key)
    rule_id = _str(raw["id"], where, label, "id")
    if not _ID_SHAPE.match(rule_id):
        raise RuleError(where, "must be lower-case words joined by '.', '-' or '_'", label, "id")
    severity = raw["severity"]
    if severity not in SEVERITIES:
        raise RuleError(where, f"must be one of {', '.join(SEVERITIES)}", rule_id, "severity")
    kind = raw.get("kind", "provider")
    if kind not in KINDS:
        raise RuleError(where, f"must be one of {', '.join(KINDS)}", rule_id, "kind")
    keywords = _str_list(raw["keywords"], where, rule_id, "keywords")
    if not keywords:
        raise RuleError(where, "needs at least one keyword", rule_id, "keywords")
    for keyword in keywords:
        if not keyword.isascii() or len(keyword) < 2:
            raise RuleError(
                where, f"keyword {keyword!r} must be ASCII, 2+ chars", rule_id, "keywords"
            )
    keyword_case = raw.get("keyword_case", "insensitive")
    if keyword_case not in ("insensitive", "sensitive"):
        raise RuleError(where, "must be insensitive or sensitive", rule_id, "keyword_case")
    requires = _str_list(raw.get("requires"), where, rule_id, "requires")
    at_keyword = raw.get("at_keyword")
    if at_keyword is not None:
        at_keyword = _str(at_keyword, where, rule_id, "at_keyword")
        try:
            re.compile(at_keyword.encode("utf-8"))
        except re.error as exc:
            raise RuleError(where, f"does not compile: {exc}", rule_id, "at_keyword") from None
    pattern = _str(raw["pattern"], where, rule_id, "pattern")
    if compile_patterns:
        _compile_check(pattern, where, rule_id, "pattern")
    if "secret" not in _group_names(pattern, compile_patterns):
        raise RuleError(where, "must define the named group (?P<secret>...)", rule_id, "pattern")
    entropy = raw.get("entropy")
    if entropy is not None and (
        isinstance(entropy, bool) or not isinstance(entropy, (int, float)) or not 0 <= entropy <= 8
    ):
        raise RuleError(where, "must be a number between 0 and 8", rule_id, "entropy")
    checksum = raw.get("checksum")
    if checksum is not None and checksum not in CHECKSUMS:
        raise RuleError(where, f"must be one of {', '.join(CHECKSUMS)}", rule_id, "checksum")
    multiline = raw.get("multiline", False)
    if not isinstance(multiline, bool):
        raise RuleError(where, "must be true or false", rule_id, "multiline")
    _check_network(raw, pattern, where, rule_id, compile_patterns)
    return Rule(
        id=rule_id,
        name=_str(raw["name"], where, rule_id, "name"),
        description=_str(raw["description"], where, rule_id, "description").strip(),
        severity=severity,
        kind=kind,
        tags=_str_list(raw.get("tags"), where, rule_id, "tags"),
        keywords=keywords if keyword_case == "sensitive" else tuple(k.lower() for k in keywords),
        keyword_case=keyword_case,
        requires=requires,
        at_keyword=at_keyword,
        pattern=pattern,
        entropy=float(entropy) if entropy is not None else None,
        checksum=checksum,
        multiline=multiline,
        allowlist=_allowlist(raw.get("allowlist"), where, rule_id, compile_patterns),
        examples=_str_list(raw.get("examples"), where, rule_id, "examples"),
        negative_examples=_str_list(
            raw.get("negative_examples"), where, rule_id, "negative_examples"
        ),
        references=_str_list(raw.get("references"), where, rule_id, "references"),
        hosts=_str_list(raw.get("hosts"), where, rule_id, "hosts"),
        verify=raw.get("verify"),
        revoke=raw.get("revoke"),
        source=file,
        line=line,
    )


def parse_rule_file(
    text: str | bytes, file: str, compile_patterns: bool = True
) -> tuple[Rule, ...]:
    """Parse a whole rule file (`rules: [...]`); see parse_rule for `compile_patterns`."""
    doc = load_yaml(text, file)
    if not isinstance(doc, dict) or "rules" not in doc:
        raise RuleError(file, "must be a mapping with a top-level 'rules' list")
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise RuleError(file, f"unknown top-level key {unknown[0]!r}")
    raw_rules = doc["rules"]
    if not isinstance(raw_rules, list):
        raise RuleError(file, "'rules' must be a list")
    return tuple(parse_rule(raw, file, i, compile_patterns) for i, raw in enumerate(raw_rules))
