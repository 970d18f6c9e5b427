"""One shared test class, run against the Redis backend and the database backend."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from sessions_store import codec, metrics
from sessions_store.backends.base import entry_name, log_name
from sessions_store.crypto import KeyRing, get_keyring
from sessions_store.store import Store, get_store
from tests.sessions_store.conftest import KEY_A, KEY_B, wait_for

PRINCIPAL = {
    "tenant_id": 7,
    "subject": "user-1",
    "email": "a@example.com",
    "scopes": ["tools:read", "tools:call"],
    "auth_method": "jwt",
}


def _with_keys(keys: list[str]) -> Any:
    from django.conf import settings

    return override_settings(MCP_SERVER={**settings.MCP_SERVER, "ENCRYPTION_KEYS": keys})


class StoreContract:
    """Every shared tier must pass these; subclasses provide the ``store`` fixture."""

    def test_bytes_round_trip_in_both_tiers(self, store: Store) -> None:
        store.set("k1", b"\x00binary\xff", ttl=60)
        hits = metrics.get("store.hit.process")
        assert store.get("k1") == b"\x00binary\xff"
        assert metrics.get("store.hit.process") == hits + 1
        store.cache.clear()
        shared = metrics.get("store.hit.shared")
        assert store.get("k1") == b"\x00binary\xff"
        assert metrics.get("store.hit.shared") == shared + 1

    def test_json_round_trip_and_missing_key(self, store: Store) -> None:
        store.set_json("auth:7:abc", PRINCIPAL, ttl=60, groups=["tenant:7"])
        assert store.get_json("auth:7:abc") == PRINCIPAL
        store.cache.clear()
        assert store.get_json("auth:7:abc") == PRINCIPAL
        assert store.get("nothing-here") is None
        assert store.get_json("nothing-here") is None

    def test_shared_tier_holds_only_envelopes(self, store: Store) -> None:
        store.set("k-secret", b"the-plaintext-token-value", ttl=60)
        found = store.backend.read(entry_name("k-secret"))
        assert found is not None
        assert b"the-plaintext-token-value" not in found[0]
        assert b"k-secret" not in found[0]

    def test_entries_expire_in_both_tiers(self, store: Store) -> None:
        store.set("short", b"v", ttl=0.3)
        assert store.get("short") == b"v"  # now in the process tier too
        wait_for(lambda: store.get("short") is None, timeout=3)
        store.cache.clear()
        assert store.get("short") is None

    def test_delete(self, store: Store) -> None:
        store.set("k", b"v", ttl=60)
        store.delete("k")
        assert store.get("k") is None
        store.delete("never-set")  # no error

    def test_delete_group_removes_every_member_from_both_tiers(self, store: Store) -> None:
        store.set_json("a", 1, ttl=60, groups=["tenant:1"])
        store.set_json("b", 2, ttl=60, groups=["tenant:1", "principal:x"])
        store.set_json("c", 3, ttl=60, groups=["tenant:2"])
        assert [store.get_json(k) for k in "abc"] == [1, 2, 3]
        assert store.delete_group("tenant:1") == 2
        assert [store.get_json(k) for k in "abc"] == [None, None, 3]
        assert store.delete_group("tenant:1") == 0
        assert store.delete_group("principal:x") == 0

    def test_tampered_truncated_and_swapped_blobs_are_refused_and_logged(
        self, store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        store.set("victim", b"victim-data", ttl=60)
        store.set("other", b"other-data", ttl=60)
        victim = store.backend.read(entry_name("victim"))
        assert victim is not None
        envelope = victim[0]
        tampered = envelope[:-1] + bytes([envelope[-1] ^ 1])
        cases = {
            "bad_tag": tampered,
            "truncated": envelope[:20],
        }
        caplog.set_level(logging.WARNING, logger="sessions_store.security")
        for reason, blob in cases.items():
            before = metrics.get(f"crypto.refused.{reason}")
            store.backend.write(entry_name("other"), blob, ttl=60, groups=[])
            store.cache.clear()
            assert store.get("other") is None
            assert metrics.get(f"crypto.refused.{reason}") == before + 1
        # The victim's blob copied under another key does not open there.
        store.backend.write(entry_name("other"), envelope, ttl=60, groups=[])
        store.cache.clear()
        assert store.get("other") is None
        assert store.get("victim") == b"victim-data"
        messages = [r.getMessage() for r in caplog.records if r.name == "sessions_store.security"]
        assert len(messages) == 3
        assert all("refused" in message for message in messages)
        assert not any(b"victim" in m.encode() or "data" in m for m in messages)

    def test_unknown_key_id_is_refused(self, store: Store) -> None:
        foreign = KeyRing(keys=[bytes.fromhex("cc" * 32)]).seal(b"x", aad=entry_name("k"))
        store.backend.write(entry_name("k"), foreign, ttl=60, groups=[])
        before = metrics.get("crypto.refused.unknown_key")
        assert store.get("k") is None
        assert metrics.get("crypto.refused.unknown_key") == before + 1

    def test_a_copy_kept_past_its_sealed_expiry_is_refused(self, store: Store) -> None:
        name = entry_name("k")
        stale = get_keyring().seal(codec.encode(b"v", not_after=int(time.time()) - 5), aad=name)
        store.backend.write(name, stale, ttl=60, groups=[])  # the shared tier's TTL says live
        before = metrics.get("crypto.refused.expired")
        assert store.get("k") is None
        assert metrics.get("crypto.refused.expired") == before + 1

    def test_event_log(self, store: Store) -> None:
        ids = [store.log_append("session-1", f"event {i}".encode(), ttl=60) for i in range(3)]
        store.log_append("session-2", b"elsewhere", ttl=60)
        events = store.log_read("session-1")
        assert [data for _, data in events] == [b"event 0", b"event 1", b"event 2"]
        assert [event_id for event_id, _ in events] == ids
        assert store.log_read("session-1", after=ids[0]) == events[1:]
        assert store.log_read("session-1", after=ids[-1]) == []
        assert store.log_read("no-such-stream") == []

    def test_an_append_keeps_the_whole_log_alive(self, store: Store) -> None:
        store.log_append("growing", b"first", ttl=0.3)
        store.log_append("growing", b"second", ttl=60)
        time.sleep(0.5)
        assert [data for _, data in store.log_read("growing")] == [b"first", b"second"]

    def test_event_log_expires(self, store: Store) -> None:
        store.log_append("short-log", b"x", ttl=0.3)
        wait_for(lambda: store.log_read("short-log") == [], timeout=3)

    def test_async_variants(self, store: Store) -> None:
        async def scenario() -> list[Any]:
            await store.aset_json("ak", {"x": 1}, ttl=60, groups=["g"])
            first = await store.aget_json("ak")
            raw = await store.aget("ak")
            event_id = await store.alog_append("as", b"e", ttl=60)
            events = await store.alog_read("as")
            deleted = await store.adelete_group("g")
            gone = await store.aget("ak")
            await store.aset("ak2", b"v", ttl=60)
            await store.adelete("ak2")
            gone2 = await store.aget("ak2")
            await store.aclose()
            return [
                first,
                raw,
                events == [(event_id, b"e")],
                deleted,
                gone,
                gone2,
            ]

        assert asyncio.run(scenario()) == [{"x": 1}, b'{"x":1}', True, 1, None, None]

    def test_views_are_built_once_per_value_and_die_with_it(self, store: Store) -> None:
        built: list[Any] = []

        def build(value: Any) -> tuple[int, ...]:
            built.append(value)
            return tuple(value["n"])

        async def scenario() -> list[Any]:
            await store.aset_json("view", {"n": [1, 2]}, ttl=60, groups=["views"])
            first = await store.aget_view("view", build)
            again = await store.aget_view("view", build)
            await store.aset_json("view", {"n": [3]}, ttl=60, groups=["views"])
            changed = await store.aget_view("view", build)
            await store.adelete_group("views")
            revoked = await store.aget_view("view", build)
            await store.aclose()
            return [first, again is first, changed, revoked]

        assert asyncio.run(scenario()) == [(1, 2), True, (3,), None]
        # Built once per stored value when the process tier can hold it, never for a miss.
        assert built[0] == {"n": [1, 2]} and built[-1] == {"n": [3]}
        assert len(built) == (2 if store.backend.process_cache_allowed() else 3)

    @pytest.mark.django_db  # the command reads the running instances' key ring reports
    def test_rotation_keeps_live_entries_readable_then_re_encrypts_them(self, store: Store) -> None:
        with _with_keys([KEY_A]):
            active = get_store()
            active.set_json("r1", {"n": 1}, ttl=60)
            active.set_json("r2", {"n": 2}, ttl=60, groups=["tenant:r"])
            active.log_append("rlog", b"e1", ttl=60)
            old_id = get_keyring().primary_key_id
        with _with_keys([KEY_B, KEY_A]):
            active = get_store()
            assert active.get_json("r1") == {"n": 1}  # still readable before rotation
            call_command("rotate_encryption_key", stdout=_Sink())
            new_id = get_keyring().primary_key_id
            envelopes = [envelope for _, envelope in active.backend.iter_entries()]
            assert len(envelopes) == 2
            assert all(envelope[1:5] == new_id != old_id for envelope in envelopes)
        with _with_keys([KEY_B]):
            active = get_store()
            assert active.get_json("r1") == {"n": 1}
            assert active.get_json("r2") == {"n": 2}
            assert [data for _, data in active.log_read("rlog")] == [b"e1"]
            assert active.delete_group("tenant:r") == 1

    def test_purge_keeps_live_entries(self, store: Store) -> None:
        store.set("live", b"v", ttl=60, groups=["g1"])
        store.set("dying", b"v", ttl=0.2, groups=["g1"])
        store.log_append("dying-log", b"v", ttl=0.2)
        time.sleep(0.4)
        call_command("purge_sessions", stdout=_Sink())
        assert store.get("live") == b"v"
        assert store.get("dying") is None
        assert store.delete_group("g1") == 1


class _Sink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)

    def flush(self) -> None:
        return None


class TestRedisStore(StoreContract):
    @pytest.fixture
    def store(self, redis_store: Store) -> Store:
        return redis_store

    def test_event_log_reads_from_an_id(self, store: Store) -> None:
        assert store.log_read("s", after="not-an-id") == []

    def test_a_group_lives_as_long_as_its_longest_member(self, store: Store) -> None:
        import redis

        from sessions_store.backends.base import group_name

        client = redis.Redis.from_url(settings.CACHES["store"]["LOCATION"])
        store.set("short", b"v", ttl=60, groups=["tenant:t"])
        store.set("long", b"v", ttl=600, groups=["tenant:t"])
        store.set("shorter", b"v", ttl=10, groups=["tenant:t"])
        assert client.pttl(group_name("tenant:t")) > 590_000
        assert client.pttl(entry_name("long")) > 590_000
        assert client.scard(group_name("tenant:t")) == 3


class TestDatabaseStore(StoreContract):
    @pytest.fixture
    def store(self, db_store: Store) -> Store:
        return db_store

    def test_log_name_is_stored_not_the_stream(self, store: Store) -> None:
        from sessions_store.models import StoreEvent

        store.log_append("session-secret-name", b"x", ttl=60)
        assert StoreEvent.objects.get().stream == log_name("session-secret-name").hex()
