"""Which IP addresses keyscan may connect to: public ones, unless the user opens more.

`ipaddress.is_global` alone is not enough: it calls NAT64 `64:ff9b::a9fe:a9fe` (the cloud
metadata address in disguise), 6to4 `2002:a9fe:a9fe::1`, `::127.0.0.1` and multicast global.
Every IPv6 form that embeds an IPv4 address is unwrapped and the IPv4 address checked too.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_DENIED = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        "100::/64",
        "2001:db8::/32",
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class BlockedAddress(Exception):
    """The host resolved to an address keyscan must not contact."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in network for network in _NAT64) or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None and not is_public_address(inner):
            return False
    if any(ip in network for network in _DENIED if network.version == ip.version):
        return False
    flags = (
        ip.is_private,
        ip.is_loopback,
        ip.is_link_local,
        ip.is_multicast,
        ip.is_reserved,
        ip.is_unspecified,
    )
    return not any(flags)


@dataclass(frozen=True)
class AddressPolicy:
    """What the user allowed beyond public addresses; the defaults allow nothing more."""

    allow_internal: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    allow_insecure_loopback_http: bool = False

    def check(self, host: str, ip: IPAddress) -> None:
        if is_public_address(ip) or self.allow_internal:
            return
        if self.allow_insecure_loopback_http and ip.is_loopback:
            return
        if any(ip.version == net.version and ip in net for net in self.allowed_networks):
            return
        raise BlockedAddress(
            f"{host} resolves to a non-public address ({ip}); refused "
            "(--allow-private-hosts CIDR or --allow-internal-hosts to permit it)"
        )
