"""Which decoders run on a blob, in what order, and within what budget."""

from __future__ import annotations

from keyscan.decoders.encodings import base64_and_hex_layers, escape_layers, percent_layers
from keyscan.decoders.kubernetes import kubernetes_layers
from keyscan.decoders.layer import Decoded

# Files full of base64 and hex that are digests by design: integrity hashes, source maps.
_DIGEST_FILES = (
    ".lock",
    "-lock.json",
    "-lock.yaml",
    ".lock.json",
    "go.sum",
    ".map",
    ".svg",
    ".sum",
)
MAX_DEPTH = 3
DEFAULT_DEPTH = 2


def decode_layers(data: bytes, path: str, budget: int) -> list[Decoded]:
    """Decoded layers of `data`, at most `budget` decoded bytes in all, in order of position."""
    layers: list[Decoded] = [*kubernetes_layers(data), *escape_layers(data), *percent_layers(data)]
    if not path.endswith(_DIGEST_FILES):
        claimed = {(layer.start, layer.end) for layer in layers}
        layers += [
            layer
            for layer in base64_and_hex_layers(data)
            if (layer.start, layer.end) not in claimed
        ]
    kept: list[Decoded] = []
    spent = 0
    for layer in sorted(layers, key=lambda item: (item.start, item.end)):
        spent += len(layer.data)
        if spent > budget:
            break
        kept.append(layer)
    return kept
