"""Scanning one blob: engine hits, stage-2 extraction, filters, and locating findings."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from keyscan.decoders.driver import decode_layers_within, keystore_layers
from keyscan.decoders.encodings import KeywordTest
from keyscan.engine.base import Engine, Stage1
from keyscan.engine.extract import Candidate, WindowMatches, extract
from keyscan.entropy import shannon_entropy
from keyscan.fingerprint import fingerprint
from keyscan.memo import BoundedMemo
from keyscan.model import Blob, Dropped, Finding, Skip, value
from keyscan.options import ScanOptions
from keyscan.rules.ruleset import Ruleset
from keyscan.rules.schema import Rule

if TYPE_CHECKING:
    from keyscan.filters import Filter, FilterInput

LINE_CONTEXT = 2048
# A Git LFS pointer (github.com/git-lfs/git-lfs docs/spec.md: under 1024 bytes, its first line
# the spec's URL; the hawser URL is the pre-release one) holds an object id and a size only.
_LFS_POINTER_SIZE = 1024
_LFS_POINTER_STARTS = (
    b"version https://git-lfs.github.com/spec/v1\n",
    b"version https://hawser.github.com/spec/v1\n",
)
# Filters that read the candidate's path (and the global allowlist, which does too).
_PATH_READING_FILTERS = frozenset(
    {"rule-allowlist", "digest", "code-expression", "global-allowlist"}
)
# Decoding may add at most twice the blob's size (plus this) of text to scan: bounded work even
# for a file crafted as nested encodings.
_DECODE_ALLOWANCE = 64 * 1024
# Binary content is scanned as its printable runs: everything else becomes a line break, which keeps
# byte offsets unchanged.
_PRINTABLE_RUNS = bytes(b if 0x20 <= b < 0x7F or b == 0x09 else 0x0A for b in range(256))
# What the memos of a scanner may hold (their keys' bytes): a few thousand windows and lines.
_WINDOW_MEMO_BYTES = 4 << 20
_VERDICT_MEMO_BYTES = 1 << 20
# The filter that dropped a candidate, (name, reason) or None, and whether it would be kept at a
# path no filter reads anything into (BlobResult.path_dependent).
_Verdict = tuple[tuple[str, str] | None, bool]


def decode_budget(size: int) -> int:
    """Decoded bytes a blob of `size` bytes may add to its scan, over all nested layers."""
    return 2 * size + _DECODE_ALLOWANCE


@dataclass
class BlobResult:
    findings: list[Finding] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    # Byte span of each finding in the blob (the encoded span for decoded ones), index-aligned.
    spans: list[tuple[int, int]] = field(default_factory=list)
    # Where the blob's findings are (line and column), made at the first finding.
    positions: _Positions | None = field(default=None, repr=False, compare=False)
    # What edit scans (keyscan.edits) need to know of a scan: the decoded bytes it took,
    # whether the decode budget ran out, the decoder markers stage 1 saw in the blob, and where
    # the keywords of multi-line rules are (their windows run on for 16 KB).
    decoded_bytes: int = 0
    decode_cut: bool = False
    markers: frozenset[str] = frozenset()
    multiline_hits: list[int] = field(default_factory=list)
    # A filter dropped a candidate for the path the blob was scanned at (source code, a
    # lockfile, an allowlisted path): at another path the blob may hold a finding.
    path_dependent: bool = False
    # The blob was not scanned at all (an LFS pointer): it is a skip, not a scanned file.
    unscanned: bool = False


class BlobScanner:
    """Turns blobs into findings with one ruleset and one engine. It holds no per-scan state,
    only memos of what stage 2 and the filters answered for bytes seen before (BoundedMemo)."""

    def __init__(self, ruleset: Ruleset, engine: Engine, options: ScanOptions):
        self.ruleset = ruleset
        self.engine = engine
        self.options = options
        self._hidden_keywords = ruleset.quote_escaped_keywords
        self._windows: BoundedMemo[WindowMatches] = BoundedMemo(_WINDOW_MEMO_BYTES)
        self._verdicts: BoundedMemo[_Verdict] = BoundedMemo(_VERDICT_MEMO_BYTES)

    def scan(self, blob: Blob, budget: int | None = None) -> BlobResult:
        """Everything `blob` holds; `budget` caps the decoded bytes (default: decode_budget)."""
        result = BlobResult()
        if _is_lfs_pointer(blob.data):
            result.skips.append(
                Skip(
                    blob.provenance.path,
                    "lfs pointer",
                    "a Git LFS pointer: the file's content is stored outside the repository",
                )
            )
            result.unscanned = True
            return result
        data = blob.data.translate(_PRINTABLE_RUNS) if blob.binary else blob.data
        stage1 = self._scan_layer(blob, data, result, None)
        # Nothing for stage 2 and nothing any decoder could start from: most blobs of a history,
        # whose scan then costs little more than stage 1.
        undecodable = stage1.encoded_ends is not None and not stage1.encoded_ends
        if undecodable and not (stage1.hits or stage1.markers or blob.binary):
            return result
        result.markers = stage1.markers
        multiline = self.ruleset.multiline_keywords
        result.multiline_hits = sorted(start for index, start in stage1.hits if index in multiline)
        if self.options.decode_depth and blob.binary:
            for piece in keystore_layers(blob.data):
                layer = _Layer((piece.name,), piece.start, piece.end, False)
                self._scan_layer(blob, piece.data, result, layer)
        if self.options.decode_depth and not blob.binary:
            initial = decode_budget(len(data)) if budget is None else budget
            remaining = [initial]
            self._scan_decoded(
                blob, data, stage1, result, None, self.options.decode_depth, remaining
            )
            result.decoded_bytes = initial - remaining[0]
            # Spending the whole budget also stops nested decoding (see _scan_decoded).
            result.decode_cut = result.decode_cut or remaining[0] <= 0
            self._prefer_decoded(result, data)
        return result

    def scan_all(self, blobs: Sequence[Blob]) -> list[BlobResult]:
        """`scan` of each blob, those stage 1 finds nothing in told apart in one pass over all
        (Engine.quiet_parts): commit messages, most of which hold nothing it looks for."""
        quiet = self.engine.quiet_parts([blob.data for blob in blobs]) if len(blobs) > 1 else None
        if quiet is None:
            return [self.scan(blob) for blob in blobs]
        # A blob stage 1 finds nothing in is an empty result (as scan returns it early), unless
        # it is binary or an LFS pointer, which scan tells apart before stage 1.
        return [
            BlobResult() if nothing and not _scanned_apart(blob) else self.scan(blob)
            for blob, nothing in zip(blobs, quiet, strict=True)
        ]

    def _prefer_decoded(self, result: BlobResult, data: bytes) -> None:
        """A generic hit on encoded text (`DB_PASSWORD: <base64>`) yields to what it decodes to.

        Percent-encoding is the exception outside URLs: where an env file or a shell line sets
        a password to `Orbit%6705falcon`, the password is those characters, `%67` included,
        while in `amqp://user:pa%40ss@host` or `?password=pa%40ss` it is what the escapes decode
        to. So a generic hit whose line shows no URL before it keeps its literal value, and a
        generic finding that only percent-decoding gave at the same place is dropped instead.
        Decoded once, a URL's escapes are done with: a generic finding that a second percent
        decoding gives yields to the one the first gave at the same place.
        """
        pairs = list(zip(result.spans, result.findings, strict=True))
        decoded = [span for span, f in pairs if f.decoded]
        if not decoded:
            return
        generic = [self.ruleset.by_id[f.rule_id].generic for _, f in pairs]
        # Generic findings only percent-decoding gave, and the spans of every other decoding.
        percent_only = {
            i for i, (_, f) in enumerate(pairs) if generic[i] and f.decoded == ("percent",)
        }
        other_decoded = [
            span for i, (span, f) in enumerate(pairs) if f.decoded and i not in percent_only
        ]
        percent_spans = [pairs[i][0] for i in sorted(percent_only)]
        literal = {
            i
            for i, (span, f) in enumerate(pairs)
            if generic[i]
            and not f.decoded
            and _overlaps(span, percent_spans)
            and not _overlaps(span, other_decoded)
            and not _in_url(data, span[0])
        }
        literal_spans = [pairs[i][0] for i in sorted(literal)]
        # A percent escape decoded twice: `%2567` is "%67" in the URL, never "g".
        twice = {
            i
            for i, (span, f) in enumerate(pairs)
            if generic[i]
            and f.decoded[-2:] == ("percent", "percent")
            and any(
                generic[j] and other.decoded == f.decoded[:-1] and _overlaps(span, [where])
                for j, (where, other) in enumerate(pairs)
            )
        }
        kept = [
            (span, finding)
            for i, (span, finding) in enumerate(pairs)
            if i not in twice
            and (
                not generic[i]
                or i in literal
                or (finding.decoded and not (i in percent_only and _overlaps(span, literal_spans)))
                or not _overlaps(span, decoded)
            )
        ]
        result.spans = [span for span, _ in kept]
        result.findings = [finding for _, finding in kept]

    def _scan_decoded(
        self,
        blob: Blob,
        data: bytes,
        stage1: Stage1,
        result: BlobResult,
        parent: _Layer | None,
        depth: int,
        budget: list[int],
    ) -> None:
        """Scan what decoders recover from `data`, down to `depth` nested encodings."""
        pieces, complete = decode_layers_within(
            data,
            blob.provenance.path,
            budget[0],
            stage1.markers,
            stage1.encoded_ends,
            # Only the escape decoder asks, and only when stage 1 saw an escape.
            self._keyword_test(data, stage1) if "escapes" in stage1.markers else None,
        )
        result.decode_cut = result.decode_cut or not complete
        for piece in pieces:
            budget[0] -= len(piece.data)
            # A finding inside nested encodings points at the outermost encoded text: that is
            # what the user sees in the file and has to remove.
            start, end = (parent.start, parent.end) if parent else (piece.start, piece.end)
            chain = (*parent.chain, piece.name) if parent else (piece.name,)
            layer = _Layer(chain, start, end, piece.context and (parent is None or parent.context))
            piece_stage1 = self._scan_layer(blob, piece.data, result, layer)
            if depth > 1 and budget[0] > 0:
                self._scan_decoded(blob, piece.data, piece_stage1, result, layer, depth - 1, budget)

    def _keyword_test(self, data: bytes, stage1: Stage1) -> KeywordTest:
        """Whether `data[start:end]`, its `\\"` escapes decoded, may hold a keyword: a hit
        starts inside it, or it holds one a quote escape hides (Ruleset.quote_escaped_keywords);
        and where those start."""
        starts = sorted(start for _, start in stage1.hits)
        hidden: HiddenKeywords | None = None

        def hidden_keywords() -> HiddenKeywords:
            nonlocal hidden
            if hidden is None:
                hidden = HiddenKeywords(self.engine.escaped_keyword_spans(data))
            return hidden

        def holds_keyword(start: int, end: int) -> bool:
            first = bisect.bisect_left(starts, start)
            if first < len(starts) and starts[first] < end:
                return True
            return bool(self._hidden_keywords) and hidden_keywords().within(start, end)

        def keyword_starts() -> list[int]:
            if not self._hidden_keywords:
                return starts
            return [*starts, *hidden_keywords().starts]

        return KeywordTest(holds_keyword, keyword_starts)

    def _kept_elsewhere(self, item: FilterInput, filters: Sequence[tuple[str, Filter]]) -> bool:
        """Whether a candidate dropped at its path would be kept at a path no filter reads
        anything into (the same blob at another path of a history may be a leak there)."""
        from keyscan.filters import first_reason, global_allowlist

        anywhere = replace(item, path="")
        return (
            first_reason(anywhere, filters, self.options.inline_ignores) is None
            and global_allowlist(self.options.allowlist, item.secret, "") is None
        )

    def _scan_layer(
        self, blob: Blob, data: bytes, result: BlobResult, layer: _Layer | None
    ) -> Stage1:
        """Report what `data` holds; returns what stage 1 saw in it, for the decoders."""
        stage1 = self.engine.scan(data)
        hits = stage1.hits
        if not hits:
            return stage1
        generic_ok = not blob.binary and (layer is None or layer.context)
        wanted = (lambda rule: True) if generic_ok else (lambda rule: not rule.generic)
        extraction = extract(data, hits, self.ruleset, wanted, self._windows)
        for rule_id in extraction.timed_out_rules:
            result.skips.append(
                Skip(
                    blob.provenance.path, "rule timed out", f"rule {rule_id} skipped for this file"
                )
            )
        rules = self.ruleset.rules
        # A span a provider rule recognised (kept, or rejected by its checksum: the token's own
        # format says it is not real) is never reported again by a generic rule.
        claimed: list[tuple[int, int]] = []
        for candidate in (c for c in extraction.candidates if not rules[c.rule_index].generic):
            if self._judge(blob, data, candidate, result, layer) in (None, "checksum"):
                claimed.append((candidate.start, candidate.end))
        # Generic rules overlap (`apiKey: '…'` is both an assignment and a header value): the
        # first that reports a span (in rule order) speaks for it, so one value is one finding.
        reported: list[tuple[int, int]] = []
        for candidate in (c for c in extraction.candidates if rules[c.rule_index].generic):
            span = (candidate.start, candidate.end)
            reason = (
                "provider-match"
                if _overlaps(span, claimed)
                else "generic-duplicate"
                if _overlaps(span, reported)
                else None
            )
            if reason is not None:
                if self.options.explain:
                    rule_id = rules[candidate.rule_index].id
                    result.dropped.append(Dropped(rule_id, *span, reason, _OVERLAP_REASONS[reason]))
                continue
            found_before = len(result.findings)
            self._judge(blob, data, candidate, result, layer)
            if len(result.findings) > found_before:
                reported.append(span)
        return stage1

    def _verdict(
        self,
        blob: Blob,
        rule: Rule,
        candidate: Candidate,
        context: bytes,
        line_start: int,
        start: int,
        layer: _Layer | None,
    ) -> _Verdict:
        """The filter that drops the candidate, if one does (name, reason), and then whether
        it would be kept at a path no filter reads anything into. `context` is the line before
        the candidate's and its own, `line_start` and `start` offsets into it."""
        # Imported at the first candidate, not with this module: most scans a pre-commit hook
        # runs have none, and the filters' patterns (and the `regex` module under them) were
        # a fifth of its time. A pool's workers inherit them from their parent (keyscan.scan).
        from keyscan.filters import (
            GENERIC_FILTERS,
            PROVIDER_FILTERS,
            FilterInput,
            first_reason,
            global_allowlist,
        )

        end = start + candidate.end - candidate.start
        path = blob.provenance.path
        item = FilterInput(
            foreign_markers=self.options.foreign_markers,
            before=context[max(line_start, start - 100) : start].decode("utf-8", "replace"),
            after=context[end : end + 100].decode("utf-8", "replace"),
            rule=rule,
            secret=candidate.secret,
            path=path,
            line=context[line_start:].decode("utf-8", "replace"),
            previous_line=context[:line_start].decode("utf-8", "replace"),
            allow_regexes=self.ruleset.allow_regexes(candidate.rule_index),
        )
        filters = GENERIC_FILTERS if rule.generic else PROVIDER_FILTERS
        verdict = first_reason(item, filters, self.options.inline_ignores)
        if verdict is None and layer is not None and self.options.inline_ignores:
            verdict = _ignored_where_encoded(blob.data, layer, item)
        if verdict is None:
            reason = global_allowlist(self.options.allowlist, candidate.secret, path)
            verdict = ("global-allowlist", reason) if reason else None
        kept_elsewhere = (
            verdict is not None
            and verdict[0] in _PATH_READING_FILTERS
            and self._kept_elsewhere(item, filters)
        )
        return verdict, kept_elsewhere

    def _judge(
        self,
        blob: Blob,
        data: bytes,
        candidate: Candidate,
        result: BlobResult,
        layer: _Layer | None = None,
    ) -> str | None:
        """Record a finding, or the filter that dropped the candidate; returns that filter."""
        rule = self.ruleset.rules[candidate.rule_index]
        path = blob.provenance.path
        line_start = _line_start(data, candidate.start)
        line_end = data.find(b"\n", candidate.end, candidate.end + LINE_CONTEXT)
        if line_end == -1:
            line_end = min(len(data), candidate.end + LINE_CONTEXT)
        previous_start = _line_start(data, max(0, line_start - 1)) if line_start else line_start
        # What the filters read is all in these bytes and offsets (and the path); in decoded
        # text an inline ignore is also looked for in the blob, so those are not kept.
        context = data[previous_start:line_end]
        line_in_context = line_start - previous_start
        start_in_context = candidate.start - previous_start
        key = (
            candidate.rule_index,
            candidate.secret,
            context,
            line_in_context,
            start_in_context,
            candidate.end - previous_start,
            path,
        )
        known = self._verdicts.get(key) if layer is None else None
        if known is None:
            known = self._verdict(
                blob, rule, candidate, context, line_in_context, start_in_context, layer
            )
            if layer is None:
                self._verdicts.put(key, known, len(context) + len(path))
        verdict, kept_elsewhere = known
        start, end = (layer.start, layer.end) if layer else (candidate.start, candidate.end)
        if verdict is not None:
            result.path_dependent = result.path_dependent or kept_elsewhere
            if self.options.explain:
                result.dropped.append(Dropped(rule.id, start, end, verdict[0], verdict[1]))
            return verdict[0]
        secret_fingerprint = fingerprint(rule.id, candidate.secret)
        if layer is not None and any(
            f.fingerprint == secret_fingerprint
            or (not rule.generic and f.rule_id == rule.id and span[0] < end and start < span[1])
            for span, f in zip(result.spans, result.findings, strict=True)
        ):
            # Already reported: in plain text, through another encoding, or as the same rule's
            # match on the encoded text itself (a SAS URL whose signature is percent-encoded).
            return None
        if result.positions is None:
            result.positions = _Positions(blob.data)
        line, column = result.positions.of(_located_at(rule, data, start, layer))
        end_line, end_column = result.positions.of(end)
        result.spans.append((start, end))
        result.findings.append(
            Finding(
                rule_id=rule.id,
                rule_name=rule.name,
                severity=rule.severity,
                path=path,
                line=line,
                column=column,
                end_line=end_line,
                end_column=end_column,
                secret=candidate.secret,
                fingerprint=secret_fingerprint,
                entropy=shannon_entropy(candidate.secret),
                commit=blob.provenance.commit,
                author=blob.provenance.author,
                date=blob.provenance.date,
                tags=rule.tags,
                blob=blob.id,
                decoded=layer.chain if layer else (),
            )
        )
        return None


