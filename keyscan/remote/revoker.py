"""Revocation: a plan that sends nothing, and the execution of a confirmed plan, step by step."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keyscan.net.client import SafeHttpClient
from keyscan.remote import aws
from keyscan.remote.audit import AuditLog
from keyscan.remote.calls import CallValues, StepResult, response_json, run_step
from keyscan.remote.jsonpath import is_missing
from keyscan.remote.spec import NetworkSpec, RevokeSpec, Step
from keyscan.remote.targets import Target
from keyscan.remote.template import Placeholder, Template
from keyscan.remote.verifier import DEAD, LIVE, Verifier

OUTCOMES = ("revoked", "already_dead", "not_authorized", "not_found", "failed", "unknown")


@dataclass(frozen=True)
class PlanItem:
    """One credential the plan would retire, or why it cannot be retired."""

    target: Target
    spec: NetworkSpec | None
    action: str
    reversible: bool | None
    requests: tuple[str, ...]
    notice: str = ""
    blocked: str | None = None


@dataclass(frozen=True)
class Revocation:
    item: PlanItem
    outcome: str
    reason: str
    post_check: str | None = None


def _describe_url(step: Step) -> str:
    request = step.request
    if request.url_from_secret:
        return f"{request.method} «the secret URL itself»"
    assert request.url is not None
    return f"{request.method} {_describe(request.url)}"


def _describe(template: Template) -> str:
    # Placeholders are shown by name, never rendered: the plan must not hold the secret.
    return "".join(
        f"«{part.variable}»" if isinstance(part, Placeholder) else part for part in template.parts
    )


def _action(revoke: RevokeSpec, destructive: bool) -> str:
    if revoke.typed == "aws-iam-access-key":
        return (
            "delete the access key (IAM DeleteAccessKey)"
            if destructive
            else ("deactivate the access key (IAM UpdateAccessKey Status=Inactive)")
        )
    return {
        "self": "the key revokes itself",
        "third_party_report": "report the key to its provider, which revokes it",
        "admin": "revoke with an admin credential",
    }.get(revoke.kind, revoke.kind)


def build_plan(
    targets: Sequence[Target],
    specs: Mapping[str, NetworkSpec],
    env: Mapping[str, str],
    destructive: bool = False,
) -> list[PlanItem]:
    """What `--execute` would do, for each distinct secret; nothing is sent."""
    items: list[PlanItem] = []
    seen: set[str] = set()
    for target in targets:
        key = hashlib.sha256(f"{target.rule_id}\0{target.secret}".encode()).hexdigest()
        if key in seen:
            continue
        seen.add(key)
        spec = specs.get(target.rule_id)
        if spec is None or spec.revoke is None:
            items.append(PlanItem(target, spec, "none", None, (), blocked="no revocation endpoint"))
            continue
        revoke = spec.revoke
        reversible = True if (revoke.typed and not destructive) else revoke.reversible
        if destructive and revoke.typed:
            reversible = False
        if revoke.typed == "aws-iam-access-key":
            requests: tuple[str, ...] = (
                "POST https://sts.amazonaws.com/ (GetCallerIdentity, read-only)",
                "POST https://iam.amazonaws.com/ ("
                + ("DeleteAccessKey" if destructive else "UpdateAccessKey Status=Inactive")
                + ")",
            )
        else:
            requests = tuple(_describe_url(step) for step in revoke.steps)
        blocked = None
        missing_env = [name for name in revoke.requires if not env.get(name)]
        if missing_env:
            blocked = f"needs {', '.join(missing_env)} in the environment"
        if target.rule_id.startswith("aws.") and target.secret.startswith("ASIA"):
            blocked = "temporary credentials expire on their own"
        if revoke.typed == "aws-iam-access-key" and aws.key_pair(target) is None:
            blocked = "no matching key id / secret access key pair in the file"
        items.append(
            PlanItem(
                target,
                spec,
                _action(revoke, destructive),
                reversible,
                requests,
                revoke.notice,
                blocked,
            )
        )
    return items


class Revoker:
    """Executes plan items one at a time; a mutating request is sent at most once."""

    def __init__(
        self,
        client: SafeHttpClient,
        verifier: Verifier,
        audit: AuditLog,
        env: Mapping[str, str],
        destructive: bool = False,
        revoke_unverified: bool = False,
    ):
        self.client = client
        self.verifier = verifier
        self.audit = audit
        self.env = env
        self.destructive = destructive
        self.revoke_unverified = revoke_unverified

    def execute(self, item: PlanItem) -> Revocation:
        started = time.monotonic()
        requests: list[dict[str, Any]] = []
        result = self._attempt(item, requests)
        if (
            result.outcome == "revoked"
            and item.spec
            and item.spec.verify
            and (item.spec.revoke and item.spec.revoke.post_check)
        ):
            after = self.verifier.verify_one(item.target)
            # Providers may take a moment to propagate; still-live is reported, not hidden.
            result = Revocation(item, result.outcome, result.reason, after.status)
        self.audit.record(
            {
                "mode": "execute",
                "rule_id": item.target.rule_id,
                "fingerprint": item.target.fingerprint,
                "secret_hmac": self.audit.secret_hash(item.target.secret),
                "action": item.action,
                "reversible": item.reversible,
                "location": {
                    "path": item.target.path,
                    "line": item.target.line,
                    "commit": item.target.commit,
                },
                "origins": sorted({str(origin) for origin in item.spec.hosts}) if item.spec else [],
                "requests": requests,
                "outcome": result.outcome,
                "reason": result.reason,
                "post_check": result.post_check,
                "ms": int((time.monotonic() - started) * 1000),
            }
        )
        return result

    def _attempt(self, item: PlanItem, requests: list[dict[str, Any]]) -> Revocation:
        spec = item.spec
        if item.blocked or spec is None or spec.revoke is None:
            return Revocation(item, "failed", item.blocked or "no revocation endpoint")
        if spec.verify is not None:
            before = self.verifier.verify_one(item.target)
            requests.append({"step": "verify-before", "outcome": before.status})
            if before.status == DEAD:
                return Revocation(item, "already_dead", f"verification says dead ({before.reason})")
            if before.status != LIVE and not self.revoke_unverified:
                return Revocation(
                    item,
                    "unknown",
                    f"not attempted: could not confirm the key is live ({before.reason}); "
                    "pass --revoke-unverified to try anyway",
                )
        revoke = spec.revoke
        if revoke.typed == "aws-iam-access-key":
            done = aws.retire_access_key(
                self.client, item.target, spec.hosts, self.destructive, self.env
            )
            requests.append({"step": "iam", "sent": done.sent, "outcome": done.outcome})
            return Revocation(item, done.outcome, done.reason)
        env = {name: self.env[name] for name in revoke.requires if name in self.env}
        values = CallValues(item.target.secret, item.target.captures, {}, env)
        for index, step in enumerate(revoke.steps):
            final = index == len(revoke.steps) - 1
            outcome = run_step(self.client, step, values, spec.hosts)
            requests.append(_request_record(step, outcome))
            if final:
                if outcome.outcome is None:
                    verdict = "unknown" if outcome.sent else "failed"
                    return Revocation(item, verdict, outcome.reason)
                return Revocation(item, outcome.outcome, outcome.reason)
            if outcome.outcome is None:
                return Revocation(
                    item, "unknown", f"{step.name}: {outcome.reason}; nothing changed"
                )
            if outcome.outcome != "ok":
                return Revocation(item, outcome.outcome, f"{step.name}: {outcome.reason}")
            extracted = _extract(step, outcome, values)
            if isinstance(extracted, str):
                return Revocation(item, "unknown", f"{step.name}: {extracted}; nothing changed")
            values = values.with_extracted(extracted)
        return Revocation(item, "unknown", "no step ran")


def _request_record(step: Step, outcome: StepResult) -> dict[str, Any]:
    record: dict[str, Any] = {"step": step.name, "method": step.request.method}
    record["sent"] = outcome.sent
    if outcome.response is not None:
        record["status"] = outcome.response.status
        record["ms"] = outcome.response.elapsed_ms
        record["resp_bytes"] = len(outcome.response.body)
        record["resp_sha256"] = hashlib.sha256(outcome.response.body).hexdigest()
    record["outcome"] = outcome.outcome or "unknown"
    return record


def _extract(step: Step, outcome: StepResult, values: CallValues) -> dict[str, str] | str:
    assert outcome.response is not None
    document = response_json(outcome.response)
    if document is None:
        return "the answer is not JSON"
    extracted: dict[str, str] = {}
    for name, path in step.extract:
        value = path.first(document)
        if is_missing(value) or not isinstance(value, (str, int)):
            return f"{name} not found in the answer"
        extracted[name] = str(value)
    if step.select is None:
        return extracted
    template_values = values.as_template_values()
    wanted = [(path, template.render(template_values)) for path, template in step.select.where]
    chosen = [
        item
        for item in step.select.items.find(document)
        if all(_scalar(path.first(item)) == expected for path, expected in wanted)
    ]
    # Exactly one: deleting "the first item" of a list is how peers revoke the wrong key.
    if len(chosen) != 1:
        return f"the selection matched {len(chosen)} items, not exactly one"
    for name, path in step.select.extract:
        value = path.first(chosen[0])
        if is_missing(value) or not isinstance(value, (str, int)):
            return f"{name} not found in the selected item"
        extracted[name] = str(value)
    return extracted


def _scalar(value: Any) -> str | None:
    if is_missing(value) or value is None or isinstance(value, (dict, list)):
        return None
    return str(value)
