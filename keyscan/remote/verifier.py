"""Verification: is a found secret live, dead or unknown? One read-only call per distinct secret."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from keyscan.net.client import HttpResponse, SafeHttpClient
from keyscan.remote import aws
from keyscan.remote.calls import CallValues, response_json, run_step
from keyscan.remote.jsonpath import is_missing
from keyscan.remote.spec import NetworkSpec
from keyscan.remote.targets import Target

LIVE, DEAD, UNKNOWN = "live", "dead", "unknown"


@dataclass(frozen=True)
class Verification:
    """A verdict and why; `principal` is a non-secret fact such as the account's login."""

    status: str
    reason: str
    principal: str | None = None


def distinct_key(target: Target) -> str:
    # Partners matter: one AWS key id checked with two different secret keys is two checks.
    material = "\x00".join([target.rule_id, target.secret, *sorted(target.partners.values())])
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()


class Verifier:
    """Runs verify calls with bounded concurrency; the client enforces per-host rate limits."""

    def __init__(
        self, specs: Mapping[str, NetworkSpec], client: SafeHttpClient, concurrency: int = 4
    ):
        self.specs = specs
        self.client = client
        self.concurrency = max(1, concurrency)

    def verify_all(self, targets: Sequence[Target]) -> dict[str, Verification]:
        """Verdicts keyed by `distinct_key`; each distinct secret is sent at most once."""
        distinct: dict[str, Target] = {}
        for target in targets:
            distinct.setdefault(distinct_key(target), target)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            verdicts = pool.map(self.verify_one, distinct.values())
            return dict(zip(distinct, verdicts, strict=True))

    def verify_one(self, target: Target) -> Verification:
        spec = self.specs.get(target.rule_id)
        if spec is None or spec.verify is None:
            return Verification(UNKNOWN, "no verification is defined for this rule")
        if spec.verify.typed == "aws-sts":
            identity = aws.verify_access_key(self.client, target, spec.hosts)
            return Verification(identity.status, identity.reason, identity.arn)
        step = spec.verify.step
        assert step is not None
        result = run_step(self.client, step, CallValues(target.secret, target.captures), spec.hosts)
        if result.outcome in (LIVE, DEAD):
            principal = None
            if result.outcome == LIVE and result.response is not None:
                principal = _principal(spec, result.response)
            return Verification(result.outcome, result.reason, principal)
        return Verification(UNKNOWN, result.reason)


def _principal(spec: NetworkSpec, response: HttpResponse) -> str | None:
    assert spec.verify is not None
    if not spec.verify.report:
        return None
    document = response_json(response)
    if document is None:
        return None
    facts = []
    for label, path in spec.verify.report:
        value = path.first(document)
        if not is_missing(value) and isinstance(value, (str, int)):
            facts.append(f"{label}={value}")
    return ", ".join(facts) or None
