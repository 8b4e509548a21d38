"""The small JSONPath subset rules use: `$`, `.name`, `[n]` and (for lists) `[*]`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+|\*)\]")
_MISSING = object()


class JsonPathError(ValueError):
    """A path outside the supported subset."""


@dataclass(frozen=True)
class JsonPath:
    source: str
    steps: tuple[str | int, ...]  # "*" marks a wildcard over a list

    @property
    def wildcard(self) -> bool:
        return "*" in self.steps

    def find(self, document: Any) -> list[Any]:
        """Every value the path reaches (several only through a wildcard)."""
        current = [document]
        for step in self.steps:
            following: list[Any] = []
            for node in current:
                if step == "*":
                    if isinstance(node, list):
                        following.extend(node)
                elif isinstance(step, int):
                    if isinstance(node, list) and step < len(node):
                        following.append(node[step])
                elif isinstance(node, dict) and step in node:
                    following.append(node[step])
            current = following
        return current

    def first(self, document: Any) -> Any:
        found = self.find(document)
        return found[0] if found else _MISSING

    def exists(self, document: Any) -> bool:
        return bool(self.find(document))


def parse_json_path(text: str) -> JsonPath:
    if not text.startswith("$"):
        raise JsonPathError(f"JSON path {text!r} must start with '$'")
    steps: list[str | int] = []
    position = 1
    while position < len(text):
        match = _STEP.match(text, position)
        if not match:
            raise JsonPathError(f"JSON path {text!r}: unsupported syntax at {text[position:]!r}")
        if match.group(1) is not None:
            steps.append(match.group(1))
        elif match.group(2) == "*":
            steps.append("*")
        else:
            steps.append(int(match.group(2)))
        position = match.end()
    return JsonPath(text, tuple(steps))


def is_missing(value: Any) -> bool:
    return value is _MISSING
