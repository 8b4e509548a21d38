"""Which decoders run on a blob, in what order, and within what budget."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

from keyscan.decoders.encodings import (
    KeywordTest,
    base64_and_hex_layers,
    escape_layers,
    percent_layers,
)
from keyscan.decoders.kubernetes import kubernetes_layers
from keyscan.decoders.layer import Decoded
from keyscan.decoders.markers import ALL_MARKERS

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


def decode_layers_within(
    data: bytes,
    path: str,
    budget: int,
    markers: frozenset[str] = ALL_MARKERS,
    encoded_ends: Sequence[int] | None = None,
    keywords: KeywordTest | Callable[[int, int], bool] | None = None,
) -> tuple[list[Decoded], bool]:
    """Decoded layers of `data` within `budget` decoded bytes in all, in order of position, and
    whether they are all of them (False: the budget cut the rest off).

    `markers` names the decoder markers stage 1 saw in `data`; a decoder whose marker is
    absent cannot find anything and is not run. `encoded_ends`, when stage 1 provides it, says
    where base64 or hex text may end (decoders.markers). `keywords` lets the escape
    decoder pass over string literals that cannot show stage 1 anything new (escape_layers).
    """
    layers: list[Decoded] = []
    if "kubernetes" in markers:
        layers += kubernetes_layers(data)
    if "escapes" in markers:
        layers += escape_layers(data, keywords, encoded_ends)
    if "percent" in markers:
        layers += percent_layers(data)
    if not path.endswith(_DIGEST_FILES):
        claimed = {(layer.start, layer.end) for layer in layers}
        layers += [
            layer
            for layer in base64_and_hex_layers(data, encoded_ends)
            if (layer.start, layer.end) not in claimed
        ]
    kept: list[Decoded] = []
    spent = 0
    for layer in sorted(layers, key=lambda item: (item.start, item.end)):
        spent += len(layer.data)
        if spent > budget:
            return kept, False
        kept.append(layer)
    return kept, True


# Binary files that are credentials in themselves: Java keystores (JKS, JCEKS) and PKCS#12.
_KEYSTORE_MAGIC = (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce")
_PKCS12_HEADER = b"\x02\x01\x03\x30"
_KEYSTORE_HEAD = 300


def keystore_layers(data: bytes) -> list[Decoded]:
    """A binary keystore presented as the base64 text the keystore rules recognise.

    Committed .jks/.p12/.pfx files hold private keys; the same rules that find them base64-encoded
    in CI variables then find the raw file, reported at its first byte.
    """
    is_java = data.startswith(_KEYSTORE_MAGIC)
    # PKCS#12: a DER SEQUENCE (long-form length) whose first element is INTEGER 3.
    is_pkcs12 = data[:2] == b"\x30\x82" and data[4:8] == _PKCS12_HEADER
    if not (is_java or is_pkcs12):
        return []
    head = base64.b64encode(data[:_KEYSTORE_HEAD])
    return [Decoded("keystore-file", 0, 1, head, False)]
