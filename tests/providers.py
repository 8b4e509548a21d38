"""A real HTTPS server on 127.0.0.1 that stands in for providers' APIs in verify/revoke tests.

One server answers for every provider host name: its certificate (made at test time with trustme)
names them all, and the client reaches it through KEYSCAN_TEST_CONNECT_MAP, so requests carry the
providers' real URLs, host names and TLS checks. Replies are scripted per (method, path).
"""

from __future__ import annotations

import gzip
import json
import random
import ssl
import string
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

from keyscan.checksums import base62_crc32
from tests.fakes import random_chars

PROVIDER_HOSTS = (
    "api.github.com",
    "gitlab.com",
    "slack.com",
    "registry.npmjs.org",
    "api.digitalocean.com",
    "cloud.digitalocean.com",
    "api.buildkite.com",
    "api.vercel.com",
    "id.twitch.tv",
    "oauth2.googleapis.com",
    "sts.amazonaws.com",
    "iam.amazonaws.com",
    "discord.com",
    "api.openai.com",
    "api.stripe.com",
)


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    host: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    compress: bool = False

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Route = Reply | Callable[[Seen], Reply]


class ProviderServer:
    def __init__(self, directory: Path, hosts: tuple[str, ...] = PROVIDER_HOSTS, tls: bool = True):
        authority = trustme.CA()
        self.ca_path = directory / "test-ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_path))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert(*hosts).configure_cert(context)
        self.hosts = hosts
        self.routes: dict[tuple[str, str], Route] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(
                    self.command,
                    self.headers.get("Host", ""),
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with server.lock:
                    server.seen.append(seen)
                    route = server.routes.get((self.command, self.path.split("?", 1)[0]))
                reply = route(seen) if callable(route) else (route or Reply(404, {"error": "none"}))
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.payload()
                headers = {"Content-Type": "application/json", **reply.headers}
                if reply.compress:
                    payload = gzip.compress(payload)
                    headers["Content-Encoding"] = "gzip"
                try:
                    self.send_response(reply.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ProviderServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(self, method: str, path: str, reply: Route) -> None:
        with self.lock:
            self.routes[(method, path)] = reply

    def requests(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        with self.lock:
            return [
                s
                for s in self.seen
                if (method is None or s.method == method)
                and (path is None or s.path.split("?", 1)[0] == path)
            ]

    def env(self) -> dict[str, str]:
        """Environment for a keyscan subprocess: every provider origin mapped to this server."""
        mapping = ",".join(f"https://{host}=127.0.0.1:{self.port}" for host in self.hosts)
        return {"KEYSCAN_TEST_CONNECT_MAP": mapping}


def serve(directory: Path) -> Iterator[ProviderServer]:
    with ProviderServer(directory) as server:
        yield server


# Synthetic tokens in each provider's documented shape, built at run time.
def github_token(r: random.Random) -> str:
    body = random_chars(r, 30)
    return "gh" + "p_" + body + base62_crc32(body)


def npm_token(r: random.Random) -> str:
    body = random_chars(r, 30)
    return "np" + "m_" + body + base62_crc32(body)


def slack_bot_token(r: random.Random) -> str:
    digits = string.digits
    return "-".join(
        ["xo" + "xb", random_chars(r, 12, digits), random_chars(r, 13, digits), random_chars(r, 24)]
    )


def gitlab_token(r: random.Random) -> str:
    return "gl" + "pat-" + random_chars(r, 20)


def aws_pair(r: random.Random) -> tuple[str, str]:
    key_id = "AK" + "IA" + random_chars(r, 16, string.ascii_uppercase + "234567")
    return key_id, random_chars(r, 40, string.ascii_letters + string.digits + "/+")
