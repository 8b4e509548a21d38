"""Verify and revoke end to end: the real CLI against a real HTTPS server imitating providers."""

from __future__ import annotations

import base64
import json
import random
import string
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import commit, git, run_keyscan
from tests.fakes import random_chars
from tests.providers import (
    ProviderServer,
    Reply,
    Seen,
    aws_pair,
    github_token,
    gitlab_token,
    npm_token,
    slack_bot_token,
)


@pytest.fixture
def providers(tmp_path: Path) -> Iterator[ProviderServer]:
    with ProviderServer(tmp_path) as server:
        yield server


@pytest.fixture
def tokens() -> dict[str, str]:
    r = random.Random(5150)
    return {
        "github": github_token(r),
        "slack": slack_bot_token(r),
        "npm": npm_token(r),
        "gitlab": gitlab_token(r),
    }


def _env(server: ProviderServer, tmp_path: Path) -> dict[str, str]:
    return {
        **server.env(),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }


def _repo(make_repo: Any, tokens: dict[str, str]) -> Path:
    repo: Path = make_repo()
    commit(
        repo,
        "config",
        **{
            "deploy.env": f"GITHUB_TOKEN={tokens['github']}\nSLACK_BOT_TOKEN={tokens['slack']}\n",
            "npmrc.txt": f"//registry.npmjs.org/:_authToken={tokens['npm']}\n",
            "ci.yml": f"gitlab_token: {tokens['gitlab']}\n",
            "copy.env": f"GH_TOKEN={tokens['github']}\n",
        },
    )
    return repo


def _report(repo: Path) -> Path:
    report = repo.parent / "findings.json"
    result = run_keyscan(str(repo), "--format", "json", "-o", str(report), "--no-progress")
    assert result.returncode == 1, result.stderr
    return report


def _bearer_is(seen: Seen, token: str) -> bool:
    return seen.headers.get("authorization") == f"Bearer {token}"


def _all_text(result: Any, *files: Path) -> str:
    return result.stdout + result.stderr + "".join(f.read_text() for f in files if f.exists())


def _assert_no_secret(text: str, secret: str) -> None:
    for form in (
        secret,
        urllib.parse.quote(secret, safe=""),
        base64.b64encode(secret.encode()).decode(),
    ):
        assert form not in text


