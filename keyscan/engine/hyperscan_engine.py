"""Stage 1 on hyperscan: one database of every keyword and decoder marker, cached on disk."""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keyscan import __version__
from keyscan.decoders.markers import (
    DECODER_MARKERS,
    ENCODED_TEXT_MARKERS,
    compiled_encoded_text_ends,
)
from keyscan.engine.base import KeywordHit, Stage1, gated_hits
from keyscan.rules.ruleset import Gate, Ruleset


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def _literal(keyword: bytes) -> bytes:
    # Every byte as \xHH: a keyword is matched as the literal it is, whatever it contains.
    return b"".join(b"\\x%02x" % byte for byte in keyword)


class HyperscanEngine:
    """Keywords (caseless unless a rule says otherwise) and decoder markers in one pass.

    A presence marker only needs to be seen once per blob (single-match), so text full of
    escapes costs no callbacks; the encoded-text markers report every match end, which the
    base64/hex decoder needs as positions. A gated keyword's check is a presence marker too:
    `re` then looks for its hits only in the rare blob where hyperscan saw one, instead of
    searching every blob in Python.
    """

    name = "hyperscan"

    def __init__(self, ruleset: Ruleset, cache_dir: Path | None = None):
        import hyperscan

        self._hs = hyperscan
        self._lengths = tuple(len(k) for k in ruleset.keywords)
        self._gates = ruleset.gates
        # The encoded-text markers run in C where that was compiled: in the database they took
        # most of the scan's time (keyscan/_encoded.c).
        self._encoded_text_ends = compiled_encoded_text_ends()
        self._encoded_markers = ENCODED_TEXT_MARKERS if self._encoded_text_ends is None else ()
        # The database's ids: keywords, then decoder markers, encoded-text markers and gates.
        self._encoded_from = len(self._lengths) + len(DECODER_MARKERS)
        self._gates_from = self._encoded_from + len(self._encoded_markers)
        # Checks hyperscan cannot compile (a lookaround, say) are searched in every blob.
        self._mark_gates(tuple(i for i, gate in enumerate(self._gates) if _may_compile(gate.check)))
        self._database = self._load_or_compile(ruleset, cache_dir)
        self._scratch = hyperscan.Scratch(self._database)
        self._escaped_keywords = ruleset.quote_escaped_keywords
        # Compiled when a blob first has a quote escape (a few milliseconds): many scans never
        # see one.
        self._escaped_database: tuple[Any, Any] | None = None
        # quiet_parts joins its parts with a line feed, which only a pattern that reads the
        # start or end of the data (or of a line) can tell from their edges.
        self._joinable = not any(_reads_edges(gate.check.pattern) for gate in self._gates)

    def _mark_gates(self, marked: tuple[int, ...]) -> None:
        self._marked_gates = marked
        self._unmarked_gates = [g for i, g in enumerate(self._gates) if i not in marked]

    def _compile_or_unmark(self, ruleset: Ruleset) -> Any:
        """The database, without gate markers if a check has syntax the test did not foresee."""
        try:
            return self._compile(ruleset)
        except self._hs.error:
            if not self._marked_gates:
                raise
            self._mark_gates(())
            return self._compile(ruleset)

    def _compile(self, ruleset: Ruleset) -> Any:
        hs = self._hs
        database = hs.Database(mode=hs.HS_MODE_BLOCK)
        # Gated keywords are found by their check instead (engine.base.gated_hits).
        searched = [i for i in range(len(ruleset.keywords)) if i not in ruleset.gated_keywords]
        keyword_flags = [0 if ruleset.case_sensitive[i] else hs.HS_FLAG_CASELESS for i in searched]
        markers_from = len(ruleset.keywords)
        gates = [self._gates[i].check.pattern for i in self._marked_gates]
        marker_count = len(DECODER_MARKERS) + len(self._encoded_markers) + len(gates)
        database.compile(
            expressions=[_literal(ruleset.keywords[i]) for i in searched]
            + [pattern for _, pattern in DECODER_MARKERS]
            + list(self._encoded_markers)
            + gates,
            ids=searched + list(range(markers_from, markers_from + marker_count)),
            flags=keyword_flags
            + [hs.HS_FLAG_SINGLEMATCH] * len(DECODER_MARKERS)
            + [0] * len(self._encoded_markers)
            + [hs.HS_FLAG_SINGLEMATCH] * len(gates),
        )
        return database

    def _cache_file(self, ruleset: Ruleset, cache_dir: Path) -> Path:
        """Named after exactly what the database is compiled from (and this module, which
        compiles it), not after the whole ruleset: hashing every rule's meaning took a tenth
        of a clean pre-commit hook's time, and an edit of a rule's pattern or description
        leaves the database as it was."""
        gates = [self._gates[i].check.pattern for i in self._marked_gates]
        compiled_from = repr(
            (
                ruleset.keywords,
                ruleset.case_sensitive,
                sorted(ruleset.gated_keywords),
                DECODER_MARKERS,
                self._encoded_markers,
                gates,
            )
        ).encode()
        digest = hashlib.sha256(compiled_from)
        try:
            digest.update(Path(__file__).read_bytes())
        except OSError:  # installed without its source: its version stands in for it
            digest.update(__version__.encode())
        return cache_dir / f"hyperscan-{digest.hexdigest()[:40]}.db"

    def _load_or_compile(self, ruleset: Ruleset, cache_dir: Path | None) -> Any:
        hs = self._hs
        if cache_dir is None:
            return self._compile_or_unmark(ruleset)
        marked = self._marked_gates
        # The database as last compiled: with the gate markers, or without them when a check
        # turned out not to compile.
        for gates in dict.fromkeys([marked, ()]):
            self._mark_gates(gates)
            try:
                return hs.loadb(
                    self._cache_file(ruleset, cache_dir).read_bytes(), mode=hs.HS_MODE_BLOCK
                )
            except (OSError, hs.error):
                pass
        self._mark_gates(marked)
        database = self._compile_or_unmark(ruleset)
        _write_quietly(self._cache_file(ruleset, cache_dir), hs.dumpb(database))
        return database

    def scan(self, data: bytes) -> Stage1:
        hits: list[KeywordHit] = []
        markers: list[str] = []
        encoded_ends: list[int] = []
        gates_seen: list[Gate] = list(self._unmarked_gates)
        lengths = self._lengths
        keyword_count = len(lengths)
        encoded_from, gates_from = self._encoded_from, self._gates_from

        def on_match(index: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            if index < keyword_count:
                hits.append((index, end - lengths[index]))
            elif index >= gates_from:
                gates_seen.append(self._gates[self._marked_gates[index - gates_from]])
            elif index >= encoded_from:
                encoded_ends.append(end)
            else:
                markers.append(DECODER_MARKERS[index - keyword_count][0])

        if data:
            self._database.scan(data, match_event_handler=on_match, scratch=self._scratch)
            if self._encoded_text_ends is not None:
                encoded_ends += self._encoded_text_ends(data)
        if gates_seen:
            hits.extend(gated_hits(gates_seen, data))
        return Stage1(hits, frozenset(markers), encoded_ends)

    def quiet_parts(self, parts: Sequence[bytes]) -> list[bool] | None:
        """One pass over the parts joined by line feeds instead of a scan of each: most commit
        messages hold nothing stage 1 looks for, and scanning each alone cost more in calls
        than in bytes (a history's messages took a twentieth of its audit).

        Every match a part alone holds is a match of the joined data ending inside the part or
        on the line feed after it (a line feed stands where the data ended: no keyword or marker
        holds one, and none reads the data's edges, or the parts are not joined), and marks the
        part. A presence marker reports only its first match, so after one, the parts from the
        next on are joined and scanned again."""
        if self._unmarked_gates or not self._joinable:
            return None
        quiet = [True] * len(parts)
        first = 0
        while first < len(parts):
            joined = b"\n".join(parts[first:])
            starts = []
            at = 0
            for part in parts[first:]:
                starts.append(at)
                at += len(part) + 1
            ends, first_presence = self._match_ends(joined)
            for end in ends:
                quiet[first + bisect.bisect_left(starts, end) - 1] = False
            if first_presence is None:
                break
            marked = first + bisect.bisect_left(starts, first_presence) - 1
            quiet[marked] = False
            first = marked + 1
        return quiet

    def _match_ends(self, data: bytes) -> tuple[list[int], int | None]:
        """Where every keyword and encoded-text marker match in `data` ends, and where the
        first presence marker match (decoder markers and gates report only one) ends."""
        keyword_count = len(self._lengths)
        encoded_from, gates_from = self._encoded_from, self._gates_from
        ends: list[int] = []
        presence: list[int] = []

        def on_match(index: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            if keyword_count <= index < encoded_from or index >= gates_from:
                presence.append(end)
            else:
                ends.append(end)

        if data:
            self._database.scan(data, match_event_handler=on_match, scratch=self._scratch)
            if self._encoded_text_ends is not None:
                ends += self._encoded_text_ends(data)
        return ends, min(presence, default=None)

    def escaped_keyword_spans(self, data: bytes) -> list[tuple[int, int]]:
        """Hyperscan folds ASCII case as caseless_spans does. A Python source or notebook
        version has a "://" every few hundred bytes: one pass of a small database of its own
        took a fifth of the time of lowering the data and searching it once per keyword."""
        keywords = self._escaped_keywords
        if not keywords or not data:
            return []
        if self._escaped_database is None:
            hs = self._hs
            database = hs.Database(mode=hs.HS_MODE_BLOCK)
            database.compile(
                expressions=[_literal(keyword) for keyword in keywords],
                ids=list(range(len(keywords))),
                flags=[hs.HS_FLAG_CASELESS] * len(keywords),
            )
            self._escaped_database = (database, hs.Scratch(database))
        database, scratch = self._escaped_database
        lengths = [len(keyword) for keyword in keywords]
        spans: list[tuple[int, int]] = []

        def on_match(index: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            spans.append((end - lengths[index], end))

        database.scan(data, match_event_handler=on_match, scratch=scratch)
        return spans


# Syntax hyperscan does not support: lookarounds, atomic groups, conditionals, backreferences,
# recursion, callouts, possessive quantifiers, \K \C \R \X; and `{,n}`, which `re` reads as
# a repeat and hyperscan as literal text. Testing the text costs nothing at start-up, where
# compiling a check to see took 40 ms; what slips through is caught when the database compiles
# (HyperscanEngine._compile_or_unmark).
_UNSUPPORTED = re.compile(rb"\(\?(?:[=!>(|R]|<[=!]|P=|C|\d)|\\[1-9gkKCRX]|[*+?}]\+|\{,")


def _reads_edges(pattern: bytes) -> bool:
    """Whether a pattern may read where the data (or a line) starts or ends: an anchor, or a
    `^` or `$` anywhere but escaped or opening a negated class (so, conservatively, also one
    inside a class)."""
    if re.search(rb"\\[AZzG]", pattern):
        return True
    plain = re.sub(rb"\\.", b"", pattern).replace(b"[^", b"[")
    return b"^" in plain or b"$" in plain


def _may_compile(check: re.Pattern[bytes]) -> bool:
    return _UNSUPPORTED.search(check.pattern) is None


def _write_quietly(path: Path, payload: bytes) -> None:
    # A cache is an optimisation: a read-only or full disk must not fail the scan.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except OSError:
        pass
