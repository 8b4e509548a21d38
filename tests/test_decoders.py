"""Secrets inside encoded text: base64, hex, percent, escapes, Kubernetes Secrets, notebooks."""

from __future__ import annotations

import base64
import json
import random
import re
import string
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyscan.decoders import encodings
from keyscan.decoders.encodings import (
    _ESCAPE_MARKER,
    ESCAPE_MARKERS,
    KeywordTest,
    _string_literals,
    base64_and_hex_layers,
    escape_layers,
)
from keyscan.decoders.kubernetes import is_secret_manifest
from keyscan.decoders.layer import looks_like_text
from tests.conftest import commit, run_keyscan
from tests.corpus.tokens import password as corpus_password
from tests.fakes import github_pat, random_chars


@pytest.fixture
def token() -> str:
    return github_pat(random.Random(2024))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _scan(path: Path, *args: str) -> list[dict[str, Any]]:
    result = run_keyscan(str(path), "--format", "json", "--no-progress", *args)
    assert result.returncode in (0, 1), result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return findings


def _where(findings: list[dict[str, Any]]) -> set[tuple[str, int, int, str, tuple[str, ...]]]:
    return {
        (f["path"], f["line"], f["column"], f["rule_id"], tuple(f.get("decoded", ())))
        for f in findings
    }


def test_each_encoding_is_decoded_and_located(tmp_path: Path, token: str) -> None:
    password = corpus_password(random.Random(43))
    padded = _b64(f"<<{token}>>").rstrip("=")
    files = {
        "a.env": f"# deploy\nENCODED_CONFIG={_b64('GITHUB_TOKEN=' + token)}\n",
        "b.yaml": f"value: {padded}\n",
        "c.txt": f'data = "{("token=" + token).encode().hex()}"\n',
        "d.txt": "callback: https://ci.example.org/hook?next="
        + urllib.parse.quote(f"https://deploy:{password}@db.corp.internal/app", safe="")
        + "\n",
        "e.json": json.dumps({"config": f'{{"api": {{"token": "{token}"}}}}'}) + "\n",
        "f.json": '{"k": "' + "".join(f"\\u{ord(c):04x}" for c in token) + '"}\n',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    found = _where(_scan(tmp_path))
    assert ("a.env", 2, 16, "github.pat-classic", ("base64",)) in found
    assert ("b.yaml", 1, 8, "github.pat-classic", ("base64",)) in found
    assert ("c.txt", 1, 9, "github.pat-classic", ("hex",)) in found
    assert any(f[0] == "d.txt" and f[3] == "generic.url-credentials" for f in found)
    assert ("f.json", 1, 8, "github.pat-classic", ("escapes",)) in found
    e_json = [f for f in found if f[0] == "e.json"]
    assert [f[3] for f in e_json] == ["github.pat-classic"]  # found once, not per layer


def test_kubernetes_secret_values_are_read_with_their_key(tmp_path: Path, token: str) -> None:
    password = corpus_password(random.Random(68))
    (tmp_path / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
        f"  DB_PASSWORD: {_b64(password)}\n  GITHUB_TOKEN: {_b64(token)}\n"
        f"  username: {_b64('admin')}\n"
    )
    findings = _scan(tmp_path, "--show-secrets")
    by_rule = {f["rule_id"]: f for f in findings}
    assert set(by_rule) == {"generic.password-assignment", "github.pat-classic"}
    assert by_rule["generic.password-assignment"]["secret"] == password
    assert by_rule["generic.password-assignment"]["line"] == 7
    assert by_rule["generic.password-assignment"]["decoded"] == ["kubernetes-secret"]
    assert by_rule["github.pat-classic"]["line"] == 8


def test_notebook_cells_and_outputs(tmp_path: Path, token: str) -> None:
    notebook_password = corpus_password(random.Random(89))
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Loading data\n"]},
            {
                "cell_type": "code",
                "source": ["import os\n", f'db_password = "{notebook_password}"\n'],
                "outputs": [{"output_type": "stream", "text": [f'token: "{token}"\n']}],
            },
        ],
        "nbformat": 4,
    }
    (tmp_path / "analysis.ipynb").write_text(json.dumps(notebook, indent=1))
    lines = (tmp_path / "analysis.ipynb").read_text().splitlines()
    found = {f["rule_id"]: f for f in _scan(tmp_path, "--show-secrets")}
    password = found["generic.password-assignment"]
    assert password["secret"] == notebook_password
    assert "db_password" in lines[password["line"] - 1]
    assert token in lines[found["github.pat-classic"]["line"] - 1]


