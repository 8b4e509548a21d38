"""Finding encoded spans and decoding them: base64, hex, percent-encoding and string escapes."""

from __future__ import annotations

import base64
import binascii
import bisect
import codecs
import json
import re
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from keyscan.decoders.layer import Decoded, looks_like_text

BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_HEX_CHARS = b"0123456789abcdefABCDEF"
_URL_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~!*'()+:@/?=&-%"
# One byte-class per table: members become "A", everything else a space, so runs can be found
# with C-level searches instead of a regex that restarts at every word.
_BASE64_TABLE = bytes(0x41 if b in BASE64_ALPHABET else 0x20 for b in range(256))
_URL_TABLE = bytes(0x41 if b in _URL_CHARS else 0x20 for b in range(256))
_MIN_BASE64 = 24
_MIN_HEX = 32
# An escape: it never opens or closes a string literal.
_ANY_ESCAPE = re.compile(rb"\\.")


def _sextets(accept: Callable[[int], bool]) -> bytes:
    return bytes(char for value, char in enumerate(BASE64_ALPHABET) if accept(value))


# Base64 of text has a fixed shape. In every 4-character group the first character holds the
# top six bits of the first byte, the second the next two bits and the top four of the second
# byte, the third the rest of the second byte and the top two bits of the third. A byte
# `looks_like_text` counts as printable (0x20 to 0x7E, tab, line feed, carriage return) has its
# top bit clear and is not 0x00-0x08 (top six bits below 2, or from 4 to 7) nor 0x10-0x1F (top
# four bits 1), and each of those shows in one character alone. A character outside these sets
# means an unprintable byte, so counting them rejects a run (a CamelCase identifier, a digest,
# base64 of binary data full of zero bytes) exactly and without decoding it.
PRINTABLE_SEXTETS = (
    _sextets(lambda value: value < 32 and value not in (0, 1, 4, 5, 6, 7)),
    _sextets(lambda value: value % 16 < 8 and value % 16 != 1),
    _sextets(lambda value: value % 4 < 2),
)
# looks_like_text allows 3% unprintable bytes; 1/33 is a hair above, so rounding never rejects a
# run that would decode to text.
_UNPRINTABLE_SHARE = 33


def _cannot_be_text(body: bytes) -> bool:
    """True only if decoding `body` would give more unprintable bytes than text may hold."""
    allowed = len(body) * 3 // 4
    # The first characters alone settle most runs (CamelCase identifiers), at a third the cost.
    unprintable = len(body[::4].translate(None, PRINTABLE_SEXTETS[0]))
    if unprintable * _UNPRINTABLE_SHARE > allowed:
        return True
    unprintable += len(body[1::4].translate(None, PRINTABLE_SEXTETS[1]))
    unprintable += len(body[2::4].translate(None, PRINTABLE_SEXTETS[2]))
    return unprintable * _UNPRINTABLE_SHARE > allowed


def base64_and_hex_layers(data: bytes, near: Sequence[int] | None = None) -> Iterator[Decoded]:
    """Standard base64 and hex runs, found in one pass: every hex run is also a base64 run.

    `near`, when stage 1 provides it, lists offsets where a run that decodes to text may end
    (see decoders.markers): only the runs around them are looked at. Without it every run of
    the data is.

    URL-safe base64 is not searched for: its `-` and `_` would join every snake_case identifier
    and path into a candidate run, tripling the work on source code for little gain.
    """
    for start, end in _all_runs(data) if near is None else _runs_around(data, near):
        layer = _run_layer(data, start, end)
        if layer is not None:
            yield layer


def _all_runs(data: bytes) -> Iterator[tuple[int, int]]:
    # Runs are found with C-level searches on a translated copy ("A" for a base64 character,
    # a space for anything else) instead of a regex that restarts at every word.
    classes = data.translate(_BASE64_TABLE)
    probe = b"A" * _MIN_BASE64
    position = classes.find(probe)
    while position != -1:
        start = classes.rfind(b" ", 0, position) + 1
        end = classes.find(b" ", position)
        if end == -1:
            end = len(classes)
        yield start, end
        position = classes.find(probe, end)


def _runs_around(data: bytes, offsets: Sequence[int]) -> Iterator[tuple[int, int]]:
    """The maximal runs of at least _MIN_BASE64 characters that end at each offset or one byte
    before it (a marker's end: decoders.markers)."""
    done = 0
    for offset in sorted(offsets):
        inside = offset - 1 if _BASE64_TABLE[data[offset - 1]] == 0x41 else offset - 2
        if inside < done:
            continue  # inside the run just seen
        start, end = _run_start(data, inside), _run_end(data, inside + 1)
        done = end
        if end - start >= _MIN_BASE64:
            yield start, end


