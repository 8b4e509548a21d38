"""Offline checksum validators for token formats that carry one; a wrong checksum is no finding."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Callable

from keyscan.wordlists import is_default_value, is_sequence_run, is_word_label

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62_encode(number: int, width: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def base62_crc32(body: str) -> str:
    """GitHub and npm append base62(crc32(random part)), zero-padded to six characters."""
    return base62_encode(zlib.crc32(body.encode("ascii")) & 0xFFFFFFFF, 6)


def _crc32_base62_suffix(token: str) -> bool:
    # github.blog 2021-04-05 "Behind GitHub's new authentication token formats": the last six
    # characters are a CRC32 of the random part; npm adopted the same layout (2021-09-23).
    body = token.rsplit("_", 1)[-1]
    if len(body) < 7 or not body.isascii():
        return False
    return base62_crc32(body[:-6]) == body[-6:]


def _pypi_macaroon(token: str) -> bool:
    # PyPI API tokens are "pypi-" + urlsafe base64 of a macaroon whose location is pypi.org.
    body = token.split("-", 1)[-1]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return False
    return b"pypi.org" in raw[:64]


def _basic_auth(token: str) -> bool:
    # An HTTP Basic credential is base64("user:password"); anything else is not one.
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    user, sep, password = text.partition(":")
    return (
        bool(sep and user and text.isprintable())
        and not is_default_value(password)
        and not is_word_label(password)
        and not is_sequence_run(password)
    )


def _b64url_json(part: str) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        return None


def _signed_jwt(token: str) -> bool:
    # RFC 7519/7515: header.payload.signature, each base64url; the header is a JSON object
    # naming its algorithm, "none" for a token anyone can forge (so it proves nothing); the
    # payload is a JSON object of claims; a signature shorter than 16 bytes signs nothing real.
    parts = token.split(".")
    if len(parts) != 3:
        return False
    header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return False
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm.lower() == "none":
        return False
    try:
        signature = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(signature) >= 16


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "github-crc32": _crc32_base62_suffix,
    "npm-crc32": _crc32_base62_suffix,
    "pypi-macaroon": _pypi_macaroon,
    "basic-auth": _basic_auth,
    "jwt": _signed_jwt,
}


def checksum_ok(name: str, token: str) -> bool:
    return VALIDATORS[name](token)
