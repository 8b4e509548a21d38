"""Shared fixtures: real git repositories in temporary directories and the real CLI."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@test.invalid",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@test.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def commit(repo: Path, message: str, **files: str) -> str:
    """Write, stage and commit files; returns the new commit's id."""
    for name, text in files.items():
        (repo / name).write_text(text)
        git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def git_on_path(directory: Path, script: Callable[[str], str]) -> dict[str, str]:
    """An environment whose PATH finds first a `git` that is the shell script `script(real)`
    (`real`: the path of the real git, for the script to run): to watch or slow what keyscan
    asks git to do, while git itself still does it."""
    real = shutil.which("git")
    assert real is not None
    directory.mkdir()
    wrapper = directory / "git"
    wrapper.write_text(script(real))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], Path]:
    def factory(name: str = "repo") -> Path:
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        return repo

    return factory


_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr")


def _device_kinds() -> dict[str, int]:
    """What each device path is (a device, or the link to a descriptor); -1 when missing."""
    kinds = {}
    for path in _DEVICES:
        try:
            kinds[path] = stat.S_IFMT(os.lstat(path).st_mode)
        except OSError:
            kinds[path] = -1
    return kinds


@pytest.fixture(autouse=True, scope="session")
def devices_left_as_they_were() -> Iterator[None]:
    # As root, a report written by renaming a file over `-o /dev/null` once turned the machine's
    # /dev/null into a plain file; any test that does that again fails the run here.
    before = _device_kinds()
    yield
    changed = {path: kind for path, kind in _device_kinds().items() if kind != before[path]}
    assert not changed, f"a test replaced {sorted(changed)}: restore them by hand"


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYSCAN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("KEYSCAN_CONFIG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def run_keyscan(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command line, as a user runs it: `python -m keyscan ...`."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "keyscan", *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def corrupt_packed_object(repo: Path, oid: str) -> None:
    """Damage the middle of `oid`'s compressed data in the pack: git still lists the object and
    reads its header, and `cat-file --batch` dies inside it."""
    # Packed by hand (object names on stdin) into one pack that replaces any other (a clone's),
    # then the loose copies dropped.
    packs = repo / ".git" / "objects" / "pack"
    older = list(packs.glob("pack-*")) if packs.is_dir() else []
    listed = git(repo, "rev-list", "--objects", "--all")
    names = "".join(line.split()[0] + "\n" for line in listed.splitlines())
    env = {**os.environ, **GIT_ENV}
    name = subprocess.run(
        ["git", "pack-objects", "-q", str(packs / "pack")],
        cwd=repo, env=env, input=names, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    for stale in older:
        if name not in stale.name:
            stale.unlink()
    git(repo, "prune-packed")
    [index] = packs.glob("*.idx")
    listing = git(repo, "verify-pack", "-v", str(index))
    [entry] = [line.split() for line in listing.splitlines() if line.startswith(oid)]
    size_in_pack, offset = int(entry[3]), int(entry[4])
    pack = index.with_suffix(".pack")
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    middle = offset + size_in_pack // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    pack.write_bytes(bytes(data))
