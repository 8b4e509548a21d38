"""--staged, --diff BASE..HEAD and --pre-push: only what a change adds is reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import commit, corrupt_packed_object, git, git_on_path, run_keyscan
from tests.fakes import CUSTOM_RULE, custom_token, github_pat, rng

ZERO = "0" * 40


def scan(repo: Path, *args: str, stdin: str | None = None) -> tuple[int, list[dict]]:
    done = run_scan(repo, *args, stdin=stdin)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["findings"]


def run_scan(repo: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    rules = repo.parent / "custom-rules.yaml"
    rules.write_text(CUSTOM_RULE)
    return run_keyscan(
        *args,
        str(repo),
        "--rules",
        str(rules),
        "--enable-rule",
        "test.custom-token",
        "--format",
        "json",
        "--no-progress",
        "--show-secrets",
        stdin=stdin,
    )


def test_staged_scans_the_index_not_the_work_tree(make_repo) -> None:
    repo = make_repo()
    commit(repo, "init", **{"a.py": "x = 1\n"})
    staged, unstaged = custom_token(rng(30)), custom_token(rng(31))
    (repo / "a.py").write_text(f"x = 1\ny = '{staged}'\n")
    git(repo, "add", "a.py")
    (repo / "a.py").write_text(f"x = 1\ny = '{staged}'\nz = '{unstaged}'\n")
    (repo / "untracked.py").write_text(f"w = '{unstaged}'\n")
    code, findings = scan(repo, "--staged")
    assert code == 1
    assert [(f["path"], f["line"], f["secret"]) for f in findings] == [("a.py", 2, staged)]


def test_staged_ignores_a_secret_already_committed(make_repo) -> None:
    repo = make_repo()
    old = custom_token(rng(32))
    commit(repo, "init", **{"a.py": f"k = '{old}'\n"})
    (repo / "a.py").write_text(f"# moved\n\nk = '{old}'\nother = 2\n")
    git(repo, "add", "a.py")
    assert scan(repo, "--staged") == (0, [])


def test_staged_before_the_first_commit(make_repo) -> None:
    repo = make_repo()
    token = custom_token(rng(33))
    (repo / "a.txt").write_text(f"{token}\n")
    git(repo, "add", "a.txt")
    code, findings = scan(repo, "--staged")
    assert code == 1 and findings[0]["path"] == "a.txt"


def test_diff_reports_only_what_the_branch_adds(make_repo) -> None:
    repo = make_repo()
    on_base = custom_token(rng(34))
    commit(repo, "base", **{"base.txt": f"{on_base}\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    added, transient = custom_token(rng(35)), custom_token(rng(36))
    first = commit(repo, "add key", **{"new.txt": f"k={added}\n", "copy.txt": f"{on_base}\n"})
    commit(repo, "oops", **{"tmp.txt": f"t={transient}\n"})
    git(repo, "rm", "-q", "tmp.txt")
    git(repo, "commit", "-q", "-m", "remove oops")
    git(repo, "checkout", "-q", "main")
    commit(repo, "main moves on", **{"main.txt": "m\n"})
    code, findings = scan(repo, "--diff", "main..feature")
    assert code == 1
    by_secret = {f["secret"]: f for f in findings}
    assert set(by_secret) == {added, transient}
    assert by_secret[added]["commit"] == first and by_secret[added]["at_head"] is True
    assert by_secret[transient]["at_head"] is False  # only in branch history


def test_diff_with_a_clean_branch_exits_zero(make_repo) -> None:
    repo = make_repo()
    commit(repo, "base", **{"a.txt": "a\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "clean", **{"b.txt": "b\n"})
    assert scan(repo, "--diff", "main..feature") == (0, [])


def test_diff_with_unknown_base_says_to_fetch_history(make_repo) -> None:
    repo = make_repo()
    commit(repo, "base", **{"a.txt": "a\n"})
    done = run_keyscan("--diff", "origin/main..HEAD", str(repo), "--no-progress")
    assert done.returncode == 2
    assert "fetch-depth: 0" in done.stderr
    # What git said is wrong, not the usage hint it prints after it.
    assert "bad revision '^origin/main'" in done.stderr
    done = run_keyscan("--diff", "HEAD..topic", str(repo), "--no-progress")
    assert "unknown revision" in done.stderr and "git <command>" not in done.stderr
    # A pre-push line whose ids are not ids is named as it came.
    done = run_keyscan("--pre-push", str(repo), "--no-progress", stdin="main HEAD main HEAD~1\n")
    assert done.returncode == 2
    assert "got 'main HEAD main HEAD~1'" in done.stderr


def test_pre_push_scans_commits_the_remote_lacks(make_repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo = make_repo()
    old = custom_token(rng(37))
    base = commit(repo, "base", **{"a.txt": f"{old}\n"})
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    new = custom_token(rng(38))
    tip = commit(repo, "more", **{"b.txt": f"{new}\n"})
    line = f"refs/heads/main {tip} refs/heads/main {base}\n"
    code, findings = scan(repo, "--pre-push", stdin=line)
    assert code == 1 and [f["secret"] for f in findings] == [new]
    # A new branch: everything not on any remote-tracking ref.
    git(repo, "checkout", "-q", "-b", "topic")
    newer = custom_token(rng(39))
    topic = commit(repo, "topic", **{"c.txt": f"{newer}\n"})
    line = f"refs/heads/topic {topic} refs/heads/topic {ZERO}\n"
    code, findings = scan(repo, "--pre-push", stdin=line)
    assert sorted(f["secret"] for f in findings) == sorted([new, newer])
    # Deleting a remote branch pushes nothing.
    assert scan(repo, "--pre-push", stdin=f"(delete) {ZERO} refs/heads/topic {topic}\n") == (0, [])


def test_pre_push_scans_the_messages_of_the_tags_it_pushes(make_repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo = make_repo()
    commit(repo, "base", **{"a.txt": "a\n"})
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    # The commit is on the remote already: the tag brings only itself, and its message.
    in_message, in_outer = custom_token(rng(98)), custom_token(rng(99))
    git(repo, "tag", "-a", "-m", f"release, deployed with {in_message}", "v1")
    git(repo, "tag", "-a", "-m", f"signed off: {in_outer}", "v1-signed", "v1")
    tag, outer = git(repo, "rev-parse", "v1").strip(), git(repo, "rev-parse", "v1-signed").strip()
    code, findings = scan(repo, "--pre-push", stdin=f"refs/tags/v1 {tag} refs/tags/v1 {ZERO}\n")
    assert code == 1
    assert [(f["path"], f["secret"]) for f in findings] == [("(tag v1 message)", in_message)]
    # A tag of a tag carries the one it names.
    line = f"refs/tags/v1-signed {outer} refs/tags/v1-signed {ZERO}\n"
    code, findings = scan(repo, "--pre-push", stdin=line)
    assert sorted(f["secret"] for f in findings) == sorted([in_message, in_outer])
    # A lightweight tag is its commit, which the remote has: nothing new.
    git(repo, "tag", "light")
    light = git(repo, "rev-parse", "light").strip()
    line = f"refs/tags/light {light} refs/tags/light {ZERO}\n"
    assert scan(repo, "--pre-push", stdin=line) == (0, [])


def test_merges_report_only_what_they_add_beyond_every_parent(make_repo) -> None:
    repo = make_repo()
    commit(repo, "base", **{"app.cfg": "mode=a\n", "readme.txt": "r\n"})
    base_secret = custom_token(rng(40))
    # Main gains a secret after the branch forked; merging main into the branch brings it in.
    git(repo, "checkout", "-q", "-b", "feature")
    side_secret = custom_token(rng(41))
    side = commit(repo, "side secret", **{"side.txt": f"k={side_secret}\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "main secret", **{"main.txt": f"k={base_secret}\n"})
    commit(repo, "main edits cfg", **{"app.cfg": "mode=main\n"})
    git(repo, "checkout", "-q", "feature")
    commit(repo, "feature edits cfg", **{"app.cfg": "mode=feature\n"})
    # A conflict resolved by writing a secret that neither side had.
    resolved = custom_token(rng(42))
    done = _git_status(repo, "merge", "-q", "main")
    assert done != 0
    (repo / "app.cfg").write_text(f"mode=both\ntoken={resolved}\n")
    git(repo, "add", "app.cfg")
    git(repo, "commit", "-q", "--no-edit")
    resolution = git(repo, "rev-parse", "HEAD").strip()
    # An "evil" merge: a clean merge whose commit also adds a secret.
    git(repo, "checkout", "-q", "-b", "other", "main")
    commit(repo, "other work", **{"other.txt": "o\n"})
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "other")
    evil = custom_token(rng(43))
    (repo / "evil.txt").write_text(f"k={evil}\n")
    git(repo, "add", "evil.txt")
    git(repo, "commit", "-q", "-m", "merge other")
    evil_merge = git(repo, "rev-parse", "HEAD").strip()
    code, findings = scan(repo, "--diff", "main..feature")
    assert code == 1
    by_secret = {f["secret"]: f for f in findings}
    assert set(by_secret) == {side_secret, resolved, evil}
    assert by_secret[side_secret]["commit"] == side  # reported once, where it was written
    assert by_secret[resolved]["commit"] == resolution
    assert by_secret[evil]["commit"] == evil_merge


def _git_status(repo: Path, *args: str) -> int:
    """Exit status of a git command that is expected to fail (a merge with conflicts)."""
    import subprocess

    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=False).returncode


def _builtin_findings(repo: Path, *args: str, stdin: str | None = None) -> list[tuple[str, int]]:
    done = run_keyscan(*args, str(repo), "--format", "json", "--no-progress", stdin=stdin)
    assert done.returncode in (0, 1), done.stderr
    return [(f["path"], f["line"]) for f in json.loads(done.stdout)["findings"]]


def test_change_scans_read_each_file_at_its_path_as_the_work_tree_scan_does(make_repo) -> None:
    # Filters read the path: in Python source an unquoted value is an expression, in a .env
    # file the literal itself. The hook, the pull-request scan and pre-push used to scan
    # contents with no path and reported the expression the work-tree scan drops.
    repo = make_repo()
    commit(repo, "init", **{"README": "x\n"})
    line = "api_key = config_value_from_env" + str(rng(40).randrange(10**6, 10**7)) + "\n"
    # The same blob at three paths: two of them scanned after the first, in one second pass.
    for name in ("settings.py", "deploy.env", "secrets.env"):
        (repo / name).write_text(line)
    git(repo, "add", "settings.py", "deploy.env", "secrets.env")
    expected = [("deploy.env", 1), ("secrets.env", 1)]
    assert _builtin_findings(repo, "scan") == expected
    assert _builtin_findings(repo, "--staged") == expected
    tip = commit(repo, "settings")
    assert _builtin_findings(repo, "--diff", "HEAD~1..HEAD") == expected
    base = git(repo, "rev-parse", "HEAD~1").strip()
    push = f"refs/heads/main {tip} refs/heads/main {base}\n"
    assert _builtin_findings(repo, "--pre-push", stdin=push) == expected


def test_every_version_of_a_large_file_in_a_range_is_scanned(make_repo) -> None:
    # Versions of a path are scanned one after another, each as an edit of the one before
    # (keyscan.edits): a secret added in the middle of a long file and removed again is still
    # found, with its commit, and one added later elsewhere in the file too.
    repo = make_repo()
    filler = [f"value_{index} = compute({index})\n" for index in range(2000)]
    commit(repo, "base", **{"big.py": "".join(filler)})
    git(repo, "checkout", "-q", "-b", "feature")
    first, second = custom_token(rng(41)), custom_token(rng(42))
    lines = list(filler)
    lines[1000] = f"token = '{first}'\n"
    added = commit(repo, "add", **{"big.py": "".join(lines)})
    lines[1000] = filler[1000]
    commit(repo, "remove", **{"big.py": "".join(lines)})
    lines[1900] = f"other = '{second}'\n"
    later = commit(repo, "later", **{"big.py": "".join(lines)})
    code, findings = scan(repo, "--diff", "main..feature")
    assert code == 1
    found = {(f["secret"], f["line"], f["commit"], f["at_head"]) for f in findings}
    assert found == {(first, 1001, added, False), (second, 1901, later, True)}


def _changes_commit_by_commit(repo: Path, commits: list[str]) -> list[tuple]:
    """range_changes as it was computed before: a diff-tree per commit, an ls-tree per merge
    parent. The oracle for the one-process version."""
    found = []
    for sha in commits:
        first, *others = git(repo, "rev-list", "--no-walk", "--parents", sha).split()[1:] or [""]
        args = ["diff-tree", "-r", "--root", "--no-renames", "--no-commit-id", sha]
        if others:
            args = ["diff-tree", "-r", "--no-renames", first, sha]
        for line in git(repo, *args).splitlines():
            meta, path = line.split("\t", 1)
            _, mode, old, new, status = meta[1:].split()
            if status[0] not in "AMT" or mode == "160000":
                continue
            sides = []
            for parent in others:
                listed = git(repo, "ls-tree", parent, "--", path).split()
                if listed:
                    sides.append(listed[2])
            found.append((sha, path, None if set(old) == {"0"} else old, new, tuple(sides)))
    return found


def test_range_changes_read_from_one_diff_tree_agree_with_one_per_commit(make_repo) -> None:
    from keyscan.sources.changes import range_changes, range_commits

    repo = make_repo()
    commit(repo, "root", **{"a.txt": "a\n", "b.txt": "b\n"})
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "side edits", **{"a.txt": "a side\n", "side.txt": "new on side\n"})
    git(repo, "checkout", "-q", "-b", "third", "main")
    commit(repo, "third", **{"third.txt": "3\n", "shared.txt": "s\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "main edits", **{"b.txt": "b main\n"})
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    # An evil merge: content no parent has.
    git(repo, "checkout", "-q", "-b", "evil", "main~1")
    commit(repo, "evil base", **{"e.txt": "e\n"})
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "evil")
    (repo / "a.txt").write_text("resolved by hand\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "evil merge")
    git(repo, "checkout", "-q", "-b", "fourth", "main~2")
    commit(repo, "fourth", **{"f.txt": "4\n", "shared.txt": "s\n"})
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "octopus", "third", "fourth")
    git(repo, "commit", "-q", "--allow-empty", "-m", "empty")
    commits = range_commits(repo, ["main"])
    got = [(c.commit, c.path, c.old, c.new, c.other_parents) for c in range_changes(repo, commits)]
    assert got == _changes_commit_by_commit(repo, list(commits))
    assert any(len(sides) == 2 for *_, sides in got)  # the octopus merge was seen


def test_a_range_with_more_paths_than_a_command_line_takes_them_from_the_listing(make_repo):
    repo = make_repo()
    commit(repo, "base", **{f"f{index:03}.txt": f"{index}\n" for index in range(300)})
    git(repo, "checkout", "-q", "-b", "feature")
    token = custom_token(rng(43))
    files = {f"f{index:03}.txt": f"{index} changed\n" for index in range(300)}
    files["f299.txt"] = f"k={token}\n"
    commit(repo, "all", **files)
    code, findings = scan(repo, "--diff", "main..feature")
    assert (code, [(f["path"], f["secret"]) for f in findings]) == (1, [("f299.txt", token)])


def test_a_range_too_large_for_one_process_gives_the_findings_of_one(make_repo) -> None:
    # Past 16 MB of blobs the range is scanned by worker processes, as a history audit is.
    repo = make_repo()
    commit(repo, "base", **{"README": "r\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    generator = rng(44)
    line = "".join(generator.choice("abcdefghij ") for _ in range(99)) + "\n"
    tokens = [custom_token(rng(45 + index)) for index in range(3)]
    for index in range(3):
        text = line * 60_000  # 6 MB
        commit(repo, f"part {index}", **{f"part{index}.txt": text + f"k={tokens[index]}\n"})
    everything = scan(repo, "--diff", "main..feature")
    assert everything == scan(repo, "--diff", "main..feature", "--jobs", "1")
    assert everything[0] == 1
    assert sorted(f["secret"] for f in everything[1]) == sorted(tokens)


def test_a_clean_change_is_scanned_without_what_came_before_it(make_repo) -> None:
    # The earlier versions, the base's and the tip's matter only where the change holds a
    # finding: a clean staged edit costs one scan, not two, while a secret that was already
    # there is still recognised as old.
    repo = make_repo()
    old = custom_token(rng(48))
    commit(repo, "init", **{"a.txt": "a\n", "b.txt": f"k={old}\n"})
    (repo / "a.txt").write_text("a edited\n")
    (repo / "b.txt").write_text(f"k={old}\nmore\n")
    git(repo, "add", "a.txt", "b.txt")
    rules = repo.parent / "custom-rules.yaml"
    rules.write_text(CUSTOM_RULE)
    done = run_keyscan(
        "--staged", str(repo), "--rules", str(rules), "--enable-rule", "test.custom-token",
        "--format", "json", "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["findings"] == []
    # a.txt's new version; b.txt's new version, then its version in HEAD.
    assert report["summary"]["files_scanned"] == 3


def _incomplete(done: subprocess.CompletedProcess[str], lost: str) -> list[str]:
    """The secrets a scan that met an unreadable object still reports: it exits 2, names the
    object, and says the rest was scanned."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "incomplete" in done.stderr and lost in done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["incomplete"]
    assert [s["path"] for s in report["summary"]["skipped"]] == [lost]
    return [f["secret"] for f in report["findings"]]


