"""Bounded memos of pure functions of scanned bytes, which a history repeats many times."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

Answer = TypeVar("Answer")


class BoundedMemo(Generic[Answer]):
    """Answers by key, emptied whenever the keys it holds pass `budget` bytes.

    A history audit scans the lines around each edit of a file in version after version, so the
    same stage-2 windows and the same candidates in the same lines come back: on sqlalchemy's
    history 91% of windows and of candidates had been seen before. Emptying it all at once
    costs nothing to keep track of, and git sources come path by path, so what comes back soon
    is what was seen last.
    """

    def __init__(self, budget: int):
        self._budget = budget
        self._held = 0
        self._answers: dict[Hashable, Answer] = {}

    def get(self, key: Hashable) -> Answer | None:
        return self._answers.get(key)

    def put(self, key: Hashable, answer: Answer, size: int) -> None:
        """Remember `answer`; `size` is what the key holds in bytes (its text)."""
        if size > self._budget:
            return
        if self._held + size > self._budget:
            self._answers.clear()
            self._held = 0
        self._answers[key] = answer
        self._held += size

    def __len__(self) -> int:
        return len(self._answers)