def test_a_one_line_minified_file(tmp_path: Path, token: str) -> None:
    r = random.Random(8)
    filler = "".join(f"function f{i}(a){{return a+{r.randint(0, 999)}}};" for i in range(40_000))
    text = filler + f'var cfg={{gh:"{token}"}};' + filler
    (tmp_path / "app.min.js").write_text(text)
    found = _scan(tmp_path)
    assert [(f["rule_id"], f["line"], f["column"]) for f in found] == [
        ("github.pat-classic", 1, text.index(token) + 1)
    ]


def test_depth_is_bounded_and_can_be_turned_off(tmp_path: Path, token: str) -> None:
    once = _b64(urllib.parse.quote("key=" + token, safe=""))
    twice = _b64(_b64(_b64(token)))
    (tmp_path / "two.txt").write_text(f"blob: {once}\n")
    (tmp_path / "three.txt").write_text(f"blob: {twice}\n")
    default = _where(_scan(tmp_path))
    assert ("two.txt", 1, 7, "github.pat-classic", ("base64", "percent")) in default
    assert not any(f[0] == "three.txt" for f in default)
    assert any(f[0] == "three.txt" for f in _where(_scan(tmp_path, "--decode-depth", "3")))
    assert _scan(tmp_path, "--decode-depth", "0") == []
    (tmp_path / ".keyscan.yaml").write_text("decode_depth: 0\n")
    assert _scan(tmp_path) == []
    (tmp_path / ".keyscan.yaml").write_text("decode_depth: 9\n")
    bad = run_keyscan(str(tmp_path), "--no-progress")
    assert bad.returncode == 2 and "decode_depth" in bad.stderr


def test_digests_and_binary_base64_are_not_decoded_into_findings(tmp_path: Path) -> None:
    r = random.Random(3)
    blob = bytes(r.getrandbits(8) for _ in range(600))
    integrity = base64.b64encode(bytes(r.getrandbits(8) for _ in range(64))).decode()
    (tmp_path / "package-lock.json").write_text(
        json.dumps({"packages": {"node_modules/x": {"integrity": "sha512-" + integrity}}})
    )
    (tmp_path / "index.html").write_text(
        f'<script src="x.js" integrity="sha384-{integrity[:64]}"></script>\n'
        f'<img src="data:image/png;base64,{base64.b64encode(blob).decode()}">\n'
    )
    (tmp_path / "hashes.txt").write_text(
        "\n".join(random_chars(r, 64, "0123456789abcdef") for _ in range(50)) + "\n"
    )
    (tmp_path / "words.txt").write_text(
        _b64("The quick brown fox jumps over the lazy dog again and again.") + "\n"
    )
    assert _scan(tmp_path) == []


def test_a_percent_sign_in_a_password_is_literal_outside_urls(tmp_path: Path) -> None:
    # "%67" reads as a percent escape ("g"), but an env file or a shell line means the
    # characters; in a URL's user info or query the escapes are decoded first.
    r = random.Random(71)
    literal = random_chars(r, 6, string.ascii_letters) + "%6705" + random_chars(r, 6)
    decoded = urllib.parse.unquote(literal)
    (tmp_path / "app.env").write_text(f"DB_PASSWORD={literal}\n")
    (tmp_path / "deploy.sh").write_text(f"#!/bin/sh\nexport SMTP_PASSWORD={literal}\n")
    (tmp_path / "broker.env").write_text(f"BROKER_URL=amqp://worker:{literal}@mq.internal//\n")
    (tmp_path / "login.env").write_text(
        f"LOGIN_URL=https://api.billing-corp.net/login?user=a&password={literal}\n"
    )
    # Written into a URL as it should be (its "%" as "%25"): decoded once, the URL's password is
    # the literal; decoded a second time, "%67" would turn into "g" and report it twice.
    escaped = urllib.parse.quote(literal, safe="")
    (tmp_path / "queue.env").write_text(f"QUEUE_URL=amqp://worker:{escaped}@mq.internal//\n")
    found = {
        (f["path"], f["secret"], tuple(f.get("decoded", ())))
        for f in _scan(tmp_path, "--show-secrets")
    }
    assert found == {
        ("app.env", literal, ()),
        ("deploy.sh", literal, ()),
        ("broker.env", decoded, ("percent",)),
        ("login.env", decoded, ("percent",)),
        ("queue.env", literal, ("percent",)),
    }


