"""Engine properties: engines agree, spans lie inside the data, fingerprints ignore position."""

from __future__ import annotations

import base64
import functools
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyscan.blobscan import BlobScanner, HiddenKeywords, _Positions
from keyscan.commands.rules import EXAMPLE_PATH
from keyscan.decoders.encodings import KeywordTest, base64_and_hex_layers
from keyscan.decoders.markers import ENCODED_TEXT_MARKERS, compiled_encoded_text_ends
from keyscan.engine.base import Stage1, gated_hits
from keyscan.engine.extract import MAX_WINDOW, _merged_windows, _window, extract
from keyscan.engine.hyperscan_engine import HyperscanEngine, hyperscan_available
from keyscan.engine.regex_engine import RegexEngine
from keyscan.fingerprint import blob_id, fingerprint
from keyscan.model import Blob, Provenance
from keyscan.options import ScanOptions
from keyscan.rules.load import load_rules
from keyscan.rules.ruleset import Ruleset, _may_read
from keyscan.rules.schema import Rule
from tests.fakes import demo_rule

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not importable")


@functools.lru_cache(maxsize=1)
def builtin() -> Ruleset:
    return Ruleset(load_rules())


@functools.lru_cache(maxsize=1)
def scanners() -> tuple[BlobScanner, BlobScanner]:
    ruleset = builtin()
    options = ScanOptions()
    return (
        BlobScanner(ruleset, RegexEngine(ruleset), options),
        BlobScanner(ruleset, HyperscanEngine(ruleset), options),
    )


def all_examples() -> list[str]:
    return [example for rule in builtin().rules for example in rule.examples]


def keyword_fragments() -> list[str]:
    return sorted({k.decode() for k in builtin().keywords})


# Text that holds each decoder marker, so both engines are seen to agree on markers too.
MARKER_TEXTS = ["kind: Secret", "%2Fx%zz", '\\"quoted\\"', "\\u0041", "\\x41"]
noise = st.text(
    alphabet=st.sampled_from([*"abcXYZ019 =:'\"\n\t_-/+.{}$<>%\\", "é", "€", "\x00", "\ufffd"]),
    max_size=300,
)


@st.composite
def spliced_documents(draw: st.DrawFn) -> bytes:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        parts.append(draw(noise))
        parts.append(draw(st.sampled_from(all_examples() + keyword_fragments() + MARKER_TEXTS)))
    parts.append(draw(noise))
    text = "".join(parts)
    encoded = text.encode("utf-8")
    # Sometimes break UTF-8 on purpose: invalid input must be handled the same way by both engines.
    if draw(st.booleans()) and encoded:
        cut = draw(st.integers(0, len(encoded) - 1))
        encoded = encoded[:cut] + b"\xff" + encoded[cut:]
    return encoded


def scan(scanner: BlobScanner, data: bytes, path: str = EXAMPLE_PATH):
    return scanner.scan(Blob(blob_id(data), data, Provenance(path), binary=b"\x00" in data[:8000]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spliced_documents())
def test_both_engines_give_identical_findings(data: bytes) -> None:
    regex_scanner, hyperscan_scanner = scanners()
    assert scan(regex_scanner, data).findings == scan(hyperscan_scanner, data).findings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spliced_documents())
def test_keyword_hits_are_identical_and_candidate_spans_lie_inside_the_data(data: bytes) -> None:
    ruleset = builtin()
    regex_stage1 = RegexEngine(ruleset).scan(data)
    hyperscan_stage1 = scanners()[1].engine.scan(data)
    assert sorted(regex_stage1.hits) == sorted(hyperscan_stage1.hits)
    assert regex_stage1.markers == hyperscan_stage1.markers
    regex_hits = regex_stage1.hits
    for candidate in extract(data, regex_hits, ruleset).candidates:
        assert 0 <= candidate.start < candidate.end <= len(data)
        assert (
            data[candidate.start : candidate.end].decode("utf-8", "surrogateescape")
            == candidate.secret
        )


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(range(10_000)), st.lists(noise.filter(lambda t: "\x00" not in t), max_size=8)
)
def test_fingerprints_are_stable_when_lines_move(index: int, filler: list[str]) -> None:
    examples = all_examples()
    example = examples[index % len(examples)]
    scanner = scanners()[0]
    alone = {f.fingerprint for f in scan(scanner, example.encode()).findings}
    moved_text = "\n".join(line.replace("\n", " ") for line in filler) + "\n\n" + example
    moved = {f.fingerprint for f in scan(scanner, moved_text.encode()).findings}
    assert alone <= moved


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60), st.text(max_size=20))
def test_different_secrets_never_share_a_fingerprint(a: str, b: str, rule_id: str) -> None:
    if a != b:
        assert fingerprint(rule_id, a) != fingerprint(rule_id, b)
    assert fingerprint("x.a", a) != fingerprint("x.b", a)


