"""A 2025-11-25 session lives in the shared store, not in the instance that created it: it
continues on the others; a stream broken by SIGKILL resumes on another instance from its
Last-Event-ID with no event lost or repeated, and one its client closed goes on and resumes the
same way; an elicitation sent on one instance's stream is answered by a POST that nginx hands
to another."""

from __future__ import annotations

import time
from typing import Any

import httpx2

from tests.fleet.harness import SIZE, Fleet
from tests.fleet.sse import Event, open_session, sse_events


def test_a_session_started_on_one_instance_continues_on_every_other(fleet: Fleet) -> None:
    key = fleet.credentials["pair"].raw
    with httpx2.Client(timeout=10) as http:
        session = open_session(http, fleet.url, key)
        served = set()
        for number in range(2 * SIZE):
            ping = {"jsonrpc": "2.0", "id": number, "method": "ping"}
            answer = http.post(fleet.url, json=ping, headers=session)
            assert answer.status_code == 200 and answer.json() == {
                "jsonrpc": "2.0", "id": number, "result": {}
            }  # fmt: skip
            served.add(answer.headers["x-upstream"])
    assert len(served) == SIZE


def _progress(event: Event) -> int:
    assert event.data["method"] == "notifications/progress", event.data
    return int(event.data["params"]["progress"])


def _count_slowly(ident: int, *, steps: int, token: str) -> dict[str, Any]:
    """A ``tools/call`` of the fleet's slow counter: one progress event every 0.1 s."""
    return {
        "jsonrpc": "2.0",
        "id": ident,
        "method": "tools/call",
        "params": {
            "name": "count_slowly",
            "arguments": {"steps": steps, "interval": 0.1},
            "_meta": {"progressToken": token},
        },
    }


def test_a_stream_cut_by_sigkill_resumes_on_another_instance(healthy: Fleet) -> None:
    fleet, key = healthy, healthy.credentials["pair"].raw
    call = _count_slowly(7, steps=30, token="count")
    with httpx2.Client(timeout=httpx2.Timeout(10, read=2)) as http:
        session = open_session(http, fleet.url, key)
        with http.stream("POST", fleet.url, json=call, headers=session) as stream:
            assert stream.status_code == 200
            upstream = stream.headers["x-upstream"]
            # next(), not a loop left with break: closing the iterator would close the stream
            # (a client leaving, the next test), not the instance dying under it.
            events = sse_events(stream.iter_lines())
            seen = [next(events) for _ in range(3)]
            # The tool goes on for a while: events the client never reads pile up in
            # buffers, then the instance dies and they are gone with the connection.
            time.sleep(0.4)
            fleet.cluster.kill(fleet.port_index(upstream))
        assert [_progress(e) for e in seen] == [1, 2, 3]

        resumed: list[Event] = []
        get = {**session, "Last-Event-ID": seen[-1].id, "Accept": "text/event-stream"}
        with http.stream("GET", fleet.url, headers=get) as replay:
            assert replay.status_code == 200
            assert replay.headers["x-upstream"] != upstream
            try:
                for event in sse_events(replay.iter_lines()):
                    resumed.append(event)
            except httpx2.ReadTimeout:
                pass  # the stream stays open for new events: two quiet seconds end the read
    steps = [_progress(e) for e in resumed]
    print(f"\nread before the kill: 1-3; replayed on another instance: {steps}")
    # Every event stored before the kill, from the one after the last read, each once.
    assert steps and steps == list(range(4, 4 + len(steps))), steps
    assert len(steps) >= 3  # the 0.4 s the client did not read
    assert not {e.id for e in resumed} & {e.id for e in seen}


def test_a_client_closing_its_stream_leaves_the_call_running_and_resumable(
    healthy: Fleet,
) -> None:
    """2025-11-25: a disconnection is not a cancellation. The client closes its socket after
    three events (nginx closes the instance's); the tool counts on, and GET with the last
    event id, on whichever instance nginx picks, gets every later event and the answer."""
    fleet, key = healthy, healthy.credentials["pair"].raw
    call = _count_slowly(8, steps=10, token="left")
    with httpx2.Client(timeout=httpx2.Timeout(10, read=2)) as http:
        session = open_session(http, fleet.url, key)
        with http.stream("POST", fleet.url, json=call, headers=session) as stream:
            assert stream.status_code == 200
            events = sse_events(stream.iter_lines())
            seen = [next(events) for _ in range(3)]
        # Closed: the connection is gone. The tool needs about 0.7 s more.
        time.sleep(1.5)
        resumed: list[Event] = []
        get = {**session, "Last-Event-ID": seen[-1].id, "Accept": "text/event-stream"}
        with http.stream("GET", fleet.url, headers=get) as replay:
            assert replay.status_code == 200
            try:
                for event in sse_events(replay.iter_lines()):
                    resumed.append(event)
                    if event.data.get("id") == 8:
                        break
            except httpx2.ReadTimeout:
                pass
    assert [_progress(e) for e in seen] == [1, 2, 3]
    assert resumed, "nothing after the last event read: the call ended with its client"
    answer = resumed[-1].data
    assert answer.get("id") == 8, resumed
    assert answer["result"]["structuredContent"] == {"steps": 10}
    assert [_progress(e) for e in resumed[:-1]] == list(range(4, 11))


def _elicit(fleet: Fleet, http: httpx2.Client, session: dict[str, str]) -> tuple[Any, str, str]:
    url = fleet.url
    call = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": "test_elicitation", "arguments": {"message": "Your name?"}},
    }
    with http.stream("POST", url, json=call, headers=session) as stream:
        asking = stream.headers["x-upstream"]
        events = sse_events(stream.iter_lines())
        asked = next(events).data
        assert asked["method"] == "elicitation/create", asked
        answer = {
            "jsonrpc": "2.0",
            "id": asked["id"],
            "result": {"action": "accept", "content": {"response": "Ada"}},
        }
        # Round robin sends the next request elsewhere unless other traffic came between:
        # the answer goes to an instance that is certainly not the asking one.
        other = (fleet.port_index(asking) + 1) % SIZE
        posted = http.post(fleet.instance_url(other), json=answer, headers=session)
        assert posted.status_code == 202, posted.text
        return next(events).data, asking, f"127.0.0.1:{fleet.cluster.ports[other]}"


def test_an_elicitation_is_answered_through_another_instance(fleet: Fleet) -> None:
    key = fleet.credentials["pair"].raw
    with httpx2.Client(timeout=10) as http:
        session = open_session(http, fleet.url, key, elicitation={})
        final, asking, answering = _elicit(fleet, http, session)
    assert asking != answering
    assert final["id"] == 9
    assert final["result"]["content"][0]["text"] == (
        'User response: action=accept, content={"response": "Ada"}'
    )
