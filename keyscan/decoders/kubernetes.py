"""Kubernetes `Secret` manifests: each `data:` value decoded and shown with its key name.

A Secret's values are base64 by definition, and the key name is what tells a generic rule that a
value is a password (`DB_PASSWORD: <base64>`), so the decoded layer is `KEY: "value"`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from keyscan.decoders.layer import Decoded, looks_like_text

_SECRET_KIND = re.compile(rb"^kind:\s*[\"']?Secret[\"']?\s*$", re.M)
_DATA_BLOCK = re.compile(rb"^(?P<indent>[ \t]*)data:[ \t]*$", re.M)
_ENTRY = re.compile(
    rb"^(?P<indent>[ \t]+)(?P<key>[\w.\-]+):[ \t]*[\"']?"
    rb"(?P<value>[A-Za-z0-9+/]+={0,2})[\"']?[ \t]*$",
    re.M,
)


def is_secret_manifest(data: bytes) -> bool:
    """Whether `data` has a `kind: Secret` line, which makes kubernetes_layers look at it."""
    if b"Secret" not in data:
        return False
    # Only where `kind:` begins a line: a regex search tries `^` at every byte, which on the
    # megabytes of a documentation page that mentions pydantic's SecretStr cost milliseconds
    # per version.
    at = data.find(b"kind:")
    while at != -1:
        if (at == 0 or data[at - 1] == 0x0A) and _SECRET_KIND.match(data, at):
            return True
        at = data.find(b"kind:", at + 1)
    return False


def kubernetes_layers(data: bytes) -> Iterator[Decoded]:
    if not is_secret_manifest(data):
        return
    for block in _DATA_BLOCK.finditer(data):
        parent = len(block.group("indent"))
        position = block.end() + 1
        while position < len(data):
            entry = _ENTRY.match(data, position)
            if not entry or len(entry.group("indent")) <= parent:
                break
            value = entry.group("value")
            try:
                decoded = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                decoded = b""
            if looks_like_text(decoded, min_length=4):
                # Quoted, so a '#' or ': ' inside the value is not read as a comment or a key.
                value_text = decoded.strip().replace(b"\\", b"\\\\").replace(b'"', b'\\"')
                text = entry.group("key") + b': "' + value_text + b'"'

                yield Decoded(
                    "kubernetes-secret", entry.start("value"), entry.end("value"), text, True
                )
            position = entry.end() + 1