def test_a_range_scan_goes_on_past_an_unreadable_object(make_repo) -> None:
    repo = make_repo()
    base = commit(repo, "base", **{"readme.txt": "hello\n"})
    token = custom_token(rng(61))
    noise = rng(62)
    text = "".join(noise.choice("abcdefghij klmnop\n") for _ in range(20_000))
    tip = commit(repo, "add", **{"a.txt": text, "b.env": f"TOKEN={token}\n"})
    lost = git(repo, "rev-parse", "HEAD:a.txt").strip()
    corrupt_packed_object(repo, lost)
    assert _incomplete(run_scan(repo, "--diff", f"{base}..{tip}"), lost) == [token]
    line = f"refs/heads/main {tip} refs/heads/main {base}\n"
    assert _incomplete(run_scan(repo, "--pre-push", stdin=line), lost) == [token]


def test_a_staged_scan_goes_on_past_a_missing_object_and_the_hook_fails(make_repo) -> None:
    repo = make_repo()
    commit(repo, "base", **{"readme.txt": "hello\n"})
    token = custom_token(rng(63))
    (repo / "a.txt").write_text("gone before the scan\n")
    (repo / "b.env").write_text(f"TOKEN={token}\n")
    git(repo, "add", "a.txt", "b.env")
    lost = git(repo, "rev-parse", ":a.txt").strip()
    loose = repo / ".git" / "objects" / lost[:2] / lost[2:]
    os.chmod(loose, 0o644)
    loose.unlink()
    assert _incomplete(run_scan(repo, "--staged"), lost) == [token]
    # The hook shows what it found and fails as an error: what it could not read is unchecked.
    rules = repo.parent / "custom-rules.yaml"
    hook = run_keyscan(
        "hook", "pre-commit", "--rules", str(rules), "--enable-rule", "test.custom-token",
        cwd=repo,
    )  # fmt: skip
    assert hook.returncode == 2, hook.stderr
    assert "b.env" in hook.stdout and lost in hook.stderr and "Traceback" not in hook.stderr


