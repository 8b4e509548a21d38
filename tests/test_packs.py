"""Reading objects in-process: the pack reader gives what git gives, and leaves to cat-file
whatever it cannot read."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from keyscan.sources.gitobjects import CatFile
from keyscan.sources.packs import PackReader, open_object_reader
from tests.conftest import commit, corrupt_packed_object, git, git_on_path, run_keyscan
from tests.fakes import github_pat, rng

_packs = pytest.importorskip("keyscan._packs", reason="the C pack reader was not built")


def _text(noise: random.Random, lines: int) -> list[str]:
    return ["".join(noise.choice("abcdefghij klmnop=_") for _ in range(48)) for _ in range(lines)]


def _repository_with_deltas(make_repo, repack_config: tuple[str, ...] = ()) -> Path:
    """Versions of files repacked into long delta chains (a file past 64 KiB, so that copies
    of the largest size a delta encodes occur), an empty file, a binary file, then a commit
    whose objects stay loose."""
    repo = make_repo()
    noise = rng(41)
    lines = _text(noise, 3_000)
    for version in range(14):
        at = noise.randrange(len(lines))
        lines[at : at + noise.randrange(4)] = _text(noise, noise.randrange(5))
        (repo / "data.bin").write_bytes(bytes(noise.randrange(256) for _ in range(3_000)))
        git(repo, "add", "data.bin")
        commit(repo, f"v{version}", big="\n".join(lines), small=f"{version}\n", empty="")
    git(repo, *repack_config, "repack", "-q", "-a", "-d", "-f", "--depth=50", "--window=50")
    lines[10] = "changed after the repack"
    commit(repo, "loose", big="\n".join(lines))
    return repo


def _every_object(repo: Path) -> list[str]:
    listed = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return listed.split()


def _delta_chains(repo: Path) -> list[int]:
    """The chain length of every delta in the repository's packs (git verify-pack)."""
    depths = []
    for index in (repo / ".git" / "objects" / "pack").glob("*.idx"):
        for line in git(repo, "verify-pack", "-v", str(index)).splitlines():
            fields = line.split()
            if len(fields) == 7 and fields[1] in {"blob", "tree", "commit", "tag"}:
                depths.append(int(fields[5]))
    return depths


@pytest.mark.parametrize(
    "repack_config",
    [(), ("-c", "repack.useDeltaBaseOffset=false")],
    ids=["offset deltas", "ref deltas"],
)
def test_the_pack_reader_gives_every_object_as_git_does(make_repo, repack_config) -> None:
    repo = _repository_with_deltas(make_repo, repack_config)
    assert max(_delta_chains(repo)) >= 3  # chains of deltas, applied one after the other
    oids = _every_object(repo)
    with CatFile(repo) as catfile:
        expected = list(catfile.fetch(oids))
    reader = open_object_reader(repo)
    try:
        assert isinstance(reader, PackReader)
        assert list(reader.fetch(oids)) == expected
        # Twice: the second time most bases come from the reader's cache.
        assert list(reader.fetch(list(reversed(oids)))) == list(reversed(expected))
    finally:
        reader.close()


@pytest.mark.parametrize("cache_limit", [0, 4096, 16 << 20])
def test_a_pack_reads_the_same_whatever_its_base_cache(make_repo, cache_limit: int) -> None:
    repo = _repository_with_deltas(make_repo)
    git(repo, "repack", "-q", "-a", "-d")  # the loose commit too: one pack holds everything
    [index] = (repo / ".git" / "objects" / "pack").glob("*.idx")
    pack = _packs.Pack(str(index.with_suffix(".pack")), str(index), cache_limit)
    oids = _every_object(repo)
    assert pack.count == len(oids)
    with CatFile(repo) as catfile:
        names = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}
        for oid, kind, data in catfile.fetch(oids):
            assert pack.read(pack.find(bytes.fromhex(oid))) == (names[kind], data)
    assert pack.find(bytes(20)) == -1
    pack.close()
    with pytest.raises(ValueError, match="closed"):
        pack.find(bytes(20))


