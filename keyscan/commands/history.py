"""`keyscan --history`: audit every reachable blob and message once, then resolve provenance."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import click

from keyscan.blobscan import ScanOptions
from keyscan.config import Config
from keyscan.model import Finding
from keyscan.request import ScanRequest
from keyscan.rules.ruleset import Ruleset
from keyscan.scan import ScanResult, scan_git_objects
from keyscan.sources.gitobjects import ObjectRef
from keyscan.sources.history import (
    COMMIT_MESSAGE,
    HistoryStats,
    history_objects,
    reachable_roots,
)
from keyscan.sources.provenance import BlobHistory, ProvenanceResolver


def cache_key(ruleset: Ruleset, options: ScanOptions) -> str:
    """Clean-blob verdicts depend on the rules and on every option that can hide a finding."""
    allow = options.allowlist
    parts = [
        ruleset.hash,
        str(options.scan_binary),
        str(options.inline_ignores),
        str(options.max_file_size),
        *(p.pattern for p in allow.regexes),
        *allow.stopwords,
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _allowed(refs: Iterator[ObjectRef], config: Config) -> Iterator[ObjectRef]:
    for ref in refs:
        if config.allowlist.paths and any(p.search(ref.path) for p in config.allowlist.paths):
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
    roots = reachable_roots(repo)
    cache = None
    if cache_dir is not None:
        from keyscan.auditcache import AuditCache

        cache = AuditCache(cache_dir, cache_key(ruleset, options))
    try:
        refs = history_objects(
            repo,
            options.max_file_size,
            stats,
            cache.is_clean if cache else (lambda oid: False),
            roots,
        )
        counter = _Counter(progress)
        result = scan_git_objects(
            _allowed(refs, config),
            repo,
            ruleset,
            options,
            request.engine,
            cache_dir,
            request.jobs,
            counter.advance,
            cache.mark_clean if cache else (lambda ids: None),
        )
        counter.finish()
    finally:
        if cache is not None:
            cache.close()
    if stats.shallow:
        click.echo(
            f"keyscan: warning: {repo} is a shallow clone: history before the shallow boundary was "
            "not audited (fetch it with `git fetch --unshallow`)",
            err=True,
        )
    resolver = ProvenanceResolver(repo, roots)
    result.findings = _with_provenance(result.findings, resolver, config)
    result.summary.skipped.extend(stats.skips)
    result.summary.cached_clean = stats.cached_clean
    return result, stats


def _with_provenance(
    findings: list[Finding], resolver: ProvenanceResolver, config: Config
) -> list[Finding]:
    histories: dict[str, BlobHistory] = {}
    enriched: list[Finding] = []
    resolver.load(f.blob for f in findings if not _is_message(f))
    for finding in findings:
        if _is_message(finding):
            history = histories.get(finding.blob) or resolver.commit(finding.blob)
            histories[finding.blob] = history
            enriched.append(
                replace(
                    finding,
                    commit_count=1,
                    refs=history.refs,
                    at_head=history.at_head,
                )
            )
            continue
        history = histories.get(finding.blob) or resolver.blob(finding.blob)
        histories[finding.blob] = history
        path = history.path or finding.path
        if config.allowlist.paths and any(p.search(path) for p in config.allowlist.paths):
            continue
        enriched.append(
            replace(
                finding,
                path=path,
                commit=history.first_commit,
                author=history.author,
                date=history.date,
                commit_count=history.commit_count,
                refs=history.refs,
                at_head=history.at_head,
            )
        )
    return _one_per_secret_and_path(enriched)


def _is_message(finding: Finding) -> bool:
    return finding.path == COMMIT_MESSAGE or finding.path.startswith("(tag ")


def _one_per_secret_and_path(findings: list[Finding]) -> list[Finding]:
    """Versions of one file that all hold the same secret are one leak, not one per version.

    A commit holds one version of a path, so commit counts of distinct blobs add up exactly.
    """
    merged: dict[tuple[str, str], Finding] = {}
    for finding in sorted(findings, key=lambda f: (f.date or "", f.commit or "")):
        key = (finding.fingerprint, finding.path)
        first = merged.get(key)
        if first is None:
            merged[key] = finding
            continue
        merged[key] = replace(
            first,
            commit_count=(first.commit_count or 0) + (finding.commit_count or 0),
            refs=tuple(sorted(set(first.refs) | set(finding.refs))),
            at_head=bool(first.at_head or finding.at_head),
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
