"""Listing a repository's objects: what git reaches, each once, commits first."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from keyscan.gitcmd import git_env
from keyscan.sources.gitobjects import CatFile, ObjectRef, list_objects
from keyscan.sources.history import reachable_roots
from keyscan.sources.treewalk import head_entries, walked_commits, walked_objects
from tests.conftest import commit, corrupt_packed_object, git
from tests.fakes import rng


def _repository_with_every_kind_of_object(make_repo) -> Path:
    repo = make_repo()
    commit(repo, "first", **{"a.txt": "one\n", "b.txt": "shared\n"})
    (repo / "sub").mkdir()
    (repo / "sub" / "c.txt").write_text("shared\n")  # the same content at a second path
    commit(repo, "second", **{"a.txt": "two\n", "sub/c.txt": "shared\n"})
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "side", **{"d.txt": "only on a branch\n"})
    git(repo, "tag", "-a", "inner", "-m", "inner tag")
    # A tag of a tag: only the outer one is a ref, the inner one is reached through it.
    git(repo, "-c", "advice.nestedTag=false", "tag", "-a", "outer", "inner", "-m", "outer tag")
    git(repo, "tag", "-d", "inner")
    git(repo, "tag", "light")
    git(repo, "checkout", "-q", "main")
    git(repo, "rm", "-q", "b.txt")
    git(repo, "commit", "-q", "-m", "delete b")
    return repo


def _what_git_lists(repo: Path) -> list[ObjectRef]:
    """The reference: every object of the one unfiltered walk, described by git itself."""
    walk = subprocess.run(
        ["git", "rev-list", "--objects", *reachable_roots(repo)],
        cwd=repo,
        env=git_env(),
        capture_output=True,
        check=True,
    ).stdout
    described = subprocess.run(
        ["git", "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)"],
        cwd=repo,
        env=git_env(),
        input=walk,
        capture_output=True,
        check=True,
    ).stdout.decode()
    refs = []
    for line in described.splitlines():
        oid, kind, size, path = [*line.split(" ", 3), ""][:4]
        if kind != "tree":
            refs.append(ObjectRef(oid, kind, int(size), path))
    return refs


def test_the_listing_is_every_commit_first_then_each_tag_and_blob_once(make_repo) -> None:
    repo = _repository_with_every_kind_of_object(make_repo)
    listed = list(list_objects(repo, reachable_roots(repo)))
    expected = _what_git_lists(repo)
    assert sorted(listed, key=lambda r: r.oid) == sorted(expected, key=lambda r: r.oid)
    kinds = [ref.type for ref in listed]
    commits = kinds.count("commit")
    assert commits == 4 and kinds[:commits] == ["commit"] * commits
    # Both tags, the inner one too, and the rest in the walk's own order.
    assert sorted(r.path for r in listed if r.type == "tag") == ["inner", "outer"]
    assert [r for r in listed if r.type != "commit"] == [r for r in expected if r.type != "commit"]


def test_a_git_that_cannot_leave_trees_out_lists_the_same(make_repo) -> None:
    # A filter this git rejects stands for one too old to know object:type (before 2.32).
    repo = _repository_with_every_kind_of_object(make_repo)
    roots = reachable_roots(repo)
    unfiltered = list(list_objects(repo, roots, walk_filter="--filter=object:type=nonsense"))
    assert unfiltered == list(list_objects(repo, roots))
    assert {ref.type for ref in unfiltered} == {"commit", "tag", "blob"}


def test_the_in_process_tree_walk_lists_what_git_lists(make_repo) -> None:
    # The walk a damaged repository falls back on, on an undamaged one: the same blobs and
    # annotated tags, each once (a blob at two paths is listed at one of them, as git does).
    repo = _repository_with_every_kind_of_object(make_repo)
    commits = [ref.oid for ref in _what_git_lists(repo) if ref.type == "commit"]
    walked = list(walked_objects(repo, commits, True, lambda oid: None, lambda oid, why: None))
    expected = [ref for ref in _what_git_lists(repo) if ref.type != "commit"]

    def described(refs: list[ObjectRef]) -> list[tuple[str, str, int]]:
        return sorted((ref.oid, ref.type, ref.size) for ref in refs)

    assert described(walked) == described(expected)
    assert len(walked) == len({ref.oid for ref in walked})
    git_paths = {ref.oid: ref.path for ref in expected}
    for ref in walked:
        assert ref.path == git_paths[ref.oid] or ref.path in {"b.txt", "sub/c.txt"}


def test_the_in_process_commit_walk_lists_what_git_lists(make_repo) -> None:
    # The commit walk a damaged repository falls back on, on an undamaged one: every commit
    # the refs reach (through branches and a tag of a tag), each once, but those already listed.
    repo = _repository_with_every_kind_of_object(make_repo)
    commits = {ref.oid: ref.size for ref in _what_git_lists(repo) if ref.type == "commit"}
    walked = list(walked_commits(repo, ["--all"], set(), lambda oid, why: None))
    assert sorted((ref.oid, ref.size) for ref in walked) == sorted(commits.items())
    assert {ref.type for ref in walked} == {"commit"}
    some = set(list(commits)[:2])
    rest = list(walked_commits(repo, ["--all"], some, lambda oid, why: None))
    assert sorted(ref.oid for ref in rest) == sorted(set(commits) - some)


def test_head_s_tree_read_in_process_is_what_ls_tree_lists(make_repo) -> None:
    repo = _repository_with_every_kind_of_object(make_repo)
    (repo / "sub" / "again.txt").write_text("two\n")  # a blob at two paths of HEAD
    commit(repo, "again", **{"sub/again.txt": "two\n"})
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},vendored")
    git(repo, "commit", "-q", "-m", "a gitlink")
    listed = git(repo, "ls-tree", "-r", "HEAD")
    paths: dict[str, set[str]] = {}
    gitlinks = {}
    for line in listed.splitlines():
        meta, path = line.split("\t", 1)
        _, kind, oid = meta.split()
        if kind == "commit":
            gitlinks[path] = oid
        else:
            paths.setdefault(oid, set()).add(path)
    assert head_entries(repo) == (paths, gitlinks)
    assert any(len(held) == 2 for held in paths.values())


def _long_history(repo: Path, commits: int) -> None:
    """`commits` commits, each a new version of one file, written in one `git fast-import` (each
    commit on the branch continues from the one before)."""
    stream = []
    for number in range(commits):
        content = f"version {number}\n".encode()
        stream.append(
            b"commit refs/heads/main\n"
            + f"committer A <a@example.invalid> {1_700_000_000 + number} +0000\n".encode()
            + b"data 2\nc\n"
            + f"M 100644 inline file.txt\ndata {len(content)}\n".encode()
            + content
            + b"\n"
        )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)


def test_a_listing_stopped_early_leaves_no_git_running(make_repo) -> None:
    # Long enough that the tree walk is still going when the listing is closed: whatever git
    # the listing started must be gone (killed and reaped), not left running or a zombie.
    repo = make_repo()
    _long_history(repo, 3000)
    listing = list_objects(repo, reachable_roots(repo))
    first = next(listing)
    assert first.type == "commit"
    listing.close()  # type: ignore[attr-defined]
    assert _children() == []


def _children() -> list[str]:
    """The command lines of this process's children, zombies included (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            arguments = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # The parent id is the second field after the command name, which is in parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
            found.append(arguments.replace(b"\0", b" ").decode() or stat)
    return found


