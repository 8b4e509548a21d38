"""One declared call: render a request from a rule's templates, send it, and name the outcome."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from keyscan.net.client import HttpRequest, HttpResponse, NetworkError, SafeHttpClient
from keyscan.net.origin import Origin, split_url
from keyscan.remote.jsonpath import is_missing
from keyscan.remote.spec import Matcher, RequestSpec, Step
from keyscan.remote.template import Template, TemplateError

_HTML_SNIFF = 512


class RenderError(ValueError):
    """A request that must not be sent (bad URL from a secret, CR/LF in a header...)."""


@dataclass(frozen=True)
class CallValues:
    """What templates may use: the secret, the rule's named captures, earlier steps' values."""

    secret: str
    captures: Mapping[str, str] = field(default_factory=dict)
    extracted: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)

    def as_template_values(self) -> dict[str, str]:
        values = {"secret": self.secret}
        values.update({f"cap.{k}": v for k, v in self.captures.items()})
        values.update({f"env.{k}": v for k, v in self.env.items()})
        values.update(self.extracted)
        return values

    def with_extracted(self, more: Mapping[str, str]) -> CallValues:
        return CallValues(self.secret, self.captures, {**self.extracted, **more}, self.env)


def _render_url(template: Template, values: Mapping[str, str]) -> str:
    # A placeholder lands either in the path (one segment, fully escaped) or in the query; the
    # rule can say so explicitly with `| path` or `| query`, otherwise its position decides.
    out: list[str] = []
    in_query = False
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
            in_query = in_query or "?" in part
            continue
        single = Template(template.source, (part,))
        encoding = None if part.encoded else ("query" if in_query else "path")
        out.append(single.render(values, encoding))
    return "".join(out)


def render_request(
    spec: RequestSpec, values: CallValues, hosts: Collection[Origin], user_agent_free: bool = True
) -> HttpRequest:
    """The concrete request; its origin is checked against `hosts` again after rendering."""
    template_values = values.as_template_values()
    try:
        if spec.url_from_secret:
            url = values.secret.strip()
        else:
            assert spec.url is not None
            url = _render_url(spec.url, template_values)
        try:
            origin, _ = split_url(url)
        except ValueError:
            raise RenderError("the request URL is malformed") from None
        if origin not in hosts:
            raise RenderError(f"the request origin {origin} is not declared in the rule's hosts")
        headers: list[tuple[str, str]] = [("Accept", "application/json")]
        for name, header in spec.headers:
            value = header.render(template_values)
            if any(ch in value for ch in "\r\n\x00"):
                raise RenderError(f"header {name} would contain a line break")
            headers = [(n, v) for n, v in headers if n.lower() != name.lower()]
            headers.append((name, value))
        if spec.basic_auth:
            user = spec.basic_auth[0].render(template_values)
            password = spec.basic_auth[1].render(template_values)
            pair = f"{user}:{password}".encode("utf-8", "surrogateescape")
            headers.append(("Authorization", "Basic " + base64.b64encode(pair).decode("ascii")))
        body: bytes | None = None
        if spec.json_body is not None:
            body = json.dumps(_render_json(spec.json_body, template_values)).encode("utf-8")
            headers.append(("Content-Type", "application/json"))
        elif spec.form:
            pairs = [(name, t.render(template_values)) for name, t in spec.form]
            body = urllib.parse.urlencode(pairs).encode("ascii")
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    except TemplateError as exc:
        raise RenderError(str(exc)) from None
    return HttpRequest(
        method=spec.method, url=url, headers=tuple(headers), body=body, mutating=spec.mutating
    )


def _render_json(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, Template):
        return node.render(values)
    if isinstance(node, dict):
        return {k: _render_json(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_render_json(v, values) for v in node]
    return node


def response_json(response: HttpResponse) -> Any:
    try:
        return json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def looks_like_html(response: HttpResponse) -> bool:
    content_type = (response.header("content-type") or "").lower()
    head = response.body[:_HTML_SNIFF].lstrip().lower()
    return "text/html" in content_type or head.startswith((b"<!doctype html", b"<html"))


def matches(matcher: Matcher, response: HttpResponse, document: Any) -> bool:
    if matcher.status and response.status not in matcher.status:
        return False
    for path in matcher.json_path_exists:
        if document is None or not path.exists(document):
            return False
    for path, expected in matcher.json_equals:
        if document is None:
            return False
        value = path.first(document)
        if is_missing(value) or value != expected:
            return False
    if matcher.body_contains:
        text = response.body.decode("utf-8", "replace")
        if not all(needle in text for needle in matcher.body_contains):
            return False
    for name, needle in matcher.header_contains:
        value = response.header(name)
        if value is None or needle.lower() not in value.lower():
            return False
    return not (matcher.negated and matches(matcher.negated, response, document))


def decide(
    outcomes: tuple[tuple[str, Matcher], ...], response: HttpResponse, html_ok: bool
) -> str | None:
    """The first outcome whose matcher holds; None (unknown) for HTML, oversized or no match."""
    if response.too_large or (looks_like_html(response) and not html_ok):
        return None
    document = response_json(response)
    for name, matcher in outcomes:
        if matches(matcher, response, document):
            return name
    return None


@dataclass(frozen=True)
class StepResult:
    """What one step did: its outcome (None = unknown), why, and whether a request was sent."""

    outcome: str | None
    reason: str
    sent: bool
    response: HttpResponse | None = None


def run_step(
    client: SafeHttpClient, step: Step, values: CallValues, hosts: Collection[Origin]
) -> StepResult:
    """Send one step's request and decide its outcome; never raises for network trouble."""
    try:
        request = render_request(step.request, values, hosts)
    except RenderError as exc:
        return StepResult(None, f"not sent: {exc}", sent=False)
    try:
        response = client.send(request, hosts)
    except NetworkError as exc:
        return StepResult(None, str(exc), sent=exc.sent)
    outcome = decide(step.outcomes, response, step.request.html_ok)
    reason = f"HTTP {response.status}"
    if response.too_large:
        reason += " (response too large)"
    elif looks_like_html(response) and not step.request.html_ok:
        reason += " (HTML page, not an API answer)"
    return StepResult(outcome, reason, sent=True, response=response)