def _run_start(data: bytes, position: int) -> int:
    step = 512
    while position > 0:
        low = max(0, position - step)
        space = data[low:position].translate(_BASE64_TABLE).rfind(b" ")
        if space != -1:
            return low + space + 1
        position, step = low, step * 4
    return 0


def _run_end(data: bytes, position: int) -> int:
    step = 512
    while position < len(data):
        high = min(len(data), position + step)
        space = data[position:high].translate(_BASE64_TABLE).find(b" ")
        if space != -1:
            return position + space
        position, step = high, step * 4
    return len(data)


def _run_layer(data: bytes, start: int, end: int) -> Decoded | None:
    body = data[start:end]
    if not body.translate(None, _HEX_CHARS):
        return _hex_layer(body, start, end)
    # Identifiers and paths are long runs too: base64 of text mixes cases and digits.
    if _cannot_be_text(body) or body.isdigit() or body.islower() or body.isupper():
        return None
    padded_end = end
    while padded_end < len(data) and data[padded_end] == 0x3D and padded_end - end < 2:
        padded_end += 1  # '=' padding belongs to the encoded span the user has to remove
    try:
        decoded = base64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not looks_like_text(decoded):
        return None
    # A decoded file (several lines) keeps its assignments, so generic rules may run.
    return Decoded("base64", start, padded_end, decoded, b"\n" in decoded.strip())


def _hex_layer(run: bytes, start: int, end: int) -> Decoded | None:
    if len(run) < _MIN_HEX or len(run) % 2:
        return None
    decoded = binascii.unhexlify(run)
    return Decoded("hex", start, end, decoded, False) if looks_like_text(decoded) else None


_PERCENT_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")


def percent_layers(data: bytes) -> Iterator[Decoded]:
    first = _PERCENT_ESCAPE.search(data)
    if first is None:
        return
    classes = data.translate(_URL_TABLE)
    done = 0
    for escape in _PERCENT_ESCAPE.finditer(data, first.start()):
        if escape.start() < done:
            continue  # inside the run already decoded
        start = classes.rfind(b" ", 0, escape.start()) + 1
        end = classes.find(b" ", escape.end())
        end = len(data) if end == -1 else end
        done = end
        if end - start < 16:
            continue
        run = data[start:end]
        decoded = urllib.parse.unquote_to_bytes(run)
        if decoded != run and looks_like_text(decoded, threshold=0.9):
            yield Decoded("percent", start, end, decoded, True)


# What a line must hold for its literals' decoding to show anything a scan of the raw line does
# not (escape_layers): an escape other than \n, \t and \r (a quote escape may hide a keyword,
# \uXXXX and \/ make text); a base64 or hex run right after one of those three, whose raw form
# starts with the escape's letter; a Kubernetes Secret manifest written on one line, whose values
# the Kubernetes decoder reads only from its decoded lines. Stage 1 looks for it in every blob
# (decoders.markers), so a blob without it never runs this decoder: as two patterns, which
# hyperscan runs a third faster than their alternation on notebooks.
_RUN_AFTER = rb"\\[ntr][A-Za-z0-9+/]{%d}" % _MIN_BASE64
ESCAPE_MARKERS = (rb"\\[\"'ux/]|Secret\\[nr]", _RUN_AFTER)
# The same, read from each backslash on: a regex that starts with a literal skips ahead to it at
# C speed, where one with an alternation at its start tries every position.
_TEXT_ESCAPE = rb"\\(?:[\"'ux/]|(?<=Secret\\)[nr])"
_ESCAPE_MARKER = re.compile(_TEXT_ESCAPE + b"|" + _RUN_AFTER)
_TEXT_ESCAPE_MARKER = re.compile(_TEXT_ESCAPE)
_RUN_AFTER_ESCAPE = re.compile(_RUN_AFTER)
_OTHER_ESCAPE = re.compile(rb'\\[^"ntr]')
# Marked lines escape_layers looks at one by one before it looks only at lively ones.
_MARKED_LINES_ONE_BY_ONE = 4
# Where an escape, or a percent escape, that makes a line other than inert starts: each
# backslash and percent sign they start at, however close together (python_lively_places).
_LIVELY_BACKSLASH = re.compile(rb'\\(?=[^"ntr]|[ntr][A-Za-z0-9+/]{%d})' % _MIN_BASE64)
_PERCENT_START = re.compile(rb"%(?=[0-9A-Fa-f]{2})")
_SECRET_MARKER = b"Secret"


