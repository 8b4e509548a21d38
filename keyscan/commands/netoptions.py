"""The command-line options every network command shares (verify, revoke, scan --verify).

Importing this module loads no network code: plain scans stay offline by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from keyscan.remote.session import NetworkOptions

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--ca-bundle",
        type=click.Path(exists=True, dir_okay=False),
        help="Extra CA certificates (PEM) to trust, e.g. a corporate TLS proxy.",
    ),
    click.option(
        "--allow-internal-hosts",
        is_flag=True,
        help="Allow loopback/private addresses, for hosts a trusted rule declares.",
    ),
    click.option(
        "--allow-private-hosts",
        multiple=True,
        metavar="CIDR",
        help="Allow just this private network (repeatable), e.g. a self-hosted GitLab.",
    ),
    click.option(
        "--insecure-loopback-http",
        is_flag=True,
        hidden=True,
        help="Test only: allow http:// when the address is loopback.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0.1, max=60),
        default=10.0,
        show_default=True,
        help="Seconds to wait for an answer.",
    ),
    click.option(
        "--rate",
        type=click.FloatRange(min=0),
        default=2.0,
        show_default=True,
        help="Requests per second per host (0 = no limit).",
    ),
    click.option(
        "--trust-rules",
        multiple=True,
        type=click.Path(path_type=Path, exists=True),
        help="Rule file or directory whose verify/revoke sections may be used (repeatable).",
    ),
)


_TARGET_OPTIONS = (
    click.argument("report", required=False, type=click.Path(path_type=Path, dir_okay=False)),
    click.option("--rule", "rule_id", metavar="ID", help="One secret for this exact rule id."),
    click.option(
        "--secret-file",
        metavar="FILE|-",
        help="With --rule: read the secret from FILE or stdin (never from the command line).",
    ),
    click.option(
        "--root",
        type=click.Path(path_type=Path, file_okay=False),
        default=".",
        help="Where the report's paths (and git commits) are (default: current directory).",
    ),
)


def target_options(function: F) -> F:
    """REPORT, or --rule with --secret-file: what verify and revoke act on."""
    for option in reversed(_TARGET_OPTIONS):
        function = option(function)
    return function


def network_options(function: F) -> F:
    for option in reversed(_OPTIONS):
        function = option(function)
    return function


def network_options_from(values: dict[str, Any]) -> NetworkOptions:
    """Pops the shared options out of `values`; the network code loads only now."""
    from keyscan.remote.session import NetworkOptions

    return NetworkOptions(
        ca_bundle=values.pop("ca_bundle"),
        allow_internal_hosts=values.pop("allow_internal_hosts"),
        allow_private_hosts=tuple(values.pop("allow_private_hosts")),
        insecure_loopback_http=values.pop("insecure_loopback_http"),
        timeout=values.pop("timeout"),
        rate=values.pop("rate"),
        trusted_rules=tuple(values.pop("trust_rules")),
    )
