"""`keyscan --history`: audit every reachable blob and message once, then resolve provenance."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keyscan.config import Config
from keyscan.model import Finding, ScanResult, Skip
from keyscan.options import ScanOptions
from keyscan.redact import shown_secret
from keyscan.request import ScanRequest
from keyscan.rules.ruleset import Ruleset
from keyscan.sources.gitobjects import ObjectRef
from keyscan.sources.history import (
    COMMIT_MESSAGE,
    UNREADABLE_OBJECT,
    HistoryStats,
    history_extras,
    history_objects,
    lost_objects,
    reachable_roots,
    ref_state,
    ref_tips,
)

if TYPE_CHECKING:
    from keyscan.auditcache import AuditCache
    from keyscan.sources.provenance import BlobHistory, ProvenanceResolver


# The shape of an audit record: a record of another shape is never replayed (the audit runs
# again and replaces it), so a replay reads only this one.
RECORD_LAYOUT = 5
# The code that works out what a record holds besides the findings (each leak's provenance, the
# skips): a record another version of it made is not replayed either, released or not.
_RECORD_CODE = (
    "commands/history.py",
    "sources/history.py",
    "sources/provenance.py",
    "sources/submodules.py",
    "sources/gitobjects.py",
)
_CLEAN_LAYOUT = "clean-2"


def record_code() -> str:
    """A digest of the code an audit record depends on (_RECORD_CODE)."""
    from keyscan.sourcedigest import source_digest

    return source_digest(_RECORD_CODE).hex()


def cache_key(ruleset: Ruleset, options: ScanOptions) -> str:
    """Clean-blob verdicts depend on the rules and on every option that can hide a finding."""
    allow = options.allowlist
    parts = [
        # What "clean" means: since layout 2, never a blob a filter let off for its path.
        _CLEAN_LAYOUT,
        ruleset.hash,
        str(options.scan_binary),
        str(options.inline_ignores),
        str(options.max_file_size),
        str(options.decode_depth),
        str(options.foreign_markers),
        *(p.pattern for p in allow.regexes),
        *allow.stopwords,
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _audit_state(history: str, config: Config) -> str:
    """What an audit's record answers for: the history it walked and the paths it let off.
    Clean verdicts never depend on the path allowlist (a blob listed at an allowlisted path is
    not scanned there), but the record's findings do: without the paths here, a path taken off
    the allowlist kept its secrets out of every replay."""
    paths = "\0".join(pattern.pattern for pattern in config.allowlist.paths)
    return hashlib.sha256(f"{history}\0{paths}".encode()).hexdigest()


def _allowed(
    refs: Iterator[ObjectRef],
    config: Config,
    deferred: list[ObjectRef],
    on_deferred: Callable[[], None],
) -> Iterator[ObjectRef]:
    """The refs to scan now. A blob git listed at an allowlisted path goes to `deferred`:
    rev-list names one path per blob, and the same blob may also be elsewhere (finding out
    takes the provenance passes, which `on_deferred` starts at the first)."""
    for ref in refs:
        if config.allowlist.paths and not _path_allowed(ref.path, config):
            if ref.type == "blob":
                if not deferred:
                    on_deferred()
                deferred.append(ref)
            continue
        yield ref


def run_history(
    request: ScanRequest,
    repo: Path,
    config: Config,
    ruleset: Ruleset,
    options: ScanOptions,
    cache_dir: Path | None,
    progress: bool,
) -> tuple[ScanResult, HistoryStats]:
    stats = HistoryStats()
    tips = ref_tips(repo)
    roots = reachable_roots(repo, tips)
    cache = None
    if cache_dir is not None:
        from keyscan.auditcache import AuditCache

        cache = AuditCache(cache_dir, cache_key(ruleset, options))
    try:
        state = _audit_state(ref_state(tips, roots, history_extras(repo)), config)
        previous = cache.audit(state) if cache else None
        if previous is not None and (
            previous.get("layout") != RECORD_LAYOUT or previous.get("code") != record_code()
        ):
            previous = None
        record = None
        if previous is not None:
            result = _replay(previous, repo, ruleset, options, request, stats, cache_dir)
        else:
            result, record = _full_audit(
                request, repo, config, ruleset, options, cache_dir, progress, roots, stats, cache
            )
        result.summary.skipped.extend(stats.skips)
        lost = lost_objects(result.summary.skipped)
        # An audit that missed objects is not one to replay: the next run looks again.
        if cache is not None and record is not None and not lost:
            cache.store_audit(state, record)
    finally:
        if cache is not None:
            cache.close()
    if not tips.strip():
        click.echo(
            f"keyscan: note: {repo} has no commits yet: there is no history to audit", err=True
        )
    if stats.shallow:
        click.echo(
            f"keyscan: warning: {repo} is a shallow clone: history before the shallow boundary was "
            "not audited (fetch it with `git fetch --unshallow`)",
            err=True,
        )
    # Both audits already give one finding per secret and path.
    result.findings = [f for f in result.findings if _path_allowed(f.path, config)]
    result.summary.cached_clean = stats.cached_clean
    if lost:
        result.summary.incomplete.append(
            f"{repo}: {len(lost)} object(s) missing or unreadable (a corrupt or partial "
            f"repository), first {lost[0]}: the rest of history was audited"
        )
    return result, stats


def _full_audit(
    request: ScanRequest,
    repo: Path,
    config: Config,
    ruleset: Ruleset,
    options: ScanOptions,
    cache_dir: Path | None,
    progress: bool,
    roots: list[str],
    stats: HistoryStats,
    cache: AuditCache | None,
) -> tuple[ScanResult, dict[str, Any]]:
    refs = history_objects(
        repo, options.max_file_size, stats, cache.is_clean if cache else (lambda oid: False), roots
    )
    # Imported here, as in _replay: an audit replayed from its record never loads the scanner.
    # And only now, so that git's listing, started above, runs while Python imports it.
    from keyscan.scan import scan_git_objects
    from keyscan.sources.provenance import ProvenanceResolver
    from keyscan.workers import build_engine

    # One engine for both scans below: with --no-cache each build compiles the database.
    engine = build_engine(ruleset, request.engine, cache_dir)
    counter = _Counter(progress)
    resolver = ProvenanceResolver(repo, roots)
    deferred: list[ObjectRef] = []
    path_dependent: list[tuple[str, str]] = []
    gitmodules: list[str] = []
    result = scan_git_objects(
        _allowed(_noting_gitmodules(refs, gitmodules), config, deferred, resolver.prefetch),
        repo,
        ruleset,
        options,
        engine,
        cache_dir,
        request.jobs,
        counter.advance,
        cache.mark_clean if cache else (lambda ids: None),
        # Provenance needs two passes over history: they start at the first finding and run
        # while the scan goes on, instead of after it.
        lambda findings: resolver.prefetch(),
        path_dependent.extend,
    )
    counter.finish()
    if cache is not None:
        cache.write_behind()  # while provenance is resolved, not after
    stats.skips.extend(_submodules(repo, resolver, gitmodules, config))
    elsewhere = _elsewhere(resolver, result.findings, path_dependent, deferred, config)
    if elsewhere:
        more = scan_git_objects(iter(elsewhere), repo, ruleset, options, engine, cache_dir, 1)
        result.findings.extend(more.findings)
        result.summary.skipped.extend(more.summary.skipped)
    # Each finding's history at the path it was found at: (blob, path) → history.
    histories: dict[tuple[str, str], BlobHistory] = {}
    objects: dict[tuple[str, str], tuple[str, str, str]] = {}
    for finding in result.findings:
        key = (finding.blob, finding.path)
        if key not in histories:
            message = _is_message(finding)
            histories[key] = (
                resolver.commit(finding.blob)
                if message
                else resolver.blob(finding.blob, finding.path)
            )
            kind = ("tag" if finding.path.startswith("(tag ") else "commit") if message else "blob"
            objects[key] = (finding.blob, kind, finding.path)
    # (blob, path shown) → the path it was found (and is rescanned on a replay) at.
    found_at: dict[tuple[str, str], str] = {}
    placed: list[Finding] = []
    for finding in result.findings:
        shown = _with_history(finding, histories[(finding.blob, finding.path)])
        found_at[(shown.blob, shown.path)] = finding.path
        placed.append(shown)
    # What a later audit of unchanged refs needs to give the same answer without walking history:
    # which objects had findings (to rescan; the secrets themselves are never stored) and their
    # provenance.
    result.findings = _one_per_secret_and_path(placed, resolver.age)
    representatives = {(f.blob, found_at[(f.blob, f.path)]) for f in result.findings}
    record = {
        "layout": RECORD_LAYOUT,
        "code": record_code(),
        # Only the object that represents each reported leak is rescanned on replay (at the
        # path it was found at); the other versions of the file contribute counts and refs,
        # which are kept here (no secret).
        "objects": [objects[key] for key in sorted(representatives)],
        "leaks": [
            [
                f.fingerprint,
                f.path,
                f.commit_count,
                list(f.refs),
                f.at_head,
                f.blob,
                f.line,
                f.column,
            ]
            for f in result.findings
        ],
        # The rules that found them: a replay runs only these, unless it then misses a leak.
        "rules": sorted({f.rule_id for f in result.findings}),
        # The findings as a report shows them without --show-secrets: a replay that needs no
        # secret reports these and rescans nothing.
        "reported": [_withheld(f, ruleset) for f in result.findings],
        "histories": [[*key, asdict(histories[key])] for key in sorted(representatives)],
        # Every skip, the scan's own included (binaries, LFS pointers, rules that timed out).
        "skips": [[s.path, s.reason, s.detail] for s in (*result.summary.skipped, *stats.skips)],
        "shallow": stats.shallow,
        "objects_seen": result.summary.files_scanned + stats.cached_clean,
    }
    return result, record


def _noting_gitmodules(refs: Iterator[ObjectRef], found: list[str]) -> Iterator[ObjectRef]:
    for ref in refs:
        if ref.type == "blob" and ref.path.rpartition("/")[2] == ".gitmodules":
            found.append(ref.oid)
        yield ref


def _submodules(
    repo: Path, resolver: ProvenanceResolver, gitmodules: list[str], config: Config
) -> list[Skip]:
    """A skip for each submodule: those any version of a .gitmodules file declares, and each
    gitlink in HEAD's tree (one added without a .gitmodules entry, a repository committed by
    mistake). Their commits live in other repositories, which an audit of this one never
    follows."""
    from keyscan.sources.gitobjects import CatFile
    from keyscan.sources.submodules import declared_paths, submodule_skip

    declared: set[str] = set()
    if gitmodules:
        with CatFile(repo) as catfile:
            for _, _, data in catfile.fetch(sorted(set(gitmodules)), lambda oid, why: None):
                declared.update(declared_paths(data))
    gitlinks = resolver.head_gitlinks()
    return [
        submodule_skip(path, gitlinks.get(path))
        for path in sorted(declared | set(gitlinks))
        if _path_allowed(path, config)
    ]


def _elsewhere(
    resolver: ProvenanceResolver,
    findings: list[Finding],
    path_dependent: list[tuple[str, str]],
    deferred: list[ObjectRef],
    config: Config,
) -> list[ObjectRef]:
    """The blobs to scan again at the other paths history left them at: those with findings
    or a candidate dropped for their path (filters read the path), and those listed at an
    allowlisted path; never at an allowlisted path. rev-list names one path per blob, and a
    copy of a file (a fixture of a real config, say) is the same blob at another path."""
    scanned: dict[str, set[str]] = {}
    for finding in findings:
        if not _is_message(finding):
            scanned.setdefault(finding.blob, set()).add(finding.path)
    for oid, path in path_dependent:
        scanned.setdefault(oid, set()).add(path)
    sizes = {}
    for ref in deferred:
        scanned.setdefault(ref.oid, set()).add(ref.path)
        sizes[ref.oid] = ref.size
    if not scanned:
        return []
    resolver.load(scanned)
    again = []
    for oid, paths in scanned.items():
        for path in resolver.paths(oid):
            if path not in paths and _path_allowed(path, config):
                again.append(ObjectRef(oid, "blob", sizes.get(oid, 0), path))
                paths.add(path)
    return again


def _replay(
    record: dict[str, Any],
    repo: Path,
    ruleset: Ruleset,
    options: ScanOptions,
    request: ScanRequest,
    stats: HistoryStats,
    cache_dir: Path | None,
) -> ScanResult:
    """Refs are exactly as at the last audit with these rules: report the findings its record
    keeps; or, when the secrets themselves are wanted, rescan only the objects that had findings
    and reuse their provenance."""
    stats.shallow = bool(record["shallow"])
    stats.skips = [Skip(*skip) for skip in record["skips"]]
    refs = [ObjectRef(oid, kind, 0, path) for oid, kind, path in record["objects"]]
    stats.cached_clean = max(0, int(record["objects_seen"]) - len(refs))
    if not request.needs_secrets:
        result = ScanResult(findings=[_recorded_finding(entry) for entry in record["reported"]])
        result.summary.rules_active = len(ruleset.rules)
        result.summary.engine = "none (replayed from the audit cache)"
        result.summary.replayed = len(refs)
        return result
    from keyscan.scan import scan_git_objects

    if record["leaks"]:
        # Compiling the patterns of rules that found nothing is most of a replay's time. Other
        # rules can only take a span from these (never add one), so each leak comes back
        # unless one of them mattered: then it is a full replay after all.
        narrowed = ruleset.select(enable=record["rules"])
        result = scan_git_objects(iter(refs), repo, narrowed, options, request.engine, cache_dir, 1)
        result.summary.rules_active = len(ruleset.rules)
        findings, complete = _replayed_leaks(result.findings, record)
        if complete:
            result.findings = findings
            return _recorded_skips_only(result)
    result = scan_git_objects(iter(refs), repo, ruleset, options, request.engine, cache_dir, 1)
    result.findings, _ = _replayed_leaks(result.findings, record)
    return _recorded_skips_only(result)


def _recorded_skips_only(rescan: ScanResult) -> ScanResult:
    """The record holds every skip of the audit; a rescan adds only objects lost since."""
    rescan.summary.skipped = [s for s in rescan.summary.skipped if s.reason == UNREADABLE_OBJECT]
    return rescan


def _replayed_leaks(findings: list[Finding], record: dict[str, Any]) -> tuple[list[Finding], bool]:
    """Each leak as the full audit reported it: from the version it showed (a rescanned later
    version can hold the same secret too), with the commit count, refs and HEAD presence of
    all its versions; and whether every leak the record names came back as it was shown."""
    from keyscan.sources.provenance import BlobHistory

    histories = {(oid, path): BlobHistory(**h) for oid, path, h in record["histories"]}
    findings = [
        _with_history(f, histories[(f.blob, f.path)])
        for f in findings
        if (f.blob, f.path) in histories
    ]
    # A leak's place as it was shown: blob, line and column.
    totals = {
        (fp, path): (count, tuple(refs), at_head, (blob, line, column))
        for fp, path, count, refs, at_head, blob, line, column in record["leaks"]
    }
    shown_versions = [
        f
        for f in findings
        if (total := totals.get((f.fingerprint, f.path))) and total[3] == (f.blob, f.line, f.column)
    ]
    kept: list[Finding] = []
    for finding in _one_per_secret_and_path(shown_versions):
        count, leak_refs, at_head, _ = totals[(finding.fingerprint, finding.path)]
        kept.append(replace(finding, commit_count=count, refs=leak_refs, at_head=at_head))
    return kept, len(kept) == len(totals)


def _withheld(finding: Finding, ruleset: Ruleset) -> dict[str, Any]:
    entry = asdict(finding)
    entry["secret"] = shown_secret(finding, ruleset.by_id, show_secrets=False)
    entry["secret_withheld"] = True
    return entry


def _recorded_finding(entry: dict[str, Any]) -> Finding:
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
    return Finding(**values)


def _path_allowed(path: str, config: Config) -> bool:
    return not any(p.search(path) for p in config.allowlist.paths)


def _with_history(finding: Finding, history: BlobHistory) -> Finding:
    if _is_message(finding):
        return replace(finding, commit_count=1, refs=history.refs, at_head=history.at_head)
    return replace(
        finding,
        path=history.path or finding.path,
        commit=history.first_commit,
        author=history.author,
        date=history.date,
        commit_count=history.commit_count,
        refs=history.refs,
        at_head=history.at_head,
    )


def _is_message(finding: Finding) -> bool:
    return finding.path == COMMIT_MESSAGE or finding.path.startswith("(tag ")


def _one_per_secret_and_path(
    findings: list[Finding], age: Callable[[str | None], int] = lambda commit: -1
) -> list[Finding]:
    """Versions of one file that all hold the same secret are one leak, not one per version,
    shown as the version introduced first (`age`: larger is older, for commits in one second).

    A commit holds one version of a path, so commit counts of distinct blobs add up exactly.
    """

    def introduced(finding: Finding) -> tuple[bool, str, int, str]:
        return (
            finding.date is None,
            finding.date or "",
            -age(finding.commit),
            finding.commit or "",
        )

    merged: dict[tuple[str, str], Finding] = {}
    # What the later versions add to the first: commits, refs, presence at HEAD. Gathered
    # apart and applied once per leak (a secret in every version of a test file is thousands
    # of findings, and a replace() and a sorted union of refs for each cost 0.1 s on
    # sqlalchemy).
    counts: dict[tuple[str, str], int] = {}
    refs: dict[tuple[str, str], set[str]] = {}
    at_head: dict[tuple[str, str], bool] = {}
    # A version holding the secret on several lines is several findings but one set of commits.
    counted: set[tuple[str, str, str | None]] = set()
    for finding in sorted(findings, key=introduced):
        key = (finding.fingerprint, finding.path)
        version = (*key, finding.blob)
        first = merged.get(key)
        if first is None:
            merged[key] = finding
            counted.add(version)
            continue
        if key not in counts:
            counts[key] = first.commit_count or 0
            refs[key] = set(first.refs)
            at_head[key] = bool(first.at_head)
        if version not in counted:
            counts[key] += finding.commit_count or 0
        counted.add(version)
        refs[key].update(finding.refs)
        at_head[key] = at_head[key] or bool(finding.at_head)
    for key, count in counts.items():
        merged[key] = replace(
            merged[key],
            commit_count=count,
            refs=tuple(sorted(refs[key])),
            at_head=at_head[key],
        )
    return sorted(
        merged.values(), key=lambda f: (f.path, f.line, f.column, f.rule_id, f.commit or "")
    )


class _Counter:
    """A spinner-free progress line: objects scanned so far (history length is unknown upfront)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.count = 0

    def advance(self, n: int) -> None:
        self.count += n
        if self.enabled:
            sys.stderr.write(f"\rscanning history: {self.count} objects")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