def test_verify_marks_live_dead_unknown_once_per_secret(
    make_repo: Any, providers: ProviderServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    repo = _repo(make_repo, tokens)
    report = _report(repo)
    providers.route(
        "GET",
        "/user",
        lambda s: Reply(200, {"login": "octo"}) if _bearer_is(s, tokens["github"]) else Reply(401),
    )
    providers.route("POST", "/api/auth.test", Reply(200, {"ok": False, "error": "invalid_auth"}))
    providers.route("GET", "/-/whoami", Reply(429, {"error": "slow down"}))
    providers.route("GET", "/api/v4/personal_access_tokens/self", Reply(503, "<html>down</html>"))
    result = run_keyscan(
        "verify",
        str(report),
        "--format",
        "json",
        "--ca-bundle",
        str(providers.ca_path),
        "--rate",
        "0",
        cwd=repo,
        env=_env(providers, tmp_path),
    )
    assert result.returncode == 1, result.stderr
    verdicts = {
        (f["rule_id"], f["path"]): f["verification"] for f in json.loads(result.stdout)["findings"]
    }
    assert verdicts[("github.pat-classic", "deploy.env")]["status"] == "live"
    assert verdicts[("github.pat-classic", "deploy.env")]["principal"] == "login=octo"
    assert verdicts[("github.pat-classic", "copy.env")]["status"] == "live"
    assert verdicts[("slack.bot-token", "deploy.env")]["status"] == "dead"
    assert verdicts[("npm.access-token", "npmrc.txt")]["status"] == "unknown"
    assert verdicts[("gitlab.personal-access-token", "ci.yml")]["status"] == "unknown"
    # The same GitHub token in two files is asked about once.
    assert len(providers.requests("GET", "/user")) == 1
    slack = providers.requests("POST", "/api/auth.test")
    assert len(slack) == 1 and slack[0].host == "slack.com"
    for secret in tokens.values():
        _assert_no_secret(result.stdout + result.stderr, secret)


def test_scan_verify_flag_and_plain_scan_stays_offline(
    make_repo: Any, providers: ProviderServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    repo = _repo(make_repo, tokens)
    providers.route("GET", "/user", Reply(401))
    env = _env(providers, tmp_path)
    plain = run_keyscan(str(repo), "--format", "json", "--no-progress", env=env)
    assert plain.returncode == 1
    assert providers.seen == []
    assert all("verification" not in f for f in json.loads(plain.stdout)["findings"])
    verified = run_keyscan(
        str(repo),
        "--verify",
        "--format",
        "json",
        "--no-progress",
        "--rate",
        "0",
        "--ca-bundle",
        str(providers.ca_path),
        env=env,
    )
    assert verified.returncode == 1, verified.stderr
    statuses = {
        f["rule_id"]: f["verification"]["status"] for f in json.loads(verified.stdout)["findings"]
    }
    assert statuses["github.pat-classic"] == "dead"
    assert providers.requests("GET", "/user")


def test_plain_scan_never_loads_the_network_code(make_repo: Any, tokens: dict[str, str]) -> None:
    import subprocess
    import sys

    repo = _repo(make_repo, tokens)
    code = (
        "import sys\n"
        "from keyscan.cli import main\n"
        "main([sys.argv[1], '--no-progress', '--format', 'json'])\n"
        "network = ('keyscan.net.client', 'keyscan.remote.verifier')\n"
        "loaded = [m for m in sys.modules if m.startswith(network)]\n"
        "sys.stderr.write('LOADED=' + ','.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(repo)], capture_output=True, text=True, timeout=300
    )
    assert "LOADED=" in done.stderr and done.stderr.rsplit("LOADED=", 1)[1].strip() == ""


def test_revoke_plans_by_default_and_sends_nothing(
    make_repo: Any, providers: ProviderServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    repo = _repo(make_repo, tokens)
    report = _report(repo)
    result = run_keyscan(
        "revoke",
        str(report),
        "--ca-bundle",
        str(providers.ca_path),
        cwd=repo,
        env=_env(providers, tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert providers.seen == []
    assert "Dry run: nothing was sent" in result.stdout
    assert "github.pat-classic" in result.stdout and "IRREVERSIBLE" in result.stdout
    assert "POST https://api.github.com/credentials/revoke" in result.stdout
    assert "DELETE https://registry.npmjs.org/-/npm/v1/tokens/token/«KEY»" in result.stdout
    for secret in tokens.values():
        _assert_no_secret(result.stdout + result.stderr, secret)
    assert not (tmp_path / "state").exists()


def test_yes_needs_execute_and_a_cap_and_the_cap_holds(
    make_repo: Any, providers: ProviderServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    repo = _repo(make_repo, tokens)
    report = _report(repo)
    env = _env(providers, tmp_path)
    ca = ("--ca-bundle", str(providers.ca_path))
    assert run_keyscan("revoke", str(report), "--yes", *ca, cwd=repo, env=env).returncode == 2
    no_cap = run_keyscan("revoke", str(report), "--execute", "--yes", *ca, cwd=repo, env=env)
    assert no_cap.returncode == 2 and "--max" in no_cap.stderr
    capped = run_keyscan(
        "revoke", str(report), "--execute", "--yes", "--max", "1", *ca, cwd=repo, env=env
    )
    assert capped.returncode == 2 and "more than --max 1" in capped.stderr
    refused = run_keyscan("revoke", str(report), "--execute", *ca, cwd=repo, env=env, stdin="3\n")
    assert refused.returncode == 1 and "Not confirmed" in refused.stdout
    assert providers.seen == []


def test_execute_revokes_rechecks_and_audits(
    make_repo: Any, providers: ProviderServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    repo = _repo(make_repo, tokens)
    report = _report(repo)
    revoked: set[str] = set()

    def github_user(seen: Seen) -> Reply:
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if token == tokens["github"] and token not in revoked:
            return Reply(200, {"login": "octo"})
        return Reply(401, {"message": "Bad credentials"})

    def github_report(seen: Seen) -> Reply:
        assert "authorization" not in seen.headers  # the endpoint refuses authenticated calls
        revoked.update(json.loads(seen.body)["credentials"])
        return Reply(202, {})

    providers.route("GET", "/user", github_user)
    providers.route("POST", "/credentials/revoke", github_report)
    audit = tmp_path / "audit.jsonl"
    result = run_keyscan(
        "revoke",
        str(report),
        "--only",
        "github.pat-classic",
        "--execute",
        "--yes",
        "--max",
        "1",
        "--ca-bundle",
        str(providers.ca_path),
        "--rate",
        "0",
        "--audit-log",
        str(audit),
        cwd=repo,
        env=_env(providers, tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REVOKED" in result.stdout and "re-verified: dead" in result.stdout
    assert revoked == {tokens["github"]}
    assert len(providers.requests("POST", "/credentials/revoke")) == 1
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [r["mode"] for r in records] == ["plan", "execute"]
    attempt = records[1]
    assert attempt["outcome"] == "revoked" and attempt["post_check"] == "dead"
    assert attempt["origins"] == ["https://api.github.com"]
    assert attempt["secret_hmac"].startswith("hmac-sha256:")
    assert attempt["location"]["path"] in ("deploy.env", "copy.env")
    _assert_no_secret(_all_text(result, audit), tokens["github"])


def test_a_mutation_is_never_retried_and_ends_unknown(
    make_repo: Any, providers: ProviderServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    repo = _repo(make_repo, tokens)
    report = _report(repo)
    providers.route("POST", "/api/auth.test", Reply(200, {"ok": True, "team": "t", "user": "u"}))
    providers.route("POST", "/api/auth.revoke", Reply(429, {"ok": False}, {"Retry-After": "0"}))
    providers.route("GET", "/api/v4/personal_access_tokens/self", Reply(200, {"active": True}))
    providers.route("DELETE", "/api/v4/personal_access_tokens/self", Reply(204, b"", delay=3.0))
    result = run_keyscan(
        "revoke",
        str(report),
        "--only",
        "slack.bot-token",
        "--only",
        "gitlab.personal-access-token",
        "--execute",
        "--yes",
        "--max",
        "2",
        "--timeout",
        "1",
        "--ca-bundle",
        str(providers.ca_path),
        "--rate",
        "0",
        "--audit-log",
        str(tmp_path / "a.jsonl"),
        cwd=repo,
        env=_env(providers, tmp_path),
    )
    assert result.returncode == 1
    assert len(providers.requests("POST", "/api/auth.revoke")) == 1
    assert len(providers.requests("DELETE", "/api/v4/personal_access_tokens/self")) == 1
    assert result.stdout.count("UNKNOWN") == 2
    assert "check the provider before retrying" in result.stdout


def _execute_one(
    report: Path, rule_id: str, server: ProviderServer, tmp_path: Path, repo: Path
) -> Any:
    """`keyscan revoke REPORT --only RULE --execute --yes --max 1` against the imitation."""
    return run_keyscan(
        "revoke", str(report), "--only", rule_id, "--execute", "--yes", "--max", "1",
        "--ca-bundle", str(server.ca_path), "--rate", "0", "--audit-log",
        str(tmp_path / "a.jsonl"), cwd=repo, env=_env(server, tmp_path),
    )  # fmt: skip


def _npm_list(tokens: list[str]) -> Reply:
    objects = [{"token": f"{t[:8]}...{t[-4:]}", "key": f"key-{i}"} for i, t in enumerate(tokens)]
    return Reply(200, {"objects": objects})


@pytest.mark.parametrize("listed", ["one-match", "no-match", "two-matches"])
def test_npm_revocation_proves_which_token_it_deletes(
    make_repo: Any,
    providers: ProviderServer,
    tokens: dict[str, str],
    tmp_path: Path,
    listed: str,
) -> None:
    repo = _repo(make_repo, tokens)
    report = _report(repo)
    other = npm_token(random.Random(77))
    listing = {
        "one-match": [other, tokens["npm"]],
        "no-match": [other],
        "two-matches": [tokens["npm"], tokens["npm"]],
    }[listed]
    providers.route("GET", "/-/whoami", Reply(200, {"username": "dev"}))
    providers.route("GET", "/-/npm/v1/tokens", _npm_list(listing))
    providers.route("DELETE", "/-/npm/v1/tokens/token/key-1", Reply(204))
    result = _execute_one(report, "npm.access-token", providers, tmp_path, repo)
    deletes = providers.requests("DELETE")
    if listed == "one-match":
        assert [d.path for d in deletes] == ["/-/npm/v1/tokens/token/key-1"]
        assert "REVOKED" in result.stdout
    else:
        assert deletes == []
        assert "not exactly one" in result.stdout and result.returncode == 1


def test_incident_response_reads_the_secret_from_stdin_only(
    providers: ProviderServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    providers.route("GET", "/v2/access-token", Reply(200, {"uuid": "u-1"}))
    providers.route("DELETE", "/v2/access-token", Reply(204))
    r = random.Random(3)
    buildkite = "bk" + "ua_" + "".join(r.choice("0123456789abcdef") for _ in range(40))
    result = run_keyscan(
        "revoke",
        "--rule",
        "buildkite.api-token",
        "--secret-file",
        "-",
        "--execute",
        "--yes",
        "--max",
        "1",
        "--ca-bundle",
        str(providers.ca_path),
        "--rate",
        "0",
        "--audit-log",
        str(tmp_path / "a.jsonl"),
        env=_env(providers, tmp_path),
        stdin=buildkite + "\n",
    )
    # The provider accepted the revocation; a still-live re-check is shown, not hidden.
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REVOKED" in result.stdout and "re-verified: live" in result.stdout
    assert len(providers.requests("DELETE", "/v2/access-token")) == 1
    _assert_no_secret(_all_text(result, tmp_path / "a.jsonl"), buildkite)
    unknown_rule = run_keyscan(
        "revoke",
        "--rule",
        "github",
        "--secret-file",
        "-",
        env=_env(providers, tmp_path),
        stdin=tokens["github"] + "\n",
    )
    assert unknown_rule.returncode == 2 and "exact id" in unknown_rule.stderr


def test_aws_keys_are_deactivated_with_signed_requests(
    make_repo: Any, providers: ProviderServer, tmp_path: Path
) -> None:
    key_id, secret_key = aws_pair(random.Random(11))
    repo: Path = make_repo()
    commit(
        repo,
        "aws",
        credentials=(
            f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret_key}\n"
        ),
    )
    report = _report(repo)
    state = {"active": True}

    def aws(seen: Seen) -> Reply:
        form = dict(urllib.parse.parse_qsl(seen.body.decode()))
        assert f"Credential={key_id}/" in seen.headers["authorization"]
        if form["Action"] == "GetCallerIdentity":
            if not state["active"]:
                return Reply(
                    403,
                    "<ErrorResponse><Error><Code>InvalidClientTokenId</Code>"
                    "</Error></ErrorResponse>",
                )
            return Reply(
                200,
                "<GetCallerIdentityResponse><GetCallerIdentityResult>"
                "<Arn>arn:aws:iam::123456789012:user/deploy</Arn>"
                "</GetCallerIdentityResult></GetCallerIdentityResponse>",
            )
        assert form == {
            "Action": "UpdateAccessKey",
            "AccessKeyId": key_id,
            "Status": "Inactive",
            "UserName": "deploy",
            "Version": "2010-05-08",
        }
        state["active"] = False
        return Reply(200, "<UpdateAccessKeyResponse/>")

    providers.route("POST", "/", aws)
    result = _execute_one(report, "aws.access-key-id", providers, tmp_path, repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REVOKED" in result.stdout and "re-verified: dead" in result.stdout
    hosts = [s.host for s in providers.seen]
    assert hosts.count("iam.amazonaws.com") == 1 and "sts.amazonaws.com" in hosts
    _assert_no_secret(_all_text(result, tmp_path / "a.jsonl"), secret_key)


def test_rules_from_the_scanned_repository_are_not_trusted_for_network_calls(
    make_repo: Any, providers: ProviderServer, tmp_path: Path
) -> None:
    repo: Path = make_repo()
    rule = """rules:
  - id: evil.token
    name: Evil token
    description: test
    severity: high
    keywords: [evil_]
    pattern: '(?P<secret>evil_[a-z0-9]{20})'
    hosts: ['https://api.github.com']
    verify:
      request: {method: GET, url: 'https://api.github.com/user?leak={{ secret }}'}
      outcomes: {live: {status: [200]}}
"""
    r = random.Random(1)
    secret = "evil_" + "".join(r.choice("abcdefghij0123456789") for _ in range(20))
    commit(
        repo,
        "rule",
        **{
            ".keyscan.yaml": "rules: [evil.yaml]\n",
            "evil.yaml": rule,
            "app.txt": f"token {secret}\n",
        },
    )
    report = _report(repo)
    providers.route("GET", "/user", Reply(200))
    env = _env(providers, tmp_path)
    ca = ("--ca-bundle", str(providers.ca_path))
    untrusted = run_keyscan("verify", str(report), "--format", "json", *ca, cwd=repo, env=env)
    record = json.loads(untrusted.stdout)["findings"][0]
    assert record["verification"]["status"] == "unknown"
    assert "no verification" in record["verification"]["reason"]
    assert providers.seen == []
    trusted = run_keyscan(
        "verify",
        str(report),
        "--format",
        "json",
        "--trust-rules",
        str(repo / "evil.yaml"),
        *ca,
        cwd=repo,
        env=env,
    )
    assert json.loads(trusted.stdout)["findings"][0]["verification"]["status"] == "live"
    assert len(providers.seen) == 1


class _Accounts:
    """A provider's view: which tokens exist and which were revoked."""

    def __init__(self) -> None:
        self.revoked: set[str] = set()

    def live(self, token: str) -> bool:
        return bool(token) and token not in self.revoked


def _bearer(seen: Seen, scheme: str = "Bearer") -> str:
    return seen.headers.get("authorization", "").removeprefix(scheme + " ")


def _form(seen: Seen) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(seen.body.decode()))


def _imitate_providers(server: ProviderServer, accounts: _Accounts) -> None:
    """Documented success and failure answers of each built-in revocable provider."""

    def check(token: str, body: Any, dead: Reply | None = None) -> Reply:
        if accounts.live(token):
            return Reply(200, body)
        return dead or Reply(401, {"message": "bad"})

    def revoke(token: str, reply: Reply) -> Reply:
        if not accounts.live(token):
            return Reply(401, {"message": "bad"})
        accounts.revoked.add(token)
        return reply

    server.route("GET", "/user", lambda s: check(_bearer(s), {"login": "octo"}))
    server.route(
        "POST",
        "/credentials/revoke",
        lambda s: (accounts.revoked.update(json.loads(s.body)["credentials"]), Reply(202, {}))[1],
    )
    server.route(
        "GET",
        "/api/v4/personal_access_tokens/self",
        lambda s: check(s.headers.get("private-token", ""), {"active": True, "name": "ci"}),
    )
    server.route(
        "DELETE",
        "/api/v4/personal_access_tokens/self",
        lambda s: revoke(s.headers.get("private-token", ""), Reply(204)),
    )
    server.route(
        "POST",
        "/api/auth.test",
        lambda s: check(
            _bearer(s),
            {"ok": True, "team": "T"},
            Reply(200, {"ok": False, "error": "token_revoked"}),
        ),
    )
    server.route(
        "POST",
        "/api/auth.revoke",
        lambda s: revoke(_bearer(s), Reply(200, {"ok": True, "revoked": True})),
    )
    server.route(
        "GET", "/v2/account", lambda s: check(_bearer(s), {"account": {"status": "active"}})
    )
    server.route("POST", "/v1/oauth/revoke", lambda s: revoke(_form(s)["token"], Reply(200, {})))
    server.route("GET", "/v2/access-token", lambda s: check(_bearer(s), {"uuid": "u"}))
    server.route("DELETE", "/v2/access-token", lambda s: revoke(_bearer(s), Reply(204)))
    server.route("GET", "/v2/user", lambda s: check(_bearer(s), {"user": {"id": "v"}}))
    server.route(
        "DELETE",
        "/v3/user/tokens/current",
        lambda s: revoke(_bearer(s), Reply(200, {"tokenId": "t"})),
    )
    server.route(
        "GET",
        "/oauth2/validate",
        lambda s: check(_bearer(s, "OAuth"), {"client_id": "cid", "login": "tw"}),
    )
    server.route(
        "POST",
        "/oauth2/revoke",
        lambda s: (
            revoke(_form(s)["token"], Reply(200))
            if _form(s).get("client_id") == "cid"
            else Reply(404)
        ),
    )
    server.route(
        "GET",
        "/tokeninfo",
        lambda s: check(
            dict(urllib.parse.parse_qsl(s.path.split("?", 1)[1])).get("access_token", ""),
            {"expires_in": 3000},
            Reply(400, {"error": "invalid_token"}),
        ),
    )
    server.route("POST", "/revoke", lambda s: revoke(_form(s)["token"], Reply(200)))


def test_every_builtin_revocation_round_trip(
    make_repo: Any, providers: ProviderServer, tmp_path: Path
) -> None:
    r = random.Random(99)
    hexdigits = "0123456789abcdef"
    lower = string.ascii_lowercase + string.digits
    url_safe = string.ascii_letters + string.digits + "_-"
    tokens = {
        "github.pat-classic": github_token(r),
        "gitlab.personal-access-token": gitlab_token(r),
        "slack.bot-token": slack_bot_token(r),
        "digitalocean.personal-access-token": "dop" + "_v1_" + random_chars(r, 64, hexdigits),
        "buildkite.api-token": "bk" + "ua_" + random_chars(r, 40, hexdigits),
        "vercel.token": "vc" + "p_" + random_chars(r, 40),
        "twitch.oauth-token": "k9" + random_chars(r, 28, lower),
        "google.oauth-access-token": "ya" + "29.a0" + random_chars(r, 120, url_safe),
    }
    lines = {
        "github.pat-classic": "GITHUB_TOKEN={}",
        "gitlab.personal-access-token": "GITLAB_TOKEN={}",
        "slack.bot-token": "SLACK_BOT_TOKEN={}",
        "digitalocean.personal-access-token": "DIGITALOCEAN_TOKEN={}",
        "buildkite.api-token": "BUILDKITE_API_TOKEN={}",
        "vercel.token": "VERCEL_TOKEN={}",
        "twitch.oauth-token": "TWITCH_ACCESS_TOKEN={}",
        "google.oauth-access-token": "GOOGLE_ACCESS_TOKEN={}",
    }
    repo: Path = make_repo()
    env_file = "".join(lines[rule].format(token) + "\n" for rule, token in tokens.items())
    commit(repo, "tokens", **{"prod.env": env_file})
    report = _report(repo)
    found = {f["rule_id"] for f in json.loads(report.read_text())["findings"]}
    assert set(tokens) <= found
    accounts = _Accounts()
    _imitate_providers(providers, accounts)
    env = _env(providers, tmp_path)
    ca = ("--ca-bundle", str(providers.ca_path), "--rate", "0")
    only = [arg for rule in tokens for arg in ("--only", rule)]
    verified = run_keyscan("verify", str(report), "--format", "json", *ca, cwd=repo, env=env)
    statuses = {
        f["rule_id"]: f["verification"]["status"] for f in json.loads(verified.stdout)["findings"]
    }
    assert {rule: statuses[rule] for rule in tokens} == dict.fromkeys(tokens, "live")
    revoke_all = (
        "revoke", str(report), *only, "--execute", "--yes", "--max", str(len(tokens)), *ca,
        "--format", "json", "--audit-log", str(tmp_path / "audit.jsonl"),
    )  # fmt: skip
    revoked = run_keyscan(*revoke_all, cwd=repo, env=env)
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    results = {r["rule_id"]: r for r in json.loads(revoked.stdout)["revocations"]}
    for rule in tokens:
        assert results[rule]["outcome"] == "revoked", (rule, results[rule])
        assert results[rule]["post_check"] == "dead", (rule, results[rule])
    assert accounts.revoked == set(tokens.values())
    again = run_keyscan(*revoke_all, cwd=repo, env=env)
    outcomes = {r["outcome"] for r in json.loads(again.stdout)["revocations"]}
    assert outcomes == {"already_dead"} and again.returncode == 0
    audit_text = (tmp_path / "audit.jsonl").read_text()
    for token in tokens.values():
        _assert_no_secret(audit_text + revoked.stdout + revoked.stderr, token)


def test_verify_reads_history_findings_back_from_their_commit(
    make_repo: Any, providers: ProviderServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    repo: Path = make_repo()
    commit(repo, "add", **{"old.env": f"GITHUB_TOKEN={tokens['github']}\n"})
    git(repo, "rm", "-q", "old.env")
    commit(repo, "remove", **{"README.md": "clean now\n"})
    report = tmp_path / "history.json"
    scanned = run_keyscan(
        "--history", str(repo), "--format", "json", "-o", str(report), "--no-progress"
    )
    assert scanned.returncode == 1, scanned.stderr
    providers.route(
        "GET", "/user", lambda s: Reply(200, {"login": "o"}) if _bearer(s) else Reply(401)
    )
    result = run_keyscan(
        "verify",
        str(report),
        "--ca-bundle",
        str(providers.ca_path),
        "--rate",
        "0",
        cwd=repo,
        env=_env(providers, tmp_path),
    )
    assert result.returncode == 1 and result.stdout.startswith("LIVE"), result.stdout
    assert "old.env:1 @ " in result.stdout
    assert _bearer(providers.requests("GET", "/user")[0]) == tokens["github"]


def test_an_internal_key_service_needs_its_rule_and_the_users_consent(tmp_path: Path) -> None:
    import ipaddress

    from keyscan.net.address import AddressPolicy
    from keyscan.net.client import ClientSettings, SafeHttpClient
    from keyscan.remote.catalog import network_specs
    from keyscan.remote.targets import Target
    from keyscan.remote.verifier import Verifier

    with ProviderServer(tmp_path, hosts=("keys.corp.test",)) as server:
        server.route("GET", "/v1/self", Reply(200))
        origin = f"https://keys.corp.test:{server.port}"
        rules = tmp_path / "corp.yaml"
        rules.write_text(
            f"""rules:
  - id: corp.service-key
    name: Corp service key
    description: test
    severity: high
    keywords: [corpsk_]
    pattern: '(?P<secret>corpsk_[a-z0-9]{{24}})'
    hosts: ['{origin}']
    verify:
      request:
        method: GET
        url: '{origin}/v1/self'
        headers: {{Authorization: 'Bearer {{{{ secret }}}}'}}
      outcomes: {{live: {{status: [200]}}, dead: {{status: [401]}}}}
"""
        )
        specs = network_specs([rules], cache_dir=None)
        target = Target("corp.service-key", "corpsk_" + "a1" * 12, "fp", "x", 1)

        def verdict(policy: AddressPolicy) -> str:
            settings = ClientSettings(policy=policy, ca_bundle=str(server.ca_path))
            client = SafeHttpClient(settings, lambda host, port: ["127.0.0.1"])
            return Verifier(specs, client).verify_one(target).status

        assert verdict(AddressPolicy()) == "unknown"
        assert server.seen == []
        assert verdict(AddressPolicy(allow_internal=True)) == "live"
        assert verdict(AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))) == (
            "live"
        )
        assert len(server.seen) == 2