def test_every_rule_example_gives_one_finding_in_both_engines() -> None:
    ruleset = builtin()
    for regex_scanner, hyperscan_scanner in [scanners()]:
        for rule in ruleset.rules:
            for example in rule.examples:
                found = scan(regex_scanner, example.encode()).findings
                assert [f.rule_id for f in found if f.rule_id == rule.id] == [rule.id], (
                    rule.id,
                    example,
                )
                assert found == scan(hyperscan_scanner, example.encode()).findings


def test_blob_id_matches_git() -> None:
    # `printf 'hello\n' | git hash-object --stdin`
    assert blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


@st.composite
def text_with_encodings(draw: st.DrawFn) -> bytes:
    """Noise, identifiers and base64/hex of text: printable ASCII with at most a couple of
    accented letters, the most unprintable bytes text may hold and still be decoded."""
    # Tabs and line breaks are printable to looks_like_text but are control characters, which
    # the markers tell apart from the others by their bits.
    printable = st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E), st.sampled_from("\t\n\r")
    )
    parts: list[bytes] = []
    for _ in range(draw(st.integers(1, 6))):
        text = draw(st.text(printable, max_size=90))
        for _ in range(draw(st.integers(0, 2))):
            position = draw(st.integers(0, len(text)))
            text = text[:position] + draw(st.sampled_from(["é", "€", "ü"])) + text[position:]
        payload = text.encode()
        encoding = draw(st.sampled_from(["base64", "hex", "raw"]))
        encoded = (
            base64.b64encode(payload)
            if encoding == "base64"
            else payload.hex().encode()
            if encoding == "hex"
            else payload
        )
        parts.append(draw(st.sampled_from([b"", b"x = ", b"CamelCaseIdentifierName", b"'", b"\n"])))
        parts.append(encoded)
    return b"".join(parts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_with_encodings())
def test_encoded_text_markers_never_hide_a_run_that_decodes(data: bytes) -> None:
    # The base64/hex decoder given hyperscan's marker offsets finds exactly what a search of
    # every run finds: the markers are necessary conditions, not heuristics.
    stage1 = scanners()[1].engine.scan(data)
    assert stage1.encoded_ends is not None
    everywhere = list(base64_and_hex_layers(data))
    assert list(base64_and_hex_layers(data, stage1.encoded_ends)) == everywhere


def _hyperscan_encoded_ends(data: bytes) -> set[int]:
    import hyperscan

    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=list(ENCODED_TEXT_MARKERS),
        ids=list(range(len(ENCODED_TEXT_MARKERS))),
        flags=[0] * len(ENCODED_TEXT_MARKERS),
    )
    ends: set[int] = set()
    if data:
        database.scan(data, match_event_handler=lambda _i, _s, end, _f, _c: ends.add(end))
    return ends


_RUN_PIECES = st.one_of(
    st.binary(max_size=40),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", max_size=60).map(
        str.encode
    ),
    st.binary(max_size=40).map(base64.b64encode),
    # Base64 and hex of text: the runs the markers are there for.
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=12, max_size=40).map(
        lambda text: base64.b64encode(text.encode())
    ),
    st.text(st.characters(min_codepoint=0x09, max_codepoint=0x7E), min_size=8, max_size=24).map(
        lambda text: text.encode().hex().encode()
    ),
    st.text("0123456789abcdefABCDEF", min_size=20, max_size=50).map(str.encode),
    st.sampled_from([b"\n", b" ", b"=", b"-", b"\x00", b"A" * 30]),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(text_with_encodings(), st.lists(_RUN_PIECES, max_size=8).map(b"".join)),
    st.sampled_from([b"", b"\n"]),
)
@hypothesis.example(base64.b64encode(b"a line of text, long enough"), b"\n")
@hypothesis.example(b"x=" + b"sixteen bytes!\tok".hex().encode() + b"Zz", b"\n")
def test_the_c_encoded_markers_end_where_hyperscan_s_patterns_do(data: bytes, last: bytes) -> None:
    # The base64 and hex markers run in C (keyscan/_encoded.c) instead of in the hyperscan
    # database; their ends must be the patterns' own, a regex `$` before a final newline
    # included. (A run both patterns mark gives its ends once, not once per pattern.)
    data += last
    compiled = compiled_encoded_text_ends()
    if compiled is None:
        pytest.skip("keyscan._encoded was not compiled (no C compiler at install time)")
    ends = compiled(data)
    assert len(ends) == len(set(ends))
    assert set(ends) == _hyperscan_encoded_ends(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(min_size=60, max_size=3000).map(base64.b64encode),
    st.one_of(
        st.just(b""),
        st.text(
            st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=15, max_size=40
        ).map(lambda text: base64.b64encode(text.encode()).rstrip(b"=")),
        st.text(
            st.characters(min_codepoint=0x09, max_codepoint=0x7E), min_size=16, max_size=24
        ).map(lambda text: text.encode().hex().encode()),
    ),
    st.floats(min_value=0, max_value=1),
)
def test_the_c_encoded_markers_find_text_deep_in_long_runs(
    noise: bytes, text: bytes, where: float
) -> None:
    # A notebook's images are runs of thousands of base64 characters, which the C markers pass
    # over a window at a time instead of an offset at a time: text encoded anywhere inside such
    # a run, at any alignment, still marks it, and a run of noise alone still does not.
    at = int(where * len(noise))
    data = b"image: " + noise[:at] + text + noise[at:] + b'\n"'
    compiled = compiled_encoded_text_ends()
    if compiled is None:
        pytest.skip("keyscan._encoded was not compiled (no C compiler at install time)")
    assert set(compiled(data)) == _hyperscan_encoded_ends(data)


