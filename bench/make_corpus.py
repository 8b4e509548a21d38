#!/usr/bin/env python3
"""Check out the benchmark trees listed in bench/corpus.txt.

Every repository is checked out at exactly the listed commit as plain files (no .git directory)
under bench/work/trees/TREE/NAME, so that every scanner in the benchmark sees the same files, and a
manifest bench/work/trees/TREE.json records what the tree holds (repositories, commits, files,
bytes). bench/work/ is git-ignored: never commit these trees.

Each tree is also made a git repository of its own whose index tracks every file (`git init` and
`git add --all --force`; nothing is committed), so that keyscan scans it the way it scans any
checkout: the files `git ls-files` lists. (A plain directory inside this checkout's git-ignored
bench/work/ would be seen by keyscan as ignored, and scanned as empty.) That repository's git
directory is kept outside the tree, in bench/work/gitdirs/TREE.git (the tree holds only a one-line
`.git` file pointing there), so that scanners that walk directories do not read git's object store.

The repositories must already be on disk as git directories (bare clones are fine), found with
--mirrors DIR (looked up as DIR/OWNER+NAME/repo, DIR/OWNER+NAME, DIR/OWNER/NAME.git, DIR/NAME.git,
DIR/NAME/.git, DIR/NAME) or given one by one with --git-dir OWNER/NAME=PATH. For example:

    git clone --bare https://github.com/numpy/numpy bench/work/mirrors/numpy.git   # one each
    bench/.env/bin/python bench/make_corpus.py --mirrors bench/work/mirrors
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Entry:
    tree: str
    repo: str  # owner/name
    commit: str

    @property
    def name(self) -> str:
        return self.repo.split("/", 1)[1]


def read_corpus(path: Path) -> list[Entry]:
    entries = []
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or "/" not in parts[1] or len(parts[2]) != 40:
            sys.exit(f"{path}:{lineno}: expected 'TREE OWNER/NAME COMMIT', got {raw!r}")
        entries.append(Entry(*parts))
    return entries


def has_commit(git_dir: Path, commit: str) -> bool:
    result = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
    )
    return result.returncode == 0


def find_git_dir(entry: Entry, mirrors: list[Path], explicit: dict[str, Path]) -> Path | None:
    if entry.repo in explicit:
        return explicit[entry.repo]
    owner, name = entry.repo.split("/", 1)
    for root in mirrors:
        for candidate in (
            root / f"{owner}+{name}" / "repo",
            root / f"{owner}+{name}",
            root / owner / f"{name}.git",
            root / f"{name}.git",
            root / name / ".git",
            root / name,
        ):
            if candidate.is_dir() and has_commit(candidate, entry.commit):
                return candidate
    return None


def checkout(git_dir: Path, commit: str, dest: Path) -> None:
    """Write the files of COMMIT into DEST (which must not exist) without touching GIT_DIR's
    refs, index or work tree: a throw-away index file is used."""
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))
        base = [
            "git",
            "-c",
            "core.autocrlf=false",
            "-c",
            "core.symlinks=true",
            f"--git-dir={git_dir}",
            f"--work-tree={dest}",
        ]
        subprocess.run([*base, "read-tree", commit], check=True, env=env)
        subprocess.run([*base, "checkout-index", "--all", "--force"], check=True, env=env)


def index_tree(root: Path, git_dir: Path) -> None:
    """Make ROOT a git repository (its git directory: GIT_DIR) whose index tracks every file
    under it; nothing is committed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    if git_dir.exists():
        shutil.rmtree(git_dir)
    git_dir.parent.mkdir(parents=True, exist_ok=True)
    base = ["git", "-c", "core.autocrlf=false", "-C", str(root)]
    subprocess.run([*base, "init", "--quiet", f"--separate-git-dir={git_dir}"], check=True, env=env)
    subprocess.run([*base, "add", "--all", "--force"], check=True, env=env)


def tree_stats(root: Path) -> tuple[int, int]:
    """(regular files, bytes) under ROOT; symlinks are not counted."""
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for filename in filenames:
            st = os.lstat(os.path.join(dirpath, filename))
            if not os.path.islink(os.path.join(dirpath, filename)):
                files += 1
                size += st.st_size
    return files, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus.txt")
    parser.add_argument("--trees", type=Path, default=HERE / "work" / "trees")
    parser.add_argument("--mirrors", type=Path, action="append", default=[])
    parser.add_argument("--git-dir", action="append", default=[], metavar="OWNER/NAME=PATH")
    parser.add_argument("--only", action="append", default=[], metavar="TREE")
    parser.add_argument("--force", action="store_true", help="re-create trees that exist")
    args = parser.parse_args()

    explicit = {}
    for item in args.git_dir:
        repo, _, path = item.partition("=")
        explicit[repo] = Path(path)

    entries = read_corpus(args.corpus)
    trees: dict[str, list[Entry]] = {}
    for entry in entries:
        if not args.only or entry.tree in args.only:
            trees.setdefault(entry.tree, []).append(entry)

    missing = [
        e.repo for es in trees.values() for e in es if not find_git_dir(e, args.mirrors, explicit)
    ]
    if missing:
        sys.exit(
            "make_corpus: no git directory holding the listed commit for: "
            + ", ".join(sorted(set(missing)))
            + "\n(clone them, e.g. `git clone --bare https://github.com/OWNER/NAME DIR/NAME.git`,"
            " and pass --mirrors DIR)"
        )

    for tree, tree_entries in trees.items():
        root = args.trees / tree
        manifest_path = args.trees / f"{tree}.json"
        if root.exists():
            if not args.force and manifest_path.exists():
                print(f"{tree}: exists ({root}); --force to re-create")
                continue
            shutil.rmtree(root)
        repos = []
        for entry in tree_entries:
            git_dir = find_git_dir(entry, args.mirrors, explicit)
            assert git_dir is not None
            dest = root / entry.name
            checkout(git_dir, entry.commit, dest)
            files, size = tree_stats(dest)
            repos.append(
                {"repo": entry.repo, "commit": entry.commit, "files": files, "bytes": size}
            )
            print(f"{tree}: {entry.repo}@{entry.commit[:12]}: {files} files, {size / 1e6:.1f} MB")
        files, size = tree_stats(root)
        index_tree(root, args.trees.parent / "gitdirs" / f"{tree}.git")
        manifest = {"tree": tree, "files": files, "bytes": size, "repos": repos}
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        print(f"{tree}: {files} files, {size / 1e6:.1f} MB -> {root}")


if __name__ == "__main__":
    main()
