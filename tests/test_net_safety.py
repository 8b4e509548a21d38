"""The outbound client's safety rules, each against a real socket on 127.0.0.1."""

from __future__ import annotations

import gzip
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyscan.net.address import AddressPolicy, BlockedAddress, is_public_address
from keyscan.net.client import (
    ClientSettings,
    HttpRequest,
    NetworkError,
    SafeHttpClient,
    connect_map_from_env,
)
from keyscan.net.origin import Origin, split_url
from tests.providers import ProviderServer, Reply

SENTINEL = "sentinel-secret-value-7f3a"


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "10.0.0.1",
        "127.0.0.1",
        "::1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo around 10.0.0.1
        "100.64.0.1",
        "224.0.0.1",
        "0.0.0.0",
        "fe80::1",
        "fec0::1",
        "fd00::1",
        "192.168.1.1",
        "198.18.0.1",
        "240.0.0.1",
    ],
)
def test_non_public_addresses_are_blocked(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert not is_public_address(ip)
    with pytest.raises(BlockedAddress):
        AddressPolicy().check("api.example.test", ip)


@pytest.mark.parametrize("address", ["8.8.8.8", "140.82.112.6", "2606:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


def test_allowed_networks_open_exactly_that_network() -> None:
    policy = AddressPolicy(allowed_networks=(ipaddress.ip_network("10.20.0.0/16"),))
    policy.check("git.corp", ipaddress.ip_address("10.20.3.4"))
    with pytest.raises(BlockedAddress):
        policy.check("git.corp", ipaddress.ip_address("10.21.0.1"))
    with pytest.raises(BlockedAddress):
        policy.check("git.corp", ipaddress.ip_address("169.254.169.254"))


@pytest.mark.parametrize(
    "url",
    [
        "https://api.github.com@evil.test/",
        "https://api.github.com\\@evil.test/",
        "https://api.github.com/a b",
        "https://api.github.com/#frag",
        "ftp://api.github.com/",
        "https:///nohost",
        "https://api.github.com:99999/",
    ],
)
def test_ambiguous_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        split_url(url)


def test_origin_normalisation() -> None:
    assert Origin.parse("HTTPS://API.GitHub.com") == Origin("https", "api.github.com", 443)
    assert str(Origin.parse("https://api.github.com:443")) == "https://api.github.com"
    with pytest.raises(ValueError):
        Origin.parse("https://api.github.com/path")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProviderServer]:
    with ProviderServer(tmp_path, hosts=("api.example.test", "localhost")) as running:
        yield running


API = Origin("https", "api.example.test", 443)


def _client(
    server: ProviderServer, resolver_answers: list[str] | None = None, **settings: object
) -> tuple[SafeHttpClient, list[str]]:
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return resolver_answers or ["127.0.0.1"]

    defaults: dict[str, object] = {
        "ca_bundle": str(server.ca_path),
        "requests_per_second_per_host": 0.0,
        "connect_map": ((API, ("127.0.0.1", server.port)),),
    }
    defaults.update(settings)
    return SafeHttpClient(ClientSettings(**defaults), resolver), calls  # type: ignore[arg-type]


def _get(path: str = "/ok", mutating: bool = False, method: str = "GET") -> HttpRequest:
    return HttpRequest(
        method,
        f"https://api.example.test{path}?key={SENTINEL}",
        (("Authorization", f"Bearer {SENTINEL}"),),
        mutating=mutating,
    )


def test_a_declared_origin_over_verified_tls_works(server: ProviderServer) -> None:
    server.route("GET", "/ok", Reply(200, {"ok": True}))
    client, _ = _client(server)
    response = client.send(_get(), [API])
    assert response.status == 200 and response.body == b'{"ok": true}'
    seen = server.requests()[0]
    assert seen.host == "api.example.test" and seen.headers["authorization"].endswith(SENTINEL)


def test_undeclared_origin_and_header_injection_never_open_a_socket(
    server: ProviderServer,
) -> None:
    client, calls = _client(server)
    other = Origin("https", "other.example.test", 443)
    with pytest.raises(NetworkError) as info:
        client.send(_get(), [other])
    assert info.value.kind == "origin"
    bad_header = HttpRequest("GET", "https://api.example.test/ok", (("X-A", "a\r\nX-B: b"),))
    with pytest.raises(NetworkError):
        client.send(bad_header, [API])
    assert server.seen == [] and calls == []


def test_private_answers_are_refused_before_connecting(server: ProviderServer) -> None:
    for answers in (["169.254.169.254"], ["140.82.112.6", "127.0.0.1"], ["64:ff9b::a9fe:a9fe"]):
        client, calls = _client(server, answers, connect_map=())
        with pytest.raises(NetworkError) as info:
            client.send(_get(), [API])
        assert info.value.kind == "blocked" and not info.value.sent
        assert len(calls) == 1
    assert server.seen == []


def test_the_checked_address_is_the_one_connected_to(server: ProviderServer) -> None:
    # The resolver is asked once; the socket goes to that answer while TLS and Host still name
    # the host, so a second, different DNS answer can never be used.
    server.route("GET", "/ok", Reply(200))
    client, calls = _client(
        server, ["127.0.0.1"], connect_map=(), policy=AddressPolicy(allow_internal=True)
    )
    local = Origin("https", "api.example.test", server.port)
    request = HttpRequest("GET", f"https://api.example.test:{server.port}/ok")
    assert client.send(request, [local]).status == 200
    assert calls == ["api.example.test"]
    assert server.requests()[0].host == f"api.example.test:{server.port}"


def test_tls_is_always_verified(server: ProviderServer) -> None:
    server.route("GET", "/ok", Reply(200))
    client, _ = _client(server, ca_bundle=None)
    with pytest.raises(NetworkError) as info:
        client.send(_get(), [API])
    assert info.value.kind == "tls"
    wrong_name = Origin("https", "wrong.example.test", 443)
    client, _ = _client(server, connect_map=((wrong_name, ("127.0.0.1", server.port)),))
    with pytest.raises(NetworkError) as info:
        client.send(HttpRequest("GET", "https://wrong.example.test/ok"), [wrong_name])
    assert info.value.kind == "tls"
    assert server.seen == []


def test_plain_http_only_to_loopback_with_the_test_switch(tmp_path: Path) -> None:
    with ProviderServer(tmp_path, tls=False) as plain:
        plain.route("GET", "/ok", Reply(200))
        origin = Origin("http", "127.0.0.1", plain.port)
        request = HttpRequest("GET", f"http://127.0.0.1:{plain.port}/ok")
        strict = SafeHttpClient(ClientSettings(), lambda h, p: ["127.0.0.1"])
        with pytest.raises(NetworkError):
            strict.send(request, [origin])
        assert plain.seen == []
        relaxed = SafeHttpClient(
            ClientSettings(policy=AddressPolicy(allow_insecure_loopback_http=True)),
            lambda h, p: ["127.0.0.1"],
        )
        assert relaxed.send(request, [origin]).status == 200


def test_redirects_are_returned_not_followed(server: ProviderServer) -> None:
    server.route("GET", "/ok", Reply(302, b"", {"Location": "https://api.example.test/next"}))
    server.route("GET", "/next", Reply(200))
    client, _ = _client(server)
    assert client.send(_get(), [API]).status == 302
    assert [s.path.split("?")[0] for s in server.seen] == ["/ok"]


def test_bodies_are_capped_even_when_compressed(server: ProviderServer) -> None:
    server.route("GET", "/big", Reply(200, b"x" * 5000))
    server.route("GET", "/bomb", Reply(200, b"\0" * 20_000_000, compress=True))
    client, _ = _client(server, max_body=1000)
    big = client.send(_get("/big"), [API])
    assert big.too_large and len(big.body) == 1000
    bomb = client.send(_get("/bomb"), [API])
    assert bomb.too_large and len(bomb.body) == 1000
    assert len(gzip.compress(b"\0" * 20_000_000)) < 100_000


def test_mutations_are_sent_once_and_reads_retry_politely(server: ProviderServer) -> None:
    server.route("DELETE", "/ok", Reply(429, b"", {"Retry-After": "0"}))
    server.route("GET", "/ok", Reply(503, b"", {"Retry-After": "0"}))
    client, _ = _client(server, retries=2)
    assert client.send(_get(method="DELETE", mutating=True), [API]).status == 429
    assert len(server.requests("DELETE")) == 1
    assert client.send(_get(), [API]).status == 503
    assert len(server.requests("GET")) == 3


def test_a_timeout_after_sending_says_the_request_may_have_arrived(
    server: ProviderServer,
) -> None:
    server.route("DELETE", "/slow", Reply(204, delay=2.0))
    client, _ = _client(server, read_timeout=0.3)
    with pytest.raises(NetworkError) as info:
        client.send(_get("/slow", mutating=True, method="DELETE"), [API])
    assert info.value.kind == "timeout" and info.value.sent
    assert len(server.requests("DELETE")) == 1


def test_errors_never_carry_path_query_or_headers(server: ProviderServer) -> None:
    server.route("GET", "/slow", Reply(200, delay=2.0))
    failures: list[NetworkError] = []
    for client, request in (
        (_client(server, read_timeout=0.3)[0], _get("/slow")),
        (_client(server, ca_bundle=None)[0], _get()),
        (_client(server, ["10.1.1.1"], connect_map=())[0], _get()),
        (_client(server)[0], HttpRequest("GET", f"https://x.test/{SENTINEL}")),
    ):
        with pytest.raises(NetworkError) as info:
            client.send(request, [API])
        failures.append(info.value)
    assert len(failures) == 4
    for failure in failures:
        assert SENTINEL not in str(failure) and SENTINEL not in repr(failure.args)


def test_connect_map_accepts_only_loopback() -> None:
    mapped = connect_map_from_env(
        {"KEYSCAN_TEST_CONNECT_MAP": "https://api.github.com=127.0.0.1:8443"}
    )
    assert mapped == ((Origin("https", "api.github.com", 443), ("127.0.0.1", 8443)),)
    with pytest.raises(ValueError):
        connect_map_from_env({"KEYSCAN_TEST_CONNECT_MAP": "https://api.github.com=10.0.0.5:443"})


def test_a_server_trickling_headers_hits_the_total_deadline() -> None:
    # Each byte comes sooner than the read timeout, so only the total deadline can stop it.
    import socket
    import threading
    import time

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 400:
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    origin = Origin("http", "127.0.0.1", port)
    client = SafeHttpClient(
        ClientSettings(
            policy=AddressPolicy(allow_insecure_loopback_http=True),
            read_timeout=0.5,
            total_timeout=1.0,
            requests_per_second_per_host=0.0,
        ),
        lambda host, p: ["127.0.0.1"],
    )
    started = time.monotonic()
    try:
        with pytest.raises(NetworkError) as info:
            client.send(
                HttpRequest("DELETE", f"http://127.0.0.1:{port}/x", mutating=True), [origin]
            )
    finally:
        stop.set()
        listener.close()
    assert info.value.kind == "timeout" and info.value.sent
    assert time.monotonic() - started < 15  # hang guard: the trickle alone would last 20 s