def test_fingerprints_match_plain_and_decoded(tmp_path: Path, token: str) -> None:
    (tmp_path / "plain.env").write_text(f"GITHUB_TOKEN={token}\n")
    (tmp_path / "encoded.env").write_text(f"CONFIG={_b64('GITHUB_TOKEN=' + token)}\n")
    findings = _scan(tmp_path)
    assert len(findings) == 2
    assert len({f["fingerprint"] for f in findings}) == 1
    report = run_keyscan(str(tmp_path), "--no-progress")
    assert token not in report.stdout and "decoded from base64" in report.stdout


def test_inline_ignore_on_the_encoded_line(tmp_path: Path, token: str) -> None:
    (tmp_path / "a.env").write_text(
        f"CONFIG={_b64('GITHUB_TOKEN=' + token)}  # keyscan:allow reason=test fixture\n"
    )
    assert _scan(tmp_path) == []


def test_nested_encodings_stay_cheap(tmp_path: Path) -> None:
    # Each level doubles nothing: the decoded-bytes budget bounds the work whatever the nesting.
    r = random.Random(5)
    payload = "".join(r.choice(string.ascii_letters) for _ in range(200_000))
    for _ in range(6):
        payload = _b64(payload)
    (tmp_path / "bomb.txt").write_text(payload + "\n")
    result = run_keyscan(str(tmp_path), "--decode-depth", "3", "--no-progress")
    assert result.returncode == 0, result.stderr


def test_both_engines_agree_on_decoded_findings(tmp_path: Path, token: str) -> None:
    (tmp_path / "a.env").write_text(f"X={_b64('token=' + token)}\nY={token.encode().hex()}\n")
    hyperscan = _scan(tmp_path, "--engine", "hyperscan")
    pure = _scan(tmp_path, "--engine", "regex")
    assert hyperscan == pure and len(hyperscan) == 1


def test_history_audits_decode_too(make_repo: Any, token: str) -> None:
    repo: Path = make_repo()
    commit(repo, "add", **{"ci.yaml": f"secret: {_b64('GITHUB_TOKEN=' + token)}\n"})
    commit(repo, "clean", **{"ci.yaml": "secret: redacted\n"})
    result = run_keyscan("--history", str(repo), "--format", "json", "--no-progress")
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule_id"], f["decoded"], f["at_head"]) for f in findings] == [
        ("github.pat-classic", ["base64"], False)
    ]


def test_keystores_committed_as_files_or_base64(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess

    r = random.Random(12)
    jks = bytes.fromhex("feedfeed00000002") + bytes(r.getrandbits(8) for _ in range(900))
    (tmp_path / "release.jks").write_bytes(jks)
    header = bytes([0x30, 0x82, 0x0A, 0x64, 0x02, 0x01, 0x03, 0x30, 0x82, 0x09, 0x1D, 0x06, 0x09])
    oid = bytes.fromhex("2a864886f70d010701")
    p12 = header + oid + bytes(r.getrandbits(8) for _ in range(900))
    (tmp_path / "ci.yml").write_text(f"env:\n  SIGNING_P12: {base64.b64encode(p12).decode()}\n")
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01" + bytes(r.getrandbits(8) for _ in range(900)))
    if shutil.which("openssl"):
        # A real PKCS#12 file, made at test time, when openssl is there to make one.
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test",
                "-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "c.pem"), "-days", "1",
            ],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [
                "openssl", "pkcs12", "-export", "-inkey", str(tmp_path / "k.pem"), "-in",
                str(tmp_path / "c.pem"), "-out", str(tmp_path / "client.p12"), "-passout",
                "pass:" + os.urandom(8).hex(),
            ],
            check=True, capture_output=True,
        )  # fmt: skip
        for pem in ("k.pem", "c.pem"):
            (tmp_path / pem).unlink()
    found = {
        (f["path"], f["rule_id"], f["line"], tuple(f.get("decoded", ()))) for f in _scan(tmp_path)
    }
    assert ("release.jks", "keystore.java-base64", 1, ("keystore-file",)) in found
    assert ("ci.yml", "keystore.pkcs12-base64", 2, ()) in found
    if (tmp_path / "client.p12").exists():
        assert ("client.p12", "keystore.pkcs12-base64", 1, ("keystore-file",)) in found
    assert not any(f[0] == "notes.bin" for f in found)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(min_size=18, max_size=90),
            st.text(st.characters(max_codepoint=0x7E), min_size=18, max_size=90).map(str.encode),
            # Text with tabs and line breaks in any place: printable, yet control characters.
            st.text(
                st.one_of(
                    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                    st.sampled_from("\t\n\r"),
                ),
                min_size=18,
                max_size=90,
            ).map(str.encode),
            # Mostly ASCII with one accented letter: text within looks_like_text's 3% allowance.
            st.tuples(
                st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=70),
                st.integers(min_value=0, max_value=69),
            ).map(lambda pair: (pair[0][: pair[1]] + "é" + pair[0][pair[1] :]).encode()),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_the_shape_check_never_drops_base64_of_text(payloads: list[bytes]) -> None:
    # The per-run shortcut must be exact: every run that decodes to text is still decoded.
    encoded = [base64.b64encode(payload) for payload in payloads]
    data = b"\n".join(b"v" + str(index).encode() + b"=" + run for index, run in enumerate(encoded))
    found = {layer.data for layer in base64_and_hex_layers(data) if layer.name == "base64"}
    for payload in payloads:
        if looks_like_text(payload) and len(base64.b64encode(payload).rstrip(b"=")) >= 24:
            body = base64.b64encode(payload).rstrip(b"=")
            if not (body.isdigit() or body.islower() or body.isupper()):
                assert payload in found


