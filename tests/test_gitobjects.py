"""Listing a repository's objects: what git reaches, each once, commits first."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from keyscan.gitcmd import git_env
from keyscan.sources.gitobjects import ObjectRef, list_objects
from keyscan.sources.history import reachable_roots
from tests.conftest import commit, git


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