class KeywordTest(NamedTuple):
    """What the escape decoder may ask about a layer's keywords (escape_layers).

    `holds(start, end)`: whether `data[start:end]`, read with its `\\"` escapes decoded, may
    hold a keyword. `starts()`, when given: offsets, in any order, such that every span `holds`
    answers True for contains one of them (asked only of data with many lines to look at).
    """

    holds: Callable[[int, int], bool]
    starts: Callable[[], Sequence[int]] | None = None


def escape_layers(
    data: bytes,
    keywords: KeywordTest | Callable[[int, int], bool] | None = None,
    encoded_ends: Sequence[int] | None = None,
) -> Iterator[Decoded]:
    """JSON and JavaScript string escapes (`\\"`, `\\n`, `\\u0041`, `\\x41`, `\\/`).

    `keywords`, when given (a KeywordTest, or its `holds` alone), says whether `data[start:end]`,
    read with its `\\"` escapes decoded, may hold a keyword. A literal that holds none yields no
    layer unless its decoding could show a decoder something the raw data does not (_inert).
    Decoding `\\"`, `\\n`, `\\t` and `\\r` puts a quote or a blank where two characters were,
    so stage 1 finds no keyword in the decoded text that it did not find in the raw one (no
    keyword holds a blank, and those holding a quote are looked for escaped), and the encoded
    runs (base64, hex, percent: none contains a quote, a blank or a backslash) are the raw
    data's own, which its decoders already see, except a run right after `\\n`, `\\t` or `\\r`,
    whose raw form starts with that letter. Notebooks are made of such literals: one per line
    of code.

    Such a run decodes to text only if stage 1 saw a marker of encoded text in it (`encoded_ends`,
    decoders.markers: the marker matches at any alignment, so the run's letter does not hide
    it): a notebook's images, base64 lines each after a `\\n`, do not make their lines decoded.
    """
    test = KeywordTest(keywords) if callable(keywords) else keywords
    holds_keyword = test.holds if test is not None else None
    ends = None if encoded_ends is None else sorted(encoded_ends)

    def encoded_in(start: int, end: int) -> bool:
        if ends is None:
            return True
        # A run ending the literal is marked past the closing quote.
        first = bisect.bisect_right(ends, start)
        return first < len(ends) and ends[first] <= end + 1

    lines = (
        _marked_lines(data)
        if test is None or test.starts is None
        else _lines_to_look_at(data, test.starts)
    )
    for line_start, line_end in lines:
        if (
            _TEXT_ESCAPE_MARKER.search(data, line_start, line_end) is None
            and not encoded_in(line_start, line_end)
            and not (holds_keyword is None or holds_keyword(line_start, line_end))
        ):
            # Marked only by runs that cannot decode to text, and no keyword that line breaks
            # could make a match of (a private key block in one JSON string).
            continue
        if _inert(data, line_start, line_end, holds_keyword, encoded_in):
            continue  # every literal on the line would be passed over too
        for start, end in _string_literals(data, line_start, line_end):
            literal = data[start:end]
            if b"\\" not in literal:
                continue
            if _inert(data, start, end, holds_keyword, encoded_in):
                continue
            decoded = _unescape(literal)
            if decoded is not None and decoded != literal and len(decoded) >= 8:
                yield Decoded("escapes", start, end, decoded, True)