@pytest.mark.parametrize(
    "encoded",
    [base64.b64encode(b"some text that is long enough\n"), b"sixteen bytes of text".hex().encode()],
)
def test_without_the_c_markers_hyperscan_looks_for_them_itself(
    monkeypatch: pytest.MonkeyPatch, encoded: bytes
) -> None:
    # An install without a C compiler: the markers go back into the database, same ends.
    import sys

    from keyscan.decoders import markers

    data = b"x = " + encoded + b"\nrest"
    with_c = HyperscanEngine(builtin()).scan(data)
    monkeypatch.setitem(sys.modules, "keyscan._encoded", None)
    assert markers.compiled_encoded_text_ends() is None
    without_c = HyperscanEngine(builtin()).scan(data)
    assert without_c.encoded_ends and set(without_c.encoded_ends) == set(with_c.encoded_ends or [])


@pytest.mark.parametrize("shift", range(4))
@pytest.mark.parametrize("encode", [base64.b64encode, lambda text: text.hex().encode()])
def test_encoded_text_markers_see_text_made_of_short_lines(
    shift: int, encode: Callable[[bytes], bytes]
) -> None:
    # Line breaks, tabs and carriage returns are printable to looks_like_text but are control
    # characters: the markers must let them through wherever they fall in a group or a byte.
    text = ("ab" * shift).encode() + b"x\tk=1\r\n" * 5 + b"a\nb\n" * 4
    data = b"v = " + encode(text) + b"\n"
    stage1 = scanners()[1].engine.scan(data)
    assert stage1.encoded_ends
    decoded = [layer.data for layer in base64_and_hex_layers(data, stage1.encoded_ends)]
    assert decoded == [text]


def test_one_value_matched_by_two_generic_rules_is_one_finding() -> None:
    # `X-API-Key: …` is both an assignment to an api-key name and an API-key header.
    value = "Zq4" + "".join(chr(ord("a") + (i * 7) % 26) for i in range(14)) + "R8xWm2Lp5Tn9Vb3K"
    line = f'curl -H "X-API-Key: {value}" https://gateway.internal/v1/jobs\n'.encode()
    options = ScanOptions(explain=True)
    for engine_scanner in scanners():
        scanner = BlobScanner(engine_scanner.ruleset, engine_scanner.engine, options)
        result = scan(scanner, line)
        assert [f.secret for f in result.findings] == [value]
        assert [d.filter for d in result.dropped if d.filter == "generic-duplicate"]


def _occurrences_the_check_keeps(
    data: bytes, keyword: bytes, sensitive: bool, check: re.Pattern[bytes]
) -> list[int]:
    haystack = data if sensitive else data.lower()
    return [
        position
        for position in range(len(data))
        if haystack.startswith(keyword, position) and check.match(data, position)
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["a", "b", ":", "/", "@", " ", "\n", "://", "a:bcd@", "A" * 21, "AAAA", "x9", "%",
             "-us1", "-US", "cio", "0123456789abcdef", "Basic ", "basic\t", "EAA", "eaaa", "Q~"]
        ),
        max_size=80,
    )
)  # fmt: skip
def test_gated_keyword_hits_are_exactly_the_occurrences_the_check_keeps(pieces: list[str]) -> None:
    # A gated keyword's hits come from searching its check, not from the engine: they must be
    # the keyword occurrences where the check matches, overlapping ones included.
    ruleset = builtin()
    data = "".join(pieces).encode()
    for gate in ruleset.gates:
        for keyword_index, keyword, sensitive in gate.keywords:
            expected = _occurrences_the_check_keeps(data, keyword, sensitive, gate.check)
            found = sorted(p for k, p in gated_hits([gate], data) if k == keyword_index)
            assert found == expected
            for scanner in scanners():
                found = sorted(p for k, p in scanner.engine.scan(data).hits if k == keyword_index)
                assert found == expected


def test_the_built_in_provider_prefixes_are_gated() -> None:
    ruleset = builtin()
    gated = {ruleset.keywords[k] for k in ruleset.gated_keywords}
    assert {b"://", b"a" * 21, b"cio", b"-us", b"EAA", b"napi_", b"akia", b"bearer"} <= gated
    # Keywords several rules share are not: each rule checks its own hits.
    assert b"token" not in gated


