"""The `hosts`, `verify` and `revoke` sections of a rule: parsed, checked, and frozen.

Everything that can be checked without the network is checked here, when a rule is loaded: every
URL's origin is literal and declared in `hosts`, templates use only known variables and filters,
outcome names are the closed sets, a verify call never mutates, and a revocation has at most two
steps of which only the last may change anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keyscan.net.origin import Origin
from keyscan.remote.jsonpath import JsonPath, JsonPathError, parse_json_path
from keyscan.remote.template import Template, TemplateError, parse_template

VERIFY_OUTCOMES = ("live", "dead", "unknown")
REVOKE_OUTCOMES = ("revoked", "already_dead", "not_authorized", "not_found", "failed", "unknown")
REVOKE_KINDS = ("self", "third_party_report", "admin", "typed")
READ_ONLY_METHODS = ("GET", "HEAD")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
TYPED_VERIFIERS = {"aws-sts": "https://sts.amazonaws.com"}
TYPED_REVOKERS = {"aws-iam-access-key": "https://iam.amazonaws.com"}
MAX_STEPS = 2
_REQUEST_KEYS = frozenset(
    {"method", "url", "url_from_secret", "headers", "json", "form", "basic_auth", "html_ok"}
)
_MATCHER_KEYS = frozenset(
    {"status", "json_path_exists", "json_equals", "body_contains", "header_contains", "not"}
)
_STEP_KEYS = frozenset({"name", "request", "outcomes", "select", "extract"})
_VERIFY_KEYS = frozenset({"request", "outcomes", "report", "safe_post", "typed"})
_REVOKE_KEYS = frozenset(
    {"kind", "reversible", "notice", "requires", "steps", "post_check", "type", "action"}
)


class SpecError(ValueError):
    """A problem in a network section; `field` is the dotted path of the offending key."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Matcher:
    """Conditions that must all hold for an outcome; `negated` is a nested `not:` matcher."""

    status: tuple[int, ...] = ()
    json_path_exists: tuple[JsonPath, ...] = ()
    json_equals: tuple[tuple[JsonPath, Any], ...] = ()
    body_contains: tuple[str, ...] = ()
    header_contains: tuple[tuple[str, str], ...] = ()
    negated: Matcher | None = None

    @property
    def needs_json(self) -> bool:
        return bool(self.json_path_exists or self.json_equals) or bool(
            self.negated and self.negated.needs_json
        )


@dataclass(frozen=True)
class RequestSpec:
    method: str
    url: Template | None
    url_from_secret: bool = False
    headers: tuple[tuple[str, Template], ...] = ()
    json_body: Any = None  # a YAML structure whose strings are Templates
    form: tuple[tuple[str, Template], ...] = ()
    basic_auth: tuple[Template, Template] | None = None
    html_ok: bool = False

    @property
    def mutating(self) -> bool:
        return self.method not in READ_ONLY_METHODS


@dataclass(frozen=True)
class Selection:
    """Pick exactly one element of a list by equality on fields, then extract from it."""

    items: JsonPath
    where: tuple[tuple[JsonPath, Template], ...]
    extract: tuple[tuple[str, JsonPath], ...]


@dataclass(frozen=True)
class Step:
    name: str
    request: RequestSpec
    outcomes: tuple[tuple[str, Matcher], ...]
    select: Selection | None = None
    extract: tuple[tuple[str, JsonPath], ...] = ()


@dataclass(frozen=True)
class VerifySpec:
    step: Step | None
    typed: str | None = None
    report: tuple[tuple[str, JsonPath], ...] = ()


@dataclass(frozen=True)
class RevokeSpec:
    kind: str
    reversible: bool
    notice: str
    steps: tuple[Step, ...] = ()
    requires: tuple[str, ...] = ()
    post_check: bool = True
    typed: str | None = None
    action: str | None = None

    @property
    def method_summary(self) -> str:
        if self.typed:
            return f"{self.typed} ({self.action})"
        last = self.steps[-1].request
        return last.method


@dataclass(frozen=True)
class NetworkSpec:
    """A rule's declared egress and calls; a rule without `hosts` has no NetworkSpec."""

    rule_id: str
    hosts: tuple[Origin, ...]
    verify: VerifySpec | None
    revoke: RevokeSpec | None


def parse_network(
    rule_id: str,
    hosts: Any,
    verify: Any,
    revoke: Any,
    capture_names: frozenset[str] = frozenset(),
) -> NetworkSpec | None:
    """The network sections of one rule, or None when it declares none."""
    if hosts is None and verify is None and revoke is None:
        return None
    if verify is None and revoke is None:
        raise SpecError("hosts", "is declared but the rule has no verify or revoke section")
    origins = _hosts(hosts)
    context = _Context(origins, capture_names, frozenset())
    verify_spec = _verify(verify, context) if verify is not None else None
    revoke_spec = _revoke(revoke, context) if revoke is not None else None
    return NetworkSpec(rule_id, origins, verify_spec, revoke_spec)


