"""What the fleet's clients send, and a bounded load generator that records what they saw."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
_ids = itertools.count(1)


def meta(**extra: Any) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        **extra,
    }


def headers(key: str, **extra: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        **extra,
    }


@dataclass
class Answer:
    status: int  # 0: no HTTP answer (connection refused, reset, timed out)
    took: float
    started: float
    upstream: str = ""
    body: str = ""
    request_id: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


TASKS: dict[str, Any] = {"extensions": {"io.modelcontextprotocol/tasks": {}}}


def call_tool(
    http: httpx2.Client,
    url: str,
    key: str,
    tool: str,
    arguments: dict[str, Any] | None = None,
    *,
    capabilities: dict[str, Any] | None = None,
) -> Answer:
    """A 2026-07-28 tools/call; a transport failure is an answer with status 0."""
    params = {"name": tool, "arguments": arguments or {}}
    return rpc(http, url, key, "tools/call", params, name=tool, capabilities=capabilities)


def rpc(
    http: httpx2.Client,
    url: str,
    key: str,
    method: str,
    params: dict[str, Any],
    *,
    name: str | None = None,
    capabilities: dict[str, Any] | None = None,
) -> Answer:
    """A 2026-07-28 request; a transport failure is an answer with status 0."""
    caps = {"io.modelcontextprotocol/clientCapabilities": capabilities or {}}
    body = {
        "jsonrpc": "2.0",
        "id": next(_ids),
        "method": method,
        "params": {**params, "_meta": meta(**caps)},
    }
    extra = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if name is not None:
        extra["Mcp-Name"] = name
    started = time.monotonic()
    try:
        got = http.post(url, content=json.dumps(body), headers=headers(key, **extra))
    except httpx2.HTTPError as error:
        return Answer(0, time.monotonic() - started, started, body=repr(error))
    return Answer(
        got.status_code,
        time.monotonic() - started,
        started,
        upstream=got.headers.get("x-upstream", ""),
        body=got.text,
        request_id=got.headers.get("x-request-id", ""),
    )


def tool_result(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, (answer.status, answer.body)
    data = answer.json()
    assert "result" in data, data
    return dict(data["result"])


@dataclass
class Load:
    """``clients`` threads each sending ``request`` until ``stop`` or ``per_client`` requests.

    ``keep_alive=False`` opens a connection per request: across a load balancer's reload, as
    an nginx reload closes the idle client connections its old worker holds, and a request
    written onto one as it closes gets no answer (that failure is nginx's, not the fleet's).
    """

    request: Callable[[httpx2.Client], Answer]
    clients: int = 4
    per_client: int = 10_000
    pause: float = 0.0
    keep_alive: bool = True
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _run(self) -> None:
        limits = httpx2.Limits(max_keepalive_connections=None if self.keep_alive else 0)
        with httpx2.Client(timeout=15, limits=limits) as http:
            for _ in range(self.per_client):
                if self._stop.is_set():
                    return
                self.answers.append(self.request(http))
                if self.pause:
                    time.sleep(self.pause)

    def start(self) -> Load:
        self._threads = [
            threading.Thread(target=self._run, daemon=True) for _ in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def join(self, timeout: float = 120) -> list[Answer]:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "the load did not finish in time"
        return self.answers

    def stop(self) -> list[Answer]:
        self._stop.set()
        return self.join(timeout=60)

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def summary(answers: list[Answer]) -> str:
    statuses: dict[int, int] = {}
    for answer in answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    longest = max((a.took for a in answers), default=0.0)
    counted = dict(sorted(statuses.items()))
    failed = next((a for a in answers if a.status != 200), None)
    first = f", first failure: {failed.body[:200]}" if failed else ""
    return f"{len(answers)} requests, statuses {counted}, longest {longest:.3f} s{first}"
