"""AWS Signature Version 4 for the few form-encoded STS and IAM calls keyscan makes."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import urllib.parse
from collections.abc import Sequence

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    return "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(pairs)
    )


def sign(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    now: datetime.datetime,
) -> list[tuple[str, str]]:
    """`headers` plus X-Amz-Date and Authorization; every given header and Host are signed."""
    parts = urllib.parse.urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed_headers = [*headers, ("X-Amz-Date", amz_date)]
    canonical: dict[str, str] = {"host": parts.netloc.lower()}
    for name, value in signed_headers:
        canonical[name.lower()] = " ".join(value.strip().split())
    names = sorted(canonical)
    canonical_request = "\n".join(
        [
            method,
            urllib.parse.quote(parts.path or "/", safe="/-_.~"),
            _canonical_query(parts.query),
            "".join(f"{name}:{canonical[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_access_key).encode("utf-8"), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return [*signed_headers, ("Authorization", authorization)]
