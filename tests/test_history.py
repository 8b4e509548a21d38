"""`keyscan --history` on real repositories: deleted secrets, branches, messages, stash, cache."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import commit, corrupt_packed_object, git, run_keyscan
from tests.fakes import CUSTOM_RULE, custom_token, github_pat, random_chars, rng


def history(repo: Path, *args: str, incomplete: bool = False) -> tuple[int, dict, str]:
    rules = repo.parent / "custom-rules.yaml"
    rules.write_text(CUSTOM_RULE)
    done = run_keyscan(
        "--history",
        str(repo),
        "--rules",
        str(rules),
        "--enable-rule",
        "test.custom-token",
        "--format",
        "json",
        "--no-progress",
        "--show-secrets",
        *args,
    )
    assert done.returncode in ((2,) if incomplete else (0, 1)), done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def test_deleted_secret_is_found_with_its_introducing_commit(make_repo) -> None:
    repo = make_repo()
    token = custom_token(rng(20))
    commit(repo, "init", **{"README.md": "hello\n"})
    introduced = commit(repo, "add config", **{"config.py": f"KEY = '{token}'\n"})
    commit(repo, "touch", **{"README.md": "hello again\n"})
    git(repo, "rm", "-q", "config.py")
    git(repo, "commit", "-q", "-m", "remove key")
    code, report, _ = history(repo)
    assert code == 1
    [finding] = report["findings"]
    assert finding["secret"] == token
    assert finding["path"] == "config.py" and finding["line"] == 1
    assert finding["commit"] == introduced
    assert finding["author"] == "Test Author"
    assert finding["at_head"] is False
    assert finding["commit_count"] == 2
    assert finding["refs"] == ["main"]


def test_secret_only_on_an_unmerged_branch(make_repo) -> None:
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "a\n"})
    git(repo, "checkout", "-q", "-b", "feature/leak")
    token = custom_token(rng(21))
    commit(repo, "wip", **{"b.txt": f"t={token}\n"})
    git(repo, "checkout", "-q", "main")
    code, report, _ = history(repo)
    assert code == 1
    [finding] = report["findings"]
    assert finding["refs"] == ["feature/leak"]
    assert finding["at_head"] is False


def test_secret_in_commit_message_and_tag_message(make_repo) -> None:
    repo = make_repo()
    in_commit, in_tag = custom_token(rng(22)), custom_token(rng(23))
    commit(repo, "init", **{"README.md": "hello\n"})
    sha = commit(repo, f"deploy with {in_commit}", **{"a.txt": "a\n"})
    commit(repo, "Secret handling: nothing to see", **{"b.txt": "b\n"})
    git(repo, "tag", "-a", "v1", "-m", f"release key {in_tag}")
    code, report, _ = history(repo)
    assert code == 1
    by_secret = {f["secret"]: f for f in report["findings"]}
    assert len(report["findings"]) == 2
    assert by_secret[in_commit]["path"] == "(commit message)"
    assert by_secret[in_commit]["commit"] == sha
    # Messages are scanned together and read without their headers: a finding's author and
    # date are still its commit's.
    assert by_secret[in_commit]["author"] == "Test Author"
    assert by_secret[in_commit]["date"] is not None
    assert by_secret[in_tag]["path"] == "(tag v1 message)"


def test_secret_only_in_the_stash(make_repo) -> None:
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "a\n"})
    token = custom_token(rng(24))
    (repo / "a.txt").write_text(f"a\nk={token}\n")
    git(repo, "stash", "-q")
    (repo / "a.txt").write_text("a\nsecond\n")
    git(repo, "stash", "-q")
    code, report, _ = history(repo)
    assert code == 1
    # Only the reflog reaches the older entry: refs/stash names the newest.
    assert [(f["secret"], f["refs"]) for f in report["findings"]] == [(token, ["stash@{1}"])]


def test_the_stash_reflog_is_read_only_when_there_is_a_stash(make_repo, tmp_path: Path) -> None:
    # One git process fewer on every audit of a repository without a stash, a warm one too.
    # keyscan clears GIT_TRACE from git's environment, so a shim first on PATH logs each call
    # and runs the real git.
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "a\n"})
    cache, shims, log = tmp_path / "cache", tmp_path / "bin", tmp_path / "git-calls.log"
    shims.mkdir()
    real_git = shutil.which("git")
    assert real_git is not None
    (shims / "git").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real_git}" "$@"\n')
    (shims / "git").chmod(0o755)

    def git_calls() -> list[str]:
        log.unlink(missing_ok=True)
        done = run_keyscan(
            "--history", str(repo), "--cache-dir", str(cache), "--no-progress",
            env={"PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return log.read_text().splitlines()

    first, warm = git_calls(), git_calls()
    assert not [call for call in first + warm if " reflog " in f" {call} "]
    assert len(warm) < len(first)
    (repo / "a.txt").write_text("a\nchanged\n")
    git(repo, "stash", "-q")
    assert [call for call in git_calls() if " reflog " in f" {call} "]


def test_each_content_is_scanned_once_and_counted_per_commit(make_repo) -> None:
    repo = make_repo()
    token = custom_token(rng(25))
    commit(repo, "one", **{"k.env": f"T={token}\n"})
    commit(repo, "two", **{"other.txt": "x\n"})
    commit(repo, "three", **{"other.txt": "y\n"})
    code, report, _ = history(repo)
    assert code == 1
    [finding] = report["findings"]
    assert finding["commit_count"] == 3
    assert finding["at_head"] is True


def test_clean_history_exits_zero(make_repo) -> None:
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "nothing\n"})
    code, report, _ = history(repo)
    assert code == 0 and report["findings"] == []


def test_second_audit_uses_the_cache_and_finds_the_same(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    token = custom_token(rng(26))
    for i in range(5):
        commit(repo, f"c{i}", **{f"f{i}.txt": f"file {i}\n"})
    commit(repo, "leak", **{"leak.txt": f"k={token}\n"})
    cache = tmp_path / "cache"
    first = history(repo, "--cache-dir", str(cache))
    second = history(repo, "--cache-dir", str(cache))
    uncached = history(repo, "--no-cache")
    assert first[1]["findings"] == second[1]["findings"] == uncached[1]["findings"]
    assert second[1]["summary"]["cached_clean"] >= 5
    assert first[1]["summary"]["cached_clean"] == 0
    assert uncached[1]["summary"]["cached_clean"] == 0


def test_not_a_repository_is_a_one_line_error(tmp_path: Path) -> None:
    done = run_keyscan("--history", str(tmp_path), "--no-progress")
    assert done.returncode == 2
    assert "not a git repository" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_missing_object_is_named_and_the_rest_is_audited(make_repo) -> None:
    repo = make_repo()
    token = custom_token(rng(24))
    commit(repo, "init", **{"a.txt": "a\n", "b.env": f"TOKEN={token}\n"})
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    os.chmod(repo / ".git" / "objects" / blob[:2] / blob[2:], 0o644)
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    code, report, stderr = history(repo, "--no-cache", incomplete=True)
    # The audit goes on past the lost object, reports what it found, and its exit code says
    # it is incomplete.
    assert code == 2
    assert [f["secret"] for f in report["findings"]] == [token]
    assert [s["path"] for s in report["summary"]["skipped"]] == [blob]
    assert report["summary"]["incomplete"]
    assert f"incomplete: {repo}: 1 object(s) missing or unreadable" in stderr and blob in stderr
    assert "Traceback" not in stderr
    # Such an audit is not replayed from the cache: a second run looks again, and says so again.
    cache = repo.parent / "cache"
    assert history(repo, "--cache-dir", str(cache), incomplete=True)[0] == 2
    assert history(repo, "--cache-dir", str(cache), incomplete=True)[0] == 2


def _audited_around(repo: Path, lost: str, reason: str, secrets: list[str]) -> dict:
    """An audit of `repo` that names `lost` as its one skipped object (`reason`), says it is
    incomplete (exit 2), and still reports every one of `secrets`; its report."""
    code, report, stderr = history(repo, "--no-cache", incomplete=True)
    assert code == 2
    assert sorted(f["secret"] for f in report["findings"]) == sorted(secrets)
    assert [(s["path"], s["reason"]) for s in report["summary"]["skipped"]] == [(lost, reason)]
    assert f"incomplete: {repo}: 1 object(s) missing or unreadable" in stderr and lost in stderr
    assert "Traceback" not in stderr
    return report


def test_a_missing_tree_is_named_and_the_rest_is_audited(make_repo) -> None:
    # git's walk that leaves trees out says nothing of a missing one (nor lists what is under
    # it): the audit must still say it is incomplete, and audit everything else.
    repo = make_repo()
    token = custom_token(rng(27))
    (repo / "lost").mkdir()
    (repo / "kept").mkdir()
    commit(repo, "init", **{"lost/a.txt": "a\n", "kept/b.env": f"TOKEN={token}\n"})
    tree = git(repo, "rev-parse", "HEAD:lost").strip()
    loose = repo / ".git" / "objects" / tree[:2] / tree[2:]
    os.chmod(loose, 0o644)
    loose.unlink()
    _audited_around(repo, tree, "missing object", [token])


def test_a_corrupt_packed_object_is_named_and_the_rest_is_audited(make_repo) -> None:
    repo = make_repo()
    token = custom_token(rng(25))
    noise = rng(26)
    text = "".join(noise.choice("abcdefghij klmnop\n") for _ in range(20_000))
    # a.txt comes before b.env in the listing, so both sit in one batch with the damage first.
    commit(repo, "init", **{"a.txt": text, "b.env": f"TOKEN={token}\n"})
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    corrupt_packed_object(repo, blob)
    for jobs in ("1", "2"):
        # The exit code (2) is checked by history(..., incomplete=True).
        _, report, stderr = history(repo, "--no-cache", "--jobs", jobs, incomplete=True)
        assert [f["secret"] for f in report["findings"]] == [token]
        assert [(s["path"], s["reason"]) for s in report["summary"]["skipped"]] == [
            (blob, "unreadable object")
        ]
        assert f"{blob} (stored in" in report["summary"]["skipped"][0]["detail"]
        assert f"incomplete: {repo}: 1 object(s) missing or unreadable" in stderr
        assert "Traceback" not in stderr


def test_a_corrupt_tree_is_named_and_the_rest_is_audited(make_repo) -> None:
    # git's walk stops at a damaged tree, listing nothing after it: the trees are then read
    # around it, and everything else is still audited.
    repo = make_repo()
    token, older = custom_token(rng(28)), custom_token(rng(29))
    (repo / "damaged").mkdir()
    (repo / "kept").mkdir()
    commit(repo, "init", **{"damaged/a.txt": "a\n" * 500, "kept/old.env": f"TOKEN={older}\n"})
    commit(repo, "more", **{"kept/b.env": f"TOKEN={token}\n", "kept/old.env": "gone\n"})
    tree = git(repo, "rev-parse", "HEAD:damaged").strip()
    corrupt_packed_object(repo, tree)
    report = _audited_around(repo, tree, "unreadable object", [token, older])
    # git cannot list HEAD's tree past the damage either; what HEAD holds is still told.
    at_head = {f["path"]: f["at_head"] for f in report["findings"]}
    assert at_head == {"kept/b.env": True, "kept/old.env": False}


def test_a_missing_commit_is_named_and_the_rest_is_audited(make_repo) -> None:
    # git's walks stop at a commit they cannot read and list nothing: keyscan's walk goes on
    # from every ref around it (what only the lost commit leads to is out of reach).
    repo = make_repo()
    token, kept = custom_token(rng(30)), custom_token(rng(31))
    commit(repo, "first", **{"a.env": f"TOKEN={kept}\n"})
    lost = commit(repo, "second", **{"b.txt": "b\n"})
    commit(repo, "third", **{"c.env": f"TOKEN={token}\n"})
    git(repo, "tag", "-a", "v1", "-m", "release")
    loose = repo / ".git" / "objects" / lost[:2] / lost[2:]
    os.chmod(loose, 0o644)
    loose.unlink()
    _audited_around(repo, lost, "unreadable object", [token, kept])


def test_a_damaged_commit_of_a_shallow_clone_is_the_only_one_named(
    make_repo, tmp_path: Path
) -> None:
    # Walking around the damage, the commits at the shallow boundary keep their parents cut:
    # those are not lost objects.
    repo = make_repo()
    token = custom_token(rng(32))
    for i in range(4):
        commit(repo, f"c{i}", **{"a.txt": f"{i}\n"})
    commit(repo, "c4", **{"b.env": f"TOKEN={token}\n"})
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "3", f"file://{repo}", str(clone))
    damaged = git(clone, "rev-parse", "HEAD~1").strip()
    # A branch at the boundary commit, so the walk reaches it past the damage.
    git(clone, "branch", "old", "HEAD~2")
    corrupt_packed_object(clone, damaged)
    code, report, stderr = history(clone, "--no-cache", incomplete=True)
    assert code == 2
    assert [f["secret"] for f in report["findings"]] == [token]
    assert [(s["path"], s["reason"]) for s in report["summary"]["skipped"]] == [
        (damaged, "unreadable object")
    ]
    assert "shallow clone" in stderr


def test_shallow_clone_warns(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    for i in range(3):
        commit(repo, f"c{i}", **{"a.txt": f"{i}\n"})
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    code, _, stderr = history(clone)
    assert code == 0
    assert "shallow clone" in stderr
    shutil.rmtree(clone)


def test_history_fetched_into_a_shallow_clone_is_audited_not_replayed(
    make_repo, tmp_path: Path
) -> None:
    repo = make_repo()
    token = custom_token(rng(95))
    commit(repo, "leak", **{"a.env": f"KEY={token}\n"})
    git(repo, "rm", "-q", "a.env")
    git(repo, "commit", "-q", "-m", "remove it")
    commit(repo, "later", **{"b.txt": "b\n"})
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    cache = ["--cache-dir", str(tmp_path / "cache")]
    code, report, stderr = history(clone, *cache)
    assert (code, report["findings"]) == (0, []) and "shallow clone" in stderr
    # What the warning asks for: every ref stays where it was, but history now holds the leak.
    git(clone, "fetch", "-q", "--unshallow")
    code, report, stderr = history(clone, *cache)
    assert code == 1 and "shallow clone" not in stderr
    assert [(f["secret"], f["at_head"]) for f in report["findings"]] == [(token, False)]


def test_cached_audit_sees_new_commits(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    first_token, second_token = custom_token(rng(27)), custom_token(rng(28))
    commit(repo, "one", **{"a.txt": f"k={first_token}\n"})
    cache = tmp_path / "cache"
    _, before, _ = history(repo, "--cache-dir", str(cache))
    commit(repo, "two", **{"b.txt": f"k={second_token}\n", "c.txt": "clean\n"})
    _, after, _ = history(repo, "--cache-dir", str(cache))
    _, fresh, _ = history(repo, "--no-cache")
    assert [f["secret"] for f in before["findings"]] == [first_token]
    assert after["findings"] == fresh["findings"]
    assert sorted(f["secret"] for f in after["findings"]) == sorted([first_token, second_token])
    assert after["summary"]["cached_clean"] >= 1  # the first commit's message was known clean


def test_an_audit_that_did_not_decode_vouches_for_nothing_a_decoding_audit_would_flag(
    make_repo, tmp_path: Path
) -> None:
    # Clean verdicts depend on every option that can hide a finding: decoding off, nothing
    # encoded is seen, so what that audit cached must not spare the next, decoding one.
    repo = make_repo()
    token = custom_token(rng(29))
    encoded = base64.b64encode(f"key={token}".encode()).decode()
    commit(repo, "encoded", **{"a.txt": f"payload: {encoded}\n"})
    cache = tmp_path / "cache"
    blind, _, _ = history(repo, "--cache-dir", str(cache), "--decode-depth", "0")
    code, report, _ = history(repo, "--cache-dir", str(cache))
    assert blind == 0
    assert code == 1 and [f["secret"] for f in report["findings"]] == [token]


def test_the_same_secret_has_the_same_fingerprint_in_the_tree_and_in_history(make_repo) -> None:
    repo = make_repo()
    token = custom_token(rng(29))
    commit(repo, "leak", **{"a.env": f"K={token}\n"})
    _, audit, _ = history(repo, "--no-cache")
    rules = repo.parent / "custom-rules.yaml"
    done = run_keyscan(str(repo), "--rules", str(rules), "--format", "json", "--no-progress")
    tree = json.loads(done.stdout)
    assert [f["fingerprint"] for f in audit["findings"]] == [
        f["fingerprint"] for f in tree["findings"]
    ]


def test_audit_cache_keeps_rulesets_apart_and_sets_an_old_schema_aside(tmp_path: Path) -> None:
    from keyscan.auditcache import DB_NAME, AuditCache

    blob, other, sha256 = "ab" * 20, "cd" * 20, "ef" * 32
    with AuditCache(tmp_path, "a" * 64) as first:
        first.mark_clean([blob])
        with pytest.raises(ValueError, match="not a git object id"):
            first.mark_clean(["ab cd" + "ab" * 19])
    with AuditCache(tmp_path, "b" * 64) as second:
        assert not second.is_clean(blob)  # clean under other rules says nothing about these
        second.mark_clean([other, sha256])
    with AuditCache(tmp_path, "b" * 64) as both_widths:
        assert both_widths.is_clean(other) and both_widths.is_clean(sha256)
    with AuditCache(tmp_path, "a" * 64) as again:
        assert again.is_clean(blob) and not again.is_clean(other)
        assert again.prune() == 2
    with AuditCache(tmp_path, "b" * 64) as pruned:
        assert not pruned.is_clean(other)

    old = tmp_path / "old"
    old.mkdir()
    database = sqlite3.connect(old / DB_NAME)
    database.execute("CREATE TABLE clean_blobs (ruleset INTEGER, blob BLOB)")
    database.execute("PRAGMA user_version=2")
    database.commit()
    database.close()
    with AuditCache(old, "a" * 64) as upgraded:
        upgraded.mark_clean([blob])
    with AuditCache(old, "a" * 64) as reopened:
        assert reopened.is_clean(blob) and reopened.disabled_reason is None
    assert (old / DB_NAME).with_suffix(".corrupt").exists()


def test_clean_blobs_written_behind_the_scan_all_reach_the_cache(tmp_path: Path) -> None:
    # Past _FLUSH_EVERY pending ids a thread writes them while the scan goes on; whatever is
    # marked after, and whatever that thread still writes, is on disk once the cache closes.
    import threading

    from keyscan import auditcache
    from keyscan.auditcache import AuditCache

    ids = [f"{index:040x}" for index in range(3 * auditcache._FLUSH_EVERY + 7)]
    with AuditCache(tmp_path, "a" * 64) as cache:
        for start in range(0, len(ids), 5_000):
            cache.mark_clean(ids[start : start + 5_000])
        cache.write_behind()
        cache.mark_clean(["ef" * 20])
    assert not [t for t in threading.enumerate() if t.name != "MainThread" and t.daemon]
    with AuditCache(tmp_path, "a" * 64) as reopened:
        assert all(reopened.is_clean(blob) for blob in [*ids, "ef" * 20])
        assert reopened.disabled_reason is None
    database = sqlite3.connect(tmp_path / auditcache.DB_NAME)
    # Each write is one row of ids end to end, not a row per id (a B-tree insert each).
    rows = database.execute("SELECT width, length(ids) FROM clean_runs").fetchall()
    database.close()
    assert sum(size // width for width, size in rows) == len(ids) + 1
    assert len(rows) <= len(ids) // auditcache._FLUSH_EVERY + 2


def test_replayed_audit_keeps_counts_and_refs_of_every_version(make_repo, tmp_path: Path) -> None:
    # A leak carried through several versions of a file is one finding whose commit count and
    # refs cover all of them; the replay rescans only the first version and must say the same.
    repo = make_repo()
    first, second = custom_token(rng(41)), custom_token(rng(42))
    commit(repo, "leak", **{"app.env": f"A={first}\n"})
    commit(repo, "more", **{"app.env": f"A={first}\nX=1\n"})
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "side", **{"app.env": f"A={first}\nB={second}\n"})
    git(repo, "checkout", "-q", "-")
    commit(repo, "again", **{"app.env": f"A={first}\nX=2\n"})
    cache = tmp_path / "cache"
    _, full, _ = history(repo, "--cache-dir", str(cache))
    _, replayed, _ = history(repo, "--cache-dir", str(cache))
    _, uncached, _ = history(repo, "--no-cache")
    assert full["findings"] == replayed["findings"] == uncached["findings"]
    counts = {f["secret"]: (f["commit_count"], len(f["refs"])) for f in full["findings"]}
    assert counts == {first: (4, 2), second: (1, 1)}


def test_counts_and_first_commit_are_exact_across_a_merge(make_repo) -> None:
    # Both sides edit the file holding the secret and git merges them cleanly into a version
    # no side had: that version is introduced by the merge commit alone, and each commit
    # carries exactly one version of the file.
    repo = make_repo()
    token = custom_token(rng(26))
    introduced = commit(repo, "add", **{"config.py": f"a\nKEY = '{token}'\nb\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "feature edit", **{"config.py": f"a-feature\nKEY = '{token}'\nb\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "main edit", **{"config.py": f"a\nKEY = '{token}'\nb-main\n"})
    git(repo, "merge", "-q", "--no-edit", "feature")
    assert (repo / "config.py").read_text().startswith("a-feature\n")
    commit(repo, "unrelated", **{"other.txt": "x\n"})
    total_commits = len(git(repo, "rev-list", "--all").split())
    code, report, _ = history(repo)
    assert code == 1
    [finding] = report["findings"]
    assert finding["commit"] == introduced
    assert finding["commit_count"] == total_commits == 5
    assert finding["at_head"] is True
    assert finding["refs"] == ["feature", "main"]


def _random_history(repo: Path, seed: int) -> None:
    """Branches, merges, an unrelated root, deletions and contents that come back: written
    with git fast-import, so that a long history takes one git call."""
    import random

    chooser = random.Random(seed)
    stream: list[bytes] = []
    tips: dict[str, int] = {}

    def data(text: str) -> None:
        stream.append(b"data %d\n%s\n" % (len(text.encode()), text.encode()))

    for step in range(80):
        action = chooser.random()
        if not tips or (action < 0.04 and "orphan" not in tips):
            branch, parents = ("main" if not tips else "orphan"), []
        elif action < 0.15:
            branch = f"b{step}"
            parents = [tips[chooser.choice(sorted(tips))]]
        else:
            branch = chooser.choice(sorted(tips))
            parents = [tips[branch]]
            if action > 0.8 and len(tips) > 1:
                other = chooser.choice(sorted(set(tips) - {branch}))
                parents.append(tips[other])
        mark = step + 1
        stream.append(f"commit refs/heads/{branch}\nmark :{mark}\n".encode())
        stream.append(f"committer A <a@example.com> {1_600_000_000 + step} +0000\n".encode())
        data(f"step {step}")
        for order, parent in enumerate(parents):
            stream.append(f"{'from' if order == 0 else 'merge'} :{parent}\n".encode())
        for path in chooser.sample(["a.env", "b.env", "c/d.env"], chooser.randint(0, 2)):
            if chooser.random() < 0.2:
                stream.append(f"D {path}\n".encode())
            else:
                stream.append(f"M 100644 inline {path}\n".encode())
                data(f"T=v{chooser.randint(0, 5)}\n")
        tips[branch] = mark
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_commit_counts_and_refs_match_every_commits_tree(make_repo, seed: int) -> None:
    # Ground truth from each commit's own tree: a commit carries a blob at a path when its tree
    # holds it there; a ref reaches it when its history holds a commit that put it there.
    from keyscan.sources.provenance import ProvenanceResolver

    repo = make_repo()
    _random_history(repo, seed)
    parents = {
        line.split()[0]: line.split()[1:]
        for line in git(repo, "rev-list", "--parents", "--all").splitlines()
    }
    trees = {}
    for sha in parents:
        entries = git(repo, "ls-tree", "-r", sha).splitlines()
        trees[sha] = {line.split("\t")[1]: line.split()[2] for line in entries}
    carriers: dict[tuple[str, str], set[str]] = {}
    adders: dict[tuple[str, str], set[str]] = {}
    for sha, tree in trees.items():
        before = trees[parents[sha][0]] if parents[sha] else {}
        for path, oid in tree.items():
            carriers.setdefault((oid, path), set()).add(sha)
            if before.get(path) != oid:
                adders.setdefault((oid, path), set()).add(sha)

    def ancestry(sha: str) -> set[str]:
        seen, stack = set(), [sha]
        while stack:
            if (node := stack.pop()) not in seen:
                seen.add(node)
                stack.extend(parents[node])
        return seen

    refs = [
        line.split()
        for line in git(
            repo, "for-each-ref", "--format=%(objectname) %(refname:short)"
        ).splitlines()
    ]
    histories = {name: ancestry(sha) for sha, name in refs}
    resolver = ProvenanceResolver(repo, ["--all"])
    assert len(carriers) > 10
    for (oid, path), holding in carriers.items():
        answer = resolver.blob(oid, path)
        assert answer.commit_count == len(holding), (oid, path)
        reaching = {name for name, history in histories.items() if history & adders[(oid, path)]}
        assert set(answer.refs) == reaching, (oid, path)


def test_provenance_answers_the_same_whether_it_searches_or_parses_the_log(
    make_repo, monkeypatch
) -> None:
    # Many blobs with findings switch the resolver from one search per id to one pass over
    # the whole log; both must give the same histories.
    from keyscan.sources import provenance

    repo = make_repo()
    for round_ in range(3):
        commit(repo, f"round {round_}", **{f"f{i}.env": f"T={round_}-{i}\n" for i in range(20)})
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "side", **{"f0.env": "T=side\n"})
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-edit", "--no-ff", "side")
    blobs = [
        line.split()[0]
        for line in git(repo, "rev-list", "--objects", "--all").splitlines()
        if line.endswith(".env")
    ]
    assert len(blobs) > 2 * provenance._SEARCH_LIMIT
    answers = []
    for limit in (10**6, 0):
        monkeypatch.setattr(provenance, "_SEARCH_LIMIT", limit)
        resolver = provenance.ProvenanceResolver(repo, ["--all"])
        resolver.load(blobs)
        answers.append([resolver.blob(oid) for oid in blobs])
    assert answers[0] == answers[1]
    counts = {h.path: 0 for h in answers[0]}
    for history in answers[0]:
        counts[history.path] = counts[history.path] + history.commit_count
    total = len(git(repo, "rev-list", "--all").split())
    assert counts == {f"f{i}.env": total for i in range(20)}


def test_a_secret_on_several_lines_of_a_file_counts_each_commit_once(make_repo) -> None:
    repo = make_repo()
    token = custom_token(rng(27))
    commit(repo, "one", **{"settings.env": f"A={token}\nB={token}\n"})
    commit(repo, "two", **{"settings.env": f"A={token}\nB={token}\nC=1\n"})
    commit(repo, "three", **{"other.txt": "x\n"})
    code, report, _ = history(repo)
    assert code == 1
    [finding] = report["findings"]
    assert finding["line"] == 1
    assert finding["commit_count"] == 3


def test_a_replay_whose_rules_miss_a_leak_runs_every_rule(make_repo, tmp_path: Path) -> None:
    # A replay runs only the rules that found the recorded leaks. Should a leak not come back
    # so (here the record names another rule), the replay runs every rule instead.
    repo = make_repo()
    token = github_pat(rng(43))
    commit(repo, "leak", **{"settings.py": f'TOKEN = "{token}"\n'})
    cache = tmp_path / "cache"

    def audit() -> list[dict]:
        # --show-secrets: only a replay that needs the secrets rescans at all.
        done = run_keyscan(
            "--history", str(repo), "--format", "json", "--no-progress", "--cache-dir",
            str(cache), "--show-secrets",
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        return json.loads(done.stdout)["findings"]

    first = audit()
    assert [f["secret"] for f in first] == [token]
    [database] = cache.glob("audit-cache*.sqlite3")
    with sqlite3.connect(database) as connection:
        [(refs, text)] = connection.execute("SELECT refs, record FROM audits").fetchall()
        record = json.loads(text)
        assert record["rules"] == ["github.pat-classic"]
        record["rules"] = ["netrc.password"]
        connection.execute(
            "UPDATE audits SET record = ? WHERE refs = ?", (json.dumps(record), refs)
        )
    assert audit() == first


def test_a_warm_audit_reports_from_its_record_and_reads_no_object(
    make_repo, tmp_path: Path
) -> None:
    # Refs unchanged since an audit with these rules: without --show-secrets the report comes
    # from the audit's record, which keeps the findings only as redacted. The object holding
    # the leak is deleted after the first audit to prove the replay never reads it; asking for
    # the secrets in clear makes it rescan, and then the loss shows.
    repo = make_repo()
    token = custom_token(rng(44))
    commit(repo, "init", **{"a.txt": "a\n"})
    commit(repo, "leak", **{"app.env": f"TOKEN={token}\n", "b.txt": "b\n"})
    cache = tmp_path / "cache"
    rules = tmp_path / "custom-rules.yaml"
    rules.write_text(CUSTOM_RULE)

    def audit(*args: str) -> subprocess.CompletedProcess[str]:
        return run_keyscan(
            "--history", str(repo), "--rules", str(rules), "--format", "json",
            "--no-progress", "--cache-dir", str(cache), *args,
        )  # fmt: skip

    first = audit()
    assert first.returncode == 1, first.stderr
    first_report = json.loads(first.stdout)
    assert [f["rule_id"] for f in first_report["findings"]] == ["test.custom-token"]
    [database] = cache.glob("audit-cache*.sqlite3")
    with sqlite3.connect(database) as connection:
        stored = "\n".join(text for (text,) in connection.execute("SELECT record FROM audits"))
    assert "reported" in stored and token not in stored and token[:8] not in stored

    blob = git(repo, "rev-parse", "HEAD:app.env").strip()
    loose = repo / ".git" / "objects" / blob[:2] / blob[2:]
    os.chmod(loose, 0o644)
    loose.unlink()

    warm = audit()
    assert warm.returncode == 1, warm.stderr
    warm_report = json.loads(warm.stdout)
    assert warm_report["findings"] == first_report["findings"]
    assert warm_report["summary"]["replayed"] == 1
    assert warm_report["summary"]["files_scanned"] == 0
    assert warm_report["summary"]["cached_clean"] == first_report["summary"]["files_scanned"] - 1

    shown = audit("--show-secrets")
    assert shown.returncode == 2, shown.stderr
    assert blob in shown.stderr and token not in shown.stderr


def test_a_record_made_by_other_provenance_code_is_not_replayed(make_repo, tmp_path: Path) -> None:
    # An upgrade that changes how provenance is worked out (and so what a record holds) must
    # not go on replaying what the old code recorded, even without a new version number.
    repo = make_repo()
    token = custom_token(rng(92))
    commit(repo, "add", **{"app.env": f"KEY={token}\n"})
    cache = tmp_path / "cache"
    rules = tmp_path / "custom-rules.yaml"
    rules.write_text(CUSTOM_RULE)

    def audit() -> dict:
        done = run_keyscan(
            "--history", str(repo), "--rules", str(rules), "--format", "json",
            "--no-progress", "--cache-dir", str(cache),
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        return json.loads(done.stdout)

    first = audit()
    assert audit()["summary"]["replayed"] == 1
    [database] = cache.glob("audit-cache*.sqlite3")
    with sqlite3.connect(database) as connection:
        (record,) = connection.execute("SELECT record FROM audits").fetchone()
        stored = json.loads(record)
        assert len(stored["code"]) == 64
        stored["code"] = "0" * 64
        connection.execute("UPDATE audits SET record = ?", (json.dumps(stored),))
    again = audit()
    assert again["summary"]["replayed"] == 0
    assert again["findings"] == first["findings"]
    # The full audit stored a record of this code again, which the next audit replays.
    assert audit()["summary"]["replayed"] == 1


def test_a_warm_audit_keeps_what_a_report_shows_of_each_secret(make_repo, tmp_path: Path) -> None:
    # A provider token's report shows its format prefix, a generic one nothing; the replayed
    # report must show the same, in text as in JSON.
    repo = make_repo()
    pat = github_pat(rng(45))
    generic = random_chars(rng(46), 32)
    commit(
        repo, "leak", **{"settings.py": f'GITHUB_TOKEN = "{pat}"\nclient_secret = "{generic}"\n'}
    )
    cache = tmp_path / "cache"

    def audit(*args: str) -> str:
        done = run_keyscan(
            "--history", str(repo), "--no-progress", "--cache-dir", str(cache), "--no-color",
            *args,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        return done.stdout

    first_json, first_text = audit("--format", "json"), audit("--format", "text")
    warm_json = audit("--format", "json")
    uncached = run_keyscan(
        "--history", str(repo), "--no-progress", "--no-cache", "--format", "json"
    )
    first, warm = json.loads(first_json), json.loads(warm_json)
    assert first["findings"] == warm["findings"] == json.loads(uncached.stdout)["findings"]
    assert {f["rule_id"]: f["secret"] for f in warm["findings"]} == {
        "github.pat-classic": pat[:4] + "…",
        "generic.secret-assignment": "…",
    }
    warm_text = audit("--format", "text")
    findings_block = first_text.split("\n\n")[:-1]
    assert warm_text.split("\n\n")[:-1] == findings_block
    assert "replayed" in warm_text.split("\n\n")[-1]


def test_a_warm_audit_loads_no_scanning_code(make_repo, tmp_path: Path) -> None:
    # Most of a warm audit's time is start-up: the record answers, so neither the scanner, its
    # filters, the engines nor the regex module may be imported on the way.
    repo = make_repo()
    commit(repo, "leak", **{"settings.py": f'GITHUB_TOKEN = "{github_pat(rng(47))}"\n'})
    audit = [sys.executable, "-X", "importtime", "-m", "keyscan", "--history", str(repo),
             "--no-progress", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    first = subprocess.run(audit, capture_output=True, text=True, timeout=300)
    warm = subprocess.run(audit, capture_output=True, text=True, timeout=300)
    assert first.returncode == warm.returncode == 1, warm.stderr
    assert warm.stdout.split("\n\n")[:-1] == first.stdout.split("\n\n")[:-1]

    def imported(done: subprocess.CompletedProcess[str]) -> set[str]:
        lines = (line.split("|")[-1].strip() for line in done.stderr.splitlines())
        return {name for name in lines if name}

    scanning = {"keyscan.blobscan", "keyscan.filters", "keyscan.engine.extract", "regex"}
    assert scanning <= imported(first)
    assert not scanning & imported(warm)


def test_a_record_of_another_layout_is_audited_again(make_repo, tmp_path: Path) -> None:
    # A record written in another shape (an older keyscan) is not read: the audit runs in full
    # and replaces it, with the same findings.
    repo = make_repo()
    commit(repo, "leak", **{"settings.py": f'TOKEN = "{github_pat(rng(48))}"\n'})
    cache = tmp_path / "cache"

    def audit() -> dict:
        done = run_keyscan(
            "--history", str(repo), "--format", "json", "--no-progress", "--cache-dir", str(cache)
        )
        assert done.returncode == 1, done.stderr
        return json.loads(done.stdout)

    first = audit()
    [database] = cache.glob("audit-cache*.sqlite3")
    with sqlite3.connect(database) as connection:
        [(refs, text)] = connection.execute("SELECT refs, record FROM audits").fetchall()
        record = json.loads(text)
        record["layout"] -= 1
        del record["reported"]
        connection.execute(
            "UPDATE audits SET record = ? WHERE refs = ?", (json.dumps(record), refs)
        )
    again = audit()
    assert again["findings"] == first["findings"]
    assert again["summary"]["replayed"] == 0
    # Scanned again: the object with the leak (known-clean objects stay known clean).
    summary = again["summary"]
    assert summary["files_scanned"] >= 1
    assert summary["files_scanned"] + summary["cached_clean"] == first["summary"]["files_scanned"]
    assert audit()["summary"]["replayed"] == 1  # the full audit stored a current record


def _audits(repo: Path, cache: Path, *args: str) -> list[dict]:
    """The report of an audit without a cache, a first audit with one, and its warm replay
    (secrets shown, so the replay rescans): each must say the same."""
    reports = []
    for extra in (["--no-cache"], ["--cache-dir", str(cache)], ["--cache-dir", str(cache)]):
        done = run_keyscan(
            "--history", str(repo), "--format", "json", "--no-progress", "--show-secrets",
            *args, *extra,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        reports.append(json.loads(done.stdout))
    return reports


def _located(report: dict) -> list[tuple[str, str, int | None, bool | None]]:
    return sorted(
        (f["path"], f["secret"], f["commit_count"], f["at_head"]) for f in report["findings"]
    )


def test_a_blob_git_lists_at_an_allowlisted_path_is_found_where_it_was_not(
    make_repo, tmp_path: Path
) -> None:
    # A real config copied into test fixtures and removed: rev-list names the blob once, at
    # the fixture path HEAD still holds, which the allowlist lets off.
    repo = make_repo()
    token = custom_token(rng(71))
    rules = tmp_path / "rules.yaml"
    rules.write_text(CUSTOM_RULE)
    (repo / "config").mkdir()
    commit(repo, "config", **{"config/prod.env": f"API_KEY={token}\n"})
    (repo / "tests" / "fixtures").mkdir(parents=True)
    shutil.copy(repo / "config" / "prod.env", repo / "tests" / "fixtures" / "prod.env")
    git(repo, "add", "tests")
    git(repo, "rm", "-q", "config/prod.env")
    git(repo, "commit", "-q", "-m", "keep it as a fixture")
    (repo / ".keyscan.yaml").write_text("allowlist:\n  paths: [tests/fixtures/]\n")
    listed = git(repo, "rev-list", "--objects", "--all")
    assert "tests/fixtures/prod.env" in listed and "config/prod.env" not in listed
    reports = _audits(
        repo, tmp_path / "cache", "--rules", str(rules), "--enable-rule", "test.custom-token"
    )
    for report in reports:
        assert _located(report) == [("config/prod.env", token, 1, False)]


def test_detaching_head_where_it_stands_gives_the_refs_a_fresh_audit_gives(
    make_repo, tmp_path: Path
) -> None:
    repo = make_repo()
    token = custom_token(rng(97))
    commit(repo, "leak", **{"a.env": f"KEY={token}\n"})
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert [f["refs"] for f in history(repo, *cache)[1]["findings"]] == [["main"]]
    # show-ref --head shows the same commit before and after: only HEAD's file changes.
    git(repo, "checkout", "-q", "--detach")
    _, fresh, _ = history(repo, "--no-cache")
    _, cached, _ = history(repo, *cache)
    assert [f["refs"] for f in fresh["findings"]] == [["HEAD", "main"]]
    assert cached["findings"] == fresh["findings"]


def test_a_path_taken_off_the_allowlist_is_audited_again_not_replayed(
    make_repo, tmp_path: Path
) -> None:
    repo = make_repo()
    token = custom_token(rng(96))
    (repo / "fixtures").mkdir()
    commit(repo, "a fixture", **{"fixtures/prod.env": f"API_KEY={token}\n"})
    config = repo / ".keyscan.yaml"
    config.write_text("allowlist:\n  paths: [fixtures/]\n")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    code, report, _ = history(repo, *cache)
    assert (code, report["findings"]) == (0, [])
    config.write_text("allowlist:\n  paths: [docs/]\n")
    code, report, _ = history(repo, *cache)
    assert code == 1 and [(f["path"], f["secret"]) for f in report["findings"]] == [
        ("fixtures/prod.env", token)
    ]
    assert report["summary"]["engine"] != "none (replayed from the audit cache)"


def test_a_blob_let_off_for_its_listed_path_is_a_leak_at_an_earlier_one(
    make_repo, tmp_path: Path
) -> None:
    # An unquoted value is an expression in source code and a literal in a .env file: the
    # same blob, renamed from one to the other, leaked at the .env path.
    repo = make_repo()
    secret = random_chars(rng(70), 15) + "7"  # a digit: all letters would be a word
    commit(repo, "env", **{"deploy.env": f"DB_PASSWORD={secret}\n"})
    git(repo, "mv", "deploy.env", "settings.py")
    git(repo, "commit", "-q", "-m", "as python")
    listed = git(repo, "rev-list", "--objects", "--all")
    assert "settings.py" in listed and "deploy.env" not in listed
    for report in _audits(repo, tmp_path / "cache"):
        assert _located(report) == [("deploy.env", secret, 1, False)]


def test_a_blob_with_a_secret_at_two_paths_is_a_leak_at_each(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    token = custom_token(rng(72))
    rules = tmp_path / "rules.yaml"
    rules.write_text(CUSTOM_RULE)
    commit(repo, "one", **{"a.env": f"API_KEY={token}\n"})
    commit(repo, "two", **{"b.env": f"API_KEY={token}\n"})
    git(repo, "rm", "-q", "a.env")
    git(repo, "commit", "-q", "-m", "three")
    reports = _audits(
        repo, tmp_path / "cache", "--rules", str(rules), "--enable-rule", "test.custom-token"
    )
    for report in reports:
        # a.env: in commits one and two; b.env: in two and three, and at HEAD.
        assert _located(report) == [("a.env", token, 2, False), ("b.env", token, 2, True)]


def test_a_version_scanned_as_an_edit_keeps_what_was_let_off_for_its_path(
    make_repo, tmp_path: Path
) -> None:
    # The first version of a large settings.py, listed after the last, is scanned only
    # where it differs from it (keyscan.edits): the line let off as source code is in the
    # unchanged part, and that version was also deploy.env for one commit.
    repo = make_repo()
    secret = random_chars(rng(73), 15) + "7"  # a digit: all letters would be a word
    filler = "".join(f"OPTION_{n} = {n}\n" for n in range(1500))
    commit(repo, "one", **{"settings.py": f"DB_PASSWORD={secret}\n{filler}"})
    shutil.copy(repo / "settings.py", repo / "deploy.env")
    git(repo, "add", "deploy.env")
    git(repo, "commit", "-q", "-m", "two")
    git(repo, "rm", "-q", "deploy.env")
    git(repo, "commit", "-q", "-m", "three")
    commit(repo, "four", **{"settings.py": f"DB_PASSWORD={secret}\n{filler}LAST = 1\n"})
    for report in _audits(repo, tmp_path / "cache"):
        assert _located(report) == [("deploy.env", secret, 1, False)]


def test_a_blob_let_off_for_its_path_is_never_cached_clean(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    secret = random_chars(rng(74), 15) + "7"  # a digit: all letters would be a word
    commit(repo, "python", **{"settings.py": f"DB_PASSWORD={secret}\n"})
    cache = ["--cache-dir", str(tmp_path / "cache")]
    first = run_keyscan("--history", str(repo), "--format", "json", "--no-progress", *cache)
    assert first.returncode == 0, first.stderr
    # The same blob at a path where it is a leak, in a new commit: refs moved, so the audit
    # runs again and takes what the cache says is clean as clean.
    commit(repo, "env", **{"deploy.env": f"DB_PASSWORD={secret}\n"})
    again = run_keyscan("--history", str(repo), "--format", "json", "--no-progress", *cache)
    assert again.returncode == 1, again.stderr
    assert [f["path"] for f in json.loads(again.stdout)["findings"]] == ["deploy.env"]


def test_git_object_scans_use_the_engine_they_are_given(
    make_repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A change scan's pool and an audit's second scan take the engine already built instead of
    # building one more (with --no-cache, one more compile of the database each).
    from keyscan import scan as scan_module
    from keyscan.commands import rangescan
    from keyscan.config import discover_config
    from keyscan.options import ScanOptions
    from keyscan.rules.load import load_rules
    from keyscan.rules.ruleset import Ruleset
    from keyscan.workers import build_engine

    repo = make_repo()
    base = commit(repo, "base", **{"README.md": "hello\n"})
    token = github_pat(rng(61))
    commit(repo, "leak", **{"deploy.env": f"TOKEN={token}\n"})
    ruleset = Ruleset(load_rules())
    engine = build_engine(ruleset, "auto", None)

    def no_second_engine(*args: object) -> None:
        raise AssertionError("an engine was built again")

    monkeypatch.setattr(scan_module, "build_engine", no_second_engine)
    # Small enough ranges stay in one process: this one goes to the pool.
    monkeypatch.setattr(rangescan, "PARALLEL_MIN_BYTES", 0)
    result = rangescan.range_scan(
        repo, base, "HEAD", ruleset, engine, ScanOptions(), discover_config(None, repo),
        rangescan.Parallelism(2, None),
    )  # fmt: skip
    assert [f.path for f in result.findings] == ["deploy.env"]


def test_an_audit_collects_garbage_rarely_and_freezes_what_its_workers_inherit(make_repo) -> None:
    # A scan's objects are short-lived and acyclic: the collector's default schedule walked the
    # whole listing again and again (docs/benchmarks.md). Objects alive when the workers are
    # forked are frozen, so that neither side walks them again.
    repo = make_repo()
    commit(repo, "c", **{"app.py": "x = 1\n"})
    code = (
        "import gc, sys\n"
        "from keyscan.cli import main\n"
        f"sys.argv = ['keyscan', '--history', {str(repo)!r}, '--no-cache', '--jobs', '2',"
        " '--no-progress', '--format', 'json', '-o', '/dev/null']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "print(gc.get_threshold(), gc.get_freeze_count() > 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "(50000, 50, 100) True"


def test_forked_workers_use_the_database_the_parent_compiled(make_repo, tmp_path: Path) -> None:
    # `--no-cache` compiles the hyperscan database once, in the parent: forked workers inherit
    # it instead of compiling their own. Each compile is noted by process id, through a
    # sitecustomize module that wraps the engine's compile step (the real one still runs).
    pytest.importorskip("hyperscan")
    repo = make_repo()
    for index in range(3):
        commit(repo, f"c{index}", **{"app.py": f"x = {index}\n"})
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    log = tmp_path / "compiles.log"
    (hooks / "sitecustomize.py").write_text(
        "import os\n"
        "from keyscan.engine.hyperscan_engine import HyperscanEngine\n"
        "real = HyperscanEngine._compile\n"
        "def noted(self, ruleset):\n"
        f"    with open({str(log)!r}, 'a') as handle:\n"
        "        handle.write(f'{os.getpid()}\\n')\n"
        "    return real(self, ruleset)\n"
        "HyperscanEngine._compile = noted\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "keyscan", "--history", str(repo), "--no-cache", "--jobs", "2",
         "--engine", "hyperscan", "--no-progress"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(log.read_text().split()) == 1
