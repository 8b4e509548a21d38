"""`.keyscanignore`: ignores for files that cannot carry a comment (JSON, notebooks, properties).

Each line is either a gitignore-style path pattern (files never scanned) or
`fingerprint:<sha256> [PATH-GLOB] [# reason]` (that secret is not reported, optionally only
under matching paths). `#` starts a comment; blank lines are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from keyscan.config import glob_to_regex
from keyscan.errors import ConfigError
from keyscan.model import Finding

if TYPE_CHECKING:
    import regex

IGNORE_FILE = ".keyscanignore"
_FINGERPRINT = re.compile(r"^fingerprint:([0-9a-f]{64})(?:\s+(\S+))?\s*(?:#\s*(.*))?$")


@dataclass(frozen=True)
class IgnoreFile:
    paths: tuple[regex.Pattern[str], ...]
    fingerprints: tuple[tuple[str, regex.Pattern[str] | None, str], ...]
    source: str = ""

    def drops(self, finding: Finding) -> bool:
        for fingerprint, scope, _ in self.fingerprints:
            if fingerprint == finding.fingerprint and (scope is None or scope.search(finding.path)):
                return True
        return any(p.search(finding.path) for p in self.paths)


def load_ignore_file(path: Path) -> IgnoreFile:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    import regex  # on use, as in keyscan.config

    paths: list[regex.Pattern[str]] = []
    fingerprints: list[tuple[str, regex.Pattern[str] | None, str]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("fingerprint:"):
            match = _FINGERPRINT.match(line)
            if match is None:
                raise ConfigError(
                    f"{path}:{number}: expected `fingerprint:<sha256 hex> [PATH-GLOB] [# reason]`"
                )
            scope = regex.compile(glob_to_regex(match.group(2))) if match.group(2) else None
            fingerprints.append((match.group(1), scope, match.group(3) or ""))
        else:
            paths.append(regex.compile(glob_to_regex(line.split(" #", 1)[0].strip())))
    return IgnoreFile(tuple(paths), tuple(fingerprints), str(path))


def apply_ignore_file(findings: Sequence[Finding], ignore: IgnoreFile) -> tuple[list[Finding], int]:
    kept = [f for f in findings if not ignore.drops(f)]
    return kept, len(findings) - len(kept)
