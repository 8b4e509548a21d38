"""Decoder markers: text a decoder must see in the data before it can recover anything.

Stage 1 looks for them in the same pass as the keywords, so a blob without any marker skips
that decoder instead of paying one more pass over its bytes. Each marker is a necessary
condition of its decoder, never a heuristic: findings are identical with and without them.
"""

from __future__ import annotations

# (decoder name, pattern): plain regexes both engines understand (hyperscan and `re`).
DECODER_MARKERS: tuple[tuple[str, bytes], ...] = (
    ("kubernetes", rb"Secret"),  # a manifest's `kind: Secret`
    ("escapes", rb"\\[\"'ux/]"),  # an escape other than \n or \t
    ("percent", rb"%[0-9A-Fa-f]{2}"),
)
ALL_MARKERS: frozenset[str] = frozenset(name for name, _ in DECODER_MARKERS)
