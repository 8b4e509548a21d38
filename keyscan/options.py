"""Scan options: what a blob scan looks through, skips and allows, set once per scan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

# Nested encodings (base64 in JSON in base64...) a scan may look through, and by default.
MAX_DEPTH = 3
DEFAULT_DEPTH = 2


@dataclass(frozen=True)
class GlobalAllowlist:
    """User-level allowlist from the configuration: applies to every rule."""

    paths: tuple[regex.Pattern[str], ...] = ()
    regexes: tuple[regex.Pattern[str], ...] = ()
    stopwords: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScanOptions:
    """Knobs of the scan path; no network, no output concerns."""

    max_file_size: int = 10 * 1024 * 1024
    scan_binary: bool = True
    inline_ignores: bool = True
    foreign_markers: bool = True
    explain: bool = False
    allowlist: GlobalAllowlist = GlobalAllowlist()
    decode_depth: int = DEFAULT_DEPTH  # nested encodings to look through; 0 turns decoding off
    # Versions of a file in git sources are scanned as edits of an earlier clean version
    # (keyscan.edits); off, each is scanned in full. Findings are the same either way.
    edit_scans: bool = True
