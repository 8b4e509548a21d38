"""The pre-commit hooks, driven by the real `pre-commit` and `git` in temporary repositories."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import GIT_ENV

ROOT = Path(__file__).resolve().parents[1]
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
HEX = "0123456789abcdef"


def shop_token(seed: int) -> str:
    """A Shopify-shaped token (a built-in rule), generated so no such literal sits in the tests."""
    r = random.Random(seed)
    return "shp" + "pa_" + "".join(r.choice(HEX) for _ in range(32))


def readme_block(heading: str, marker: str) -> str:
    """The fenced yaml block under README's `## heading` that contains `marker`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    [block] = [b for b in blocks if marker in b]
    return block


def copy_project(destination: Path) -> Path:
    """The working tree as it is now, uncommitted edits and new files included, as a fresh repo
    with one commit: pre-commit installs hooks from a repository at a revision."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    env = hook_env(destination.parent)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=destination, env=env, check=True, capture_output=True)
    return destination


def hook_env(home: Path, pre_commit_home: Path | None = None) -> dict[str, str]:
    """A clean environment: nothing from an outer git hook or pre-commit run leaks in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "PRE_COMMIT")) and k not in ("SKIP", "KEYSCAN_CONFIG")
    }
    env.update(GIT_ENV)
    env["HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if pre_commit_home is not None:
        env["PRE_COMMIT_HOME"] = str(pre_commit_home)
    return env


class Project:
    """A user's repository with the README's .pre-commit-config.yaml, hooks installed."""

    def __init__(self, path: Path, env: dict[str, str]):
        self.path = path
        self.env = env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(args), cwd=self.path, env=self.env, capture_output=True, text=True, timeout=300
        )
        if check:
            assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def write(self, name: str, text: str) -> None:
        (self.path / name).write_text(text)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("hookrepo")
    repo = copy_project(base / "keyscan")
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    return repo, rev


