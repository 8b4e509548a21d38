"""Network sections of rules: load-time checks, templates, JSON paths, SigV4, the audit log."""

from __future__ import annotations

import datetime
import json
import os
import secrets
import stat
import string
from pathlib import Path
from typing import Any

import pytest

from keyscan.errors import RuleError
from keyscan.remote.audit import AuditLog, load_or_create_key
from keyscan.remote.catalog import network_specs
from keyscan.remote.jsonpath import JsonPathError, parse_json_path
from keyscan.remote.spec import SpecError, parse_network
from keyscan.remote.template import TemplateError, parse_template
from keyscan.rules.schema import parse_rule_file

HOSTS = ["https://api.example-provider.test"]


def _verify(url: str, **request: Any) -> dict[str, Any]:
    return {
        "request": {"method": "GET", "url": url, **request},
        "outcomes": {"live": {"status": [200]}, "dead": {"status": [401]}},
    }


def _revoke_step(method: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "step",
        "request": {"method": method, "url": url},
        "outcomes": {"revoked": {"status": [204]}},
        **extra,
    }


def test_a_valid_section_parses() -> None:
    spec = parse_network(
        "x.token",
        HOSTS,
        _verify("https://api.example-provider.test/me?key={{ secret }}"),
        {
            "kind": "self",
            "reversible": False,
            "steps": [_revoke_step("DELETE", "https://api.example-provider.test/keys/current")],
        },
    )
    assert spec is not None and spec.verify is not None and spec.revoke is not None
    assert spec.revoke.steps[0].request.mutating


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://evil.test/me", "not declared in hosts"),
        ("https://{{ secret }}.example-provider.test/me", "origin must be literal"),
        ("https://api.example-provider.test{{ secret }}/me", "origin must be literal"),
        ("https://api.example-provider.test:8443/me", "not declared in hosts"),
        ("http://api.example-provider.test/me", "not declared in hosts"),
        ("https://api.example-provider.test/{{ nope }}", "unknown variable"),
        ("https://api.example-provider.test/{{ secret | shell }}", "unknown filter"),
        ("https://api.example-provider.test/{{ env.HOME }}", "revoke.requires"),
        ("https://api.example-provider.test/{{ cap.user }}", "named group"),
        ("https://api.example-provider.test/{{ KEY }}", "earlier step"),
        ("https://user@api.example-provider.test/me", "userinfo"),
    ],
)
def test_unsafe_urls_are_refused_at_load_time(url: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_network("x.token", HOSTS, _verify(url), None)
    assert message in str(info.value) or message in info.value.field


def test_verify_must_not_mutate() -> None:
    section = _verify("https://api.example-provider.test/me")
    section["request"]["method"] = "DELETE"
    with pytest.raises(SpecError, match="GET or HEAD"):
        parse_network("x.token", HOSTS, section, None)
    section["request"]["method"] = "POST"
    with pytest.raises(SpecError, match="safe_post"):
        parse_network("x.token", HOSTS, section, None)
    section["safe_post"] = True
    assert parse_network("x.token", HOSTS, section, None) is not None


def test_revocation_shape_rules() -> None:
    url = "https://api.example-provider.test/keys"
    base = {"kind": "self", "reversible": False}
    with pytest.raises(SpecError, match="1 to 2 steps"):
        parse_network("x", HOSTS, None, {**base, "steps": [_revoke_step("GET", url)] * 3})
    first_mutates = [
        {**_revoke_step("DELETE", url), "outcomes": {"ok": {"status": [200]}}},
        _revoke_step("DELETE", url),
    ]
    with pytest.raises(SpecError, match="GET or HEAD"):
        parse_network("x", HOSTS, None, {**base, "steps": first_mutates})
    no_outcomes = {"name": "s", "request": {"method": "DELETE", "url": url}}
    with pytest.raises(SpecError, match="is required"):
        parse_network("x", HOSTS, None, {**base, "steps": [no_outcomes]})
    bad_outcome = {**_revoke_step("DELETE", url), "outcomes": {"live": {"status": [200]}}}
    with pytest.raises(SpecError, match="outcome must be one of"):
        parse_network("x", HOSTS, None, {**base, "steps": [bad_outcome]})
    with pytest.raises(SpecError, match="reversible"):
        parse_network("x", HOSTS, None, {"kind": "self", "steps": [_revoke_step("DELETE", url)]})
    with pytest.raises(SpecError, match="admin credential"):
        parse_network(
            "x",
            HOSTS,
            None,
            {"kind": "admin", "reversible": False, "steps": [_revoke_step("DELETE", url)]},
        )


def test_a_selection_must_choose_from_a_list_by_a_proof() -> None:
    url = "https://api.example-provider.test/keys"
    find = {
        "name": "find",
        "request": {"method": "GET", "url": url},
        "outcomes": {"ok": {"status": [200]}},
        "select": {"list": "$.keys[0]", "where": {"$.hint": "{{ secret | suffix(4) }}"}},
    }
    delete = _revoke_step("DELETE", url + "/{{ KEY }}")
    base = {"kind": "self", "reversible": False}
    with pytest.raises(SpecError, match=r"\[\*\]"):
        parse_network("x", HOSTS, None, {**base, "steps": [find, delete]})
    find["select"] = {"list": "$.keys[*]", "where": {}, "extract": {"KEY": "$.id"}}
    with pytest.raises(SpecError, match="proves the match"):
        parse_network("x", HOSTS, None, {**base, "steps": [find, delete]})
    find["select"]["where"] = {"$.hint": "{{ secret | suffix(4) }}"}
    spec = parse_network("x", HOSTS, None, {**base, "steps": [find, delete]})
    assert spec is not None and spec.revoke is not None and spec.revoke.steps[0].select


def test_env_variables_only_when_declared() -> None:
    url = "https://api.example-provider.test/admin/keys"
    step = _revoke_step("DELETE", url)
    step["request"]["headers"] = {"Authorization": "Bearer {{ env.KEYSCAN_X_ADMIN }}"}
    revoke = {"kind": "admin", "reversible": False, "steps": [step]}
    with pytest.raises(SpecError, match=r"revoke\.requires"):
        parse_network("x", HOSTS, None, revoke)
    revoke["requires"] = ["KEYSCAN_X_ADMIN"]
    assert parse_network("x", HOSTS, None, revoke) is not None
    revoke["requires"] = ["HOME"]
    with pytest.raises(SpecError, match="KEYSCAN_"):
        parse_network("x", HOSTS, None, revoke)


def _rule_file(host: str, url: str) -> str:
    return f"""rules:
  - id: acme.token
    name: Acme token
    description: test
    severity: high
    keywords: [acme_]
    pattern: '(?P<secret>acme_[a-z0-9]{{20}})'
    hosts: ['{host}']
    verify:
      request: {{method: GET, url: '{url}'}}
      outcomes: {{live: {{status: [200]}}}}
"""


def test_rule_file_errors_name_file_rule_and_field(tmp_path: Path) -> None:
    text = _rule_file("https://api.acme.test", "https://other.acme.test/me")
    with pytest.raises(RuleError) as info:
        parse_rule_file(text, "custom.yaml")
    message = str(info.value)
    assert "custom.yaml" in message and "acme.token" in message and "verify.request.url" in message


def test_http_hosts_need_the_loopback_test_switch(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(_rule_file("http://127.0.0.1:8080", "http://127.0.0.1:8080/me"))
    with pytest.raises(RuleError, match="insecure-loopback-http"):
        network_specs([rules], cache_dir=None, allow_http=False)
    assert "acme.token" in network_specs([rules], cache_dir=None, allow_http=True)
    with pytest.raises(SpecError, match="https"):
        parse_network("x", ["http://api.acme.test"], _verify("http://api.acme.test/me"), None)


def test_every_builtin_network_section_loads() -> None:
    specs = network_specs(cache_dir=None)
    revocable = {rule for rule, spec in specs.items() if spec.revoke}
    verifiable = {rule for rule, spec in specs.items() if spec.verify}
    for required in (
        "github.pat-classic",
        "gitlab.personal-access-token",
        "slack.bot-token",
        "npm.access-token",
        "digitalocean.personal-access-token",
        "buildkite.api-token",
        "vercel.token",
        "twitch.oauth-token",
        "google.oauth-access-token",
        "aws.access-key-id",
    ):
        assert required in revocable and required in verifiable, required
    assert {"openai.api-key", "stripe.secret-key", "cloudflare.api-token"} <= verifiable


def test_template_encodes_for_the_place_it_lands() -> None:
    template = parse_template("{{ secret | path }}")
    assert template.render({"secret": "a/b?c#d@e"}) == "a%2Fb%3Fc%23d%40e"
    with pytest.raises(TemplateError):
        template.render({"secret": ".."})
    assert (
        parse_template("{{ secret | prefix(4) }}..{{ secret | suffix(2) }}").render(
            {"secret": "abcdefgh"}
        )
        == "abcd..gh"
    )
    with pytest.raises(TemplateError):
        parse_template("{{ secret }")
    with pytest.raises(TemplateError):
        parse_template("{{ secret | prefix }}")


def test_json_path_subset() -> None:
    document = {"objects": [{"key": "k1", "token": "a"}, {"key": "k2", "token": "b"}], "ok": True}
    assert parse_json_path("$.objects[*].key").find(document) == ["k1", "k2"]
    assert parse_json_path("$.objects[1].token").first(document) == "b"
    assert parse_json_path("$.ok").exists(document)
    assert not parse_json_path("$.missing[0]").exists(document)
    with pytest.raises(JsonPathError):
        parse_json_path("objects")
    with pytest.raises(JsonPathError):
        parse_json_path("$..key")


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def test_sigv4_matches_botocore() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from keyscan.remote import sigv4

    key_id = "AKIA" + _random(string.ascii_uppercase + "234567", 16)
    secret = _random(string.ascii_letters + string.digits + "/+", 40)
    body = b"Action=UpdateAccessKey&AccessKeyId=X&Status=Inactive&Version=2010-05-08"
    content_type = "application/x-www-form-urlencoded; charset=utf-8"
    when = datetime.datetime(2026, 11, 22, 12, 0, 0, tzinfo=datetime.timezone.utc)
    headers = dict(
        sigv4.sign(
            "POST",
            "https://iam.amazonaws.com/",
            [("Content-Type", content_type)],
            body,
            key_id,
            secret,
            "us-east-1",
            "iam",
            when,
        )
    )
    request = AWSRequest(
        method="POST",
        url="https://iam.amazonaws.com/",
        data=body,
        headers={"Content-Type": content_type, "X-Amz-Date": "20261122T120000Z"},
    )
    request.context["timestamp"] = "20261122T120000Z"
    auth = SigV4Auth(Credentials(key_id, secret), "iam", "us-east-1")
    expected = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    assert headers["Authorization"].endswith("Signature=" + expected)
    assert f"Credential={key_id}/20261122/us-east-1/iam/aws4_request" in headers["Authorization"]


def test_audit_log_is_private_append_only_and_holds_no_secret(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "config" / "audit.key")
    assert stat.S_IMODE(os.stat(tmp_path / "config" / "audit.key").st_mode) == 0o600
    assert load_or_create_key(tmp_path / "config" / "audit.key") == key
    secret = "tok_" + _random(string.ascii_letters, 30)
    log = AuditLog(tmp_path / "state" / "audit.jsonl", key, "run-1", "0.1.0")
    log.record({"rule_id": "x", "secret_hmac": log.secret_hash(secret), "outcome": "revoked"})
    log.record({"rule_id": "x", "secret_hmac": log.secret_hash(secret), "outcome": "unknown"})
    text = (tmp_path / "state" / "audit.jsonl").read_text()
    assert secret not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["outcome"] for r in records] == ["revoked", "unknown"]
    assert records[0]["secret_hmac"] == records[1]["secret_hmac"]
    assert records[0]["secret_hmac"].startswith("hmac-sha256:")
    assert stat.S_IMODE(os.stat(tmp_path / "state" / "audit.jsonl").st_mode) == 0o600
    other = AuditLog(tmp_path / "b.jsonl", secrets.token_bytes(32), "run-2", "0.1.0")
    assert other.secret_hash(secret) != log.secret_hash(secret)
