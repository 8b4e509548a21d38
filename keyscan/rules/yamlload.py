"""Strict YAML loading that remembers the line of every mapping, for errors that name it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyscan.errors import KeyscanError

if TYPE_CHECKING:
    import yaml


class LinedDict(dict[str, Any]):
    """A mapping from YAML that knows the 1-based line it started on."""

    line: int = 0
    key_lines: dict[str, int]


def _lined_loader() -> type[yaml.SafeLoader]:
    # Built on first use, not at import: most runs (a cached ruleset, no configuration or
    # baseline file) never parse YAML, and importing PyYAML is a noticeable part of start-up.
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class LinedLoader(base):  # type: ignore[valid-type,misc]
        def construct_lined_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LinedDict:
            self.flatten_mapping(node)
            result = LinedDict()
            result.line = node.start_mark.line + 1
            result.key_lines = {}
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    raise yaml.constructor.ConstructorError(
                        None, None, f"mapping key {key!r} is not a string", key_node.start_mark
                    )
                if key in result:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                result[key] = self.construct_object(value_node, deep=True)
                result.key_lines[key] = key_node.start_mark.line + 1
            return result

    LinedLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, LinedLoader.construct_lined_mapping
    )
    return LinedLoader


def load_yaml(text: str | bytes, source: str) -> Any:
    """Parse YAML, raising a one-line KeyscanError naming `source` and the line on failure."""
    import yaml

    try:
        return yaml.load(text, Loader=_lined_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise KeyscanError(f"{source}{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise KeyscanError(f"{source}: invalid YAML: {str(exc).splitlines()[0]}") from None
