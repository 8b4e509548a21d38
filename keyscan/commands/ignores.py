"""`keyscan ignores`: every inline ignore and baseline entry, with reason, author and expiry."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import click
import regex

from keyscan.baseline import BASELINE_NAME, load_baseline
from keyscan.filters import INLINE_MARKERS, NEXT_LINE_MARKERS
from keyscan.gitcmd import run_git, worktree_root

_REASON = regex.compile(r"\breason=(\S+)")
_UNTIL = regex.compile(r"\buntil=(\d{4}-\d{2}-\d{2})\b")


@dataclass(frozen=True)
class Ignore:
    kind: str
    where: str
    rule: str
    reason: str
    author: str
    expires: str
    expired: bool


def _blame_author(repo: Path, path: str, line: int) -> str:
    done = run_git(repo, ["blame", "--porcelain", "-L", f"{line},{line}", "--", path], check=False)
    for row in done.stdout.decode("utf-8", "replace").splitlines():
        if row.startswith("author "):
            return row[len("author ") :]
    return "(not committed)"


def inline_ignores(repo: Path, today: datetime.date) -> list[Ignore]:
    patterns = [arg for marker in (*NEXT_LINE_MARKERS, *INLINE_MARKERS) for arg in ("-e", marker)]
    done = run_git(repo, ["grep", "-n", "-I", "--no-color", "-F", *patterns], check=False)
    found = []
    for row in done.stdout.decode("utf-8", "replace").splitlines():
        path, _, rest = row.partition(":")
        number, _, text = rest.partition(":")
        if not number.isdigit():
            continue
        marker = next(m for m in (*NEXT_LINE_MARKERS, *INLINE_MARKERS) if m in text)
        after = text[text.find(marker) + len(marker) :].split()
        rule = after[0] if after and "=" not in after[0] and "." in after[0] else "(any rule)"
        reason = _REASON.search(text)
        until = _UNTIL.search(text)
        expires = until.group(1) if until else ""
        expired = bool(expires) and expires < today.isoformat()
        found.append(
            Ignore(
                kind=marker,
                where=f"{path}:{number}",
                rule=rule,
                reason=reason.group(1) if reason else "",
                author=_blame_author(repo, path, int(number)),
                expires=expires,
                expired=expired,
            )
        )
    return found


def baseline_ignores(path: Path, today: datetime.date) -> list[Ignore]:
    if not path.is_file():
        return []
    return [
        Ignore(
            kind="baseline",
            where=entry.fingerprint[:16],
            rule=entry.rule,
            reason=entry.reason or "",
            author=entry.owner or "",
            expires=entry.expires.isoformat() if entry.expires else "",
            expired=not entry.active(today),
        )
        for entry in load_baseline(path).entries.values()
    ]


@click.command("ignores")
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False))
def ignores_command(path: Path, baseline: Path | None) -> None:
    """List every inline ignore (with its git blame author) and baseline entry."""
    repo = worktree_root(path.absolute()) or path.absolute()
    today = datetime.date.today()
    rows = [
        *inline_ignores(repo, today),
        *baseline_ignores(baseline or repo / BASELINE_NAME, today),
    ]
    for row in rows:
        state = "EXPIRED" if row.expired else (f"until {row.expires}" if row.expires else "")
        click.echo(
            f"{row.kind:<24} {row.where:<40} {row.rule:<32} {row.author or '-':<20} "
            f"{state:<17} {row.reason}".rstrip()
        )
    click.echo(f"{len(rows)} ignores ({sum(r.expired for r in rows)} expired)", err=True)
