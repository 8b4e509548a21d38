"""The error kinds keyscan raises; each renders as one line and maps to exit code 2."""

from __future__ import annotations


class KeyscanError(Exception):
    """A problem the user can fix: bad input, bad configuration, a broken rule."""

    exit_code = 2


class RuleError(KeyscanError):
    """A rule file that does not load: names the file, the rule and the field."""

    def __init__(self, file: str, message: str, rule: str | None = None, field: str | None = None):
        self.file = file
        self.rule = rule
        self.field = field
        where = file
        if rule:
            where += f": rule {rule!r}"
        if field:
            where += f": field {field!r}"
        super().__init__(f"{where}: {message}")


class ConfigError(KeyscanError):
    """A configuration file or option that keyscan cannot use."""


class SourceError(KeyscanError):
    """A scan target that cannot be read at all (missing path, not a repository)."""


class GitError(SourceError):
    """A git command that failed or a repository that git cannot read."""
