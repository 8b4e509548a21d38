"""Repositories of every unusual shape: empty, detached, bare, linked worktrees, submodules,
Git LFS pointers, paths git writes quoted, and paths and messages that are not UTF-8."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from keyscan.sources.provenance import quoted_path, unquoted_path
from tests.conftest import GIT_ENV, commit, git, run_keyscan
from tests.fakes import CUSTOM_RULE, custom_token, rng


def _rules(tmp_path: Path) -> list[str]:
    rules = tmp_path / "custom-rules.yaml"
    rules.write_text(CUSTOM_RULE)
    return ["--rules", str(rules), "--enable-rule", "test.custom-token", "--no-progress"]


def _json(tmp_path: Path, *args: str, code: int = 1) -> dict:
    done = run_keyscan(*args, *_rules(tmp_path), "--format", "json", "--no-cache")
    assert done.returncode == code, done.stderr
    return json.loads(done.stdout)


def _skips(report: dict) -> list[tuple[str, str]]:
    return sorted((s["path"], s["reason"]) for s in report["summary"]["skipped"])


def test_an_empty_repository_has_no_history_and_its_index_can_be_scanned(make_repo) -> None:
    repo = make_repo()
    done = run_keyscan("--history", str(repo), "--no-progress", "--no-cache")
    assert done.returncode == 0, done.stderr
    assert "has no commits yet" in done.stderr
    # Before the first commit, everything staged is what the commit will add.
    token = custom_token(rng(80))
    (repo / "first.env").write_text(f"KEY={token}\n")
    git(repo, "add", "first.env")
    report = _json(repo.parent, "--staged", str(repo), "--show-secrets")
    assert [(f["path"], f["secret"]) for f in report["findings"]] == [("first.env", token)]


def test_a_commit_on_a_detached_head_is_audited_and_reached_from_head(make_repo) -> None:
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "a\n"})
    git(repo, "checkout", "-q", "--detach")
    token = custom_token(rng(81))
    made = commit(repo, "on a detached head", **{"b.env": f"KEY={token}\n"})
    report = _json(repo.parent, "--history", str(repo), "--show-secrets")
    [finding] = report["findings"]
    assert (finding["secret"], finding["commit"]) == (token, made)
    assert finding["refs"] == ["HEAD"] and finding["at_head"] is True


def test_a_commit_hidden_behind_a_replacement_is_still_audited(make_repo) -> None:
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "a\n"})
    token = custom_token(rng(88))
    leaked = commit(repo, "add settings", **{"settings.env": f"KEY={token}\n"})
    # A copy of the commit without the secret, put in its place with `git replace`: git log,
    # git show and every walk that honours replacements now see the copy.
    (repo / "settings.env").write_text("KEY=from-the-vault\n")
    git(repo, "add", "settings.env")
    tree = git(repo, "write-tree").strip()
    copy = git(repo, "commit-tree", tree, "-p", "HEAD~1", "-m", "add settings").strip()
    git(repo, "checkout", "-q", "--", "settings.env")
    git(repo, "replace", leaked, copy)
    assert "from-the-vault" in git(repo, "show", "HEAD:settings.env")
    report = _json(repo.parent, "--history", str(repo), "--show-secrets")
    [finding] = report["findings"]
    assert (finding["secret"], finding["commit"], finding["path"]) == (
        token,
        leaked,
        "settings.env",
    )
    assert "main" in finding["refs"] or "master" in finding["refs"]
    # A change scan of the branch sees the commit as it is too.
    report = _json(repo.parent, "--diff", f"{leaked}~1..{leaked}", str(repo), "--show-secrets")
    assert [f["secret"] for f in report["findings"]] == [token]


def test_a_secret_in_a_git_note_is_found_under_the_notes_ref(make_repo) -> None:
    repo = make_repo()
    annotated = commit(repo, "init", **{"a.txt": "a\n"})
    token = custom_token(rng(90))
    git(repo, "notes", "add", "-m", f"deployed with KEY={token}", annotated)
    report = _json(repo.parent, "--history", str(repo), "--show-secrets")
    [finding] = report["findings"]
    # A note is a blob named after the commit it annotates, in the tree refs/notes/commits holds.
    assert (finding["secret"], finding["path"]) == (token, annotated)
    assert finding["refs"] == ["notes/commits"] and finding["at_head"] is False


def test_a_blob_a_tag_names_directly_is_reachable_from_that_tag(make_repo) -> None:
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "a\n"})
    token = custom_token(rng(91))
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=repo, input=f"KEY={token}\n",
        capture_output=True, text=True, check=True, env={**os.environ, **GIT_ENV},
    ).stdout.strip()  # fmt: skip
    git(repo, "tag", "-a", "-m", "the signing key", "signing-key", blob)
    report = _json(repo.parent, "--history", str(repo), "--show-secrets")
    [finding] = report["findings"]
    assert (finding["secret"], finding["commit_count"], finding["at_head"]) == (token, 0, False)
    assert finding["refs"] == ["signing-key"]


def test_history_a_graft_file_cuts_off_is_still_audited(make_repo) -> None:
    repo = make_repo()
    token = custom_token(rng(89))
    leaked = commit(repo, "add settings", **{"settings.env": f"KEY={token}\n"})
    cleaned = commit(repo, "use the vault", **{"settings.env": "KEY=from-the-vault\n"})
    # The deprecated graft file makes git see the second commit as a root.
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "grafts").write_text(cleaned + "\n")
    assert git(repo, "rev-list", "--all").split() == [cleaned]
    done = run_keyscan("--history", str(repo), *_rules(repo.parent), "--format", "json",
                       "--no-cache", "--show-secrets")  # fmt: skip
    assert done.returncode == 1, done.stderr
    # git says nothing of the graft file on keyscan's calls.
    assert "graft" not in done.stderr
    [finding] = json.loads(done.stdout)["findings"]
    assert (finding["secret"], finding["commit"], finding["at_head"]) == (token, leaked, False)


def test_a_sha256_repository_gets_the_same_provenance(tmp_path: Path) -> None:
    # `git init --object-format=sha256`: every object id is 64 hex digits, in the raw diff
    # lines provenance reads too. One leaked blob is searched for in the log; 17 are past the
    # one-search-per-blob limit and are picked out of every line at once.
    repo = tmp_path / "sha256"
    repo.mkdir()
    git(repo, "init", "-q", "--object-format=sha256", "-b", "main")
    tokens = [custom_token(rng(200 + i)) for i in range(17)]
    first = commit(repo, "one", **{"k00.env": f"KEY={tokens[0]}\n"})
    assert len(first) == 64

    def audit() -> dict[str, tuple[str, int, bool, list[str]]]:
        args = ["--history", str(repo), *_rules(tmp_path), "--format", "json", "--no-cache"]
        done = run_keyscan(*args, "--show-secrets")
        assert done.returncode == 1, done.stderr
        return {
            f["secret"]: (f["commit"], f["commit_count"], f["at_head"], f["refs"])
            for f in json.loads(done.stdout)["findings"]
        }

    assert audit() == {tokens[0]: (first, 1, True, ["main"])}
    more = {f"k{i:02}.env": f"KEY={tokens[i]}\n" for i in range(1, 17)}
    rest = commit(repo, "sixteen more", **more)
    git(repo, "checkout", "-q", "-b", "cleanup")
    git(repo, "rm", "-q", *more)
    git(repo, "commit", "-q", "-m", "remove them")
    expected = {token: (rest, 1, False, ["cleanup", "main"]) for token in tokens[1:]}
    expected[tokens[0]] = (first, 3, True, ["cleanup", "main"])
    assert audit() == expected


def test_a_bare_repository_is_audited_and_other_modes_say_why_they_cannot(make_repo) -> None:
    repo = make_repo()
    token = custom_token(rng(82))
    commit(repo, "leak", **{"c.env": f"KEY={token}\n"})
    bare = repo.parent / "bare.git"
    git(repo.parent, "clone", "-q", "--bare", str(repo), str(bare))
    report = _json(repo.parent, "--history", str(bare), "--show-secrets")
    assert [(f["path"], f["secret"], f["refs"]) for f in report["findings"]] == [
        ("c.env", token, ["main"])
    ]
    for args in (["--staged", str(bare)], [str(bare)]):
        done = run_keyscan(*args, "--no-progress")
        assert done.returncode == 2
        assert "bare repository" in done.stderr and "--history" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_a_linked_worktree_audits_the_shared_history_and_its_own_index(make_repo) -> None:
    repo = make_repo()
    on_main = custom_token(rng(83))
    commit(repo, "main", **{"m.env": f"KEY={on_main}\n"})
    linked = repo.parent / "linked"
    git(repo, "worktree", "add", "-q", "-b", "topic", str(linked))
    staged = custom_token(rng(84))
    (linked / "s.env").write_text(f"KEY={staged}\n")
    git(linked, "add", "s.env")
    history = _json(repo.parent, "--history", str(linked), "--show-secrets")
    assert [(f["secret"], f["refs"]) for f in history["findings"]] == [(on_main, ["main", "topic"])]
    index = _json(repo.parent, "--staged", str(linked), "--show-secrets")
    assert [(f["path"], f["secret"]) for f in index["findings"]] == [("s.env", staged)]
    tree = _json(repo.parent, str(linked), "--show-secrets")
    assert sorted(f["path"] for f in tree["findings"]) == ["m.env", "s.env"]


def test_another_worktrees_detached_head_names_its_commits_and_moves_the_audit_on(
    make_repo, tmp_path
) -> None:
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "a\n"})
    linked = repo.parent / "linked"
    git(repo, "worktree", "add", "-q", "--detach", str(linked))
    first = custom_token(rng(92))
    commit(linked, "on the linked worktree's detached head", **{"b.env": f"KEY={first}\n"})
    cache = ["--cache-dir", str(tmp_path / "cache")]

    def audited_from(worktree: Path) -> list[tuple[str, list[str], bool]]:
        done = run_keyscan(
            "--history", str(worktree), *_rules(tmp_path), "--format", "json", "--show-secrets",
            *cache,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        found = json.loads(done.stdout)["findings"]
        return sorted((f["secret"], f["refs"], f["at_head"]) for f in found)

    # No ref names that commit: git resolves it as the other worktree's HEAD.
    assert audited_from(repo) == [(first, ["worktrees/linked/HEAD"], False)]
    # A new commit there changes what the audit must cover: the cached audit is not replayed.
    second = custom_token(rng(93))
    commit(linked, "another", **{"c.env": f"KEY={second}\n"})
    assert audited_from(repo) == sorted(
        [(first, ["worktrees/linked/HEAD"], False), (second, ["worktrees/linked/HEAD"], False)]
    )
    # Seen from the linked worktree, those are its own HEAD's, and the main worktree's detached
    # HEAD is the other one.
    git(repo, "checkout", "-q", "--detach")
    third = custom_token(rng(94))
    commit(repo, "on the main worktree's detached head", **{"d.env": f"KEY={third}\n"})
    assert audited_from(linked) == sorted(
        [
            (first, ["HEAD"], True),
            (second, ["HEAD"], True),
            (third, ["main-worktree/HEAD"], False),
        ]
    )


def _submodule_source(parent: Path) -> tuple[Path, str]:
    source = parent / "library"
    source.mkdir()
    git(source, "init", "-q", "-b", "main")
    token = custom_token(rng(85))
    commit(source, "the library's own secret", **{"lib.env": f"KEY={token}\n"})
    return source, token


def test_submodules_are_reported_as_skipped_and_never_followed(make_repo) -> None:
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "a\n"})
    source, token = _submodule_source(repo.parent)
    git(repo, "-c", "protocol.file.allow=always", "submodule", "-q", "add", str(source), "lib")
    pointer = git(repo, "rev-parse", ":lib").strip()
    staged = _json(repo.parent, "--staged", str(repo), code=0)
    assert _skips(staged) == [("lib", "submodule")]
    assert pointer[:12] in staged["summary"]["skipped"][0]["detail"]
    git(repo, "commit", "-q", "-m", "add the library")
    # An untracked repository inside the work tree (a clone left there) is not followed either.
    nested = repo / "scratch"
    nested.mkdir()
    git(nested, "init", "-q")
    (nested / "n.env").write_text(f"KEY={custom_token(rng(86))}\n")
    tree = _json(repo.parent, str(repo), code=0)
    assert _skips(tree) == [("lib", "submodule"), ("scratch", "nested repository")]
    history = _json(repo.parent, "--history", str(repo), code=0)
    assert _skips(history) == [("lib", "submodule")]
    assert pointer[:12] in history["summary"]["skipped"][0]["detail"]
    assert token not in json.dumps([tree, history])
    # A range that moves the pointer: the library's new commits are not this repository's.
    commit(source, "more", **{"more.env": f"KEY={custom_token(rng(87))}\n"})
    git(repo / "lib", "pull", "-q", "origin", "main")
    git(repo, "commit", "-q", "-am", "bump the library")
    moved = _json(repo.parent, "--diff", "HEAD~1..HEAD", str(repo), code=0)
    assert _skips(moved) == [("lib", "submodule")]


def test_a_submodule_removed_from_head_is_still_named_by_its_gitmodules(make_repo) -> None:
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "a\n"})
    source, _ = _submodule_source(repo.parent)
    git(repo, "-c", "protocol.file.allow=always", "submodule", "-q", "add", str(source), "old")
    git(repo, "commit", "-q", "-m", "add")
    git(repo, "rm", "-q", "old")
    git(repo, "commit", "-q", "-m", "remove")
    history = _json(repo.parent, "--history", str(repo), code=0)
    assert _skips(history) == [("old", "submodule")]


def test_lfs_pointers_are_skipped_with_a_reason(make_repo) -> None:
    repo = make_repo()
    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:" + "4d7a2146" * 8 + "\nsize 133742\n"
    )
    attributes = "*.bin filter=lfs -text\n"
    commit(repo, "model", **{".gitattributes": attributes, "model.bin": pointer})
    for args in ([str(repo)], ["--history", str(repo)]):
        report = _json(repo.parent, *args, code=0)
        assert _skips(report) == [("model.bin", "lfs pointer")]
        # A skipped pointer is not a scanned file: the work tree scanned .gitattributes, the
        # audit that and the commit's message.
        summary = report["summary"]
        assert summary["files_scanned"] == (2 if "--history" in args else 1)
        assert summary["bytes_scanned"] - len(attributes) == (
            0 if len(args) == 1 else len("model\n")
        )
    # A warm audit replays the skips with the findings.
    cache = ["--cache-dir", str(repo.parent / "cache")]
    for _ in range(2):
        done = run_keyscan("--history", str(repo), *_rules(repo.parent), "--format", "json", *cache)
        assert _skips(json.loads(done.stdout)) == [("model.bin", "lfs pointer")]


def test_paths_and_messages_that_are_not_utf8_are_audited_in_every_format(make_repo) -> None:
    repo = make_repo()
    in_file, in_message = custom_token(rng(88)), custom_token(rng(89))
    name = os.fsdecode(b"caf\xe9.env")
    (repo / name).write_text(f"KEY={in_file}\n")
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "add", "--", name], cwd=repo, env=env, check=True)
    message = b"d\xe9ploiement " + in_message.encode()
    subprocess.run(
        ["git", "-c", "i18n.commitEncoding=latin-1", "commit", "-q", "-F", "-"],
        cwd=repo, env=env, input=message, check=True,
    )  # fmt: skip
    report = _json(repo.parent, "--history", str(repo), "--show-secrets")
    assert sorted((f["path"], f["secret"]) for f in report["findings"]) == sorted(
        [("(commit message)", in_message), ("caf\ufffd.env", in_file)]
    )
    for output in ("text", "jsonl", "sarif", "gitlab"):
        done = run_keyscan("--history", str(repo), *_rules(repo.parent), "--format", output)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr


def test_paths_git_writes_quoted_are_reported_as_they_are(make_repo) -> None:
    repo = make_repo()
    token = custom_token(rng(90))
    name = 'we"ird\tname \\ .env'
    commit(repo, "one", **{name: f"KEY={token}\n"})
    commit(repo, "two", **{"a.txt": "a\n"})
    report = _json(repo.parent, "--history", str(repo))
    assert [(f["path"], f["commit_count"], f["at_head"]) for f in report["findings"]] == [
        (name, 2, True)
    ]


@given(st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b))
@settings(max_examples=500, deadline=None)
def test_quoting_a_path_as_git_does_round_trips(path: bytes) -> None:
    written = quoted_path(path)
    assert unquoted_path(written) == path
    assert written == path or written.startswith(b'"')


def test_paths_are_quoted_as_git_log_quotes_them(make_repo) -> None:
    repo = make_repo()
    names = [b"tab\tname", b'quote"name', b"back\\slash", b"ctrl\x01\x7fname", b"caf\xc3\xa9"]
    env = {**os.environ, **GIT_ENV}
    for name in names:
        (repo / os.fsdecode(name)).write_bytes(b"x\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "names"], cwd=repo, env=env, check=True)
    log = subprocess.run(
        ["git", "-c", "core.quotepath=off", "log", "--raw", "--format="],
        cwd=repo, env=env, capture_output=True, check=True,
    ).stdout  # fmt: skip
    written = sorted(line.split(b"\t", 1)[1] for line in log.splitlines() if b"\t" in line)
    assert written == sorted(quoted_path(name) for name in names)


def _missing(repo: Path) -> int:
    listed = git(repo, "rev-list", "--objects", "--all", "--missing=print")
    return sum(line.startswith("?") for line in listed.splitlines())


def test_a_partial_clone_is_never_completed_over_the_network(make_repo) -> None:
    # git fetches a partial clone's missing objects from its promisor remote on demand (here a
    # file:// remote; usually a hosting service): a scan must not.
    source = make_repo("source")
    for n in range(3):
        commit(source, f"c{n}", **{f"f{n}.env": f"KEY={custom_token(rng(91 + n))}\n"})
    git(source, "config", "uploadpack.allowFilter", "true")
    partial = source.parent / "partial"
    git(source.parent, "clone", "-q", "--no-checkout", "--filter=blob:none",
        f"file://{source}", str(partial))  # fmt: skip
    assert _missing(partial) == 3
    for args in (["--diff", "HEAD~2..HEAD"], ["--history"]):
        done = run_keyscan(*args, str(partial), *_rules(partial.parent), "--format", "json")
        assert done.returncode == 2, done.stderr
        assert "missing or unreadable" in json.loads(done.stdout)["summary"]["incomplete"][0]
        assert _missing(partial) == 3
