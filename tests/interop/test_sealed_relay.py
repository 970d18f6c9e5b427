"""What the Channels layer carries between instances is sealed: Redis never sees it in clear.

An elicitation answer posted to instance B travels through Redis to instance A, where the
tool waits. Everything Redis is told meanwhile (MONITOR) is recorded: the relay happened, the
tool got the answer, and the answer's content is nowhere in what Redis saw.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from tests.interop.streams import events, legacy_session

# Servers on a database of their own: the result does not depend on the suite's database,
# so the PostgreSQL pass skips them (make test runs them once).
pytestmark = pytest.mark.own_database


SECRET = "Ada-7c41e9-elicited"


def test_a_relayed_elicitation_answer_crosses_redis_sealed(
    launch_instances: Any, redis_url: str, tmp_path: Path
) -> None:
    pair = launch_instances(server="uvicorn")
    (a, b), key = pair.urls, pair.key
    cli = shutil.which("redis-cli")
    assert cli, "redis-cli is not on PATH"
    seen = tmp_path / "monitor.log"

    async def main() -> dict[str, Any]:
        async with httpx2.AsyncClient(timeout=60) as http:
            session = await legacy_session(http, a, key, {"elicitation": {}})
            call = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "test_elicitation", "arguments": {"message": "Name?"}},
            }
            async with http.stream("POST", a, json=call, headers=session) as stream:
                lines = stream.aiter_lines()
                with anyio.fail_after(60):
                    asked = (await events(lines, 1))[0]
                answer = {
                    "jsonrpc": "2.0",
                    "id": asked["id"],
                    "result": {"action": "accept", "content": {"response": SECRET}},
                }
                assert (await http.post(b, json=answer, headers=session)).status_code == 202
                with anyio.fail_after(60):
                    return (await events(lines, 1))[0]

    with seen.open("wb") as out:
        monitor = subprocess.Popen(
            [cli, "-s", redis_url.removeprefix("unix://"), "monitor"], stdout=out
        )
        try:
            deadline = time.monotonic() + 30
            while b"OK" not in seen.read_bytes():
                assert time.monotonic() < deadline, "MONITOR did not start"
                time.sleep(0.05)
            final = anyio.run(main)
        finally:
            monitor.terminate()
            monitor.wait(timeout=10)
    assert SECRET in final["result"]["content"][0]["text"]
    recorded = seen.read_bytes()
    assert b'"zadd" "asgispecific.' in recorded.lower()  # the answer did cross Redis
    assert SECRET.encode() not in recorded
    assert b"mcp.answer" not in recorded