def test_an_odd_hex_run_before_an_equals_sign_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x = 6162636465666768696a6b6c6d6e6f7071727374757=\n")
    result = run_keyscan(str(tmp_path), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "No secrets found" in result.stdout


def test_quote_only_literals_without_a_keyword_are_passed_over() -> None:
    # HTML in test strings (`"<a href=\\"x\\">"`) is most of what escape decoding meets; with
    # no keyword inside, decoding it shows stage 1 nothing new, so it yields no layer.
    data = b'html = "<a class=\\"reference internal\\" href=\\"#intro\\">Intro</a>"\n'
    url = b'u = "https:\\/\\/ci.example.org\\/jobs\\/1234"\n'
    assert [layer.name for layer in escape_layers(data)] == ["escapes"]
    assert list(escape_layers(data, lambda start, end: False)) == []
    assert [layer.data for layer in escape_layers(data, lambda start, end: True)] == [
        b'<a class="reference internal" href="#intro">Intro</a>'
    ]
    # Any other escape can join or make keyword text (`:\\/\\/` is `://`): always decoded.
    assert [layer.data for layer in escape_layers(url, lambda start, end: False)] == [
        b"https://ci.example.org/jobs/1234"
    ]


def test_notebook_code_lines_without_a_keyword_are_passed_over() -> None:
    # A notebook is one JSON literal per line of code, each ending in `\\n`, many holding `\\"`:
    # with no keyword in them, their decoding shows stage 1 and the decoders nothing new.
    code = [
        'print(\\"mean:\\", np.mean(values))\\n',
        '\\tlabel = \\"total\\"\\r\\n',
        'path = \\"C:\\\\temp\\"\\n',  # `\\\\t`: a backslash and a t in the code, not a tab
    ]
    data = "".join(f'    "{line}",\n' for line in code).encode()
    assert [layer.data for layer in escape_layers(data, lambda start, end: False)] == [
        b'path = "C:\\temp"\n'
    ]
    assert len(list(escape_layers(data, lambda start, end: True))) == 3


# What makes a line of literals other than inert, and what does not, to draw lines from.
_LINE_PIECES = [
    'say(\\"hi\\")',
    "\\n",
    "\\t",
    "\\r\\n",
    "\\\\n",
    "\\u0041",
    "\\x41",
    "\\/",
    "\\'",
    "Secret",
    "kind: Secret\\n",
    "%2F",
    "%zz",
    "\\n" + base64.b64encode(b"[settings] debug = true").decode(),
    "\\t" + "QUJD" * 6,
    "token",
    "password",
    " ",
    "plain words",
    '"',
    "\\",
]


@st.composite
def _escaped_documents(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """Lines of literals, and the offsets where a keyword starts (some of them)."""
    pieces = st.lists(st.sampled_from(_LINE_PIECES), max_size=8).map("".join)
    # What a line starts with, before its literal: a keyword or an escape may open it.
    openings = st.sampled_from(["    ", "", "token ", "%2F ", "\\u0041 ", "Secret "])
    lines = draw(st.lists(st.tuples(openings, pieces), min_size=1, max_size=16))
    data = "\n".join(f'{opening}"{line}",' for opening, line in lines).encode()
    keywords = sorted(
        match.start()
        for match in re.finditer(rb"token|password|Secret", data)
        if draw(st.booleans())
    )
    return data, keywords


def _lively_places_builds() -> list[Any]:
    """The Python build of the lively places, and the C one where it was compiled."""
    builds: list[Any] = [encodings.python_lively_places]
    try:
        from keyscan._escapes import lively_places
    except ImportError:
        return builds
    builds.append(lambda data, begin: lively_places(data, begin, encodings._MIN_BASE64))
    return builds


@settings(max_examples=300, deadline=None)
@given(
    _escaped_documents(),
    st.one_of(st.none(), st.just([])),
    st.integers(1, 3),
    st.sampled_from(_lively_places_builds()),
)
def test_walking_from_keyword_starts_gives_what_walking_every_line_gives(
    document: tuple[bytes, list[int]], encoded_ends: list[int] | None, one_by_one: int, build: Any
) -> None:
    # Past the first marked lines, a line with no keyword start and none of the escapes, runs
    # and markers that make a line other than inert is never looked at: the layers must be
    # those the walk over every line with an escape gives.
    data, starts = document

    def holds(start: int, end: int) -> bool:
        return any(start <= place < end for place in starts)

    every_line = list(escape_layers(data, holds, encoded_ends))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encodings, "_MARKED_LINES_ONE_BY_ONE", one_by_one)
        patch.setattr(encodings, "_LIVELY_PLACES", build)
        walked = list(escape_layers(data, KeywordTest(holds, lambda: starts), encoded_ends))
    assert walked == every_line


@pytest.mark.skipif(len(_lively_places_builds()) < 2, reason="the C build was not compiled")
@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(["\\", '"', "n", "t", "r", "u", "%", "2", "F", "g", "S", "Secret", "\n"])
        | st.sampled_from(["QUJD" * 6, "QUJD" * 5 + "QUJ", " "]),
        max_size=40,
    ).map(lambda parts: "".join(parts).encode()),
    st.integers(0, 200),
)
def test_the_c_lively_places_are_the_python_ones(data: bytes, begin: int) -> None:
    python_build, c_build = _lively_places_builds()
    assert sorted(c_build(data, begin)) == sorted(python_build(data, begin))


