"""What a CI event asks to scan: the range a pull request or push brings in, the commits no
other branch has, the whole history, or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyscan.commands.hook import has_commit
from keyscan.errors import KeyscanError

PR_EVENTS = ("pull_request", "pull_request_target")
AUDIT_EVENTS = ("schedule", "workflow_dispatch")
SUPPORTED_EVENTS = (*PR_EVENTS, "merge_group", "push", *AUDIT_EVENTS)
FETCH_HINT = "use actions/checkout with `fetch-depth: 0` so the clone has the full history"


@dataclass(frozen=True)
class Note:
    """Something the run wants the reader to know: shown as an annotation and in the summary."""

    level: str  # notice | warning
    text: str


@dataclass
class Plan:
    """What to scan for one event.

    kind: `range` (what BASE..HEAD adds, merge-base aware), `commits` (the commits REV_ARGS list,
    against BASE when one is known), `history` (every ref) or `nothing`.
    """

    kind: str
    scope: str
    base: str | None = None
    head: str | None = None
    rev_args: tuple[str, ...] = ()
    trusted: str | None = None  # the commit whose configuration and baseline apply (PRs: base)
    # Annotated tags the event brings, whose messages are scanned as commit messages are.
    tags: tuple[str, ...] = ()
    notes: list[Note] = field(default_factory=list)


def _run(repo: Path, args: list[str]) -> str:
    from keyscan.gitcmd import run_git

    return run_git(repo, args).stdout.decode("utf-8", "surrogateescape")


def _commit(repo: Path, rev: str | None, what: str) -> str:
    from keyscan.gitcmd import run_git

    if not rev:
        raise KeyscanError(f"the event payload has no {what}")
    done = run_git(repo, ["rev-parse", "--verify", "-q", f"{rev}^{{commit}}"], check=False)
    if done.returncode != 0:
        raise KeyscanError(f"{what} {rev[:12]} is not in the clone: {FETCH_HINT}")
    return done.stdout.decode().strip()


def _shallow(repo: Path) -> bool:
    from keyscan.sources.history import is_shallow

    return is_shallow(repo)


def _require_fork(repo: Path, base: str, head: str) -> None:
    """In a shallow clone the range is only right if the merge base made it into the clone."""
    from keyscan.sources.changes import merge_base

    if _shallow(repo) and merge_base(repo, base, head) is None:
        raise KeyscanError(
            f"the clone is shallow and has no merge base of {base[:12]} and {head[:12]}: "
            + FETCH_HINT
        )


def _range_plan(repo: Path, base: str, head: str, scope: str, trusted: str | None) -> Plan:
    if base == head:
        raise KeyscanError(
            f"base and head are the same commit ({base[:12]}): there is nothing to compare"
        )
    _require_fork(repo, base, head)
    return Plan("range", scope, base=base, head=head, trusted=trusted)


def _remote_branches(repo: Path) -> list[str]:
    text = _run(repo, ["for-each-ref", "--format=%(refname)", "refs/remotes/"])
    return [ref for ref in text.split() if not ref.endswith("/HEAD")]


def _new_commits_plan(
    repo: Path, after: str, branch: str | None, default_branch: str | None, scope: str
) -> Plan:
    """The commits of `after` that no other branch of the remote has (new or rewritten branch)."""
    from keyscan.sources.changes import merge_base

    if _shallow(repo):
        raise KeyscanError(f"a shallow clone cannot tell which commits are new: {FETCH_HINT}")
    others = []
    base_ref = None
    for ref in _remote_branches(repo):
        name = ref.split("/", 3)[3] if ref.count("/") >= 3 else ref
        if name == branch:
            continue  # the checkout already has the pushed branch itself
        others.append(ref)
        if default_branch and name == default_branch:
            base_ref = ref
    base = merge_base(repo, base_ref, after) if base_ref else None
    rev_args = (after, "--not", *others) if others else (after,)
    return Plan("commits", scope, base=base, head=after, rev_args=rev_args)


def plan_for_event(
    repo: Path,
    event_name: str,
    event: dict[str, Any],
    base: str | None = None,
    head: str | None = None,
) -> Plan:
    """Pick the range for an event (or for explicit --base/--head, which win)."""
    from keyscan.sources.changes import ZERO_OIDS

    if base:
        base_sha = _commit(repo, base, "--base")
        head_sha = _commit(repo, head or "HEAD", "--head")
        return _range_plan(
            repo, base_sha, head_sha, f"{base[:40]}..{(head or 'HEAD')[:40]}", base_sha
        )
    if event_name in PR_EVENTS:
        pr = event.get("pull_request") or {}
        base_sha = _commit(repo, (pr.get("base") or {}).get("sha"), "pull_request.base.sha")
        head_sha = _commit(repo, (pr.get("head") or {}).get("sha"), "pull_request.head.sha")
        number = event.get("number") or pr.get("number")
        scope = f"pull request #{number}" if number else "the pull request"
        return _range_plan(repo, base_sha, head_sha, scope, base_sha)
    if event_name == "merge_group":
        group = event.get("merge_group") or {}
        base_sha = _commit(repo, group.get("base_sha"), "merge_group.base_sha")
        head_sha = _commit(repo, group.get("head_sha"), "merge_group.head_sha")
        return _range_plan(repo, base_sha, head_sha, "the merge queue group", base_sha)
    if event_name == "push":
        return _push_plan(repo, event, ZERO_OIDS)
    if event_name in AUDIT_EVENTS:
        if _shallow(repo):
            raise KeyscanError(f"a history audit of a shallow clone is incomplete: {FETCH_HINT}")
        return Plan("history", "the whole history (every branch and tag)")
    raise KeyscanError(
        f"event {event_name or '(none)'!r} is not supported (supported: "
        f"{', '.join(SUPPORTED_EVENTS)}); pass --base and --head to scan a range"
    )


def _push_plan(repo: Path, event: dict[str, Any], zero: frozenset[str]) -> Plan:
    from keyscan.sources.changes import annotated_tags

    plan = _pushed_commits_plan(repo, event, zero)
    after = str(event.get("after") or "")
    if plan.head and after != plan.head:
        # The push of an annotated tag names the tag object (`after`), which brings its
        # message along with whatever commits the plan lists.
        plan.tags = tuple(annotated_tags(repo, [after]))
    return plan


def _pushed_commits_plan(repo: Path, event: dict[str, Any], zero: frozenset[str]) -> Plan:
    ref = str(event.get("ref") or "")
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    after = event.get("after") or ""
    if event.get("deleted") or after in zero:
        return Plan("nothing", f"the deletion of {ref or 'a ref'}")
    after_sha = _commit(repo, after, "the pushed commit (after)")
    before = event.get("before") or ""
    default_branch = (event.get("repository") or {}).get("default_branch")
    if before and before not in zero and has_commit(repo, before):
        before_sha = _commit(repo, before, "before")
        scope = f"the push to {ref} ({before_sha[:7]}..{after_sha[:7]})"
        plan = _range_plan(repo, before_sha, after_sha, scope, None)
        if event.get("forced"):
            plan.notes.append(
                Note("notice", "forced push: scanned the commits the old tip did not have")
            )
        return plan
    if before and before not in zero:
        # A force push replaced commits the clone never fetched: compare with the other
        # branches instead, which is what a new branch gets too.
        scope = f"the forced push to {ref}"
        plan = _new_commits_plan(repo, after_sha, branch, default_branch, scope)
        plan.notes.append(
            Note(
                "warning",
                f"the previous tip {before[:12]} is not in the clone (force push?): scanned the "
                "commits no other branch has",
            )
        )
        return plan
    scope = f"the new {'branch' if branch else 'ref'} {branch or ref}"
    return _new_commits_plan(repo, after_sha, branch, default_branch, scope)
