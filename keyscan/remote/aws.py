"""AWS access keys: verify with STS GetCallerIdentity, retire with IAM UpdateAccessKey (or delete).

AWS APIs are signed, not templated, so they are a typed verifier and revoker rather than HTTP
rules. The secret access key comes from the same file as the key id (a "partner" finding).
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from keyscan.net.client import HttpRequest, HttpResponse, NetworkError, SafeHttpClient
from keyscan.net.origin import Origin
from keyscan.remote import sigv4
from keyscan.remote.targets import Target

STS_URL = "https://sts.amazonaws.com/"
IAM_URL = "https://iam.amazonaws.com/"
ADMIN_KEY_ID_ENV = "KEYSCAN_AWS_ADMIN_ACCESS_KEY_ID"
ADMIN_SECRET_ENV = "KEYSCAN_AWS_ADMIN_SECRET_ACCESS_KEY"
_FORM = "application/x-www-form-urlencoded; charset=utf-8"
_ARN = re.compile(r"<Arn>([^<]{1,2048})</Arn>")
_ERROR_CODE = re.compile(r"<Code>([A-Za-z.]{1,100})</Code>")


@dataclass(frozen=True)
class KeyPair:
    key_id: str
    secret: str


def key_pair(target: Target) -> KeyPair | None:
    """The id and secret key of the finding's credential, whichever of the two was found."""
    if target.rule_id == "aws.access-key-id":
        secret = target.partners.get("aws_secret_access_key")
        return KeyPair(target.secret, secret) if secret else None
    key_id = target.partners.get("aws_access_key_id")
    return KeyPair(key_id, target.secret) if key_id else None


def _signed(
    url: str, form: Mapping[str, str], pair: KeyPair, service: str, mutating: bool
) -> HttpRequest:
    body = urllib.parse.urlencode(sorted(form.items())).encode("ascii")
    headers = sigv4.sign(
        "POST",
        url,
        [("Content-Type", _FORM)],
        body,
        pair.key_id,
        pair.secret,
        "us-east-1",
        service,
        datetime.datetime.now(datetime.timezone.utc),
    )
    return HttpRequest("POST", url, tuple(headers), body, mutating=mutating)


def _error_code(response: HttpResponse) -> str:
    found = _ERROR_CODE.search(response.body.decode("utf-8", "replace"))
    return found.group(1) if found else ""


@dataclass(frozen=True)
class Identity:
    status: str  # live | dead | unknown
    reason: str
    arn: str | None = None


def caller_identity(client: SafeHttpClient, pair: KeyPair, hosts: Collection[Origin]) -> Identity:
    form = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
    try:
        response = client.send(_signed(STS_URL, form, pair, "sts", False), hosts)
    except NetworkError as exc:
        return Identity("unknown", str(exc))
    if response.status == 200:
        found = _ARN.search(response.body.decode("utf-8", "replace"))
        return Identity("live", "HTTP 200", found.group(1) if found else None)
    code = _error_code(response)
    if response.status == 403 and code == "InvalidClientTokenId":
        return Identity("dead", f"HTTP 403 {code}")
    # SignatureDoesNotMatch says the secret key beside the id is not its partner: the id itself
    # may well be live, so this is no proof of death.
    return Identity("unknown", f"HTTP {response.status} {code}".strip())


def verify_access_key(
    client: SafeHttpClient, target: Target, hosts: Collection[Origin]
) -> Identity:
    pair = key_pair(target)
    if pair is None:
        return Identity("unknown", "no matching key id / secret access key pair in the file")
    if pair.key_id.startswith("ASIA"):
        return Identity("unknown", "temporary credentials need their session token")
    return caller_identity(client, pair, hosts)


def _user_name(arn: str) -> str | None:
    # arn:aws:iam::123456789012:user/some/path/name -> name; roles and federated users have none.
    resource = arn.split(":", 5)[-1]
    if not resource.startswith("user/"):
        return None
    return resource.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class AwsRevocation:
    outcome: str
    reason: str
    sent: bool


def retire_access_key(
    client: SafeHttpClient,
    target: Target,
    hosts: Collection[Origin],
    destructive: bool,
    env: Mapping[str, str],
) -> AwsRevocation:
    """Deactivate (or, with `destructive`, delete) the key; never retried once sent."""
    pair = key_pair(target)
    if pair is None:
        return AwsRevocation("failed", "no matching key id / secret access key pair", False)
    if pair.key_id.startswith("ASIA"):
        return AwsRevocation(
            "failed", "temporary (ASIA) credentials cannot be revoked; they expire", False
        )
    identity = caller_identity(client, pair, hosts)
    if identity.status == "dead":
        return AwsRevocation("already_dead", identity.reason, False)
    if identity.status != "live" or not identity.arn:
        return AwsRevocation(
            "unknown", f"could not identify the key's owner: {identity.reason}", False
        )
    user = _user_name(identity.arn)
    if user is None:
        return AwsRevocation(
            "failed", "the key belongs to a role or federated user, not a user", False
        )
    admin_id, admin_secret = env.get(ADMIN_KEY_ID_ENV), env.get(ADMIN_SECRET_ENV)
    signer = KeyPair(admin_id, admin_secret) if admin_id and admin_secret else pair
    form = {
        "Action": "DeleteAccessKey" if destructive else "UpdateAccessKey",
        "AccessKeyId": pair.key_id,
        "UserName": user,
        "Version": "2010-05-08",
    }
    if not destructive:
        form["Status"] = "Inactive"
    try:
        response = client.send(_signed(IAM_URL, form, signer, "iam", True), hosts)
    except NetworkError as exc:
        outcome = "unknown" if exc.sent else "failed"
        return AwsRevocation(outcome, str(exc), exc.sent)
    code = _error_code(response)
    if response.status == 200:
        return AwsRevocation("revoked", "HTTP 200", True)
    if response.status == 403:
        return AwsRevocation("not_authorized", f"HTTP 403 {code}".strip(), True)
    if response.status == 404 or code == "NoSuchEntity":
        return AwsRevocation("not_found", f"HTTP {response.status} {code}".strip(), True)
    if 400 <= response.status < 500:
        return AwsRevocation("failed", f"HTTP {response.status} {code}".strip(), True)
    return AwsRevocation("unknown", f"HTTP {response.status} {code}".strip(), True)