@pytest.mark.parametrize(
    ("check", "may"),
    [
        (rb"cio[A-Za-z0-9]{32}", False),
        (rb"\-us[0-9]", False),
        (rb"(?:EAAA|sq0atp\-)[A-Za-z0-9_+\-]{22}", False),
        (rb"a\d{3}", False),
        (rb"a\s", True),  # \t, \n and \r are spaces
        (rb"a\W", True),  # so is the quote, to \W
        (rb"a\S", True),
        (rb"a[^x]", True),
        (rb"a.", True),
        (rb'(?:a|")', True),
        (rb"a[\x00-\x20]", True),
        (rb"a\b", True),  # what it asserts depends on the byte before or after
        (rb"a(?=b)", True),
        (rb"machine[ \t]", True),
    ],
)
def test_a_check_may_read_what_a_literal_escape_decodes_to(check: bytes, may: bool) -> None:
    assert _may_read(re.compile(check), b'"\n\t\r') is may


def test_only_gated_keywords_whose_check_may_read_a_decoded_escape_are_looked_for_raw() -> None:
    hidden = builtin().quote_escaped_keywords
    assert {b"://", b"bearer", b"machine"} <= set(hidden)
    assert not {b"cio", b"eaa", b"aaaaaaaaaaaaaaaaaaaaa", b"-us"} & set(hidden)


def test_a_keyword_is_gated_only_when_its_check_opens_with_a_literal_that_starts_with_it() -> None:
    ruleset = Ruleset(
        [
            demo_rule("demo.dot", ("a.b",), "a.b="),  # `.` is any character: no literal
            demo_rule("demo.escaped", ("c.d",), r"c\.d="),
            demo_rule("demo.case", ("ee",), "(?i)EEE[0-9]"),
            demo_rule("demo.group", ("ff", "gg"), r"(?:FF|gg\-)[0-9]"),
            demo_rule("demo.optional", ("hh",), "hh?[0-9]"),  # the literal is `h` alone
            demo_rule("demo.repeated", ("jj",), "(?:jj)+[0-9]"),
            demo_rule("demo.class", ("kk",), "[k]k[0-9]"),
        ]
    )
    gated = {ruleset.keywords[k] for k in ruleset.gated_keywords}
    assert gated == {b"c.d", b"ee", b"ff", b"gg"}
    group = next(g for g in ruleset.gates if len(g.keywords) == 2)
    assert [keyword for _, keyword, _ in group.keywords] == [b"ff", b"gg"]


@functools.cache
def _demo_engines(check: str, sensitive: bool) -> tuple[RegexEngine, HyperscanEngine]:
    rule = replace(
        demo_rule("demo.any", ("ab",), check),
        keyword_case="sensitive" if sensitive else "insensitive",
    )
    ruleset = Ruleset([rule])
    return RegexEngine(ruleset), HyperscanEngine(ruleset)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="abAB-1 ", max_size=60),
    st.sampled_from(["(?i)ab", "AB[0-9]", "(?:ab|AB)-", "(?i)(?:b|ab)1", "ab ?"]),
    st.booleans(),
)
def test_gated_hits_are_the_keyword_occurrences_the_check_keeps_whatever_the_check(
    text: str, check: str, sensitive: bool
) -> None:
    # Whatever literal a check opens with, in whatever case, a gated keyword's hits are its
    # occurrences (in its own case rule) where the check matches.
    data = text.encode()
    compiled = re.compile(check.encode())
    expected = _occurrences_the_check_keeps(data, b"ab", sensitive, compiled)
    for engine in _demo_engines(check, sensitive):
        assert sorted(p for _, p in engine.scan(data).hits) == expected


@pytest.mark.parametrize(
    "check",
    [
        r"tok=[A-Z]{3}",  # hyperscan marks the blobs that hold it
        r"tok=(?=[A-Z]{3})",  # a lookahead hyperscan cannot compile: searched in every blob
        r"tok=(?a:[A-Z]{3})",  # an inline flag hyperscan rejects only when compiling
        r"tok=[A-Z]{3}[ \n]{,1}",  # `{,1}`: literal text to hyperscan, a repeat to re
    ],
)
def test_gated_hits_are_the_same_whether_hyperscan_can_mark_the_check_or_not(
    check: str, tmp_path: Path
) -> None:
    rule = Rule(
        id="demo.gated",
        name="Demo",
        description="Demo.",
        severity="low",
        keywords=("tok=",),
        pattern=r"tok=(?P<secret>[A-Z]{3})",
        at_keyword=check,
    )
    ruleset = Ruleset([rule])
    assert list(ruleset.gated_keywords) == [0]
    data = b"tok=ab tok=ABC\ntok=tok=XYZ tok=Ab"
    expected = [(0, 7), (0, 19)]
    for engine in (RegexEngine(ruleset), HyperscanEngine(ruleset)):
        assert sorted(engine.scan(data).hits) == expected
        assert engine.scan(b"tok=abc and no other").hits == []
    # The same through the on-disk database cache, written and then read back.
    cache = tmp_path / "cache"
    for _ in range(2):
        assert sorted(HyperscanEngine(ruleset, cache).scan(data).hits) == expected


