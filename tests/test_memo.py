"""The scanner's memos (keyscan.memo): what stage 2 and the filters answered for bytes seen
before is reused, and a scan answers exactly as a scanner that never saw those bytes would."""

from __future__ import annotations

import functools

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyscan.blobscan import BlobResult, BlobScanner
from keyscan.engine.extract import extract
from keyscan.engine.hyperscan_engine import HyperscanEngine
from keyscan.fingerprint import blob_id
from keyscan.memo import BoundedMemo
from keyscan.model import Blob, Provenance
from keyscan.options import GlobalAllowlist, ScanOptions
from keyscan.rules.load import load_rules
from keyscan.rules.ruleset import Ruleset
from tests.test_engine import MARKER_TEXTS, all_examples, keyword_fragments

# Options under which a verdict depends on the path: an allowlisted directory, and every
# dropped candidate listed with its reason.
OPTIONS = ScanOptions(explain=True, allowlist=GlobalAllowlist(paths=(regex.compile(r"^vendor/"),)))
PATHS = ["src/settings.py", "vendor/settings.py", "tests/test_db.py", "poetry.lock", "README.md"]
# A credential URL line, its password put together at run time: keyscan scans its own sources.
URL_PASSWORD = "".join(("Qm7v", "X2pL", "9sKw", "4Rt8"))
CREDENTIAL_LINE = f"db = 'mysql://app:{URL_PASSWORD}@db.internal:3306/app'\n"


@functools.lru_cache(maxsize=1)
def builtin() -> Ruleset:
    return Ruleset(load_rules())


def fresh_scanner() -> BlobScanner:
    ruleset = builtin()
    return BlobScanner(ruleset, HyperscanEngine(ruleset), OPTIONS)


def scan(scanner: BlobScanner, data: bytes, path: str) -> BlobResult:
    return scanner.scan(Blob(blob_id(data), data, Provenance(path)))


def outcome(result: BlobResult) -> tuple[object, ...]:
    return (
        result.findings,
        result.spans,
        result.dropped,
        result.skips,
        result.path_dependent,
        result.multiline_hits,
        result.markers,
        result.decoded_bytes,
    )


# Lines that come back from document to document, as the lines around edits do in a history.
line_pool = st.sampled_from(
    [
        *(f"{example}\n" for example in all_examples()),
        *(f"{keyword}: 'x9Fq2LmZ8vTr4Kw1'\n" for keyword in keyword_fragments()),
        *(f"{text}\n" for text in MARKER_TEXTS),
        "DATABASE_URL = 'postgresql://scott:tiger@localhost/test'\n",
        CREDENTIAL_LINE,
        "password = os.environ['DB_PASSWORD']\n",
        "# keyscan:ignore\n",
        "    pass\n",
        "\n",
    ]
)
documents = st.lists(line_pool, min_size=1, max_size=12).map(lambda lines: "".join(lines).encode())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(documents, st.sampled_from(PATHS)), min_size=2, max_size=8))
def test_a_scanner_that_has_seen_other_documents_answers_as_a_fresh_one(
    scans: list[tuple[bytes, str]],
) -> None:
    warm = fresh_scanner()
    for data, path in scans:
        assert outcome(scan(warm, data, path)) == outcome(scan(fresh_scanner(), data, path))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_windows_answered_from_the_memo_give_what_their_rules_find_in_them(data: bytes) -> None:
    # Several rules' windows are often the same line: each rule's answer is its own.
    ruleset = builtin()
    hits = HyperscanEngine(ruleset).scan(data).hits
    memo: BoundedMemo[tuple[tuple[int, int, str], ...]] = BoundedMemo(1 << 20)
    extract(data, hits, ruleset, memo=memo)
    assert extract(data, hits, ruleset, memo=memo) == extract(data, hits, ruleset)


def test_a_line_dropped_for_its_path_is_still_reported_at_another_path() -> None:
    scanner = fresh_scanner()
    line = CREDENTIAL_LINE.encode()
    vendored = scan(scanner, line, "vendor/settings.py")
    assert not vendored.findings
    assert [d.filter for d in vendored.dropped] == ["global-allowlist"]
    assert vendored.path_dependent
    reported = scan(scanner, line, "src/settings.py")
    assert [f.rule_id for f in reported.findings] == ["generic.url-credentials"]


def test_a_window_seen_before_gives_its_candidates_at_their_new_offsets() -> None:
    ruleset = builtin()
    engine = HyperscanEngine(ruleset)
    line = CREDENTIAL_LINE.encode()
    memo: BoundedMemo[tuple[tuple[int, int, str], ...]] = BoundedMemo(1 << 20)
    first = extract(line, engine.scan(line).hits, ruleset, memo=memo)
    remembered = len(memo)
    assert remembered and first.candidates
    moved = b"# a comment line first\n" + line
    second = extract(moved, engine.scan(moved).hits, ruleset, memo=memo)
    # Nothing new was worked out: the same window's answer was reused, moved along.
    assert len(memo) == remembered
    shift = len(moved) - len(line)
    assert [
        (c.rule_index, c.start - shift, c.end - shift, c.secret) for c in second.candidates
    ] == [(c.rule_index, c.start, c.end, c.secret) for c in first.candidates]
    for candidate in second.candidates:
        assert moved[candidate.start : candidate.end].decode() == candidate.secret


def test_the_memo_empties_once_its_keys_pass_the_budget_and_keeps_nothing_larger() -> None:
    memo: BoundedMemo[int] = BoundedMemo(10)
    memo.put(b"abcd", 1, 4)
    memo.put(b"efgh", 2, 4)
    assert (memo.get(b"abcd"), memo.get(b"efgh"), len(memo)) == (1, 2, 2)
    memo.put(b"ijkl", 3, 4)
    assert (memo.get(b"abcd"), memo.get(b"ijkl"), len(memo)) == (None, 3, 1)
    memo.put(b"x" * 11, 4, 11)
    assert (memo.get(b"x" * 11), len(memo)) == (None, 1)
