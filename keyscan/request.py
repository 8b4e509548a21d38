"""ScanRequest: every scan option the command line collected, frozen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keyscan.remote.session import NetworkOptions


@dataclass(frozen=True)
class ScanRequest:
    target: Path
    mode: str = "worktree"  # worktree | history | staged | diff | pre-push
    diff_range: str | None = None
    format: str = "text"
    output: str | None = None
    config: Path | None = None
    show_secrets: bool = False
    color: bool | None = None
    progress: bool | None = None
    jobs: int = 0
    engine: str = "auto"
    max_file_size: int | None = None
    scan_binary: bool = True
    rule_paths: tuple[Path, ...] = ()
    enable_rules: tuple[str, ...] = ()
    disable_rules: tuple[str, ...] = ()
    inline_ignores: bool = True
    explain: bool = False
    cache_dir: Path | None = None
    use_cache: bool = True
    baseline: Path | None = None
    use_baseline: bool = True
    decode_depth: int | None = None  # --decode-depth; None: the configuration's, else 2
    edit_scans: bool = True  # off with --whole-versions
    # Set only by --verify: the one way a scan ever makes a network call.
    verify: NetworkOptions | None = None

    @property
    def needs_secrets(self) -> bool:
        """Whether anything after the scan reads what a scan record keeps no trace of: the
        secrets themselves (shown, verified) or the candidates filters dropped (--explain)."""
        return self.show_secrets or self.verify is not None or self.explain
