"""What a verify or revoke run needs before its first request: client, trusted specs, targets."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keyscan import __version__
from keyscan.blobscan import BlobScanner
from keyscan.config import discover_config
from keyscan.errors import KeyscanError
from keyscan.fingerprint import fingerprint
from keyscan.net.address import AddressPolicy
from keyscan.net.client import ClientSettings, SafeHttpClient, connect_map_from_env
from keyscan.options import ScanOptions
from keyscan.remote.catalog import network_specs
from keyscan.remote.spec import NetworkSpec
from keyscan.remote.targets import PARTNERS, ReportedFinding, Target, TargetReader
from keyscan.rules.load import load_rules
from keyscan.rules.ruleset import Ruleset
from keyscan.workers import build_engine

NetworkAddress = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class NetworkOptions:
    """The user's network choices; every default is the safe one."""

    ca_bundle: str | None = None
    allow_internal_hosts: bool = False
    allow_private_hosts: tuple[str, ...] = ()
    insecure_loopback_http: bool = False
    timeout: float = 10.0
    rate: float = 2.0
    concurrency: int = 4
    trusted_rules: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def make_client(options: NetworkOptions) -> SafeHttpClient:
    networks: list[NetworkAddress] = []
    for cidr in options.allow_private_hosts:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            raise KeyscanError(f"--allow-private-hosts: {cidr!r} is not a CIDR network") from None
    policy = AddressPolicy(
        allow_internal=options.allow_internal_hosts,
        allowed_networks=tuple(networks),
        allow_insecure_loopback_http=options.insecure_loopback_http,
    )
    try:
        connect_map = connect_map_from_env(options.env)
    except ValueError as exc:
        raise KeyscanError(f"KEYSCAN_TEST_CONNECT_MAP: {exc}") from None
    settings = ClientSettings(
        policy=policy,
        ca_bundle=options.ca_bundle,
        read_timeout=options.timeout,
        total_timeout=options.timeout + 5.0,
        requests_per_second_per_host=options.rate,
        user_agent=f"keyscan/{__version__}",
        connect_map=connect_map,
    )
    return SafeHttpClient(settings)


def trusted_specs(options: NetworkOptions, cache_dir: Path | None) -> dict[str, NetworkSpec]:
    return network_specs(options.trusted_rules, cache_dir, options.insecure_loopback_http)


def target_reader(root: Path, cache_dir: Path | None) -> TargetReader:
    """A scanner configured like a scan of `root`, used to read secrets back from their files."""
    config = discover_config(None, root)
    rules = load_rules(config.rule_paths, cache_dir=cache_dir)
    ruleset = Ruleset(rules)
    engine = build_engine(ruleset, "auto", cache_dir)
    scanner = BlobScanner(ruleset, engine, ScanOptions(inline_ignores=False))
    return TargetReader(root, scanner, {rule.id: rule.pattern for rule in rules})


def direct_target(rule_id: str, secret_file: str, specs: Mapping[str, NetworkSpec]) -> Target:
    """The incident-response path: one secret from a file or stdin, never from the command line."""
    if rule_id not in specs:
        raise KeyscanError(
            f"--rule {rule_id}: no trusted rule with that exact id has network calls"
        )
    try:
        if secret_file == "-":
            text = sys.stdin.read()
        else:
            text = Path(secret_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyscanError(f"{secret_file}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise KeyscanError(f"{secret_file}: is not UTF-8 text") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise KeyscanError(f"{secret_file}: holds no secret")
    partners: dict[str, str] = {}
    if rule_id in PARTNERS:
        if len(lines) < 2:
            raise KeyscanError(
                f"{secret_file}: {rule_id} needs two lines: the access key id and the secret key"
            )
        key_id, secret_key = lines[0], lines[1]
        if rule_id == "aws.access-key-id":
            secret, partners["aws_secret_access_key"] = key_id, secret_key
        else:
            secret, partners["aws_access_key_id"] = secret_key, key_id
    elif len(lines) != 1:
        raise KeyscanError(f"{secret_file}: must hold exactly one secret")
    else:
        secret = lines[0]
    location = "<stdin>" if secret_file == "-" else secret_file
    return Target(rule_id, secret, fingerprint(rule_id, secret), location, 0, partners=partners)


def recover_targets(
    reported: Sequence[ReportedFinding], root: Path, cache_dir: Path | None
) -> tuple[list[Target], list[tuple[ReportedFinding, str]]]:
    recovery = target_reader(root, cache_dir).recover(reported)
    return recovery.targets, recovery.missing