def test_the_hook_loads_the_candidate_filters_only_for_a_candidate(make_repo) -> None:
    # Most commits stage nothing that looks like a secret: their hook run must not pay for
    # the filters' patterns, nor for the regex module under them (a fifth of its time).
    repo = make_repo()
    commit(repo, "init", **{"app.py": "x = 1\n"})

    def hook(text: str) -> tuple[int, set[str]]:
        (repo / "app.py").write_text(text)
        git(repo, "add", "app.py")
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "keyscan", "hook", "pre-commit", "app.py"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = (line.split("|")[-1].strip() for line in done.stderr.splitlines())
        prefixes = ("keyscan", "regex", "multiprocessing")
        return done.returncode, {name for name in lines if name.startswith(prefixes)}

    code, imported = hook("x = 1\nprint('hello')\n")
    assert code == 0 and "keyscan.blobscan" in imported
    # Nor for a worker pool's machinery, which a hook never starts, nor for the pack reader
    # of history audits.
    assert not {"keyscan.filters", "regex", "multiprocessing", "keyscan.sources.packs"} & imported
    code, imported = hook(f'x = 1\nGITHUB_TOKEN = "{github_pat(rng(64))}"\n')
    assert code == 1 and {"keyscan.filters", "regex"} <= imported


def test_a_range_s_messages_are_scanned_while_git_diffs_its_commits(
    make_repo, tmp_path: Path
) -> None:
    # A git on PATH that notes when each command starts and ends, and makes diff-tree slow:
    # the messages' cat-file must start before diff-tree is done, and both kinds of finding
    # still come back.
    repo = make_repo()
    commit(repo, "base", **{"base.txt": "b\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    in_file, in_message = custom_token(rng(81)), custom_token(rng(82))
    commit(repo, "add key", **{"new.txt": f"k={in_file}\n"})
    commit(repo, f"deploy with {in_message}", **{"other.txt": "o\n"})
    log = tmp_path / "git.log"
    env = git_on_path(
        tmp_path / "bin",
        lambda real: (
            "#!/bin/sh\n"
            f'echo "start $(date +%s.%N) $*" >> "{log}"\n'
            'case "$*" in *diff-tree*) sleep 2 ;; esac\n'
            f'"{real}" "$@"\n'
            "status=$?\n"
            f'echo "end $(date +%s.%N) $*" >> "{log}"\n'
            "exit $status\n"
        ),
    )
    rules = repo.parent / "custom-rules.yaml"
    rules.write_text(CUSTOM_RULE)
    done = subprocess.run(
        [sys.executable, "-m", "keyscan", "--diff", "main..feature", str(repo), "--rules",
         str(rules), "--enable-rule", "test.custom-token", "--format", "json", "--no-progress",
         "--show-secrets"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    found = {(f["path"], f["secret"]) for f in json.loads(done.stdout)["findings"]}
    assert found == {("new.txt", in_file), ("(commit message)", in_message)}
    events = [line.split(" ", 2) for line in log.read_text().splitlines()]
    diff_end = max(float(at) for edge, at, args in events if edge == "end" and "diff-tree" in args)
    messages_start = min(
        float(at)
        for edge, at, args in events
        if edge == "start" and "cat-file" in args and "--batch-check" not in args
    )
    assert messages_start < diff_end