_OVERLAP_REASONS = {
    "provider-match": "a provider rule already recognised this value",
    "generic-duplicate": "another generic rule already reported this value",
}


class HiddenKeywords:
    """Where a quote escape's keywords (Ruleset.quote_escaped_keywords) are in one layer: the
    spans Engine.escaped_keyword_spans gives.

    The escape decoder asks about every literal of every line with an escape (a notebook's
    every line of code): one pass over the whole data, then a bisection per question, instead
    of a regex search per literal.
    """

    def __init__(self, spans: list[tuple[int, int]]):
        spans.sort()
        self.starts = [start for start, _ in spans]
        self._ends = [end for _, end in spans]

    def within(self, start: int, end: int) -> bool:
        """Whether one of the keywords lies wholly inside `data[start:end]`."""
        index = bisect.bisect_left(self.starts, start)
        # Only an occurrence starting within a keyword's length of `end` can run past it.
        while index < len(self.starts) and self.starts[index] < end:
            if self._ends[index] <= end:
                return True
            index += 1
        return False


def _is_lfs_pointer(data: bytes) -> bool:
    return len(data) < _LFS_POINTER_SIZE and data.startswith(_LFS_POINTER_STARTS)


def _scanned_apart(blob: Blob) -> bool:
    return blob.binary or _is_lfs_pointer(blob.data)