def test_the_database_cache_is_kept_across_edits_that_do_not_change_what_it_compiles(
    tmp_path: Path,
) -> None:
    # The on-disk database is named after what it is compiled from: a rule whose pattern or
    # description changes reuses it, a changed keyword or check gets a database of its own.
    def rule(keyword: str = "tok=", pattern: str = r"tok=(?P<secret>[A-Z]{3})") -> Rule:
        return Rule(
            id="demo.cached",
            name="Demo",
            description=f"Demo for {pattern}.",
            severity="low",
            keywords=(keyword,),
            pattern=pattern,
            at_keyword=r"tok=[A-Z]{3}",
        )

    cache = tmp_path / "cache"

    def databases(*rules: Rule) -> int:
        engine = HyperscanEngine(Ruleset(list(rules)), cache)
        assert sorted(engine.scan(b"x tok=ABC").hits) == [(0, 2)]
        return len(list(cache.glob("hyperscan-*.db")))

    assert databases(rule()) == 1
    assert databases(rule(pattern=r"tok=(?P<secret>[A-Z]{3,4})")) == 1
    assert databases(rule(keyword="TOK=")) == 2


class _EveryLiteralDecoded(BlobScanner):
    """The scanner as it was before escape_layers could pass over literals without keywords."""

    def _keyword_test(self, data: bytes, stage1: Stage1) -> KeywordTest:
        return KeywordTest(lambda start, end: True)


@st.composite
def quoted_documents(draw: st.DrawFn) -> bytes:
    """Documents whose pieces sit inside string literals with their quotes and line breaks
    escaped, the way JSON embedded in a JSON or JavaScript string, or a notebook, looks."""
    ruleset = builtin()
    # Examples of the rules a quote escape can hide a keyword from (a quote in a keyword, or a
    # gated keyword), drawn as often as all the others together.
    hideable = [
        example
        for rule in ruleset.rules
        if any('"' in k or k.encode() in ruleset.quote_escaped_keywords for k in rule.keywords)
        for example in rule.examples
    ]
    # Encoded examples right after a line-break or tab escape (`\\n<base64>`), where only the
    # decoded literal shows the run as it was encoded, drawn as often as the others too.
    encoded = [
        escape + encode(example.encode()).decode()
        for example in all_examples()[::5]
        for encode in (base64.b64encode, lambda text: urllib.parse.quote(text).encode())
        for escape in ("\\n", "\\t", "")
    ]
    pieces = st.one_of(
        st.sampled_from(hideable),
        st.sampled_from(encoded),
        st.sampled_from([*all_examples(), *keyword_fragments(), *MARKER_TEXTS]),
    )
    separators = ["", " ", ": ", "=", "\\", "{", "}", "\\n", "\\t", "\\r\\n", "\\\\n"]
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        parts = [draw(noise.filter(lambda t: "\n" not in t and '"' not in t))]
        for _ in range(draw(st.integers(0, 3))):
            parts.append(draw(pieces).replace("\n", draw(st.sampled_from([" ", "\\n"]))))
            parts.append(draw(st.sampled_from(separators)))
        inner = "".join(parts).replace('"', '\\"')
        lines.append(draw(st.sampled_from(["x = ", "", '{"k": '])) + f'"{inner}"')
    return "\n".join(lines).encode()


def test_a_key_block_in_one_escaped_string_is_found_by_both_engines() -> None:
    # Its lines are marked by the base64 after each `\\n`, which cannot decode to text (no
    # encoded-text end from hyperscan), but the literal holds the block's keyword: decoded, its
    # line breaks make the block the rule matches. Hypothesis found the engines disagreeing.
    example = next(
        example
        for rule in builtin().rules
        if rule.multiline
        for example in rule.examples
        if "PGP PRIVATE KEY BLOCK" in example
    )
    data = ('x = "' + example.strip().replace("\n", "\\n") + '\\n"\n').encode()
    regex_scanner, hyperscan_scanner = scanners()
    found = scan(regex_scanner, data).findings
    assert found and [f.decoded for f in found] == [("escapes",)]
    assert scan(hyperscan_scanner, data).findings == found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quoted_documents())