def user_config(hook_repo: tuple[Path, str]) -> str:
    """README's snippet, pointed at the snapshot of this checkout instead of the released tag."""
    config: dict[str, Any] = yaml.safe_load(readme_block("pre-commit", "repos:"))
    [entry] = config["repos"]
    entry["repo"], entry["rev"] = str(hook_repo[0]), hook_repo[1]
    return yaml.safe_dump(config, sort_keys=False)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory, hook_repo: tuple[Path, str]) -> Path:
    """One hook environment (pip install of keyscan) for every test in the module."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    scratch = tmp_path_factory.mktemp("scratch")
    env = hook_env(scratch, home)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=scratch, env=env, check=True)
    (scratch / ".pre-commit-config.yaml").write_text(user_config(hook_repo))
    done = subprocess.run(
        [str(PRE_COMMIT), "install-hooks"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return home


@pytest.fixture
def project(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> Iterator[Project]:
    path = tmp_path / "project"
    path.mkdir()
    proj = Project(path, hook_env(tmp_path, pre_commit_home))
    proj.git("init", "-q", "-b", "main")
    proj.write(".pre-commit-config.yaml", user_config(hook_repo))
    installed = proj.run(str(PRE_COMMIT), "install")
    assert "pre-push" in installed.stdout  # default_install_hook_types in the README snippet
    proj.write("README", "hello\n")
    proj.git("add", ".")
    proj.git("commit", "-q", "-m", "init")
    yield proj


def test_manifest_is_valid_and_declares_both_hooks() -> None:
    done = subprocess.run(
        [str(PRE_COMMIT), "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"keyscan", "keyscan-push"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["require_serial"] is True
        assert hook["minimum_pre_commit_version"] >= "3.2.0"
    assert "pre-commit" in hooks["keyscan"]["stages"]
    push = hooks["keyscan-push"]
    assert push["stages"][0] == "pre-push"
    assert push["pass_filenames"] is False and push["always_run"] is True


def test_staged_secret_blocks_the_commit_and_nothing_is_committed(project: Project) -> None:
    token = shop_token(1)
    before = project.head()
    project.write("settings.py", f"DEBUG = True\nSHOP_TOKEN = '{token}'\n")
    project.git("add", "settings.py")
    done = project.git("commit", "-m", "add settings", check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert project.head() == before
    assert "settings.py:2:" in output and "shopify.private-app-token" in output
    assert token not in output  # redacted
    assert "keyscan:allow" in output and "rotate" in output  # how to proceed
    assert len([line for line in output.splitlines() if line.strip()]) < 20  # short


def test_clean_commit_passes(project: Project) -> None:
    before = project.head()
    project.write("app.py", "print('hello')\n")
    project.git("add", "app.py")
    done = project.git("commit", "-m", "clean")
    assert "Passed" in done.stdout + done.stderr
    assert project.git("rev-parse", "HEAD~1").stdout.strip() == before


def test_unstaged_secret_does_not_block_a_clean_staged_change(project: Project) -> None:
    token = shop_token(2)
    project.write("app.py", "x = 1\n")
    project.git("add", "app.py")
    project.write("app.py", f"x = 1\ntoken = '{token}'\n")  # edited after staging
    project.write("notes.txt", f"{token}\n")  # untracked
    project.git("commit", "-m", "clean staged change")
    assert project.git("show", "HEAD:app.py").stdout == "x = 1\n"
    # pre-commit stashed the unstaged edit for the hook and put it back.
    assert token in (project.path / "app.py").read_text()


def test_commit_all_is_checked_through_git_s_temporary_index(project: Project) -> None:
    project.write("app.py", "x = 1\n")
    project.git("add", "app.py")
    project.git("commit", "-q", "-m", "app")
    before = project.head()
    project.write("app.py", f"x = 1\nkey = '{shop_token(3)}'\n")
    done = project.git("commit", "-a", "-m", "sneaky", check=False)
    assert done.returncode != 0 and "app.py:2:" in done.stdout + done.stderr
    assert project.head() == before


def test_inline_allow_lets_a_false_positive_through(project: Project) -> None:
    project.write("fixture.py", f"EXAMPLE = '{shop_token(4)}'  # keyscan:allow\n")
    project.git("add", "fixture.py")
    project.git("commit", "-m", "documented example")


def test_secret_already_committed_does_not_block_later_edits(project: Project) -> None:
    token = shop_token(5)
    project.write("old.py", f"k = '{token}'\n")
    project.git("add", "old.py")
    project.git("commit", "-q", "--no-verify", "-m", "old leak")
    project.write("old.py", f"# header\nk = '{token}'\nother = 2\n")
    project.git("mv", "old.py", "renamed.py")
    project.git("add", "renamed.py")
    project.git("commit", "-m", "edit and rename")


def test_all_files_run_scans_whole_files(project: Project) -> None:
    project.write("old.py", f"k = '{shop_token(6)}'\n")
    project.git("add", "old.py")
    project.git("commit", "-q", "--no-verify", "-m", "old leak")
    done = project.run(str(PRE_COMMIT), "run", "keyscan", "--all-files", check=False)
    assert done.returncode == 1 and "old.py:1:" in done.stdout


def bare_remote(project: Project) -> Path:
    remote = project.path.parent / "remote.git"
    project.git("init", "-q", "--bare", str(remote))
    project.git("remote", "add", "origin", str(remote))
    return remote


def remote_branches(project: Project, remote: Path) -> set[str]:
    refs = project.git("ls-remote", "--heads", str(remote)).stdout.split()[1::2]
    return {r.removeprefix("refs/heads/") for r in refs}


def test_push_of_a_branch_that_adds_a_key_is_refused(project: Project) -> None:
    remote = bare_remote(project)
    project.git("push", "-q", "origin", "main")
    project.git("checkout", "-q", "-b", "topic")
    project.write("keys.py", f"KEY = '{shop_token(7)}'\n")
    project.git("add", "keys.py")
    # The commit hook was skipped (or the commit was made elsewhere); the push hook still holds.
    project.git("commit", "-q", "--no-verify", "-m", "add key")
    project.git("rm", "-q", "keys.py")
    project.git("commit", "-q", "-m", "remove key again")
    done = project.git("push", "origin", "topic", check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "keys.py:1:" in output and "push blocked" in output
    assert shop_token(7) not in output
    assert remote_branches(project, remote) == {"main"}


def test_clean_push_passes_and_first_push_of_a_leaking_repository_is_refused(
    project: Project,
) -> None:
    remote = bare_remote(project)
    project.git("checkout", "-q", "-b", "clean")
    project.write("ok.py", "ok = True\n")
    project.git("add", "ok.py")
    project.git("commit", "-q", "-m", "ok")
    project.git("push", "-q", "origin", "clean")
    assert remote_branches(project, remote) == {"clean"}
    # pushing main, whose root commit the remote lacks, after a leak on top of it
    project.git("checkout", "-q", "main")
    project.write("leak.py", f"KEY = '{shop_token(8)}'\n")
    project.git("add", "leak.py")
    project.git("commit", "-q", "--no-verify", "-m", "leak")
    second = project.path.parent / "second.git"
    project.git("init", "-q", "--bare", str(second))
    project.git("remote", "add", "second", str(second))
    done = project.git("push", "second", "main", check=False)
    assert done.returncode != 0 and "leak.py:1:" in done.stdout + done.stderr
    assert remote_branches(project, second) == set()


def test_push_of_a_tag_whose_message_holds_a_key_is_refused(project: Project) -> None:
    remote = bare_remote(project)
    project.git("push", "-q", "origin", "main")
    project.write("release.txt", "1.0\n")
    project.git("add", "release.txt")
    project.git("commit", "-q", "-m", "release 1.0")
    project.git("tag", "-a", "-m", f"deployed with {shop_token(10)}", "v1.0")
    done = project.git("push", "origin", "v1.0", check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "(tag v1.0 message)" in output, output
    assert shop_token(10) not in output
    assert "v1.0" not in project.git("ls-remote", "--tags", str(remote)).stdout


def test_raw_git_pre_push_hook_without_pre_commit(tmp_path: Path) -> None:
    repo = tmp_path / "raw"
    repo.mkdir()
    env = hook_env(tmp_path)
    proj = Project(repo, env)
    proj.git("init", "-q", "-b", "main")
    hook = repo / ".git" / "hooks" / "pre-push"
    hook.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m keyscan hook pre-push "$@"\n')
    hook.chmod(0o755)
    remote = bare_remote(proj)
    proj.write("a.py", "a = 1\n")
    proj.git("add", "a.py")
    proj.git("commit", "-q", "-m", "a")
    proj.git("push", "-q", "origin", "main")
    proj.write("b.py", f"b = '{shop_token(9)}'\n")
    proj.git("add", "b.py")
    proj.git("commit", "-q", "-m", "b")
    done = proj.git("push", "origin", "main", check=False)
    assert done.returncode != 0 and "b.py:1:" in done.stdout + done.stderr
    heads = proj.git("ls-remote", "--heads", str(remote)).stdout
    assert proj.git("rev-parse", "HEAD~1").stdout.strip() in heads
