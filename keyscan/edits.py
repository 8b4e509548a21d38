"""Edit scans: a file's version read as an edit of a clean earlier version, so that only the
lines whose surroundings the edit changed are scanned again.

Why this is exact. Every step of a scan decides about a line from that line, the line before it
(inline ignores) and at most `Ruleset.edit_reach` bytes after it (a keyword's `at_keyword`
check may run on past the line's end): stage-2 windows end at line ends, filters read the line
and the one before, and every decoder works inside one line. What is not line-local is handled
apart: a multi-line rule's keyword depends on the block of text around it (its window runs
16 KB on), so each one's block must be an unchanged copy, unless its rules require a literal
(netrc's `password`) that the new version lacks near it; a Kubernetes Secret manifest (a value
is read with the `kind:` line), a binary file and the decode budget (a blob-wide total, carried
along here) are never scanned as edits.

So if the earlier version has no finding at all, any line of the new version whose context (the
line before it, the line, and the reach after it) is an unchanged copy of a context in the
earlier version has no finding either. Only the other lines are scanned, each within a region
that holds its whole context. If none of those regions holds a finding, the new version is
clean; if one does, or anything else is unusual (a skip, the budget), the version is scanned in
full, so what is reported always comes from a full scan.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from operator import itemgetter
from types import ModuleType

from keyscan.blobscan import LINE_CONTEXT, BlobResult, BlobScanner, decode_budget
from keyscan.decoders.kubernetes import is_secret_manifest
from keyscan.engine.extract import BLOCK_AFTER, BLOCK_BEFORE
from keyscan.model import Blob, value

# Below this size a full scan costs less than working out what changed.
MIN_EDIT_SIZE = 2 * 1024
# Regions this close together are scanned as one: a scan call costs about as much as
# scanning this many bytes.
_JOIN_GAP = 4 * 1024
# An edit is scanned as one when its regions hold at most this share of the file: scanning
# them costs a little more per byte than a full scan (a call per region), and past this share
# the full scan is as cheap (docs/benchmarks.md: 0.5, 0.8, 0.95 and always, on sqlalchemy).
_MAX_SHARE = 0.8
# How many clean earlier versions of a file an edit is looked for against, and how close the
# first one tried must be (one byte in this many changed, at most) for the others not to be.
EARLIER_VERSIONS = 3
_CLOSE_ENOUGH = 20
# Comparing happens in pieces this large: a larger slice of bytes is an mmap and page faults.
_CHUNK = 64 * 1024
# A line used to find where the old text resumes after a change: long enough to be telling.
_ANCHOR = 64
_MIN_ANCHOR = 16
# An anchor is looked for this far on (an edit that adds or deletes more is found by moving
# on line by line), and searching may read this many times the new version's size in all.
_SEARCH_WINDOW = 16 * 1024
_SEARCH_FACTOR = 8
# Where neither next line is found, both sides move on this far, then twice as far each time.
_FIRST_JUMP = 256
# Steps the search for unchanged copies may take: this many, plus one per this many bytes.
_STEPS_BASE = 32
_BYTES_PER_STEP = 1024
# Differences are narrowed down by halving to a piece this small.
_SMALL_PIECE = 64
# What a multi-line rule's keyword at offset h depends on: its window (BLOCK_BEFORE before,
# BLOCK_AFTER after the keyword) and, around a candidate in it, the candidate's line and the
# line before (each read at most LINE_CONTEXT bytes long). The keyword's own length and the
# ruleset's reach are added at run time.
_MULTILINE_BEFORE = BLOCK_BEFORE + 2 * LINE_CONTEXT + 2
_MULTILINE_AFTER = BLOCK_AFTER + LINE_CONTEXT

# (start, end) of a range of the new version, and where its copy starts in the old one.
Segment = tuple[int, int, int]


@value
class CleanVersion:
    """A version of a file that holds no finding, the decoded bytes its scan took, and where
    the keywords of multi-line rules are in it."""

    data: bytes
    decoded_bytes: int
    multiline_hits: tuple[int, ...]
    # Whether "Secret" occurs in it: only then can an edit make it a Kubernetes Secret manifest.
    mentions_secret: bool
    # Whether a filter dropped something in it for its path (BlobResult.path_dependent): its
    # unchanged copies in a later version hold that too.
    path_dependent: bool = False


def clean_version(blob: Blob, result: BlobResult) -> CleanVersion | None:
    """`blob` as an earlier version for edit scans, if its scan allows (see the module doc)."""
    mentions_secret = "kubernetes" in result.markers
    usable = (
        not blob.binary
        and not result.decode_cut
        and not result.findings
        and not result.skips
        and not (mentions_secret and is_secret_manifest(blob.data))
    )
    if not usable:
        return None
    return CleanVersion(
        blob.data,
        result.decoded_bytes,
        tuple(result.multiline_hits),
        mentions_secret,
        result.path_dependent,
    )


class EditScanner:
    """Scans versions of files, each as an edit of an earlier clean version when it can."""

    def __init__(self, scanner: BlobScanner):
        self.scanner = scanner
        reach = scanner.ruleset.edit_reach
        options = scanner.options
        # Explanations list every dropped candidate, which only a full scan sees.
        self._reach = reach if options.edit_scans and not options.explain else None
        ruleset = scanner.ruleset
        longest = max(len(keyword) for keyword in ruleset.keywords)
        self._multiline_after = _MULTILINE_AFTER + longest + (reach or 0)
        # Lower case: which keyword a hit is, is told from the bytes at it.
        self._multiline_requires = [
            (ruleset.keywords[index].lower(), literals)
            for index, literals in ruleset.multiline_keywords.items()
        ]

    def scan(
        self, blob: Blob, earlier: Sequence[CleanVersion]
    ) -> tuple[BlobResult, CleanVersion | None]:
        """The scan of `blob` (from a full scan whenever it holds anything), and `blob` as an
        earlier version for the next one. `earlier`: clean earlier versions of the file, the
        most recent first; the blob is scanned as an edit of the one it differs least from."""
        if self._reach is None:
            return self.scanner.scan(blob), None
        if earlier and not blob.binary and len(blob.data) >= MIN_EDIT_SIZE:
            closest = _closest(earlier, blob.data)
            version = None if closest is None else self._as_edit(blob, *closest, self._reach)
            if version is not None:
                return BlobResult(path_dependent=version.path_dependent), version
        result = self.scanner.scan(blob)
        return result, clean_version(blob, result)

    def _as_edit(
        self, blob: Blob, earlier: CleanVersion, segments: list[Segment], reach: int
    ) -> CleanVersion | None:
        """`blob` as a clean version if scanning only what the edit changed shows it clean;
        None when it must be scanned in full."""
        data = blob.data
        regions = changed_regions(data, segments, reach)
        if sum(end - start for start, end in regions) > _MAX_SHARE * len(data):
            return None
        # Lines outside the regions decode as they did in the earlier version, so the whole
        # blob decodes to at most the earlier total plus what the regions decode.
        decoded = earlier.decoded_bytes
        limit = decode_budget(len(data))
        hits = set(_carried_hits(earlier.multiline_hits, segments, reach))
        # A "Secret" in the new version is in an unchanged copy or in a region.
        mentions_secret = earlier.mentions_secret
        path_dependent = earlier.path_dependent
        for start, end in regions:
            part = self.scanner.scan(
                Blob(blob.id, data[start:end], blob.provenance), limit - decoded
            )
            if part.findings or part.skips or part.decode_cut:
                return None
            decoded += part.decoded_bytes
            hits.update(start + hit for hit in part.multiline_hits)
            mentions_secret = mentions_secret or "kubernetes" in part.markers
            path_dependent = path_dependent or part.path_dependent
        if decoded >= limit or (mentions_secret and is_secret_manifest(data)):
            return None
        # A multi-line rule's keyword decides from a whole block: unchanged blocks only.
        for hit in hits:
            low = max(-1, hit - _MULTILINE_BEFORE)
            high = min(len(data), hit + self._multiline_after)
            if not _inside_one(segments, low, high) and not self._inert(data, hit):
                return None
        return CleanVersion(data, decoded, tuple(sorted(hits)), mentions_secret, path_dependent)

    def _inert(self, data: bytes, hit: int) -> bool:
        """Whether the multi-line keyword at `hit` yields no window at all in `data`: each of
        its multi-line rules requires a literal and none is near enough (extract's check)."""
        matched = False
        for keyword, literals in self._multiline_requires:
            if data[hit : hit + len(keyword)].lower() != keyword:
                continue
            if literals is None:
                return False
            matched = True
            low, high = max(0, hit - BLOCK_BEFORE), hit + len(keyword) + BLOCK_AFTER
            if any(data.find(literal, low, high) != -1 for literal in literals):
                return False
        return matched


def _closest(
    earlier: Sequence[CleanVersion], data: bytes
) -> tuple[CleanVersion, list[Segment]] | None:
    """The earlier version `data` differs least from (fewest bytes outside unchanged copies),
    with those copies; None when every one differs in more than _MAX_SHARE of `data`, which
    makes the changed regions too large for an edit scan (_as_edit: they hold every changed
    byte).

    The versions are tried nearest in size first (the most recent first among equals), and the
    first is taken at once when it is close enough: a version from another branch, or from
    before a large change, mostly differs in size too, and the better the first comparison, the
    sooner the others give up (on sqlalchemy's history, a fifth less time comparing, and fewer
    bytes scanned, than trying the most recent first)."""
    best: tuple[int, CleanVersion, list[Segment]] | None = None
    size = len(data)
    # The comparisons stop as soon as they cannot beat this (matched_segments).
    give_up_above = int(_MAX_SHARE * size)
    for version in sorted(
        earlier, key=lambda earlier_version: abs(len(earlier_version.data) - size)
    ):
        segments = matched_segments(version.data, data, give_up_above)
        if segments is None:
            continue
        # The copies neither overlap nor leave the data, but the first starts at -1 and the
        # last ends one past the end: what they cover is their total length less two.
        covered = sum(map(itemgetter(1), segments)) - sum(map(itemgetter(0), segments)) - 2
        changed = size - covered
        if best is None or changed < best[0]:
            best = (changed, version, segments)
            # Of the versions still to try, only one that changes fewer bytes is taken.
            give_up_above = changed - 1
        if changed * _CLOSE_ENOUGH <= size:
            break
    return None if best is None else (best[1], best[2])


def _carried_hits(hits: tuple[int, ...], segments: list[Segment], reach: int) -> list[int]:
    """The earlier version's keyword offsets that lie in unchanged copies, moved to where the
    copies are in the new version. Those nearer than `reach` to the end of a copy other than
    the common end may run on past it: they are in a changed region, whose scan finds them."""
    carried = []
    old_starts = [old_start for _, _, old_start in segments]
    last = len(segments) - 1
    for hit in hits:
        index = bisect.bisect_right(old_starts, hit) - 1
        if index < 0:
            continue
        start, end, old_start = segments[index]
        moved = hit - old_start + start
        if moved + reach <= end or index == last:
            carried.append(moved)
    return carried


def _inside_one(segments: list[Segment], low: int, high: int) -> bool:
    """Whether the bytes from `low` to `high` (both included) lie in one unchanged copy."""
    index = bisect.bisect_right(segments, (low, float("inf"), 0)) - 1
    return index >= 0 and segments[index][0] <= low and high < segments[index][1]


def python_changed_regions(
    new: bytes, segments: list[Segment], reach: int
) -> list[tuple[int, int]]:
    """Ranges of whole lines of `new` holding the context of every line whose context is not
    inside one unchanged copy (see the module doc). `changed_regions` is its C build."""
    # Gaps between copies, those nearer each other than _JOIN_GAP taken together: a range for
    # two gaps holds both ranges and what is between them.
    gaps: list[tuple[int, int]] = []
    for (_, gap_start, _), (gap_end, _, _) in itertools.pairwise(segments):
        if gaps and gap_start - gaps[-1][1] <= _JOIN_GAP:
            gaps[-1] = (gaps[-1][0], gap_end)
        else:
            gaps.append((gap_start, gap_end))
    regions: list[tuple[int, int]] = []
    for gap_start, gap_end in gaps:
        # The first line whose reach after it touches the gap, and the line after the one
        # holding the gap's end (its line before is in the gap).
        first = _line_start(new, max(0, gap_start - reach))
        last_end = _line_end(new, _line_end(new, gap_end) + 1)
        # Each of those lines' context: the line before the first, the reach after the last.
        start = _line_start(new, first - 1) if first else 0
        end = min(len(new), _line_end(new, min(len(new), last_end + reach)) + 1)
        if regions and start <= regions[-1][1]:
            regions[-1] = (regions[-1][0], max(regions[-1][1], end))
        else:
            regions.append((start, end))
    return regions


def python_matched_segments(
    old: bytes, new: bytes, give_up_above: int = -1
) -> list[Segment] | None:
    """Ranges of `new` that are unchanged copies of bytes of `old`, in order in both, starting
    with the common beginning (from -1: both have the same start) and ending with the common
    end (to beyond the end: both have the same end).

    None when `give_up_above` is 0 or more and more bytes than that of `new` lie outside the
    copies: the search stops as soon as the bytes it has passed over say so. A version that
    differs that much is of no use to the caller, and such comparisons are the costly ones
    (the anchors' searches find nothing and run their whole windows).

    `matched_segments` is the C build of this (keyscan/_segments.c) where it was compiled at
    install time: the same steps, the loop out of Python.
    """
    shorter = min(len(old), len(new))
    head = _common_prefix(old, new, 0, 0, shorter)
    tail = _common_suffix(old, new, shorter - head)
    new_stop, old_stop = len(new) - tail, len(old) - tail
    middle = _resynchronised(old, new, head, head, new_stop, old_stop, give_up_above)
    if middle is None:
        return None
    return [(-1, head, -1), *middle, (new_stop, len(new) + 1, old_stop)]


def _resynchronised(
    old: bytes,
    new: bytes,
    new_at: int,
    old_at: int,
    new_stop: int,
    old_stop: int,
    give_up_above: int,
) -> list[Segment] | None:
    """Unchanged copies inside the changed middle. After each difference, the next line of
    each side is searched for in the other: lines added to `new` are passed over by finding
    `old`'s next line further on in `new`, lines deleted from `old` by finding `new`'s next line
    further on in `old`. When neither is found both sides move on, further each time.

    None once more than `give_up_above` bytes (when that is 0 or more) are outside every copy:
    what lies before `new_at` is decided, so those of it not copied already count."""
    segments: list[Segment] = []
    # The bytes before `new_at` that lie in a copy (the common beginning is one): the others
    # are changed whatever comes after.
    copied = new_at
    allowance = _SEARCH_FACTOR * len(new)
    # An edit of many small changes all over (a translation catalogue's line numbers) is
    # cheaper to scan whole than to take apart: past this many steps the rest is all changed.
    steps = _STEPS_BASE + len(new) // _BYTES_PER_STEP
    jump = 0
    while allowance > 0 and steps > 0:
        if 0 <= give_up_above < new_at - copied:
            return None
        steps -= 1
        new_line = _next_line(new, new_at + jump, new_stop)
        old_line = _next_line(old, old_at + jump, old_stop)
        if new_line < 0 or old_line < 0:
            break
        # Where `new`'s next line is in `old`, and where `old`'s next line is in `new`: the one
        # that passes over fewer bytes wins.
        limit = min(old_stop, old_at + _SEARCH_WINDOW)
        in_old = old.find(new[new_line : new_line + _ANCHOR], old_at, limit)
        allowance -= (limit if in_old == -1 else in_old) - old_at
        limit = min(new_stop, new_at + _SEARCH_WINDOW)
        in_new = new.find(old[old_line : old_line + _ANCHOR], new_at, limit)
        allowance -= (limit if in_new == -1 else in_new) - new_at
        if in_old == -1 and in_new == -1:
            new_at, old_at = new_line, old_line
            jump = 2 * jump or _FIRST_JUMP
            continue
        jump = 0
        if in_new == -1 or (in_old != -1 and in_old - old_at < in_new - new_at):
            new_from, old_from = new_line, in_old
        else:
            new_from, old_from = in_new, old_line
        length = _common_prefix(
            old, new, old_from, new_from, min(old_stop - old_from, new_stop - new_from)
        )
        segments.append((new_from, new_from + length, old_from))
        copied += length
        new_at, old_at = new_from + length, old_from + length
    # Whatever the search did not reach is changed.
    if 0 <= give_up_above < new_stop - copied:
        return None
    return segments


def _next_line(data: bytes, at: int, stop: int) -> int:
    """Where the line after the one holding `at` starts, at least _MIN_ANCHOR bytes before
    `stop`; -1 if it does not."""
    end = data.find(b"\n", at, stop)
    return -1 if end == -1 or end + 1 + _MIN_ANCHOR > stop else end + 1


def _common_prefix(old: bytes, new: bytes, old_at: int, new_at: int, limit: int) -> int:
    """How many bytes `old[old_at:]` and `new[new_at:]` share at their start, at most `limit`."""
    # Slices of a view compare without copying the bytes first.
    view = memoryview(new)
    done, step = 0, 1024
    while done < limit:
        size = min(step, limit - done)
        if not old.startswith(view[new_at + done : new_at + done + size], old_at + done):
            return done + _first_difference(old, view, old_at + done, new_at + done, size)
        done += size
        step = min(4 * step, _CHUNK)
    return limit


def _first_difference(old: bytes, new: memoryview, old_at: int, new_at: int, size: int) -> int:
    """The offset of the first byte that differs in `size` bytes known to differ somewhere."""
    # Halving down to a small piece, then one comparison of the piece as two integers: the
    # highest bit of their exclusive or is in the first byte that differs.
    low, high = 0, size
    while high - low > _SMALL_PIECE:
        middle = (low + high) // 2
        if old.startswith(new[new_at + low : new_at + middle], old_at + low):
            low = middle
        else:
            high = middle
    mine = int.from_bytes(old[old_at + low : old_at + high], "big")
    theirs = int.from_bytes(new[new_at + low : new_at + high], "big")
    return high - ((mine ^ theirs).bit_length() + 7) // 8


def _common_suffix(old: bytes, new: bytes, limit: int) -> int:
    """How many bytes `old` and `new` share at their end, at most `limit`."""
    old_end, new_end = len(old), len(new)
    view = memoryview(new)
    done, step = 0, 1024
    while done < limit:
        size = min(step, limit - done)
        if not old.endswith(view[new_end - done - size : new_end - done], 0, old_end - done):
            return done + _last_difference(old, view, old_end - done, new_end - done, size)
        done += size
        step = min(4 * step, _CHUNK)
    return limit


def _last_difference(old: bytes, new: memoryview, old_end: int, new_end: int, size: int) -> int:
    """How many bytes before `old_end` and `new_end` match, of `size` known to differ."""
    low, high = 0, size
    while high - low > _SMALL_PIECE:
        middle = (low + high) // 2
        if old.endswith(new[new_end - middle : new_end - low], 0, old_end - low):
            low = middle
        else:
            high = middle
    mine = int.from_bytes(old[old_end - high : old_end - low], "little")
    theirs = int.from_bytes(new[new_end - high : new_end - low], "little")
    return high - ((mine ^ theirs).bit_length() + 7) // 8


def _line_start(data: bytes, offset: int) -> int:
    return data.rfind(b"\n", 0, offset) + 1


def _line_end(data: bytes, offset: int) -> int:
    """The offset of the newline ending the line that holds `offset` (or the data's end)."""
    end = data.find(b"\n", offset)
    return len(data) if end == -1 else end


def _compiled_search() -> ModuleType | None:
    try:
        from keyscan import _segments
    except ImportError:  # installed without a C compiler
        return None
    return _segments


_COMPILED = _compiled_search()
matched_segments = python_matched_segments if _COMPILED is None else _COMPILED.matched_segments


def changed_regions(new: bytes, segments: list[Segment], reach: int) -> list[tuple[int, int]]:
    """python_changed_regions, in C where it was compiled."""
    if _COMPILED is None:
        return python_changed_regions(new, segments, reach)
    regions: list[tuple[int, int]] = _COMPILED.changed_regions(new, segments, reach, _JOIN_GAP)
    return regions