# How far before a private key's body its armour line may begin: the line itself, and the
# headers of an encrypted PEM key (`Proc-Type:`, `DEK-Info:`).
_ARMOUR_REACH = 256


def _located_at(rule: Rule, data: bytes, start: int, layer: _Layer | None) -> int:
    """Where a finding is reported to begin: its secret's start, but a private key's `-----BEGIN`
    line, where the key starts for whoever reads the file (and for gitleaks, TruffleHog and
    ggshield, which report it there) while its secret, redacted and fingerprinted, is the body."""
    if layer is not None or "private-key" not in rule.tags:
        return start
    armour = data.rfind(b"-----BEGIN ", max(0, start - _ARMOUR_REACH), start)
    return start if armour == -1 else armour


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in spans)


# A value inside a URL: after its scheme (`scheme://user:pass@`), or a query or form field
# (`?key=value`, `&key=value`).
_URL_BEFORE = re.compile(rb"://|[?&][\w.\-\[\]]*=[^\s&]*$")


def _in_url(data: bytes, at: int) -> bool:
    line_start = data.rfind(b"\n", 0, at) + 1
    return _URL_BEFORE.search(data, line_start, at) is not None


@value
class _Layer:
    """Where decoded text came from: the chain of encodings and the encoded span in the blob."""

    chain: tuple[str, ...]
    start: int
    end: int
    context: bool


