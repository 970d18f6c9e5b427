"""Ports for the servers the tests start, taken from below the kernel's ephemeral range, and a
thread to serve a standard-library server in.

A port found by binding port 0 and closing the socket is free only for that moment: until
the server started for it binds it, the kernel may hand the same number to any socket that
binds port 0 or connects out (another test's stub server, a client's source port, in this
stream or the other one). The server then fails to bind, or the test talks to a stranger: a
run once got a 501 from a Python ``http.server`` on the port of a daphne it had just started.
The kernel never hands out a port below its ephemeral range by itself, so a port drawn from
there, and found bindable, stays free for the server meant to have it.
"""

from __future__ import annotations

import random
import socket
import socketserver
import threading
from pathlib import Path

LOWEST = 20_000
_drawn: set[int] = set()
_lock = threading.Lock()


def _ephemeral_start() -> int:
    try:
        low = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]
    except (OSError, IndexError):
        return 32_768  # Linux's default
    return int(low)


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` nothing holds now and the kernel will not give to anyone else;
    never the same one twice in one process."""
    end = max(_ephemeral_start(), LOWEST + 1_000)
    with _lock:
        for _ in range(1_000):
            port = random.randrange(LOWEST, end)
            if port in _drawn:
                continue
            with socket.socket() as probe:
                try:
                    probe.bind((host, port))
                except OSError:
                    continue
            _drawn.add(port)
            return port
    raise RuntimeError(f"no free port between {LOWEST} and {end}")


def serve_in_thread(server: socketserver.BaseServer) -> threading.Thread:
    """``serve_forever`` in a daemon thread, looking for ``shutdown()`` every 50 ms: at its
    default half second, every test that stopped a stub waited up to that long for it."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return thread
