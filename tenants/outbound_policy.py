"""Where the outbound client may connect: the address checks of ``tenants.outbound``.

A host name is resolved once and every address it resolves to is judged (``refusal``); the
caller connects to the checked address. ``OutboundRefused`` and ``OutboundError`` carry
messages that are safe to log (``safe_url``).
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mcpserver.conf import mcp_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # Linux connects 0.x.y.z to this host
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundError(Exception):
    """The request failed (network, status, size); the message is safe to log."""


class OutboundRefused(OutboundError):
    """The destination is not one this policy may reach; the message is safe to log, and
    ``reason`` (the message without the URL) safe to show whoever asked for the request."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    timeout: float = 5.0
    max_bytes: int = 1024 * 1024
    max_redirects: int = 0


def safe_url(url: str) -> str:
    """``url`` without user info and query: what a log line may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _kind(address: IPAddress) -> str:
    """'public', 'private' (allowed with the private network) or 'forbidden'."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return _kind(inner)
        if address.is_site_local:  # deprecated fec0::/10, still routed inside some networks
            return "private"
    elif address in _THIS_NETWORK:
        return "forbidden"
    if address.is_multicast or address.is_unspecified or address.is_link_local:
        return "forbidden"
    if address.is_reserved:
        return "forbidden"
    if address.is_loopback or address.is_private or not address.is_global:
        return "private"
    return "public"


def _operator_networks() -> tuple[IPNetwork, ...]:
    return tuple(
        ipaddress.ip_network(n, strict=False) for n in mcp_settings.OUTBOUND_ALLOWED_NETWORKS
    )


def refusal(address: IPAddress, *, scheme: str, policy: OutboundPolicy) -> str | None:
    """Why ``policy`` may not connect to ``address`` with ``scheme``, or None if it may."""
    kind = _kind(address)
    listed = any(address in net for net in (*policy.allowed_networks, *_operator_networks()))
    if kind == "public":
        return "plain http to a public address" if scheme != "https" else None
    if listed or (kind == "private" and policy.allow_private):
        return None
    if kind == "private":
        return f"{address} is a private address and this destination may not use one"
    return f"{address} is a link-local, multicast, unspecified or reserved address"


def _target(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise OutboundRefused(
            f"refusing {safe_url(url)}: only http and https URLs", reason="not an http(s) URL"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise OutboundRefused(f"refusing {safe_url(url)}: bad port", reason="bad port") from exc
    return parts.scheme, parts.hostname, port


def _check_all(url: str, scheme: str, addresses: list[str], policy: OutboundPolicy) -> IPAddress:
    if not addresses:
        raise OutboundError(f"{safe_url(url)}: the host name did not resolve")
    checked = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    # Every answer is judged, not only the first: a name that mixes a public and a private
    # address is refused, whichever one a later connection would have used.
    for address in checked:
        reason = refusal(address, scheme=scheme, policy=policy)
        if reason is not None:
            raise OutboundRefused(f"refusing {safe_url(url)}: {reason}", reason=reason)
    return checked[0]


def _addresses(infos: list[Any]) -> list[str]:
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _resolve(url: str, policy: OutboundPolicy) -> IPAddress:
    scheme, host, port = _target(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundError(f"{safe_url(url)}: the host name did not resolve") from exc
    return _check_all(url, scheme, _addresses(infos), policy)


async def _aresolve(url: str, policy: OutboundPolicy) -> IPAddress:
    scheme, host, port = _target(url)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundError(f"{safe_url(url)}: the host name did not resolve") from exc
    return _check_all(url, scheme, _addresses(infos), policy)
