"""The only HTTP client keyscan has: declared origins, checked and pinned addresses, hard caps.

Requests carry secrets, so this client is strict where general-purpose ones are helpful: it
resolves a host once, refuses non-public addresses, connects to the address it checked (no DNS
rebinding), verifies TLS against the host name, never follows redirects, ignores proxy variables,
caps time and size, never retries a request that changes something, and never puts a path,
query, header or body into an error message.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from keyscan.net.address import AddressPolicy, BlockedAddress
from keyscan.net.origin import DEFAULT_PORTS, Origin, split_url

CONNECT_MAP_ENV = "KEYSCAN_TEST_CONNECT_MAP"
_CHUNK = 64 * 1024
_RETRY_AFTER_MAX = 30.0
Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    mutating: bool = False


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    too_large: bool
    elapsed_ms: int

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)


class NetworkError(Exception):
    """A request that failed; `sent` says whether the server may have received it."""

    def __init__(self, origin: Origin | str, kind: str, detail: str, sent: bool = False):
        super().__init__(f"{origin}: {detail}")
        self.kind = kind
        self.sent = sent


@dataclass(frozen=True)
class ClientSettings:
    policy: AddressPolicy = AddressPolicy()
    ca_bundle: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 15.0
    max_body: int = 1024 * 1024
    requests_per_second_per_host: float = 2.0
    max_connections_per_host: int = 2
    retries: int = 2
    user_agent: str = "keyscan"
    connect_map: tuple[tuple[Origin, tuple[str, int]], ...] = ()


def connect_map_from_env(env: Mapping[str, str]) -> tuple[tuple[Origin, tuple[str, int]], ...]:
    """`https://api.github.com=127.0.0.1:8443,...`: test servers standing in for providers."""
    text = env.get(CONNECT_MAP_ENV, "").strip()
    if not text:
        return ()
    entries: list[tuple[Origin, tuple[str, int]]] = []
    for item in text.split(","):
        origin_text, _, target = item.strip().rpartition("=")
        address, _, port_text = target.rpartition(":")
        address = address.strip("[]")
        try:
            origin = Origin.parse(origin_text)
            ip = ipaddress.ip_address(address)
            port = int(port_text)
        except ValueError:
            raise ValueError(f"malformed entry {item.strip()!r}") from None
        if not ip.is_loopback:
            raise ValueError(f"{origin} may only be mapped to a loopback address")
        entries.append((origin, (str(ip), port)))
    return tuple(entries)


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _HostGate:
    """Per-origin rate limit (evenly spaced starts) and concurrency cap."""

    def __init__(self, rate: float, connections: int):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.slots = threading.BoundedSemaphore(max(1, connections))
        self.lock = threading.Lock()
        self.next_start = 0.0

    def wait_turn(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        if start > now:
            time.sleep(start - now)


class _PinnedConnection(http.client.HTTPConnection):
    """http.client talking to an address chosen in advance, with TLS for the origin's name."""

    def __init__(
        self,
        origin: Origin,
        address: tuple[str, int],
        context: ssl.SSLContext | None,
        timeout: float,
    ):
        super().__init__(origin.bare_host, origin.port, timeout=timeout)
        # http.client writes "Host: name:port" unless the port is its default (80).
        self.default_port = DEFAULT_PORTS[origin.scheme]
        self.pinned = address
        self.context = context
        self.origin = origin

    def connect(self) -> None:
        sock = socket.create_connection(self.pinned, timeout=self.timeout)
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_hostname=self.origin.bare_host)
        self.sock = sock


@dataclass
class _Attempt:
    sent: bool = False
    started: float = field(default_factory=time.monotonic)