def _ignored_where_encoded(
    original: bytes, layer: _Layer, item: FilterInput
) -> tuple[str, str] | None:
    from keyscan.filters import inline_ignore

    # An inline ignore is written on the line the user sees: the one holding the encoded text.
    line_start = _line_start(original, layer.start)
    line_end = original.find(b"\n", layer.start, layer.start + LINE_CONTEXT)
    previous_start = _line_start(original, max(0, line_start - 1)) if line_start else line_start
    seen = replace(
        item,
        line=original[line_start : line_end if line_end != -1 else layer.end].decode(
            "utf-8", "replace"
        ),
        previous_line=original[previous_start:line_start].decode("utf-8", "replace"),
    )
    reason = inline_ignore(seen)
    return ("inline-ignore", reason) if reason else None


def _line_start(data: bytes, offset: int) -> int:
    # Bounded look-back: a 50 MB single-line file must not cost O(size) per candidate.
    low = max(0, offset - LINE_CONTEXT)
    newline = data.rfind(b"\n", low, offset)
    return newline + 1 if newline != -1 else low


class _Positions:
    """1-based line and 1-based column in characters (SARIF's unicodeCodePoints) of offsets in
    one blob, each counted from the nearest offset already placed.

    Counting newlines from the first byte for every finding made a file with thousands of them
    quadratic: a tox.ini of version pins, in each of its versions, took 47 of 150 seconds.
    """

    def __init__(self, data: bytes):
        self._data = data
        # Offsets already placed, sorted, with their line and that line's first byte.
        self._offsets = [0]
        self._lines = [(1, 0)]

    def of(self, offset: int) -> tuple[int, int]:
        data = self._data
        nearest = bisect.bisect_right(self._offsets, offset) - 1
        known = self._offsets[nearest]
        line, start = self._lines[nearest]
        newlines = data.count(b"\n", known, offset)
        if newlines:
            line += newlines
            start = data.rfind(b"\n", known, offset) + 1
        if known != offset:
            self._offsets.insert(nearest + 1, offset)
            self._lines.insert(nearest + 1, (line, start))
        prefix = data[start:offset]
        # ASCII needs no decoding to count characters: a search index or bundle is one line of
        # megabytes, and decoding it once per finding made its scan quadratic.
        if prefix.isascii():
            return line, len(prefix) + 1
        return line, len(prefix.decode("utf-8", "surrogateescape")) + 1
