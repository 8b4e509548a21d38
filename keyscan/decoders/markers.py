"""Decoder markers: text a decoder must see in the data before it can recover anything.

Stage 1 looks for them in the same pass as the keywords, so a blob without any marker skips
that decoder instead of paying one more pass over its bytes. Each marker is a necessary
condition of its decoder, never a heuristic: findings are identical with and without them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from keyscan.decoders.encodings import BASE64_ALPHABET, ESCAPE_MARKERS, PRINTABLE_SEXTETS

# (decoder name, pattern): plain regexes both engines understand (hyperscan and `re`); stage 1
# only needs to know whether each occurs at all. A decoder may have several.
DECODER_MARKERS: tuple[tuple[str, bytes], ...] = (
    ("kubernetes", rb"Secret"),  # a manifest's `kind: Secret`
    *(("escapes", pattern) for pattern in ESCAPE_MARKERS),
    ("percent", rb"%[0-9A-Fa-f]{2}"),
)
ALL_MARKERS: frozenset[str] = frozenset(name for name, _ in DECODER_MARKERS)

# Where base64 or hex that decodes to text can be: stage 1 reports where each match ends, and
# the decoder looks only at the runs around those ends.
#
# Base64 of text: in each 4-character group the first three characters show whether each of
# the three bytes can be printable (encodings.PRINTABLE_SEXTETS). Text (what looks_like_text
# accepts: at most 3% unprintable bytes) still holds, in every run of 24 or more characters
# that decodes to it, five consecutive groups aligned to the run's start whose three bytes are
# all printable (the tightest case is an 11-group run with one unprintable byte in the middle).
# The pattern asks for five groups that pass the character sets at any alignment, which is
# weaker, so it never misses. None of the sets holds a character that means something inside a
# regex class.
_PRINTABLE_GROUP = b"".join(b"[" + chars + b"]" for chars in PRINTABLE_SEXTETS) + b"[A-Za-z0-9+/]"
# Hex of text: each byte's first digit is 2-7, or 0 for a tab, line feed or carriage return. A
# hex run of 32 digits or more that decodes to text holds sixteen such bytes in a row (16 bytes
# allow no unprintable byte; longer runs allow one per 33 and still keep sixteen in a row).
#
# Each marker runs on to the end of its base64 run and the character after it (or the end of the
# data), so that a run gives one end, not one per character: a run of "A"s (zero bytes in a
# notebook's images) used to be five groups at every offset. An end is thus just past a run, or
# one character further (encodings._runs_around).
_REST_OF_RUN = rb"[A-Za-z0-9+/]*(?:[^A-Za-z0-9+/]|$)"
BASE64_TEXT_GROUPS = 5
BASE64_TEXT_MARKER = b"(?:" + _PRINTABLE_GROUP + b"){%d}" % BASE64_TEXT_GROUPS + _REST_OF_RUN
HEX_TEXT_PAIRS = 16
_HEX_FIRST, _HEX_DIGITS, _HEX_CONTROL_SECOND = b"234567", b"0123456789abcdefABCDEF", b"9aAdD"
HEX_TEXT_MARKER = (
    b"(?:[%s][%s]|0[%s]){%d}" % (_HEX_FIRST, _HEX_DIGITS, _HEX_CONTROL_SECOND, HEX_TEXT_PAIRS)
    + _REST_OF_RUN
)
ENCODED_TEXT_MARKERS: tuple[bytes, ...] = (BASE64_TEXT_MARKER, HEX_TEXT_MARKER)

# Both markers' classes as a byte table for their C build (keyscan/_encoded.c): bit 1 a base64
# character, bits 2, 4 and 8 the classes of a base64 group's first three characters, then a
# hex byte's first digit (2-7), any hex digit, a first digit 0 and the second digit after it.
_ENCODED_CLASSES = bytes(
    (byte in BASE64_ALPHABET)
    | (byte in PRINTABLE_SEXTETS[0]) << 1
    | (byte in PRINTABLE_SEXTETS[1]) << 2
    | (byte in PRINTABLE_SEXTETS[2]) << 3
    | (byte in _HEX_FIRST) << 4
    | (byte in _HEX_DIGITS) << 5
    | (byte == ord("0")) << 6
    | (byte in _HEX_CONTROL_SECOND) << 7
    for byte in range(256)
)


def compiled_encoded_text_ends() -> Callable[[bytes], list[int]] | None:
    """Where the matches of ENCODED_TEXT_MARKERS end in some data, the ends hyperscan reports
    for them (each once: a run both mark gives its ends once), from the C build; None where
    that was not compiled. In the hyperscan database these markers ran at a fraction of the
    speed of everything else stage 1 looks for (keyscan/_encoded.c)."""
    try:
        from keyscan._encoded import encoded_text_ends
    except ImportError:  # installed without a C compiler
        return None
    return functools.partial(
        encoded_text_ends, _ENCODED_CLASSES, BASE64_TEXT_GROUPS, HEX_TEXT_PAIRS
    )
