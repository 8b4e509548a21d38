"""Scoring reported (path, line) pairs against the corpus labels: recall, precision, F1."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tests.corpus.generate import Label

LINE_TOLERANCE = 1


@dataclass(frozen=True)
class Reported:
    path: str
    line: int
    family: str = ""  # the reporting tool's rule family, when it has ours


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    misses: list[Label] = field(default_factory=list)
    false_positives: list[Reported] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def f1(self) -> float:
        total = self.recall + self.precision
        return 2 * self.recall * self.precision / total if total else 0.0


def score(labels: Sequence[Label], reported: Iterable[Reported]) -> dict[str, Score]:
    """Scores per family plus "all". Several findings on one labelled line count once; a finding
    on an unlabelled line is a false positive (attributed to its own family when known)."""
    by_path: dict[str, list[Label]] = {}
    for label in labels:
        by_path.setdefault(label.path, []).append(label)
    found: set[Label] = set()
    scores: dict[str, Score] = {"all": Score()}
    for item in reported:
        match = next(
            (
                label
                for label in by_path.get(item.path, [])
                if abs(label.line - item.line) <= LINE_TOLERANCE
            ),
            None,
        )
        if match is not None:
            found.add(match)
            continue
        for key in ("all", item.family or "unattributed"):
            scores.setdefault(key, Score()).fp += 1
            scores[key].false_positives.append(item)
    for label in labels:
        for key in ("all", label.family):
            entry = scores.setdefault(key, Score())
            if label in found:
                entry.tp += 1
            else:
                entry.fn += 1
                entry.misses.append(label)
    return scores


def table(scores: dict[str, Score]) -> str:
    rows = ["| family | TP | FN | FP | recall | precision | F1 |", "|---|---|---|---|---|---|---|"]
    for name in sorted(scores, key=lambda n: (n == "all", n)):
        s = scores[name]
        counts = f"| {name} | {s.tp} | {s.fn} | {s.fp} "
        rows.append(counts + f"| {s.recall:.3f} | {s.precision:.3f} | {s.f1:.3f} |")
    return "\n".join(rows)
