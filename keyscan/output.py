"""Writing reports: stdout, a device or pipe written in place, or a file replaced atomically."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from keyscan.errors import KeyscanError

# Paths that name a device or an open descriptor (/dev/null, /dev/stdout, /dev/fd/63 from a
# shell's process substitution): replacing one swaps it for a plain file, and as root that
# file takes the place of /dev/null for every process on the machine.
_STREAM_DIRECTORIES = ("/dev/", "/proc/")


def write_report(text: str, destination: str | None) -> None:
    # Paths and values decoded with surrogateescape may hold lone surrogates (invalid UTF-8 in
    # the scanned bytes); they cannot be encoded, so they are shown as U+FFFD instead of crashing.
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if destination is None or destination == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        if _is_stream(destination):
            _write_in_place(text, destination)
        else:
            _replace_atomically(text, destination)
    except OSError as exc:
        raise KeyscanError(f"{destination}: cannot write report: {exc.strerror}") from None


def _is_stream(destination: str) -> bool:
    if os.path.abspath(destination).startswith(_STREAM_DIRECTORIES):
        return True
    try:
        mode = os.stat(destination).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _write_in_place(text: str, destination: str) -> None:
    # Appending: `-o /dev/stdout >> log` must not truncate the log the shell opened for it.
    with open(destination, "a", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def _replace_atomically(text: str, destination: str) -> None:
    # The file a symbolic link points at is replaced, not the link the user made.
    target = Path(os.path.realpath(destination))
    if target.is_dir():
        raise IsADirectoryError(21, "Is a directory")
    try:
        kept_mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        kept_mode = None
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            if kept_mode is not None:
                os.fchmod(handle.fileno(), kept_mode)
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        # Ctrl-C or a full disk leaves the old report (or none), never a truncated one.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
