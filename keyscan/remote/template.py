"""Request templates: `{{ secret | filter }}` placeholders, parsed at load time, rendered per call.

The language is deliberately tiny (no control flow, no expressions): a rule file must not be able
to compute a host, read arbitrary environment variables, or smuggle CR/LF into a header.
"""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_VARIABLE = re.compile(
    r"^(secret|cap\.[A-Za-z_][A-Za-z0-9_]*|env\.[A-Z_][A-Z0-9_]*|[A-Z][A-Z0-9_]*)$"
)
_FILTER = re.compile(r"^([a-z0-9]+)(?:\((\d+)\))?$")
# Filters that take a count, and filters that take nothing.
_COUNTED = frozenset({"prefix", "suffix"})
_PLAIN = frozenset({"path", "query", "b64", "sha256"})
# `path`/`query` mark a value as already encoded for its place in the URL.
_ENCODERS = frozenset({"path", "query"})


class TemplateError(ValueError):
    """A template that cannot be used; the message names the problem, never a rendered value."""


@dataclass(frozen=True)
class Placeholder:
    variable: str
    filters: tuple[tuple[str, int | None], ...] = ()

    @property
    def encoded(self) -> bool:
        return any(name in _ENCODERS for name, _ in self.filters)


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and placeholders in order."""

    source: str
    parts: tuple[str | Placeholder, ...]

    @property
    def literal(self) -> bool:
        return all(isinstance(part, str) for part in self.parts)

    def variables(self) -> set[str]:
        return {part.variable for part in self.parts if isinstance(part, Placeholder)}

    def render(self, values: Mapping[str, str], default_encoding: str | None = None) -> str:
        """Fill the placeholders; `default_encoding` applies to values not explicitly encoded."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            if part.variable not in values:
                raise TemplateError(f"no value for {{{{ {part.variable} }}}}")
            value = values[part.variable]
            for name, count in part.filters:
                value = _apply(name, count, value)
            if default_encoding and not part.encoded:
                value = _apply(default_encoding, None, value)
            out.append(value)
        return "".join(out)


def parse_template(text: str) -> Template:
    """Parse `text`; unknown variables or filters are errors at rule load time."""
    parts: list[str | Placeholder] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(_placeholder(match.group(1)))
        position = match.end()
    tail = text[position:]
    if "{{" in tail or "}}" in tail:
        raise TemplateError("unbalanced '{{' or '}}'")
    if tail:
        parts.append(tail)
    return Template(text, tuple(parts))


def _placeholder(body: str) -> Placeholder:
    pieces = [piece.strip() for piece in body.split("|")]
    variable = pieces[0]
    if not _VARIABLE.match(variable):
        raise TemplateError(
            f"unknown variable {variable!r} (use secret, cap.NAME, env.NAME or an UPPER name)"
        )
    filters: list[tuple[str, int | None]] = []
    for piece in pieces[1:]:
        match = _FILTER.match(piece)
        if not match:
            raise TemplateError(f"malformed filter {piece!r}")
        name, count = match.group(1), match.group(2)
        if name in _COUNTED and count is not None:
            filters.append((name, int(count)))
        elif name in _PLAIN and count is None:
            filters.append((name, None))
        else:
            raise TemplateError(
                f"unknown filter {piece!r} (path, query, b64, sha256, prefix(n), suffix(n))"
            )
    return Placeholder(variable, tuple(filters))


def _apply(name: str, count: int | None, value: str) -> str:
    if name == "path":
        # One path segment: '/', '?', '#', '@' and '%' are all escaped, so a value cannot add
        # segments, a query, or walk up with an encoded '..'.
        encoded = urllib.parse.quote(value, safe="-._~")
        if encoded in (".", ".."):
            raise TemplateError("a path segment cannot be '.' or '..'")
        return encoded
    if name == "query":
        return urllib.parse.quote(value, safe="-._~")
    if name == "b64":
        return base64.b64encode(value.encode("utf-8", "surrogateescape")).decode("ascii")
    if name == "sha256":
        return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()
    assert count is not None
    if name == "prefix":
        return value[:count]
    return value[-count:] if count else ""


def derived_forms(secret: str) -> set[str]:
    """Encodings of a secret a request may carry; error messages are scrubbed of all of them."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    forms.add(base64.b64encode(secret.encode("utf-8", "surrogateescape")).decode("ascii"))
    for user in ("", "api", "x"):
        pair = f"{user}:{secret}".encode("utf-8", "surrogateescape")
        forms.add(base64.b64encode(pair).decode("ascii"))
    return {form for form in forms if len(form) >= 4}
