"""Origins (scheme, host, port) and the strict URL split every outbound request goes through."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

DEFAULT_PORTS = {"https": 443, "http": 80}


def _normal_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if not host:
        raise ValueError("the URL has no host")
    if host.startswith("["):
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("the host name is not valid") from None


@dataclass(frozen=True, order=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Origin:
        """`https://host[:port]` with nothing else: no path, userinfo, query or fragment."""
        origin, rest = split_url(text)
        if rest not in ("", "/"):
            raise ValueError(f"{text!r} must be an origin (scheme://host[:port]) without a path")
        return origin

    @property
    def bare_host(self) -> str:
        """The host without IPv6 brackets, as DNS and TLS want it."""
        return self.host[1:-1] if self.host.startswith("[") else self.host

    @property
    def netloc(self) -> str:
        if DEFAULT_PORTS.get(self.scheme) == self.port:
            return self.host
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def split_url(url: str) -> tuple[Origin, str]:
    """(origin, path-and-query) of an absolute http(s) URL; anything ambiguous is refused."""
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise ValueError("the URL contains spaces or control characters")
    if "\\" in url:
        raise ValueError("the URL contains a backslash")
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("the URL must use https")
    if parts.fragment or url.endswith("#"):
        raise ValueError("the URL must not have a fragment")
    if "@" in parts.netloc:
        raise ValueError("the URL must not contain userinfo")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the URL has an invalid port") from None
    hostname = parts.hostname or ""
    host = _normal_host(f"[{hostname}]" if ":" in hostname else hostname)
    origin = Origin(scheme, host, port or DEFAULT_PORTS[scheme])
    path = parts.path or "/"
    if not path.startswith("/"):
        raise ValueError("the URL path must be absolute")
    return origin, path + (f"?{parts.query}" if parts.query else "")