@pytest.mark.parametrize("batch_command", [True, False], ids=["batch-command", "batch"])
def test_cat_file_reads_every_object_past_missing_and_corrupt_ones(
    make_repo, batch_command: bool
) -> None:
    # Both request modes (git 2.36's buffered --batch-command, and plain --batch for older
    # git) answer the same: contents in order, small ones and one larger than every buffer on
    # the way, and the others still after a missing object and one that kills cat-file.
    repo = make_repo()
    noise = rng(41)
    files = {
        "a.txt": "first\n",
        "big.txt": "".join(noise.choice("abcdefgh \n") for _ in range(700_000)),
        "broken.txt": "".join(noise.choice("ijklmnop \n") for _ in range(20_000)),
        "z.txt": "last\n",
    }
    commit(repo, "init", **files)
    oids = {name: git(repo, "rev-parse", f"HEAD:{name}").strip() for name in files}
    corrupt_packed_object(repo, oids["broken.txt"])
    absent = "0123456789abcdef0123456789abcdef01234567"
    unreadable: list[str] = []
    order = ["a.txt", "big.txt", "broken.txt", "z.txt"]
    requested = [oids["a.txt"], absent, *(oids[name] for name in order[1:]), oids["a.txt"]]
    with CatFile(repo, batch_command=batch_command) as catfile:
        fetched = list(catfile.fetch(requested, lambda oid, why: unreadable.append(oid)))
        # The same cat-file (or the one that replaced the dead one) serves the next batch.
        again = list(catfile.fetch([oids["z.txt"]]))
    readable = ["a.txt", "big.txt", "z.txt", "a.txt"]
    assert fetched == [(oids[name], "blob", files[name].encode()) for name in readable]
    assert again == [(oids["z.txt"], "blob", b"last\n")]
    assert unreadable == [absent, oids["broken.txt"]]