def test_passing_over_literals_without_a_keyword_loses_no_finding(data: bytes) -> None:
    # A literal whose only escapes are \", \n, \t or \r and whose raw text holds no keyword nor
    # anything its decoding could reveal is not decoded: the findings must be exactly those of
    # decoding every literal, on the regex engine, which gives no encoded-text ends, so that
    # no line is passed over for where hyperscan saw encoded text end either.
    regex_scanner, hyperscan_scanner = scanners()
    ruleset = regex_scanner.ruleset
    everything = _EveryLiteralDecoded(ruleset, RegexEngine(ruleset), regex_scanner.options)
    expected = scan(everything, data).findings
    assert scan(regex_scanner, data).findings == expected
    assert scan(hyperscan_scanner, data).findings == expected


@functools.lru_cache(maxsize=1)
def without_generic_checks() -> Ruleset:
    """The built-in rules with the generic rules' `at_keyword` checks removed."""
    return Ruleset(
        [
            replace(rule, at_keyword=None) if rule.generic and rule.at_keyword else rule
            for rule in builtin().rules
        ]
    )


NAME_WORDS = [
    "token", "SECRET", "api-key", "ApiKey", "authkey", "private_key", "signingKey",
    "encryption-key", "credentials", "password", "pwd", "Passphrase", "client_", "_url", "Name",
    "é", "ä",
]  # fmt: skip
# Two of them hold letters a caseless regex folds onto ASCII (the Kelvin sign, the long s):
# value bytes the byte-level checks must let through.
VALUE_PIECES = [
    "Zq4Tn9Vb3KR8xWm2Lp5", "a1B2c3D4e5F6g7H8", "\u212a9x7y6z5w4v3u2t1", "Zſ0123456789abcdef",
    "/+=_-.~!@#$%^&*()", "${TOKEN}", "changeme",
]  # fmt: skip
OPENERS = ["", "x.", 'setProperty("', "put('", "ENV['", 'os.environ["', '<add key="', 'name = "']
CLOSERS = ["", '"', "'", "`", '"]', "' ]"]
SPACES = ["", " ", "  ", "\t", "\u00a0", "\u3000", "\n"]
CONNECTORS = ["=", ":", "=>", ":=", "||=", ",", " value=", "value = ", "] =", "(", "-"]
QUOTES = ["", '"', "'", "`", 'f"', "b'"]


@st.composite
def assignment_lines(draw: st.DrawFn) -> str:
    """Assignment-shaped text, each part drawn from the shapes the generic patterns take or
    nearly take, so that matches and near misses are both common."""

    def pick(options: list[str]) -> str:
        return draw(st.sampled_from(options))

    name = "".join(draw(st.lists(st.sampled_from(NAME_WORDS), min_size=1, max_size=3)))
    value = "".join(draw(st.lists(st.sampled_from(VALUE_PIECES), min_size=1, max_size=2)))
    quote = pick(QUOTES)
    shape = [pick(OPENERS), name, pick(CLOSERS), pick(SPACES), pick(CONNECTORS), pick(SPACES)]
    return "".join([*shape, quote, value, quote[-1:], pick(["", ")", '"', ",", " "])])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(assignment_lines(), st.sampled_from(SPACES + NAME_WORDS)), max_size=6))
def test_generic_at_keyword_checks_never_lose_a_candidate(pieces: list[str]) -> None:
    # `at_keyword` is a necessary condition of its pattern: dropping the hits where it fails
    # leaves exactly the candidates the pattern finds around every hit. (A name spelled with a
    # letter a caseless regex folds onto ASCII, `ſecret`, is no keyword stage 1 finds: such a
    # match used to turn up only inside another keyword's window, and no longer does.)
    data = "".join(pieces).encode()
    checked, unchecked = builtin(), without_generic_checks()
    hits = RegexEngine(unchecked).scan(data).hits
    assert extract(data, hits, checked).candidates == extract(data, hits, unchecked).candidates


# Rules whose check is not assignment-shaped (those have their own test above): provider
# prefixes, `basic`, `bearer`, URL credentials, netrc.
_CHECKED_RULES = [
    rule
    for rule in load_rules()
    if rule.at_keyword and rule.id not in {"generic.secret-assignment", "generic.keyed-value"}
]
# What edits of an example put in: its own characters, characters just outside or at the edge
# of the rules' classes, spaces of several widths, letters a caseless regex folds onto ASCII.
_EDIT_TEXT = [" ", "  ", "\t", "\u00a0", "\u3000", "\n", "A", "a", "0", "%", "+", "/", "=", "-",
              "_", ".", "~", ":", "@", "ſ", "\u212a", '"', "'", "é"]  # fmt: skip


@functools.cache
def _with_and_without_check(
    rule_id: str,
) -> tuple[Ruleset, Ruleset, tuple[RegexEngine, HyperscanEngine]]:
    rule = next(rule for rule in _CHECKED_RULES if rule.id == rule_id)
    checked = Ruleset([rule])
    engines = (RegexEngine(checked), HyperscanEngine(checked))
    return checked, Ruleset([replace(rule, at_keyword=None)]), engines


