"""The C build of keyscan.edits' search for unchanged copies (keyscan/_segments.c)."""

def matched_segments(
    old: bytes, new: bytes, give_up_above: int = -1
) -> list[tuple[int, int, int]] | None: ...
def changed_regions(
    new: bytes, segments: list[tuple[int, int, int]], reach: int, join_gap: int
) -> list[tuple[int, int]]: ...