def test_a_git_without_batch_command_is_asked_in_plain_batch_mode(
    make_repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git before 2.36 stops on --batch-command with a usage error, as this git on PATH does
    # (it passes everything else to the real git).
    real_git = shutil.which("git")
    assert real_git is not None
    old_git = tmp_path / "old-git"
    old_git.mkdir()
    (old_git / "git").write_text(
        "#!/bin/sh\n"
        'for argument in "$@"; do\n'
        '  if [ "$argument" = --batch-command ]; then\n'
        '    echo "error: unknown option \\`batch-command\'" >&2; exit 129\n'
        "  fi\n"
        "done\n"
        f'exec "{real_git}" "$@"\n'
    )
    (old_git / "git").chmod(0o755)
    repo = make_repo()
    commit(repo, "init", **{"a.txt": "first\n", "b.txt": "second\n"})
    oids = [git(repo, "rev-parse", f"HEAD:{name}").strip() for name in ("a.txt", "b.txt")]
    monkeypatch.setenv("PATH", f"{old_git}{os.pathsep}{os.environ['PATH']}")
    with CatFile(repo) as catfile:
        assert [data for _, _, data in catfile.fetch(oids)] == [b"first\n", b"second\n"]
        assert [data for _, _, data in catfile.fetch(oids[::-1])] == [b"second\n", b"first\n"]


def test_an_audit_leaves_no_git_process_for_init_to_reap(make_repo, tmp_path: Path) -> None:
    # A subreaper inherits whatever the audit's process tree orphans. A pool worker that exits
    # without waiting for its cat-file orphans it: nothing then accounts for its CPU time (a
    # benchmark reading the audit's resource usage undercounts it).
    if not sys.platform.startswith("linux"):
        pytest.skip("child subreapers are a Linux feature")
    repo = make_repo()
    for number in range(3):
        commit(repo, f"c{number}", **{f"f{number}.txt": f"version {number}\n"})
    script = textwrap.dedent(
        """
        import ctypes, os, subprocess, sys
        PR_SET_CHILD_SUBREAPER = 36
        assert ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        audit = subprocess.run(
            [sys.executable, "-m", "keyscan", *sys.argv[1:]], stdout=subprocess.DEVNULL
        )
        orphans = 0
        while True:
            try:
                os.wait()
            except ChildProcessError:
                break
            orphans += 1
        print(audit.returncode, orphans)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "--history", str(repo), "--jobs", "2", "--no-cache"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert done.stdout.split() == ["0", "0"], done.stderr