@st.composite
def edited_examples(draw: st.DrawFn) -> tuple[Rule, str]:
    rule = draw(st.sampled_from(_CHECKED_RULES))
    text = draw(st.sampled_from(rule.examples))
    for _ in range(draw(st.integers(0, 4))):
        # Anywhere, or within the reach of a check: just before or after a keyword.
        opening = max(text.lower().find(keyword.lower()) for keyword in rule.keywords)
        near = draw(st.integers(max(0, opening - 40), max(0, opening) + 40))
        at = min(len(text), draw(st.sampled_from([near, draw(st.integers(0, len(text)))])))
        edit = draw(st.sampled_from(["insert", "delete", "swapcase", "repeat"]))
        if edit == "insert":
            piece = draw(st.sampled_from(_EDIT_TEXT)) * draw(st.integers(1, 3))
            text = text[:at] + piece + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        elif edit == "swapcase":
            end = at + draw(st.integers(1, 12))
            text = text[:at] + text[at:end].swapcase() + text[end:]
        else:
            text = text[:at] + text[at : at + 40] + text[at:]
    return rule, text


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_examples())
def test_at_keyword_checks_never_lose_a_candidate_of_an_edited_example(
    edited: tuple[Rule, str],
) -> None:
    # Each check is a necessary condition of its pattern at the keyword: on the rule's own
    # examples, edited at the edges its classes and repeats draw, dropping the hits where it
    # fails leaves exactly the candidates the pattern finds around every hit.
    rule, text = edited
    data = text.encode()
    checked, unchecked, engines = _with_and_without_check(rule.id)
    hits = RegexEngine(unchecked).scan(data).hits
    assert extract(data, hits, checked).candidates == extract(data, hits, unchecked).candidates
    for engine in engines:
        gated = engine.scan(data).hits
        assert extract(data, gated, checked).candidates == extract(data, hits, checked).candidates


def test_at_keyword_checks_keep_every_candidate_with_any_one_character_edit_near_the_keyword() -> (
    None
):
    # Every single insertion or deletion near the keyword in every example: a check that
    # forgets a character its pattern's class accepts (a caseless class takes `ſ` and the
    # Kelvin sign) loses the candidate an edit there leaves.
    for rule in _CHECKED_RULES:
        checked, unchecked = Ruleset([rule]), Ruleset([replace(rule, at_keyword=None)])
        for example in rule.examples:
            opening = max(example.lower().find(keyword.lower()) for keyword in rule.keywords)
            for at in range(max(0, opening - 4), min(len(example), opening + 40)):
                edits = [example[:at] + example[at + 1 :]]
                edits += [example[:at] + piece + example[at:] for piece in _EDIT_TEXT]
                for text in edits:
                    data = text.encode()
                    hits = RegexEngine(unchecked).scan(data).hits
                    expected = extract(data, hits, unchecked).candidates
                    assert extract(data, hits, checked).candidates == expected, (rule.id, text)


def _windows_one_per_hit(
    data: bytes, spans: list[tuple[int, int]], rule: Rule
) -> list[tuple[int, int]]:
    """_merged_windows as it was before hits inside a window stopped costing a window each."""
    windows: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        low, high = _window(data, start, end, rule)
        if windows and low <= windows[-1][1] and high - windows[-1][0] <= MAX_WINDOW:
            windows[-1] = (windows[-1][0], max(windows[-1][1], high))
        else:
            windows.append((low, high))
    return windows


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"ab", b"\n", b"x" * 300, b"y" * 1100, b"kw"]), max_size=40),
    st.lists(st.tuples(st.integers(0, 20_000), st.integers(1, 40)), max_size=30),
    st.booleans(),
)
def test_hits_inside_a_window_leave_the_windows_unchanged(
    pieces: list[bytes], hits: list[tuple[int, int]], multiline: bool
) -> None:
    data = b"".join(pieces)
    spans = [(start, min(start + length, len(data))) for start, length in hits if start < len(data)]
    rule = replace(builtin().rules[0], multiline=multiline)
    assert _merged_windows(data, spans, rule) == _windows_one_per_hit(data, spans, rule)


def _position_from_the_start(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    prefix = data[data.rfind(b"\n", 0, offset) + 1 : offset]
    return line, len(prefix.decode("utf-8", "surrogateescape")) + 1


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"ab", b"\n", b"\xc3\xa9", b"x" * 50, b"\n\n"]), max_size=60),
    st.lists(st.integers(0, 10_000), max_size=30),
)
def test_positions_counted_from_the_nearest_known_offset_are_exact(
    pieces: list[bytes], offsets: list[int]
) -> None:
    # Findings are placed in any order (rule by rule); each answer must be what counting from
    # the first byte gives.
    data = b"".join(pieces)
    positions = _Positions(data)
    for offset in (o % (len(data) + 1) for o in offsets):
        assert positions.of(offset) == _position_from_the_start(data, offset)