def _marked_lines(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each line holding an escape marker."""
    marker = _ESCAPE_MARKER.search(data)
    while marker is not None:
        line_start = data.rfind(b"\n", 0, marker.start()) + 1
        line_end = data.find(b"\n", marker.end())
        line_end = len(data) if line_end == -1 else line_end
        yield line_start, line_end
        marker = _ESCAPE_MARKER.search(data, line_end)


def _lines_to_look_at(
    data: bytes, keyword_starts: Callable[[], Sequence[int]]
) -> Iterator[tuple[int, int]]:
    """The lines holding an escape marker that escape_layers may not pass over as inert. The
    first few marked lines are taken as they come; past them, only the lively ones
    (_lively_lines): finding those takes a pass over the rest of the data and the places of the
    keywords a quote escape hides, which a file with a handful of escapes would not repay."""
    for count, (line_start, line_end) in enumerate(_marked_lines(data), 1):
        yield line_start, line_end
        if count == _MARKED_LINES_ONE_BY_ONE:
            yield from _lively_lines(data, keyword_starts(), line_end + 1)
            return


def _lively_lines(
    data: bytes, keyword_starts: Sequence[int], begin: int
) -> Iterator[tuple[int, int]]:
    """The lines from `begin` on holding an escape marker and something that can make a line
    other than inert (see _inert): where a keyword may start, an escape other than \\", \\n,
    \\t and \\r, a base64 run after one of those three, "Secret" or a percent escape. Every
    other line is inert whatever it holds, and is never looked at: a translation catalogue
    (.po) has a `\\"` on most of its lines, which cost a dozen searches and calls each."""
    places = [place for place in keyword_starts if place >= begin]
    places += _LIVELY_PLACES(data, begin)
    places.sort()
    line_end = begin - 1
    for place in places:
        if place <= line_end:
            continue  # on the line just looked at
        line_start = data.rfind(b"\n", 0, place) + 1
        line_end = data.find(b"\n", place)
        line_end = len(data) if line_end == -1 else line_end
        if _ESCAPE_MARKER.search(data, line_start, line_end) is not None:
            yield line_start, line_end


def python_lively_places(data: bytes, begin: int) -> list[int]:
    """Every offset from `begin` on where a `\\` is followed by anything but `"`, `n`, `t` or
    `r`, or by one of `n`, `t`, `r` and a base64 run (_RUN_AFTER); where a percent escape or
    "Secret" starts. Unsorted. keyscan/_escapes.c is its C build."""
    places = [match.start() for match in _LIVELY_BACKSLASH.finditer(data, begin)]
    places += (match.start() for match in _PERCENT_START.finditer(data, begin))
    secret = data.find(_SECRET_MARKER, begin)
    while secret != -1:
        places.append(secret)
        secret = data.find(_SECRET_MARKER, secret + 1)
    return places


def _compiled_lively_places() -> Callable[[bytes, int], list[int]]:
    try:
        from keyscan._escapes import lively_places
    except ImportError:  # installed without a C compiler
        return python_lively_places
    return lambda data, begin: lively_places(data, begin, _MIN_BASE64)


_LIVELY_PLACES = _compiled_lively_places()


def _inert(
    data: bytes,
    start: int,
    end: int,
    holds_keyword: Callable[[int, int], bool] | None,
    encoded_in: Callable[[int, int], bool],
) -> bool:
    """`data[start:end]` holds no keyword and nothing its decoding could reveal to a decoder
    (escape_layers): no escape but \\", \\n, \\t and \\r, none of those three before a run
    that may decode to text, no percent escape and no "Secret" (a percent run or a manifest
    reads differently once the escapes in it are decoded). Each is its own search, for the
    reason given at _ESCAPE_MARKER."""
    return (
        holds_keyword is not None
        and _OTHER_ESCAPE.search(data, start, end) is None
        and not (encoded_in(start, end) and _RUN_AFTER_ESCAPE.search(data, start, end))
        and data.find(_SECRET_MARKER, start, end) == -1
        and (data.find(b"%", start, end) == -1 or _PERCENT_ESCAPE.search(data, start, end) is None)
        and not holds_keyword(start, end)
    )


def _string_literals(data: bytes, line_start: int, line_end: int) -> Iterator[tuple[int, int]]:
    """The content spans of the double-quoted literals on one line, in a single pass.

    Quotes pair left to right and an escaped quote never opens or closes a literal. (A regex
    that looks for a whole literal at every quote restarts at each one when a literal does not
    close, which on a notebook's 250 KB line of escaped JSON took ten seconds.) Escapes are
    blanked out first, so the quotes left are the delimiters and a split finds them all at C
    speed: a search index holds millions of escapes, which a token-by-token loop paid for.
    """
    pieces = _ANY_ESCAPE.sub(b"__", data[line_start:line_end]).split(b'"')
    # pieces[1], pieces[3], ... are literals' contents, closed when another piece follows.
    start = line_start + len(pieces[0]) + 1
    for index in range(1, len(pieces) - 1, 2):
        end = start + len(pieces[index])
        yield start, end
        start = end + 1 + len(pieces[index + 1]) + 1


def _unescape(literal: bytes) -> bytes | None:
    try:
        text = literal.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        value = json.loads(f'"{text}"')
    except ValueError:
        if not text.isascii():
            return None
        try:
            # An escape the codec does not know (`\\ `, `\\c`) is kept as written; the codec's
            # DeprecationWarning about it would only be noise in the user's output.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                value = codecs.decode(text, "unicode_escape")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        return None  # a lone surrogate escape (\ud800) is no text a secret lives in
