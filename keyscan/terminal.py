"""Terminal decisions: whether to colour output and whether to draw a progress bar."""

from __future__ import annotations

import os
from typing import TextIO


def use_color(flag: bool | None, stream: TextIO) -> bool:
    """--color/--no-color, then NO_COLOR, then FORCE_COLOR, then whether the stream is a TTY."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


def use_progress(flag: bool | None, stream: TextIO) -> bool:
    if flag is not None:
        return flag
    if os.environ.get("CI") or os.environ.get("PRE_COMMIT"):
        return False
    return stream.isatty()
