"""The one place that runs git: clean environment, NUL-separated output, one-line errors."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from keyscan.errors import GitError

# Set by git for the hooks it runs, and meaningful for what we read: the index a `git commit -a`
# is about to commit, and the quarantined objects of a push being received.
_KEPT_GIT_VARIABLES = frozenset(
    {
        "GIT_EXEC_PATH",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_QUARANTINE_PATH",
    }
)


# Every git keyscan runs: paths as they are, and no transport at all. A partial clone's
# missing object would otherwise be fetched from its promisor remote on demand, a network call
# nobody asked for (GIT_NO_LAZY_FETCH says the same to git 2.45 and later, without trying).
GIT = (
    "git",
    "-c",
    "core.quotepath=off",
    "-c",
    "protocol.allow=never",
    # A graft file is ignored (git_env), and git would hint at every call that it exists.
    "-c",
    "advice.graftFileDeprecated=false",
)
_NO_GIT = "git is not installed or not on PATH"
# An object id as git writes it: 40 hex digits (SHA-1), or 64 in a SHA-256 repository.
OBJECT_ID = r"[0-9a-f]{40}(?:[0-9a-f]{24})?"


def git_env() -> dict[str, str]:
    # Other GIT_* variables (GIT_DIR from a hook of another repository, say) would point git
    # somewhere else than the repository being scanned.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEPT_GIT_VARIABLES
    }
    for name in ("GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        # git may give these relative to the hook's directory; our commands run elsewhere.
        if name in env:
            env[name] = os.path.abspath(env[name])
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", GIT_NO_LAZY_FETCH="1")
    # `git replace` makes git show one object in place of another: a commit that added a secret,
    # replaced by a copy without it, would hide the secret from every walk while the branch
    # still holds it. An audit reads objects as they are (the pack reader does too), and the
    # replacements themselves are reachable from refs/replace/ and audited as well. A graft
    # file (.git/info/grafts, the deprecated form of the same) could cut history short: the
    # commits it hid would never be walked.
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    env["GIT_GRAFT_FILE"] = os.devnull
    return env


def not_started(cwd: Path) -> GitError:
    """Why git did not start: the error names no file, whether git or the directory to run it
    in is missing."""
    if not os.path.isdir(cwd):
        return GitError(f"{cwd}: no such directory")
    return GitError(_NO_GIT)


def run_git(
    cwd: Path, args: Sequence[str], check: bool = True, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run git to completion; `input`, when given, is its standard input (lists of commits go
    there, never on the command line, whose length the system bounds)."""
    try:
        done = subprocess.run(
            [*GIT, *args],
            cwd=cwd,
            env=git_env(),
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise not_started(cwd) from None
    if check and done.returncode != 0:
        raise _failure(cwd, args[0], done.stderr, done.returncode)
    return done


def complaint(stderr: bytes) -> str | None:
    """What git said went wrong, as one line: its last `fatal:` or `error:` line (after an
    unknown revision git goes on with a usage hint), else the last thing it said."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    said = errors or lines
    return said[-1] if said else None


def _failure(cwd: Path, name: str, stderr: bytes, returncode: int) -> GitError:
    """A failed git command as one line: what git said, else its exit status."""
    return GitError(f"{cwd}: git {name} failed: {complaint(stderr) or f'exit status {returncode}'}")


class BackgroundGit:
    """A git command started now whose output is collected later, spooled to a temporary file so
    it never blocks on a full pipe nor holds its output in memory while it runs. `input`, when
    given, is its standard input, spooled the same way."""

    def __init__(self, cwd: Path, args: Sequence[str], input: bytes | None = None):
        self._cwd = cwd
        # Named in errors as git names it: the subcommand, not the options before it.
        self._name = next((a for a in args if not a.startswith("-") and "=" not in a), "git")
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _close())
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _close())
        with tempfile.TemporaryFile() as request:
            if input is not None:
                request.write(input)
                request.seek(0)
            try:
                self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                    [*GIT, *args],
                    cwd=cwd,
                    env=git_env(),
                    stdin=subprocess.DEVNULL if input is None else request,
                    stdout=self._output,
                    stderr=self._errors,
                )
            except FileNotFoundError:
                self._process = None

    def stdout(self) -> bytes | None:
        """The command's output once it has finished; None if it failed or could not start."""
        try:
            if self._process is None or self._process.wait() != 0:
                return None
            self._output.seek(0)
            return self._output.read()
        finally:
            self._close()

    def checked_stdout(self) -> bytes:
        """The command's output once it has finished; a GitError naming what git said if it
        failed."""
        if self._process is None:
            self._close()
            raise not_started(self._cwd)
        if self._process.wait() != 0:
            self._errors.seek(0)
            failure = _failure(self._cwd, self._name, self._errors.read(), self._process.returncode)
            self._close()
            raise failure
        output = self.stdout()
        assert output is not None
        return output

    def cancel(self) -> None:
        """Stop the command if it still runs; its output is not wanted."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._close()

    def _close(self) -> None:
        self._output.close()
        self._errors.close()


def worktree_root(path: Path) -> Path | None:
    """The top of the git work tree holding `path`, or None outside git."""
    directory = path if path.is_dir() else path.parent
    done = run_git(directory, ["rev-parse", "--show-toplevel"], check=False)
    if done.returncode != 0:
        return None
    return Path(done.stdout.decode("utf-8", "surrogateescape").strip())


def is_bare_repository(path: Path) -> bool:
    """Whether `path` is (inside) a bare repository: git data with no work tree or index."""
    directory = path if path.is_dir() else path.parent
    done = run_git(directory, ["rev-parse", "--is-bare-repository"], check=False)
    return done.returncode == 0 and done.stdout.strip() == b"true"


def is_ignored(root: Path, relative: str) -> bool:
    """Whether git ignores `relative` (a path under the work tree at `root`)."""
    if relative in (".", ""):
        return False
    done = run_git(root, ["check-ignore", "-q", "--", relative], check=False)
    return done.returncode == 0


def listed_files(root: Path, pathspec: str) -> list[str]:
    """Tracked files plus untracked files that are not ignored, relative to `root`."""
    done = run_git(
        root,
        [
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--deduplicate",
            "--",
            pathspec,
        ],
    )
    return [p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
