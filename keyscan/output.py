"""Writing reports: stdout, or a file replaced atomically so no half-written report remains."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from keyscan.errors import KeyscanError


def write_report(text: str, destination: str | None) -> None:
    # Paths and values decoded with surrogateescape may hold lone surrogates (invalid UTF-8 in
    # the scanned bytes); they cannot be encoded, so they are shown as U+FFFD instead of crashing.
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if destination is None or destination == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(destination)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise KeyscanError(f"{destination}: cannot write report: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException as exc:
        # Ctrl-C or a full disk leaves the old report (or none), never a truncated one.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise KeyscanError(f"{destination}: cannot write report: {exc.strerror}") from None
        raise
