"""The ports test servers are given: outside what the kernel hands out, free, never twice."""

import socket

from tests import ports


def test_a_drawn_port_is_free_below_the_ephemeral_range_and_never_drawn_again() -> None:
    drawn = [ports.free_port() for _ in range(50)]
    assert len(set(drawn)) == len(drawn)
    assert all(ports.LOWEST <= port < ports._ephemeral_start() for port in drawn)
    with socket.socket() as server:
        server.bind(("127.0.0.1", drawn[0]))  # nothing holds it
