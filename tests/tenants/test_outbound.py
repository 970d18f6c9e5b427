"""The outbound client against real listeners on loopback: what it refuses, it never connects to."""

import ipaddress
import socket
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync

from tenants import outbound
from tenants.outbound import OutboundError, OutboundPolicy, OutboundRefused
from tests.tenants.auth.idp import LoopbackIdP

PRIVATE = OutboundPolicy(allow_private=True, timeout=5.0)


@pytest.fixture
def listener() -> Iterator[LoopbackIdP]:
    server = LoopbackIdP(keys=[]).start()
    yield server
    server.stop()


@pytest.fixture
def second_loopback() -> Iterator[LoopbackIdP]:
    """A listener on 127.0.0.2: another loopback address a policy can allow on its own."""
    server = LoopbackIdP(keys=[], host="127.0.0.2").start()
    yield server
    server.stop()


def port_of(server: LoopbackIdP) -> int:
    assert server.server is not None
    return int(server.server.server_address[1])


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.9.9.9", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1",
        "169.254.169.254", "fe80::1", "fc00::1", "224.0.0.1", "ff02::1", "0.0.0.0",  # noqa: S104
        "0.1.2.3",
        "::", "240.0.0.1", "255.255.255.255", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
        "64:ff9b::7f00:1", "2002:7f00:1::1", "192.0.2.1", "2001:db8::1", "fec0::1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused_by_default(address):
    ip = ipaddress.ip_address(address)
    assert outbound.refusal(ip, scheme="https", policy=OutboundPolicy()) is not None


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "224.0.0.1", "0.0.0.0", "::ffff:0.0.0.1"],  # noqa: S104
)
def test_the_private_network_allowance_never_opens_metadata_multicast_or_unspecified(address):
    ip = ipaddress.ip_address(address)
    assert outbound.refusal(ip, scheme="https", policy=PRIVATE) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_need_https(address):
    ip = ipaddress.ip_address(address)
    assert outbound.refusal(ip, scheme="https", policy=OutboundPolicy()) is None
    assert outbound.refusal(ip, scheme="http", policy=PRIVATE) == "plain http to a public address"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1"])
def test_loopback_in_any_spelling_is_refused_before_connecting(listener, host):
    url = f"http://{host}:{port_of(listener)}/jwks?secret=s3cr3t"
    with pytest.raises(OutboundRefused) as refused:
        outbound.request("GET", url, policy=OutboundPolicy())
    assert listener.total_hits == 0
    assert "s3cr3t" not in str(refused.value)  # messages are logged: no query string


def test_allowed_host_name_connects_to_the_checked_address_and_keeps_its_name(listener):
    url = f"http://localhost:{port_of(listener)}/jwks"
    response = outbound.request("GET", url, policy=PRIVATE)
    assert response.status == 200
    assert listener.host_headers == [f"localhost:{port_of(listener)}"]


def test_a_redirect_to_a_refused_address_is_not_followed(listener, second_loopback):
    # 127.0.0.2 is allowed (an operator's network, say); 127.0.0.1 is not.
    policy = OutboundPolicy(
        allowed_networks=(ipaddress.ip_network("127.0.0.2/32"),), max_redirects=3
    )
    second_loopback.redirect_to = f"http://127.0.0.1:{port_of(listener)}/jwks"
    with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1"):
        outbound.request("GET", f"{second_loopback.issuer}/redirect", policy=policy)
    assert second_loopback.hits["/redirect"] == 1
    assert listener.total_hits == 0
    # Each hop is checked on its own: a redirect within the allowed network is followed.
    second_loopback.redirect_to = f"{second_loopback.issuer}/jwks"
    response = outbound.request("GET", f"{second_loopback.issuer}/redirect", policy=policy)
    assert response.status == 200
    assert second_loopback.jwks_hits == 1


def test_redirects_are_not_followed_unless_the_policy_says_so(listener, second_loopback):
    second_loopback.redirect_to = f"{second_loopback.issuer}/jwks"
    with pytest.raises(OutboundError, match="redirects are not followed"):
        outbound.request("GET", f"{second_loopback.issuer}/redirect", policy=PRIVATE)
    assert second_loopback.jwks_hits == 0


def test_a_body_over_the_cap_is_refused(listener):
    policy = OutboundPolicy(allow_private=True, max_bytes=8)
    with pytest.raises(OutboundError, match="more than 8 bytes"):
        outbound.get_json(f"{listener.issuer}/jwks", policy=policy)


def test_a_silent_server_times_out():
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(OutboundError, match="Timeout"):
            outbound.request("GET", url, policy=OutboundPolicy(allow_private=True, timeout=0.5))


def test_an_environment_proxy_is_not_used(listener, second_loopback, monkeypatch):
    # A proxy would connect wherever it likes, out of the check's sight.
    monkeypatch.setenv("HTTP_PROXY", second_loopback.issuer)
    monkeypatch.setenv("http_proxy", second_loopback.issuer)
    assert outbound.request("GET", f"{listener.issuer}/jwks", policy=PRIVATE).status == 200
    assert second_loopback.total_hits == 0


def test_async_requests_are_checked_the_same_way(listener):
    url = f"http://localhost:{port_of(listener)}/jwks"
    with pytest.raises(OutboundRefused):
        async_to_sync(outbound.arequest)("GET", url, policy=OutboundPolicy())
    assert listener.total_hits == 0
    assert async_to_sync(outbound.arequest)("GET", url, policy=PRIVATE).status == 200
