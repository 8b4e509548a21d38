"""Edit scans: a version scanned as an edit of a clean earlier one reports exactly what a full
scan reports, and scans only a little of the file when the edit is small."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyscan.blobscan import BlobResult, BlobScanner
from keyscan.edits import (
    _JOIN_GAP,
    EARLIER_VERSIONS,
    MIN_EDIT_SIZE,
    CleanVersion,
    EditScanner,
    changed_regions,
    clean_version,
    matched_segments,
    python_changed_regions,
    python_matched_segments,
)
from keyscan.engine.regex_engine import RegexEngine
from keyscan.fingerprint import blob_id
from keyscan.model import Blob, Provenance
from keyscan.options import ScanOptions
from keyscan.rules.load import load_rules
from keyscan.rules.ruleset import Ruleset
from keyscan.workers import build_engine
from tests.conftest import commit, run_keyscan
from tests.fakes import demo_rule, github_pat, random_chars, rng

PATH = "src/settings.py"


@functools.lru_cache(maxsize=1)
def scanner() -> BlobScanner:
    # The engine history audits use (hyperscan when it can be imported).
    ruleset = Ruleset(load_rules())
    return BlobScanner(ruleset, build_engine(ruleset, "auto", None), ScanOptions())


def blob(text: str, path: str = PATH) -> Blob:
    data = text.encode()
    return Blob(blob_id(data), data, Provenance(path))


def full(text: str, path: str = PATH) -> BlobResult:
    return scanner().scan(blob(text, path))


def earlier(text: str, path: str = PATH) -> CleanVersion:
    version = clean_version(blob(text, path), full(text, path))
    assert version is not None, "the earlier version must be clean"
    return version


def as_edit(old: str, new: str, path: str = PATH) -> tuple[BlobResult, CleanVersion | None]:
    return EditScanner(scanner()).scan(blob(new, path), [earlier(old, path)])


def filler(lines: int, tag: str = "") -> str:
    return "".join(f"value_{tag}{n} = compute({n}, 'plain text here')\n" for n in range(lines))


def key_body(seed: int, lines: int) -> str:
    r = rng(seed)
    return "".join(
        base64.b64encode(bytes(r.randrange(256) for _ in range(48))).decode() + "\n"
        for _ in range(lines)
    )


def test_a_small_edit_of_a_large_clean_file_scans_only_around_the_edit() -> None:
    old = filler(400)
    new = old.replace("value_200 = compute(200,", "value_200 = recompute(200,")
    segments = matched_segments(old.encode(), new.encode())
    regions = changed_regions(new.encode(), segments, scanner().ruleset.edit_reach or 0)
    assert len(regions) == 1
    assert sum(end - start for start, end in regions) < len(new) // 20
    result, version = as_edit(old, new)
    assert result.findings == [] and version is not None and version.data == new.encode()


def test_a_secret_added_in_the_middle_of_a_large_file_is_found_by_the_edit_scan() -> None:
    token = github_pat(rng(1))
    old = filler(300)
    new = old.replace("value_150 = compute", f'TOKEN = "{token}"\nvalue_150 = compute')
    result, version = as_edit(old, new)
    assert [f.secret for f in result.findings] == [token]
    assert result.findings == full(new).findings
    assert version is None  # a version with a finding is no earlier version


def test_deleting_the_ignore_comment_above_a_secret_brings_the_finding_back() -> None:
    token = github_pat(rng(2))
    head, tail = filler(200, "a"), filler(200, "b")
    old = f'{head}# keyscan:allow-next-line\nTOKEN = "{token}"\n{tail}'
    new = f'{head}TOKEN = "{token}"\n{tail}'
    assert full(old).findings == []
    result, _ = as_edit(old, new)
    assert [f.secret for f in result.findings] == [token]
    assert result.findings == full(new).findings


def test_closing_a_private_key_block_far_below_its_first_line_is_found() -> None:
    # The edit is the END line, kilobytes under the BEGIN keyword that a private-key rule's
    # window starts from: the lines around the edit alone show nothing.
    body = key_body(3, 80)
    head, tail = filler(200, "a"), filler(200, "b")
    old = f"{head}-----BEGIN RSA PRIVATE KEY-----\n{body}{tail}"
    new = f"{head}-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\n{tail}"
    assert len(body) > 4 * 1024
    result, _ = as_edit(old, new)
    assert [f.rule_id for f in result.findings] == ["private-key.pem"]
    assert result.findings == full(new).findings


def test_a_key_header_on_the_last_line_is_carried_to_the_next_version() -> None:
    # The next version's edit scan checks every multi-line keyword's block, so an edit scan
    # must hand on all of them, the one at the very end included.
    old = filler(300) + "-----BEGIN RSA PRIVATE KEY-----\n"
    new = old.replace("value_10 = compute", "value_10 = recompute")
    result, version = as_edit(old, new)
    assert result.findings == [] and version is not None
    assert list(version.multiline_hits) == [new.index("-----BEGIN")]


def test_a_netrc_password_added_lines_below_its_machine_line_is_found() -> None:
    # The netrc rule's window runs from `machine` over long login and account lines to
    # `password`; the edit adds only the password line, whose own context (the line before
    # and the ruleset's reach after) does not reach back to the machine line.
    password = random_chars(rng(9), 16) + "7"
    head, tail = filler(200, "a"), filler(200, "b")
    user = random_chars(rng(10), 128)
    blank = "\n" + " " * 62 + "\n"  # the most blank space the rule allows between fields
    entry = f"machine build.corp.net{blank}login {user}{blank}account {user}{blank}"
    assert len(entry) > 2 * (scanner().ruleset.edit_reach or 0)
    old, new = f"{head}{entry}{tail}", f"{head}{entry}password {password}\n{tail}"
    path = "deploy/.netrc"
    result, _ = as_edit(old, new, path)
    assert [f.rule_id for f in result.findings] == ["netrc.password"]
    assert result.findings == full(new, path).findings


class _CountingScanner(BlobScanner):
    """The production scanner, keeping the size of every blob it is asked to scan."""

    def __init__(self) -> None:
        base = scanner()
        super().__init__(base.ruleset, build_engine(base.ruleset, "auto", None), base.options)
        self.sizes: list[int] = []

    def scan(self, blob: Blob, budget: int | None = None) -> BlobResult:
        self.sizes.append(len(blob.data))
        return super().scan(blob, budget)


def test_an_edit_near_a_machine_word_without_any_password_is_an_edit_scan() -> None:
    # "machine" starts netrc's 16 KB window, but the rule requires "password" in it: with
    # none near, an edit close by needs no full scan.
    old = filler(100, "a") + "# the build machine keeps its cache\n" + filler(300, "b")
    new = old.replace("value_b5 = compute", "value_b5 = recompute")
    counting = _CountingScanner()
    result, version = EditScanner(counting).scan(blob(new), [earlier(old)])
    assert result.findings == [] and version is not None
    assert counting.sizes and max(counting.sizes) < len(new) // 10
    assert list(version.multiline_hits) == full(new).multiline_hits == [new.index("machine k")]


def test_a_version_is_an_edit_of_the_closest_earlier_version_not_only_the_last() -> None:
    # History lists the versions of a file as it walks commits, so two branches that both edit
    # it alternate: the version before the one scanned may come from the other branch.
    ours, theirs = filler(300, "a"), filler(300, "b")
    ours_next = ours.replace("value_a150 = compute", "value_a150 = recompute")
    counting = _CountingScanner()
    result, version = EditScanner(counting).scan(blob(ours_next), [earlier(theirs), earlier(ours)])
    assert result.findings == [] and version is not None
    assert counting.sizes and max(counting.sizes) < len(ours_next) // 10
    # Against the other branch's version alone it is scanned whole.
    counting.sizes.clear()
    EditScanner(counting).scan(blob(ours_next), [earlier(theirs)])
    assert counting.sizes == [len(ours_next)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.integers(1, EARLIER_VERSIONS), st.integers(0, 400))
def test_the_closest_version_is_the_one_an_unbounded_comparison_picks(
    seed: int, versions: int, edits: int
) -> None:
    # The comparisons give up early once they cannot win or cannot be an edit: the choice
    # must be exactly the one comparing every version in full would make.
    from keyscan.edits import _CLOSE_ENOUGH, _MAX_SHARE, _closest

    r = rng(seed)
    base = [f"row {i} = {r.randrange(10**6)}\n" for i in range(r.randrange(50, 400))]
    olds = []
    for _ in range(versions):
        lines = list(base)
        for _ in range(r.randrange(edits + 1)):
            lines[r.randrange(len(lines))] = f"edited {r.randrange(10**6)}\n"
        olds.append("".join(lines).encode())
    lines = list(base)
    for _ in range(r.randrange(edits // 4 + 1)):
        lines.insert(r.randrange(len(lines)), f"added {r.randrange(10**6)}\n")
    new = "".join(lines).encode()
    expected = None
    # Nearest in size first, the most recent first among equals.
    for old in sorted(olds, key=lambda old: abs(len(old) - len(new))):
        segments = python_matched_segments(old, new)
        changed = len(new) + 2 - sum(end - start for start, end, _ in segments)
        if expected is None or changed < expected[0]:
            expected = (changed, old, segments)
        if changed * _CLOSE_ENOUGH <= len(new):
            break
    assert expected is not None
    answer = _closest([CleanVersion(old, 0, (), False) for old in olds], new)
    if expected[0] > _MAX_SHARE * len(new):
        assert answer is None
    else:
        assert answer is not None
        assert (answer[0].data, answer[1]) == expected[1:]


def test_an_edit_in_many_places_of_a_large_file_is_still_an_edit_scan() -> None:
    # A rename in forty places spread over 180 KB: the search for unchanged copies follows
    # every one of them instead of giving up and scanning the rest of the file.
    old = filler(4000)
    new = old
    for n in range(0, 4000, 100):
        new = new.replace(f"value_{n} = compute", f"value_{n} = recompute")
    counting = _CountingScanner()
    result, version = EditScanner(counting).scan(blob(new), [earlier(old)])
    assert result.findings == [] and version is not None
    assert sum(counting.sizes) < len(new) // 6


QUOTED_PASSWORD_RULE = """
rules:
  - id: test.quoted-db-password
    name: Quoted database password
    description: A rule that only matches a quoted value, as the Kubernetes decoder writes it.
    severity: high
    keywords: [DB_PASSWORD]
    pattern: 'DB_PASSWORD: "(?P<secret>[^"]{12,})"'