@pytest.mark.parametrize(
    "inner",
    [
        # Raw, a base64 run after `\\n` or `\\t` starts with the escape's letter and decodes
        # to nothing; the run alone marks the line.
        "config:\\n" + base64.b64encode(b"[settings]\ndebug = true\n").decode(),
        "\\t" + base64.b64encode(b"[settings]\ndebug = true\n").decode(),
        # A percent run decodes differently once the escape before it is a line break.
        'say(\\"hi\\")\\nhttps%3A%2F%2Fexample.com%2Fdocs',
        # A Secret manifest's values are read from its lines, which the escapes make.
        "apiVersion: v1\\nkind: Secret\\ndata:\\n  key: dmFsdWU=\\n",
    ],
)
def test_literals_whose_decoding_can_reveal_encoded_text_are_decoded(inner: str) -> None:
    data = f'    "{inner}",\n'.encode()
    assert len(list(escape_layers(data, lambda start, end: False))) == 1


def test_a_notebook_image_is_not_decoded_for_its_escaped_line_breaks() -> None:
    # An image output: base64 of binary data in lines each ending in `\\n`. Stage 1 saw no
    # encoded text end in it (none of its runs can decode to text), so the line is passed over.
    png = base64.b64encode(bytes(random.Random(47).randrange(256) for _ in range(3000))).decode()
    lines = "\\n".join(png[index : index + 76] for index in range(0, len(png), 76))
    data = f'      "image/png": "{lines}\\n",\n'.encode()
    assert list(escape_layers(data, lambda start, end: False, encoded_ends=[])) == []
    # Without stage 1's ends (the regex engine) every such line is looked at.
    assert len(list(escape_layers(data, lambda start, end: False, encoded_ends=None))) == 1


def test_a_base64_secret_after_an_escaped_line_break_is_found(tmp_path: Path) -> None:
    # No keyword and no other escape in the literal: only its decoding lines the base64 up.
    token = github_pat(random.Random(45))
    encoded = base64.b64encode(f"GITHUB_TOKEN={token}\n".encode()).decode()
    (tmp_path / "out.json").write_text('{"text": "header\\n' + encoded + '"}\n')
    found = _where(_scan(tmp_path))
    assert ("out.json", 1, 11, "github.pat-classic", ("escapes", "base64")) in found, found


