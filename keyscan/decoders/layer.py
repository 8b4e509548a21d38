"""A decoded layer: text recovered from an encoded span, and where that span sits."""

from __future__ import annotations

from keyscan.model import value

# Decoded text must look like text: a secret is printable ASCII, and so is its surrounding
# config. Random bytes that happen to be valid base64 or hex (digests, keys, images) are not.
PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\n\r"
MIN_DECODED = 12


@value
class Decoded:
    """`data` decoded from `start:end` of its parent; `context` lets generic rules run on it."""

    name: str
    start: int
    end: int
    data: bytes
    context: bool


def looks_like_text(data: bytes, threshold: float = 0.97, min_length: int = MIN_DECODED) -> bool:
    if len(data) < min_length:
        return False
    unprintable = len(data.translate(None, PRINTABLE))
    if len(data) - unprintable < threshold * len(data):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