class SafeHttpClient:
    """Thread-safe; share one per run so rate limits hold across worker threads."""

    def __init__(self, settings: ClientSettings, resolver: Resolver | None = None):
        self.settings = settings
        self.resolver = resolver or _system_resolver
        self._gates: dict[Origin, _HostGate] = {}
        self._gates_lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._mapped = dict(settings.connect_map)

    def send(self, request: HttpRequest, declared: Collection[Origin]) -> HttpResponse:
        try:
            origin, target = split_url(request.url)
        except ValueError as exc:
            raise NetworkError("request", "origin", f"refused: {exc}") from None
        if origin not in declared:
            raise NetworkError(origin, "origin", "refused: not a host this rule declares")
        for name, value in request.headers:
            if any(ch in name + value for ch in "\r\n\x00"):
                raise NetworkError(origin, "origin", f"refused: header {name} has a line break")
        address = self._address(origin)
        gate = self._gate(origin)
        attempts = 0
        while True:
            attempts += 1
            gate.wait_turn()
            with gate.slots:
                try:
                    response = self._exchange(origin, address, target, request)
                except NetworkError as exc:
                    retryable = exc.kind == "connect" and not exc.sent
                    if request.mutating or not retryable or attempts > self.settings.retries:
                        raise
                    continue
            delay = self._retry_delay(response)
            if request.mutating or delay is None or attempts > self.settings.retries:
                return response
            time.sleep(delay)

    def _retry_delay(self, response: HttpResponse) -> float | None:
        if response.status not in (429, 503):
            return None
        value = response.header("retry-after")
        try:
            delay = float(value) if value is not None else None
        except ValueError:
            return None
        if delay is None or not 0 <= delay <= _RETRY_AFTER_MAX:
            return None
        return delay

    def _gate(self, origin: Origin) -> _HostGate:
        with self._gates_lock:
            if origin not in self._gates:
                self._gates[origin] = _HostGate(
                    self.settings.requests_per_second_per_host,
                    self.settings.max_connections_per_host,
                )
            return self._gates[origin]

    def _address(self, origin: Origin) -> tuple[str, int]:
        """Resolve once and check every answer; the first one is the address we connect to."""
        if origin in self._mapped:
            return self._mapped[origin]
        policy = self.settings.policy
        try:
            answers = self.resolver(origin.bare_host, origin.port)
        except (OSError, UnicodeError):
            raise NetworkError(origin, "connect", "the host name does not resolve") from None
        if not answers:
            raise NetworkError(origin, "connect", "the host name does not resolve")
        addresses = []
        for answer in answers:
            try:
                ip = ipaddress.ip_address(answer.split("%", 1)[0])
            except ValueError:
                raise NetworkError(
                    origin, "blocked", "the resolver gave a malformed address"
                ) from None
            try:
                policy.check(origin.bare_host, ip)
            except BlockedAddress as exc:
                raise NetworkError(origin, "blocked", str(exc)) from None
            addresses.append(ip)
        if origin.scheme != "https" and not (
            policy.allow_insecure_loopback_http and all(ip.is_loopback for ip in addresses)
        ):
            raise NetworkError(origin, "blocked", "plain http is refused (https only)")
        return str(addresses[0]), origin.port

    def _ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            context = ssl.create_default_context()
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.settings.ca_bundle:
                try:
                    context.load_verify_locations(self.settings.ca_bundle)
                except (OSError, ssl.SSLError):
                    raise NetworkError(
                        "client", "tls", f"cannot load CA bundle {self.settings.ca_bundle}"
                    ) from None
            self._context = context
        return self._context

    def _exchange(
        self, origin: Origin, address: tuple[str, int], target: str, request: HttpRequest
    ) -> HttpResponse:
        settings = self.settings
        attempt = _Attempt()
        context = self._ssl_context() if origin.scheme == "https" else None
        connection = _PinnedConnection(origin, address, context, settings.connect_timeout)
        # Per-read timeouts alone let a server trickle the status line and headers forever: a
        # watchdog closes the socket at the request's total deadline, whatever phase it is in.
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            with contextlib.suppress(OSError):
                if connection.sock is not None:
                    connection.sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(settings.total_timeout, expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            try:
                connection.connect()
            except ssl.SSLError as exc:
                raise NetworkError(origin, "tls", f"TLS failed ({_tls_reason(exc)})") from None
            except TimeoutError:
                raise NetworkError(origin, "connect", "connection timed out") from None
            except OSError as exc:
                raise NetworkError(
                    origin, "connect", f"cannot connect ({_os_reason(exc)})"
                ) from None
            assert connection.sock is not None
            connection.sock.settimeout(settings.read_timeout)
            headers = {
                "User-Agent": settings.user_agent,
                "Accept-Encoding": "identity",
                "Connection": "close",
            }
            headers.update(dict(request.headers))
            # From here the server may act on the request: a failure is "maybe sent".
            attempt.sent = True
            connection.request(request.method, target, body=request.body, headers=headers)
            raw = connection.getresponse()
            status = raw.status
            response_headers = tuple((k.lower(), v) for k, v in raw.getheaders())
            body, too_large = self._read_body(raw, origin, attempt)
        except NetworkError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise _failure(origin, exc, attempt.sent, expired.is_set()) from None
        finally:
            watchdog.cancel()
            connection.close()
        return HttpResponse(
            status=status,
            headers=response_headers,
            body=body,
            too_large=too_large,
            elapsed_ms=int((time.monotonic() - attempt.started) * 1000),
        )

    def _read_body(
        self, raw: http.client.HTTPResponse, origin: Origin, attempt: _Attempt
    ) -> tuple[bytes, bool]:
        limit = self.settings.max_body
        encoding = (raw.getheader("content-encoding") or "identity").lower().strip()
        decoder = None
        if encoding in ("gzip", "x-gzip"):
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            decoder = zlib.decompressobj()
        chunks: list[bytes] = []
        size = 0
        deadline = attempt.started + self.settings.total_timeout
        while size <= limit:
            if time.monotonic() > deadline:
                raise NetworkError(origin, "timeout", "the answer took too long", True)
            chunk = raw.read1(_CHUNK)
            if not chunk:
                break
            if decoder is not None:
                # Bounded output per step keeps a decompression bomb from ballooning.
                chunk = decoder.decompress(chunk, limit + 1 - size)
                if decoder.unconsumed_tail and size + len(chunk) <= limit:
                    chunk += decoder.decompress(
                        decoder.unconsumed_tail, limit + 1 - size - len(chunk)
                    )
            chunks.append(chunk)
            size += len(chunk)
        body = b"".join(chunks)
        return body[:limit], len(body) > limit


def _failure(origin: Origin, exc: Exception, sent: bool, expired: bool) -> NetworkError:
    """A sanitised error for a failed exchange: the kind, never the request's contents."""
    if expired:
        return NetworkError(origin, "timeout", "the answer took too long", sent)
    if isinstance(exc, TimeoutError):
        return NetworkError(origin, "timeout", "no answer in time", sent)
    if isinstance(exc, ssl.SSLError):
        return NetworkError(origin, "tls", f"TLS failed ({_tls_reason(exc)})", sent)
    return NetworkError(origin, "protocol", f"connection failed ({type(exc).__name__})", sent)


def _tls_reason(exc: ssl.SSLError) -> str:
    return getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or "handshake"


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