def test_a_secret_manifest_on_one_escaped_line_is_found(tmp_path: Path) -> None:
    password = corpus_password(random.Random(46))
    value = base64.b64encode(password.encode()).decode()
    manifest = "\\n".join(["apiVersion: v1", "kind: Secret", "data:", f"  password: {value}", ""])
    (tmp_path / "release.json").write_text('{"manifest": "' + manifest + '"}\n')
    secrets = {f["rule_id"] for f in _scan(tmp_path, "--show-secrets") if password in f["secret"]}
    assert secrets, _where(_scan(tmp_path))


def test_a_long_line_of_escaped_json_is_decoded_in_one_pass(tmp_path: Path) -> None:
    # A notebook output cell: one 400 KB JSON string of JavaScript whose own JSON is escaped.
    # Quotes pair in one pass over the line (finding a whole literal afresh at every quote took
    # ten seconds on a 250 KB line), and a literal of any length is decoded.
    password = corpus_password(random.Random(44))
    filler = "".join(f'\\"k{index}\\": \\"v{index}\\", ' for index in range(20_000))
    source = f'spec({{\\"password\\": \\"{password}\\", {filler}\\"end\\": 1}})'
    (tmp_path / "chart.ipynb").write_text('{"outputs": [{"text": "' + source + '"}]}\n')
    found = _where(_scan(tmp_path))
    assert ("chart.ipynb", 1, 24, "generic.password-assignment", ("escapes",)) in found


def _literals_token_by_token(data: bytes, line_start: int, line_end: int) -> list[tuple[int, int]]:
    """String literals found the way they were before escapes were blanked out for a split."""
    spans: list[tuple[int, int]] = []
    opened = -1
    for token in re.compile(rb'\\.|"').finditer(data, line_start, line_end):
        if token.end() - token.start() != 1:
            continue
        if opened < 0:
            opened = token.end()
        else:
            spans.append((opened, token.start()))
            opened = -1
    return spans


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(['"', "\\", "a", "é", "\\\\", '\\"', "\n", " "]), max_size=60),
    st.integers(0, 40),
)
def test_string_literals_pair_the_quotes_escapes_leave_alone(pieces: list[str], cut: int) -> None:
    data = "".join(pieces).encode()
    line_start = data.rfind(b"\n", 0, min(cut, len(data))) + 1
    line_end = data.find(b"\n", line_start)
    line_end = len(data) if line_end == -1 else line_end
    expected = _literals_token_by_token(data, line_start, line_end)
    assert list(_string_literals(data, line_start, line_end)) == expected


_KIND_SECRET_LINE = re.compile(rb"^kind:\s*[\"']?Secret[\"']?\s*$", re.M)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [b"kind:", b"kind: Secret", b"Secret", b" ", b"\t", b"\n", b"\r", b"'", b'"', b"x"]
        ),
        max_size=14,
    )
)
def test_a_secret_manifest_is_a_line_that_says_kind_secret(parts: list[bytes]) -> None:
    # is_secret_manifest looks only where `kind:` begins a line; a regex search over the whole
    # data is the definition it must agree with.
    data = b"".join(parts)
    assert is_secret_manifest(data) == (_KIND_SECRET_LINE.search(data) is not None)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "\\",
                '"',
                "'",
                "n",
                "t",
                "r",
                "u",
                "x",
                "/",
                "Secret",
                "a1+/",
                "\n",
                " ",
                "=",
                "QUJDREVGR0hJSktMTU5PUFFS",
                "QUJDREVGR0hJSktMTU5PUFF",
            ]  # 24 and 23 base64 characters
        ),
        max_size=40,
    )
)
def test_the_line_search_sees_the_escape_marker_exactly_where_stage_1_does(
    pieces: list[str],
) -> None:
    # Stage 1 decides from the marker's patterns whether the decoder runs; the decoder then
    # finds the lines with its own regex, written to skip ahead to backslashes. Both must agree.
    data = "".join(pieces).encode()
    for line in data.split(b"\n"):
        by_stage_1 = any(re.search(pattern, line) for pattern in ESCAPE_MARKERS)
        assert (_ESCAPE_MARKER.search(line) is not None) == by_stage_1, line
