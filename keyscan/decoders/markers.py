"""Decoder markers: text a decoder must see in the data before it can recover anything.

Stage 1 looks for them in the same pass as the keywords, so a blob without any marker skips
that decoder instead of paying one more pass over its bytes. Each marker is a necessary
condition of its decoder, never a heuristic: findings are identical with and without them.
"""

from __future__ import annotations

from keyscan.decoders.encodings import ASCII_SEXTETS, ESCAPE_MARKER

# (decoder name, pattern): plain regexes both engines understand (hyperscan and `re`); stage 1
# only needs to know whether each occurs at all.
DECODER_MARKERS: tuple[tuple[str, bytes], ...] = (
    ("kubernetes", rb"Secret"),  # a manifest's `kind: Secret`
    ("escapes", ESCAPE_MARKER),
    ("percent", rb"%[0-9A-Fa-f]{2}"),
)
ALL_MARKERS: frozenset[str] = frozenset(name for name, _ in DECODER_MARKERS)

# Where base64 or hex that decodes to text can be: stage 1 reports the end of every match, and
# the decoder looks only at the runs around those ends.
#
# Base64 of text: in each 4-character group the first three characters carry the top bits of
# the three bytes, and text bytes (what looks_like_text accepts: at most 3% unprintable) are
# almost all below 0x80. With that 3% allowance, every run of 24 or more characters that decodes
# to text still holds five consecutive groups, aligned to the run's start, whose three bytes are
# all below 0x80 (the tightest case is an 11-group run with one high byte in the middle). The
# pattern asks for five such groups at any alignment, which is weaker, so it never misses.
# The character sets are the decoder's own (encodings.ASCII_SEXTETS); none holds a character
# that means something inside a regex class.
_ASCII_GROUP = b"".join(b"[" + chars + b"]" for chars in ASCII_SEXTETS) + b"[A-Za-z0-9+/]"
# Hex of text: each byte's first digit is 0-7. A hex run of 32 digits or more that decodes to
# text holds sixteen such bytes in a row (16 bytes allow no unprintable byte; longer runs allow
# one per 33 and still keep sixteen in a row).
ENCODED_TEXT_MARKERS: tuple[bytes, ...] = (
    b"(?:" + _ASCII_GROUP + b"){5}",
    rb"(?:[0-7][0-9a-fA-F]){16}",
)
