"""The trusted side of a CI run: the configuration, rule files and baseline of the base commit,
which a pull request cannot loosen by editing them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from keyscan.commands.ci_plan import Note

if TYPE_CHECKING:
    from keyscan.baseline import Baseline
    from keyscan.config import Config


def relative_in_repo(repo: Path, path: Path) -> str | None:
    absolute = Path(os.path.abspath(path))
    for root in (repo, repo.resolve()):
        try:
            return absolute.relative_to(root).as_posix()
        except ValueError:
            continue
    return None


def _blob_at(repo: Path, commit: str, path: str) -> bytes | None:
    from keyscan.gitcmd import run_git

    done = run_git(repo, ["cat-file", "blob", f"{commit}:{path}"], check=False)
    return done.stdout if done.returncode == 0 else None


def _extract_tree(repo: Path, commit: str, path: str, into: Path) -> None:
    """Write `path` (a file or a directory) as `commit` has it under `into`."""
    from keyscan.gitcmd import run_git

    done = run_git(repo, ["ls-tree", "-r", "-z", "--full-tree", commit, "--", path], check=False)
    for entry in done.stdout.split(b"\0"):
        meta, _, name = entry.decode("utf-8", "surrogateescape").partition("\t")
        parts = meta.split()
        if len(parts) != 3 or parts[1] != "blob":
            continue
        data = _blob_at(repo, commit, name)
        if data is not None:
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def trusted_config(
    repo: Path, commit: str, requested: Path | None, workdir: Path, head: str | None
) -> tuple[Config, list[Note]]:
    """The configuration as `commit` has it, with the rule files it names from `commit` too.

    A pull request cannot loosen its own scan: neither its edits to `.keyscan.yaml` nor to the
    rule files that configuration loads take effect before they are merged.
    """
    from keyscan.config import CONFIG_NAMES, Config, load_config

    notes: list[Note] = []
    if requested is not None:
        relative = relative_in_repo(repo, requested)
        if relative is None:
            # Outside the repository, so not something the pull request can edit.
            return load_config(requested), notes
        candidates: tuple[str, ...] = (relative,)
    else:
        candidates = CONFIG_NAMES
    for name in candidates:
        data = _blob_at(repo, commit, name)
        if data is None:
            continue
        root = workdir / "trusted"
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        config = load_config(target)
        for rule_path in config.rule_paths:
            inside = relative_in_repo(root, rule_path)
            if inside is not None:
                _extract_tree(repo, commit, inside, root)
        if head is not None and _blob_at(repo, head, name) != data:
            notes.append(
                Note(
                    "warning",
                    f"this change edits {name}; the version in {commit[:12]} applies until "
                    "it is merged",
                )
            )
        return config, notes
    if requested is not None:
        notes.append(
            Note("warning", f"{candidates[0]} does not exist in {commit[:12]}: built-in settings")
        )
    elif head is not None and any(_blob_at(repo, head, n) is not None for n in CONFIG_NAMES):
        notes.append(
            Note(
                "warning",
                f"this change adds a keyscan configuration; {commit[:12]} has none, so the "
                "built-in settings apply until it is merged",
            )
        )
    return Config(root=repo), notes


def trusted_baseline(
    repo: Path, baseline: Path | None, trusted: str | None, workdir: Path
) -> tuple[Baseline | None, list[Note]]:
    """The baseline that applies: in pull requests the base commit's, so a pull request cannot
    accept its own leak by adding it to the baseline."""
    from keyscan.baseline import BASELINE_NAME, load_baseline

    path = baseline or repo / BASELINE_NAME
    if trusted is None:
        return (load_baseline(path) if path.is_file() else None), []
    relative = relative_in_repo(repo, path)
    content = _blob_at(repo, trusted, relative) if relative is not None else None
    notes: list[Note] = []
    if relative is not None and path.is_file() and path.read_bytes() != (content or b""):
        notes.append(
            Note(
                "warning",
                f"this pull request changes {relative}; the base commit's baseline applies "
                "until it is merged",
            )
        )
    if content is None:
        return None, notes
    copy = workdir / "trusted-baseline.yaml"
    copy.write_bytes(content)
    return load_baseline(copy), notes