@st.composite
def _keyword_texts(draw: st.DrawFn) -> tuple[bytes, int, int]:
    """Text dense with the hidden keywords (in any case, overlapping, cut short) and a range."""
    keywords = builtin().quote_escaped_keywords
    pieces = st.one_of(
        st.sampled_from(keywords).map(lambda k: k.upper() if draw(st.booleans()) else k),
        st.sampled_from(keywords).map(lambda k: k[: max(1, len(k) - 1)]),
        st.binary(max_size=4),
        st.sampled_from([b'\\"', b"\\n", b" ", b"A"]),
    )
    data = b"".join(draw(st.lists(pieces, max_size=30)))
    start = draw(st.integers(0, len(data)))
    end = draw(st.integers(start, len(data)))
    return data, start, end


@given(_keyword_texts())
@settings(max_examples=1500, deadline=None)
def test_hidden_keywords_agree_with_one_search_per_question(case: tuple[bytes, int, int]) -> None:
    # The question the escape decoder asks, as one caseless search of all the keywords
    # bounded to the range: a keyword wholly inside it, overlapping others or not.
    # Each engine finds where the keywords are its own way (hyperscan with a database of them).
    data, start, end = case
    keywords = builtin().quote_escaped_keywords
    search = re.compile(b"|".join(re.escape(k) for k in keywords), re.IGNORECASE)
    expected = search.search(data, start, end) is not None
    for engine in _hidden_keyword_engines():
        assert HiddenKeywords(engine.escaped_keyword_spans(data)).within(start, end) == expected


@functools.cache
def _hidden_keyword_engines() -> tuple[RegexEngine, HyperscanEngine]:
    return RegexEngine(builtin()), HyperscanEngine(builtin())


def _message_pieces() -> st.SearchStrategy[bytes]:
    keywords = builtin().keywords
    return st.one_of(
        st.sampled_from(keywords),
        st.sampled_from(
            [
                b"Fix the parser",
                b"\n",
                b" ",
                b"Secret",
                b'\\"quoted\\"',
                b"%2Fdocs",
                b"machine ",
                b"https://user:",
                b"@example.org",
                b"AKIA",
                b"IOSFODNN7QWERTY23",
                b"bearer ",
                base64.b64encode(b"a line of text, long enough"),
                b"".join([b"6", b"1"] * 20),
            ]
        ),
        st.binary(max_size=12),
    )


@st.composite
def _messages(draw: st.DrawFn) -> list[bytes]:
    pieces = _message_pieces()
    return draw(st.lists(st.lists(pieces, max_size=6).map(b"".join), max_size=12))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_messages())
@hypothesis.example([b"Secret here", b"and Secret again", b"%2F", b"%2F twice"])
@hypothesis.example([b"ends in a run " + base64.b64encode(b"a line of text, long enough"), b""])
def test_quiet_parts_never_call_a_part_with_anything_in_it_quiet(parts: list[bytes]) -> None:
    # Messages are scanned in one joined pass; a part called quiet is never scanned alone, so
    # it must hold nothing stage 1 finds on its own. Presence markers report one match per
    # pass, which is why a second "Secret" or "%2F" is the case to get right.
    engine = scanners()[1].engine
    quiet = engine.quiet_parts(parts)
    assert quiet is not None and len(quiet) == len(parts)
    for part, nothing in zip(parts, quiet, strict=True):
        alone = engine.scan(part)
        if nothing:
            assert not alone.hits and not alone.markers and not alone.encoded_ends


def test_quiet_parts_tell_plain_messages_apart() -> None:
    engine = scanners()[1].engine
    parts = [b"Fix the parser", b"Bump version", b"Merge branch 'main'", b"Secret handling"]
    assert engine.quiet_parts(parts) == [True, True, True, False]
    assert scanners()[0].engine.quiet_parts(parts) is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_messages())
def test_scanning_messages_together_finds_what_scanning_each_does(parts: list[bytes]) -> None:
    scanner = scanners()[1]
    blobs = [
        Blob(blob_id(part), part, Provenance("(commit message)", commit="0" * 40)) for part in parts
    ]
    assert scanner.scan_all(blobs) == [scanner.scan(blob) for blob in blobs]


@pytest.mark.parametrize(
    ("pattern", "reads_edges"),
    [
        (rb"://[^@/\s]{0,64}:[^@/\s]{3,128}@", False),
        (rb"price \$5", False),
        (rb"(?m)^password", True),
        (rb"token$", True),
        (rb"\Atoken", True),
        (rb"[a^]", True),  # a `^` in a class: taken as an anchor, which only costs speed
    ],
)
def test_gates_that_read_the_data_s_edges_keep_messages_apart(
    pattern: bytes, reads_edges: bool
) -> None:
    # Joined by line feeds, parts lose their own starts and ends: a gate that reads them must
    # see each part alone, so the engine does not join parts at all.
    from keyscan.engine.hyperscan_engine import _reads_edges

    assert _reads_edges(pattern) is reads_edges