def _resident_kb(mapped: Path) -> int:
    """How much of the file mapped at `mapped` is resident in this process's mapping."""
    resident, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            inside = line.endswith(str(mapped))
        elif inside and line.startswith("Rss:"):
            resident += int(line.split()[1])
    return resident


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc")
def test_a_pack_lets_go_of_the_pages_it_has_read(make_repo) -> None:
    # Kept mapped, the whole pack ends up resident in every worker; past release_every bytes
    # inflated the reader drops its pages (they come back from the file on the next read).
    repo = _repository_with_deltas(make_repo)
    git(repo, "repack", "-q", "-a", "-d")
    [index] = (repo / ".git" / "objects" / "pack").glob("*.idx")
    pack_file = index.with_suffix(".pack")
    oids = _every_object(repo)
    with CatFile(repo) as catfile:
        expected = [data for _, _, data in catfile.fetch(oids)]
    resident = {}
    for release_every in (1, 1 << 40):
        pack = _packs.Pack(str(pack_file), str(index), 0, release_every)
        try:
            assert [pack.read(pack.find(bytes.fromhex(oid)))[1] for oid in oids] == expected
            resident[release_every] = _resident_kb(pack_file)
        finally:
            pack.close()
    assert resident[1 << 40] > 0 and resident[1] == 0
    with pytest.raises(ValueError, match="release_every"):
        _packs.Pack(str(pack_file), str(index), 0, 0)