"""


def test_turning_a_config_map_into_a_secret_decodes_its_values(tmp_path: Path) -> None:
    # The Kubernetes decoder reads a value together with the manifest's `kind:` line, which
    # here is kilobytes above the value. The rule sees only the decoded form, so the
    # ConfigMap is clean and the Secret is not.
    rule_file = tmp_path / "rule.yaml"
    rule_file.write_text(QUOTED_PASSWORD_RULE)
    ruleset = Ruleset(load_rules([rule_file], include_builtin=False))
    only_rule = BlobScanner(ruleset, RegexEngine(ruleset), ScanOptions())
    password = random_chars(rng(4), 20)
    value = base64.b64encode(password.encode()).decode()
    labels = "".join(f"    label-{n}: value-{n}\n" for n in range(400))
    manifest = (
        "apiVersion: v1\nkind: {kind}\nmetadata:\n  name: app\n  labels:\n"
        + labels
        + f"data:\n  DB_PASSWORD: {value}\n"
    )
    old, new = manifest.format(kind="ConfigMap"), manifest.format(kind="Secret")
    path = "deploy/app.yaml"
    version = clean_version(blob(old, path), only_rule.scan(blob(old, path)))
    assert version is not None
    result, _ = EditScanner(only_rule).scan(blob(new, path), [version])
    assert [f.secret for f in result.findings] == [password]
    assert result.findings == only_rule.scan(blob(new, path)).findings


def test_a_version_with_a_finding_or_a_binary_one_is_never_an_earlier_version() -> None:
    token = github_pat(rng(5))
    with_secret = filler(300) + f'TOKEN = "{token}"\n'
    assert clean_version(blob(with_secret), full(with_secret)) is None
    binary = Blob("b" * 40, b"\x00\x01" + filler(300).encode(), Provenance(PATH), binary=True)
    assert clean_version(binary, scanner().scan(binary)) is None


def test_explanations_always_come_from_full_scans() -> None:
    ruleset = scanner().ruleset
    explaining = BlobScanner(ruleset, RegexEngine(ruleset), ScanOptions(explain=True))
    old = filler(400) + 'password = "changeme123"\n'
    new = old.replace("value_7 = compute", "value_7 = recompute")
    version = clean_version(blob(old), explaining.scan(blob(old)))
    assert version is not None
    result, _ = EditScanner(explaining).scan(blob(new), [version])
    assert result.dropped and result.dropped == explaining.scan(blob(new)).dropped


# Lines an edit may add or remove: secrets (built at test time), ignore comments, keywords of
# multi-line rules, Kubernetes markers, encodings, long lines and plain code.
def _line_pool() -> list[str]:
    r = rng(6)
    token = github_pat(r)
    secret = base64.b64encode(f"password={random_chars(r, 18)}#9".encode()).decode()
    return [
        f'TOKEN = "{token}"',
        "# keyscan:allow-next-line",
        f'GITHUB = "{token}"  # keyscan:allow',
        f"blob = '{secret}'",
        f"db_password = '{random_chars(r, 14)}#2x'",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----",
        *key_body(7, 3).splitlines(),
        "machine example.net login deploy",
        f"  password {random_chars(r, 16)}9",
        "kind: Secret",
        "data:",
        "  API_TOKEN: " + base64.b64encode(random_chars(r, 24).encode()).decode(),
        'escaped = "\\u0070assword=\\"' + random_chars(r, 16) + '1\\""',
        "url = 'https://user:" + random_chars(r, 12) + "3@db.example.net/x'",
        "x" * 3000,
        "",
        "def handler(event):",
        "    return event",
    ]


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, str]:
    pool = _line_pool()
    base = filler(draw(st.integers(20, 400)), "q").splitlines()
    lines = list(base)
    for _ in range(draw(st.integers(0, 4))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(pool)))
    old = lines[:]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "byte"]))
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        if kind == "insert" or not lines:
            lines.insert(at, draw(st.sampled_from(pool)))
        elif kind == "delete":
            del lines[at : at + draw(st.integers(1, 3))]
        elif kind == "replace":
            lines[at] = draw(st.sampled_from(pool))
        elif lines[at]:
            where = draw(st.integers(0, len(lines[at]) - 1))
            lines[at] = (
                lines[at][:where]
                + draw(st.sampled_from(["!", "\n", "", "=", "s"]))
                + (lines[at][where + 1 :])
            )
    ending = draw(st.sampled_from(["\n", ""]))
    return "\n".join(old) + ending, "\n".join(lines) + ending


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits())
def test_an_edit_scan_reports_exactly_what_a_full_scan_reports(pair: tuple[str, str]) -> None:
    old, new = pair
    old_version = clean_version(blob(old), full(old))
    earlier_versions = [] if old_version is None else [old_version]
    result, version = EditScanner(scanner()).scan(blob(new), earlier_versions)
    expected = full(new)
    assert result.findings == expected.findings
    assert result.skips == expected.skips
    assert (version is None) == (clean_version(blob(new), expected) is None)
    if version is not None:
        # What the next edit scan relies on: the multi-line keywords exactly, upper bounds of
        # the decoded bytes and of whether "Secret" occurs.
        assert version.data == new.encode()
        assert list(version.multiline_hits) == expected.multiline_hits
        assert version.decoded_bytes >= expected.decoded_bytes
        assert version.mentions_secret or "kubernetes" not in expected.markers


def _compiled() -> ModuleType:
    try:
        from keyscan import _segments
    except ImportError:
        pytest.skip("keyscan._segments was not compiled (no C compiler at install time)")
    return _segments


def _agree(old: bytes, new: bytes, reach: int) -> None:
    compiled = _compiled()
    segments = compiled.matched_segments(old, new)
    assert segments is not None
    assert segments == python_matched_segments(old, new)
    regions = compiled.changed_regions(new, segments, reach, _JOIN_GAP)
    assert regions == python_changed_regions(new, segments, reach)
    # Given a bound, both give up exactly when more bytes than it lie outside the copies, and
    # otherwise find the same copies as without one.
    changed = len(new) + 2 - sum(end - start for start, end, _ in segments)
    for bound in {0, 1, max(0, changed - 1), changed, len(new) // 3, len(new)}:
        bounded = compiled.matched_segments(old, new, bound)
        assert bounded == python_matched_segments(old, new, bound)
        assert bounded == (None if changed > bound else segments)


_PIECES = ["a\n", "b\n", "ab\n", "\n", "abc", "c\nd\n", "x" * 70 + "\n", "y" * 20 + "\n"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=80),
    st.lists(st.sampled_from(_PIECES), max_size=80),
)
def test_the_compiled_search_finds_the_same_copies_and_regions_as_the_python_one(
    old_parts: list[str], new_parts: list[str]
) -> None:
    old, new = "".join(old_parts).encode(), "".join(new_parts).encode()
    for reach in (0, 1, 5, 200):
        _agree(old, new, reach)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 2**32),
    st.integers(0, 300),
    st.lists(
        st.tuples(
            st.integers(0, 300),
            st.sampled_from([1, 200, _JOIN_GAP - 1, _JOIN_GAP, _JOIN_GAP + 1, 2 * _JOIN_GAP]),
        ),
        max_size=12,
    ),
    st.sampled_from([0, 1, 163]),
)
def test_the_compiled_regions_agree_around_copies_at_every_distance(
    seed: int, head: int, copies: list[tuple[int, int]], reach: int
) -> None:
    # Copies made by hand, some as long as, just under and just over the distance at which
    # the gaps on either side are taken together.
    r = rng(seed)
    new = "".join("x" * r.randrange(90) + "\n" for _ in range(1500)).encode()
    segments = [(-1, min(head, len(new)), -1)]
    for gap, length in copies:
        start = segments[-1][1] + gap
        if start + length > len(new):
            break
        segments.append((start, start + length, 0))
    stop = min(len(new), segments[-1][1] + r.randrange(50))
    segments.append((stop, len(new) + 1, 0))
    expected = python_changed_regions(new, segments, reach)
    assert _compiled().changed_regions(new, segments, reach, _JOIN_GAP) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 2**32),
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 40_000), st.integers(0, 3)),
        min_size=1,
        max_size=12,
    ),
)
def test_the_compiled_search_agrees_on_large_files_edited_in_many_places(
    seed: int, edits: list[tuple[float, int, int]]
) -> None:
    # Files of tens of KB with repeated lines, edited by inserting, deleting and replacing
    # runs of up to 40 KB: the anchors' search windows (16 KB), the growing jumps where no
    # anchor is found, and the step and byte allowances all come into play.
    r = rng(seed)
    lines = [
        f"line {r.randrange(300)} = {'v' * r.randrange(90)}\n" for _ in range(r.randrange(2000))
    ]
    old = "".join(lines).encode()
    new = bytearray(old)
    for where, size, kind in edits:
        at = int(where * len(new))
        filler = bytes(r.choice(b"abc \n=0123456789") for _ in range(size))
        if kind == 0:
            new[at:at] = filler
        elif kind == 1:
            del new[at : at + size]
        else:
            new[at : at + size] = filler[: size // 2]
    _agree(old, bytes(new), 163)
    _agree(bytes(new), old, 0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["a\n", "b\n", "ab\n", "\n", "abc", "c\nd\n"]), max_size=60),
    st.lists(st.sampled_from(["a\n", "b\n", "ab\n", "\n", "abc", "c\nd\n"]), max_size=60),
)
def test_unchanged_copies_are_copies_and_regions_are_whole_lines(
    old_parts: list[str], new_parts: list[str]
) -> None:
    old, new = "".join(old_parts).encode(), "".join(new_parts).encode()
    segments = matched_segments(old, new)
    previous_end = -1
    for start, end, old_start in segments[1:-1]:
        assert previous_end <= start < end <= len(new)
        assert new[start:end] == old[old_start : old_start + end - start]
        previous_end = end
    head_end = segments[0][1]
    assert new[:head_end] == old[:head_end]
    tail_start, _, old_tail = segments[-1]
    assert new[tail_start:] == old[old_tail:] and len(new) - tail_start == len(old) - old_tail
    regions = changed_regions(new, segments, 5)
    for (start, end), following in zip(regions, [*regions[1:], None], strict=True):
        assert start == 0 or new[start - 1 : start] == b"\n"
        assert end == len(new) or new[end - 1 : end] == b"\n"
        assert following is None or end < following[0]


def test_the_history_audit_reports_the_same_with_and_without_edit_scans(
    make_repo: Callable[[str], Path],
) -> None:
    repo = make_repo("repo")
    token = github_pat(rng(8))
    lines = filler(600).splitlines(keepends=True)
    assert len("".join(lines)) > MIN_EDIT_SIZE
    commit(repo, "first", **{"settings.py": "".join(lines)})
    for n in (100, 200, 300):
        lines[n] = f"value_{n} = compute({n}, 'changed')\n"
        commit(repo, f"edit {n}", **{"settings.py": "".join(lines)})
    lines.insert(400, f'TOKEN = "{token}"\n')
    introduced = commit(repo, "add a token", **{"settings.py": "".join(lines)})
    lines[500] = "value_500 = 0\n"
    commit(repo, "edit 500", **{"settings.py": "".join(lines)})
    del lines[400]
    commit(repo, "remove the token", **{"settings.py": "".join(lines)})
    reports = []
    for extra in ([], ["--whole-versions"]):
        done = run_keyscan("--history", str(repo), "--format", "json", "--no-cache", *extra)
        assert done.returncode == 1, done.stderr
        reports.append(json.loads(done.stdout)["findings"])
    assert reports[0] == reports[1]
    (finding,) = reports[0]
    assert finding["commit"] == introduced and finding["line"] == 401
    assert finding["commit_count"] == 2 and finding["at_head"] is False


def test_a_check_that_stops_at_the_line_end_does_not_widen_the_edit_reach() -> None:
    # Edit scans rescan this far past each changed line: a check that cannot match a line break
    # reads nothing past its own line however wide it may be; one that can, and may run on
    # for 64 KiB, turns edit scans off.
    def reach(check: str) -> int | None:
        return Ruleset([demo_rule("demo.reach", ("kw",), check, r"kw(?P<secret>x)")]).edit_reach

    assert reach(r"kw[^\n]{0,70000}x") == reach(r"kw") == len("kw") + 8
    assert reach(r"kw[^x]{0,100}x") == len("kw") + 100 + 1 + 8
    assert reach(r"kw[\s\S]{0,70000}x") is None


def test_the_compiled_search_refuses_what_it_cannot_read() -> None:
    compiled = _compiled()
    with pytest.raises(TypeError):
        compiled.matched_segments("text", b"bytes")
    with pytest.raises(TypeError):
        compiled.matched_segments(b"text", b"bytes", "a bound")
    with pytest.raises(OverflowError):
        compiled.matched_segments(b"text", b"bytes", 2**70)
    with pytest.raises(ValueError):
        compiled.changed_regions(b"a\n", [(-1, 0, -1), (2, 3, 2)], -1, _JOIN_GAP)
    # Copies that start before the data are read from its start, not from before it.
    assert compiled.changed_regions(b"abc\ndef\n", [(-1, 0, -1), (-5, -2, 0), (8, 9, 8)], 3, 10)