@dataclass(frozen=True)
class _Context:
    hosts: tuple[Origin, ...]
    captures: frozenset[str]
    env: frozenset[str]


def _hosts(value: Any) -> tuple[Origin, ...]:
    if not isinstance(value, list) or not value:
        raise SpecError("hosts", "must be a non-empty list of origins (https://host[:port])")
    origins: list[Origin] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, str):
            raise SpecError(f"hosts[{index}]", "must be a string")
        try:
            origin = Origin.parse(entry)
        except ValueError as exc:
            raise SpecError(f"hosts[{index}]", str(exc)) from None
        if origin.scheme != "https" and origin.host not in ("127.0.0.1", "localhost", "::1"):
            raise SpecError(f"hosts[{index}]", "must use https (http only for loopback tests)")
        origins.append(origin)
    return tuple(origins)


def _mapping(value: Any, field: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(field, "must be a mapping")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise SpecError(f"{field}.{unknown[0]}", "is not a known key")
    return value


def _free_mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(field, "must be a mapping")
    return value


def _template(value: Any, field: str, context: _Context, extracted: frozenset[str]) -> Template:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(field, "must be a string")
    try:
        template = parse_template(str(value))
    except TemplateError as exc:
        raise SpecError(field, str(exc)) from None
    for variable in template.variables():
        if variable.startswith("cap.") and variable[4:] not in context.captures:
            raise SpecError(field, f"{variable} is not a named group of the rule's pattern")
        if variable.startswith("env.") and variable[4:] not in context.env:
            raise SpecError(field, f"{variable} must be listed in revoke.requires")
        if variable.isupper() and variable not in extracted:
            raise SpecError(field, f"{variable} is not extracted by an earlier step")
    return template


def _json_path(value: Any, field: str) -> JsonPath:
    if not isinstance(value, str):
        raise SpecError(field, "must be a JSON path string")
    try:
        return parse_json_path(value)
    except JsonPathError as exc:
        raise SpecError(field, str(exc)) from None


def _url(value: Any, field: str, context: _Context, extracted: frozenset[str]) -> Template:
    template = _template(value, field, context, extracted)
    text = template.source
    scheme_end = text.find("://")
    if scheme_end < 0:
        raise SpecError(field, "must be an absolute URL")
    path_start = text.find("/", scheme_end + 3)
    authority = text if path_start < 0 else text[:path_start]
    if "{{" in (text if path_start < 0 else text[: path_start + 1]):
        raise SpecError(field, "the origin must be literal: templates only after the first '/'")
    try:
        origin = Origin.parse(authority)
    except ValueError as exc:
        raise SpecError(field, str(exc)) from None
    if origin not in context.hosts:
        raise SpecError(field, f"origin {origin} is not declared in hosts")
    return template


def _request(
    value: Any, field: str, context: _Context, extracted: frozenset[str], read_only: bool
) -> RequestSpec:
    raw = _mapping(value, field, _REQUEST_KEYS)
    method = raw.get("method")
    if method not in METHODS:
        raise SpecError(f"{field}.method", f"must be one of {', '.join(METHODS)}")
    if read_only and method not in READ_ONLY_METHODS:
        raise SpecError(f"{field}.method", "must be GET or HEAD here (this call must not mutate)")
    from_secret = raw.get("url_from_secret", False)
    if not isinstance(from_secret, bool):
        raise SpecError(f"{field}.url_from_secret", "must be true or false")
    if from_secret == ("url" in raw):
        raise SpecError(f"{field}.url", "give exactly one of url and url_from_secret: true")
    url = None if from_secret else _url(raw["url"], f"{field}.url", context, extracted)
    headers = []
    for name, header in _free_mapping(raw.get("headers", {}), f"{field}.headers").items():
        if not isinstance(name, str) or not name or any(c in name for c in ":\r\n "):
            raise SpecError(f"{field}.headers", f"invalid header name {name!r}")
        headers.append((name, _template(header, f"{field}.headers.{name}", context, extracted)))
    if "json" in raw and "form" in raw:
        raise SpecError(f"{field}.json", "give at most one of json and form")
    json_body = (
        _json_body(raw["json"], f"{field}.json", context, extracted) if "json" in raw else None
    )
    form = tuple(
        (str(name), _template(v, f"{field}.form.{name}", context, extracted))
        for name, v in _free_mapping(raw.get("form", {}), f"{field}.form").items()
    )
    basic = raw.get("basic_auth")
    basic_auth = None
    if basic is not None:
        if not isinstance(basic, list) or len(basic) != 2:
            raise SpecError(f"{field}.basic_auth", "must be [user, password]")
        basic_auth = (
            _template(basic[0], f"{field}.basic_auth[0]", context, extracted),
            _template(basic[1], f"{field}.basic_auth[1]", context, extracted),
        )
    html_ok = raw.get("html_ok", False)
    if not isinstance(html_ok, bool):
        raise SpecError(f"{field}.html_ok", "must be true or false")
    return RequestSpec(
        method=method,
        url=url,
        url_from_secret=from_secret,
        headers=tuple(headers),
        json_body=json_body,
        form=form,
        basic_auth=basic_auth,
        html_ok=html_ok,
    )


def _json_body(value: Any, field: str, context: _Context, extracted: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_body(v, f"{field}.{k}", context, extracted) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_body(v, f"{field}[{i}]", context, extracted) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _template(value, field, context, extracted)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise SpecError(field, "must be JSON data")


def _matcher(value: Any, field: str) -> Matcher:
    raw = _mapping(value, field, _MATCHER_KEYS)
    if not raw:
        raise SpecError(field, "needs at least one condition")
    status = raw.get("status", [])
    if not isinstance(status, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in status
    ):
        raise SpecError(f"{field}.status", "must be a list of HTTP status codes")
    exists = raw.get("json_path_exists", [])
    if not isinstance(exists, list):
        raise SpecError(f"{field}.json_path_exists", "must be a list of JSON paths")
    equals = _free_mapping(raw.get("json_equals", {}), f"{field}.json_equals")
    contains = raw.get("body_contains", [])
    if not isinstance(contains, list) or not all(isinstance(c, str) and c for c in contains):
        raise SpecError(f"{field}.body_contains", "must be a list of strings")
    headers = _free_mapping(raw.get("header_contains", {}), f"{field}.header_contains")
    return Matcher(
        status=tuple(status),
        json_path_exists=tuple(
            _json_path(p, f"{field}.json_path_exists[{i}]") for i, p in enumerate(exists)
        ),
        json_equals=tuple((_json_path(p, f"{field}.json_equals"), v) for p, v in equals.items()),
        body_contains=tuple(contains),
        header_contains=tuple((str(k).lower(), str(v)) for k, v in headers.items()),
        negated=_matcher(raw["not"], f"{field}.not") if "not" in raw else None,
    )


def _outcomes(value: Any, field: str, allowed: tuple[str, ...]) -> tuple[tuple[str, Matcher], ...]:
    if not isinstance(value, dict) or not value:
        raise SpecError(field, "is required: a mapping of outcome name to matcher")
    result = []
    for name, matcher in value.items():
        if name not in allowed:
            raise SpecError(f"{field}.{name}", f"outcome must be one of {', '.join(allowed)}")
        # A list is any-of: Slack says "dead" with several different error codes.
        alternatives = matcher if isinstance(matcher, list) and matcher else [matcher]
        for index, alternative in enumerate(alternatives):
            where = f"{field}.{name}" if len(alternatives) == 1 else f"{field}.{name}[{index}]"
            result.append((str(name), _matcher(alternative, where)))
    return tuple(result)


def _extract(value: Any, field: str) -> tuple[tuple[str, JsonPath], ...]:
    raw = _free_mapping(value, field)
    result = []
    for name, path in raw.items():
        if not isinstance(name, str) or not name.isupper() or not name.replace("_", "").isalnum():
            raise SpecError(f"{field}.{name}", "extracted names are UPPER_CASE")
        result.append((name, _json_path(path, f"{field}.{name}")))
    return tuple(result)


def _step(
    value: Any,
    field: str,
    context: _Context,
    extracted: frozenset[str],
    final: bool,
    read_only: bool,
) -> Step:
    raw = _mapping(value, field, _STEP_KEYS)
    name = raw.get("name", "request")
    if not isinstance(name, str) or not name:
        raise SpecError(f"{field}.name", "must be a non-empty string")
    request = _request(raw.get("request"), f"{field}.request", context, extracted, read_only)
    allowed = REVOKE_OUTCOMES if final else ("ok", *REVOKE_OUTCOMES)
    outcomes = _outcomes(raw.get("outcomes"), f"{field}.outcomes", allowed)
    if not final and "ok" not in dict(outcomes):
        raise SpecError(f"{field}.outcomes", "a first step needs an 'ok' outcome to go on")
    select = None
    if "select" in raw:
        sel = _mapping(raw["select"], f"{field}.select", frozenset({"list", "where", "extract"}))
        items = _json_path(sel.get("list"), f"{field}.select.list")
        if not items.wildcard:
            raise SpecError(f"{field}.select.list", "must end in [*] (a list to choose from)")
        where = tuple(
            (
                _json_path(p, f"{field}.select.where"),
                _template(t, f"{field}.select.where.{p}", context, extracted),
            )
            for p, t in _free_mapping(sel.get("where"), f"{field}.select.where").items()
        )
        if not where:
            raise SpecError(f"{field}.select.where", "needs a field that proves the match")
        select = Selection(
            items, where, _extract(sel.get("extract", {}), f"{field}.select.extract")
        )
    return Step(
        name=name,
        request=request,
        outcomes=outcomes,
        select=select,
        extract=_extract(raw.get("extract", {}), f"{field}.extract"),
    )


def _verify(value: Any, context: _Context) -> VerifySpec:
    raw = _mapping(value, "verify", _VERIFY_KEYS)
    if "typed" in raw:
        typed = raw["typed"]
        if typed not in TYPED_VERIFIERS or len(raw) != 1:
            raise SpecError("verify.typed", f"must be one of {', '.join(TYPED_VERIFIERS)} alone")
        if Origin.parse(TYPED_VERIFIERS[typed]) not in context.hosts:
            raise SpecError("hosts", f"must declare {TYPED_VERIFIERS[typed]} for {typed}")
        return VerifySpec(step=None, typed=typed)
    safe_post = raw.get("safe_post", False)
    if not isinstance(safe_post, bool):
        raise SpecError("verify.safe_post", "must be true or false")
    request = _request(raw.get("request"), "verify.request", context, frozenset(), False)
    if request.method not in READ_ONLY_METHODS and not (safe_post and request.method == "POST"):
        raise SpecError(
            "verify.request.method",
            "must be GET or HEAD (POST only with safe_post: true for read-only POST APIs)",
        )
    outcomes = _outcomes(raw.get("outcomes"), "verify.outcomes", VERIFY_OUTCOMES)
    report = tuple(
        (str(label), _json_path(path, f"verify.report.{label}"))
        for label, path in _free_mapping(raw.get("report", {}), "verify.report").items()
    )
    return VerifySpec(step=Step("verify", request, outcomes), report=report)


def _revoke(value: Any, context: _Context) -> RevokeSpec:
    raw = _mapping(value, "revoke", _REVOKE_KEYS)
    kind = raw.get("kind")
    if kind not in REVOKE_KINDS:
        raise SpecError("revoke.kind", f"must be one of {', '.join(REVOKE_KINDS)}")
    reversible = raw.get("reversible")
    if not isinstance(reversible, bool):
        raise SpecError("revoke.reversible", "is required: true or false")
    notice = raw.get("notice", "")
    if not isinstance(notice, str):
        raise SpecError("revoke.notice", "must be a string")
    requires = raw.get("requires", [])
    if not isinstance(requires, list) or not all(
        isinstance(r, str) and r.isupper() and r.startswith("KEYSCAN_") for r in requires
    ):
        raise SpecError("revoke.requires", "must list environment variables named KEYSCAN_*")
    post_check = raw.get("post_check", True)
    if not isinstance(post_check, bool):
        raise SpecError("revoke.post_check", "must be true or false")
    if kind == "typed":
        typed = raw.get("type")
        if typed not in TYPED_REVOKERS or "steps" in raw:
            raise SpecError("revoke.type", f"must be one of {', '.join(TYPED_REVOKERS)}")
        if Origin.parse(TYPED_REVOKERS[typed]) not in context.hosts:
            raise SpecError("hosts", f"must declare {TYPED_REVOKERS[typed]} for {typed}")
        action = raw.get("action", "deactivate")
        if action != "deactivate":
            raise SpecError("revoke.action", "must be deactivate (delete needs --destructive)")
        return RevokeSpec(kind, reversible, notice, (), tuple(requires), post_check, typed, action)
    if "type" in raw or "action" in raw:
        raise SpecError("revoke.type", "only typed revocations take type and action")
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not 1 <= len(steps_raw) <= MAX_STEPS:
        raise SpecError("revoke.steps", f"must be a list of 1 to {MAX_STEPS} steps")
    if kind == "admin" and not requires:
        raise SpecError("revoke.requires", "an admin revocation names its admin credential")
    step_context = _Context(context.hosts, context.captures, frozenset(requires))
    steps: list[Step] = []
    extracted: frozenset[str] = frozenset()
    for index, step_raw in enumerate(steps_raw):
        final = index == len(steps_raw) - 1
        step = _step(step_raw, f"revoke.steps[{index}]", step_context, extracted, final, not final)
        steps.append(step)
        names = {name for name, _ in step.extract}
        if step.select:
            names |= {name for name, _ in step.select.extract}
        extracted = extracted | names
    return RevokeSpec(kind, reversible, notice, tuple(steps), tuple(requires), post_check)
