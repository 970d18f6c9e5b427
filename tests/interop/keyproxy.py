"""A loopback proxy that adds a tenant's API key to every request and changes nothing else
(and ``AlternatingProxy``: no key, requests taken by several instances in turn).

Clients that cannot send a bearer credential (the conformance suite, the Inspector CLI in
some modes) reach the real authentication path through it; ``Host`` and ``Origin`` pass
untouched, so the server's host and origin guard still sees what the client sent. Each client
connection carries one request (``Connection: close`` is set upstream) and bytes are then
relayed both ways as they come, so SSE streams flow unbuffered.

    python -m tests.interop.keyproxy --upstream 127.0.0.1:8000 --key-file KEYFILE [--port N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re

_HOP_HEADERS = re.compile(rb"^(authorization|connection|keep-alive):.*$", re.I | re.M)
_CONNECTION_HEADERS = re.compile(rb"^(connection|keep-alive):.*$", re.I | re.M)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def rewrite_head(head: bytes, key: str | None) -> bytes:
    """One request's head for the upstream: ``Connection: close``, and the key as its bearer
    credential (None: the client's own ``Authorization`` passes untouched)."""
    hop = _HOP_HEADERS if key is not None else _CONNECTION_HEADERS
    lines = [line for line in head.split(b"\r\n") if line and not hop.match(line)]
    if key is not None:
        lines.append(b"Authorization: Bearer " + key.encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


class KeyProxy:
    def __init__(self, upstream_host: str, upstream_port: int, key: str | None) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.key = key

    def next_upstream(self) -> tuple[str, int]:
        return self.upstream

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.next_upstream())
        up_writer.write(rewrite_head(head[:-4], self.key))
        await up_writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def serve(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self.handle, host, port)


class AlternatingProxy(KeyProxy):
    """Each request to the next of several upstreams in turn, credentials untouched: a load
    balancer at its least helpful, so every step of a flow may land on another instance."""

    def __init__(self, upstreams: list[tuple[str, int]]) -> None:
        super().__init__(*upstreams[0], key=None)
        self.upstreams = upstreams
        self.turn = 0
        self.served: list[int] = []  # the upstream index of each request, in order

    def next_upstream(self) -> tuple[str, int]:
        index = self.turn % len(self.upstreams)
        self.turn += 1
        self.served.append(index)
        return self.upstreams[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    with open(args.key_file) as handle:
        key = handle.read().strip()

    async def run() -> None:
        server = await KeyProxy(host, int(port), key).serve(args.host, args.port)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":
    main()