def test_a_history_audit_of_a_packed_repository_runs_no_cat_file_batch(
    make_repo, tmp_path: Path
) -> None:
    repo = _repository_with_deltas(make_repo)
    token = github_pat(rng(42))
    commit(repo, "leak", **{"settings.env": f"TOKEN={token}\n"})
    git(repo, "repack", "-q", "-a", "-d")
    # A git on PATH that notes each command it is asked to run, then runs the real one.
    log = tmp_path / "git.log"
    env = git_on_path(
        tmp_path / "bin", lambda real: f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n'
    )
    for jobs in ("1", "2"):
        log.write_text("")
        done = subprocess.run(
            [sys.executable, "-m", "keyscan", "--history", str(repo), "--no-cache", "--jobs", jobs,
             "--format", "json", "--no-progress"],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert [f["path"] for f in json.loads(done.stdout)["findings"]] == ["settings.env"]
        commands = log.read_text().splitlines()
        assert any("rev-list" in line for line in commands)
        # Listing still asks `cat-file --batch-check` for types and sizes (buffered: a write per
        # object cost git as much system time as the rest of its work); no contents are read
        # through cat-file.
        checkers = [line for line in commands if "--batch-check" in line]
        assert checkers and all("--buffer" in line for line in checkers)
        assert not [line for line in commands if "cat-file" in line and "batch-check" not in line]


def test_objects_the_packs_lack_come_from_cat_file(make_repo, tmp_path: Path) -> None:
    # A clone sharing its source's objects (alternates) holds none of them itself.
    source = _repository_with_deltas(make_repo)
    clone = tmp_path / "shared"
    git(tmp_path, "clone", "-q", "--shared", str(source), str(clone))
    commit(clone, "own", own="only in the clone\n")
    oids = _every_object(clone)
    with CatFile(clone) as catfile:
        expected = list(catfile.fetch(oids))
    with closing(PackReader(clone, clone / ".git" / "objects", [])) as reader:
        assert list(reader.fetch(oids)) == expected
    reader = open_object_reader(clone)
    try:
        assert list(reader.fetch(oids)) == expected
    finally:
        reader.close()


def test_a_damaged_packed_object_is_left_to_cat_file_and_the_rest_is_read(make_repo) -> None:
    repo = _repository_with_deltas(make_repo)
    damaged = git(repo, "rev-parse", "HEAD~3:big").strip()
    corrupt_packed_object(repo, damaged)
    oids = [oid for oid in _every_object(repo) if oid != damaged]
    with CatFile(repo) as catfile:
        expected = {oid: data for oid, _, data in catfile.fetch(oids)}
    unreadable: list[tuple[str, str]] = []
    reader = open_object_reader(repo)
    try:
        got = {
            oid: data
            for oid, _, data in reader.fetch([damaged, *oids], lambda *u: unreadable.append(u))
        }
    finally:
        reader.close()
    # What git says of the damaged one (through cat-file) names it; everything else is read,
    # deltas on it too when git can read them.
    assert [oid for oid, _ in unreadable] == [damaged]
    assert "cat-file" in unreadable[0][1]
    assert got == expected


def test_a_damaged_pack_never_crashes_the_reader(make_repo, tmp_path: Path) -> None:
    repo = _repository_with_deltas(make_repo)
    git(repo, "repack", "-q", "-a", "-d")
    [index] = (repo / ".git" / "objects" / "pack").glob("*.idx")
    original = index.with_suffix(".pack").read_bytes()
    intact = _packs.Pack(str(index.with_suffix(".pack")), str(index))
    offsets = [intact.find(bytes.fromhex(oid)) for oid in _every_object(repo)]
    intact.close()
    noise = rng(43)
    damaged = tmp_path / "damaged.pack"
    outcomes = {"read": 0, "refused": 0}
    for trial in range(60):
        data = bytearray(original)
        if trial % 10 == 9:
            data = data[: noise.randrange(12, len(data))]  # truncated
        for _ in range(noise.choice([1, 4, 64])):
            at = noise.randrange(12, len(data))
            data[at] = noise.randrange(256)
        damaged.write_bytes(bytes(data))
        try:
            pack = _packs.Pack(str(damaged), str(index), noise.choice([0, 1 << 20]))
        except ValueError:
            outcomes["refused"] += 1
            continue
        for offset in offsets:
            try:
                kind, content = pack.read(offset)
            except ValueError as error:
                assert "pack entry at offset" in str(error)
                outcomes["refused"] += 1
            else:
                assert 1 <= kind <= 4 and isinstance(content, bytes)
                outcomes["read"] += 1
        pack.close()
    assert outcomes["read"] and outcomes["refused"]


def test_an_index_of_another_version_leaves_the_pack_to_cat_file(make_repo) -> None:
    repo = _repository_with_deltas(make_repo)
    git(repo, "-c", "pack.indexVersion=1", "repack", "-q", "-a", "-d")
    [index] = (repo / ".git" / "objects" / "pack").glob("*.idx")
    with pytest.raises(ValueError, match="not a version 2 pack index"):
        _packs.Pack(str(index.with_suffix(".pack")), str(index))
    oids = _every_object(repo)
    with CatFile(repo) as catfile:
        expected = list(catfile.fetch(oids))
    reader = open_object_reader(repo)
    try:
        assert list(reader.fetch(oids)) == expected
    finally:
        reader.close()


def test_a_sha256_repository_is_read_through_cat_file(make_repo, tmp_path: Path) -> None:
    repo = tmp_path / "sha256"
    repo.mkdir()
    try:
        git(repo, "init", "-q", "-b", "main", "--object-format=sha256")
    except subprocess.CalledProcessError:
        pytest.skip("this git cannot make SHA-256 repositories")
    token = github_pat(rng(44))
    commit(repo, "leak", **{"settings.env": f"TOKEN={token}\n"})
    git(repo, "gc", "-q")
    reader = open_object_reader(repo)
    try:
        assert isinstance(reader, CatFile)
    finally:
        reader.close()
    done = run_keyscan("--history", str(repo), "--no-cache", "--format", "json", "--no-progress")
    assert done.returncode == 1, done.stderr
    assert [f["path"] for f in json.loads(done.stdout)["findings"]] == ["settings.env"]
