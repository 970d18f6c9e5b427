"""Settings wiring: the store's cache alias never pickles, and refuses anything but bytes."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from mcpserver.checks import check_cache_serializers
from sessions_store.cache_config import store_cache
from sessions_store.serializers import BytesSerializer


def test_store_cache_passes_the_pickle_check() -> None:
    with override_settings(CACHES={"default": store_cache("redis://127.0.0.1:1")}):
        assert check_cache_serializers() == []


def test_bytes_serializer_refuses_objects() -> None:
    serializer = BytesSerializer({})
    assert serializer.loads(serializer.dumps(b"\x00x")) == b"\x00x"
    with pytest.raises(TypeError):
        serializer.dumps({"an": "object"})


def test_bench_command_runs_on_the_database(transactional_db: object) -> None:
    from io import StringIO

    out = StringIO()
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ):
        call_command("bench_store", iterations=50, principals=5, stdout=out)
    assert "process-tier hit" in out.getvalue()
    assert "DatabaseBackend" in out.getvalue()


def test_bench_command_runs_on_redis(use_redis_store: str) -> None:
    from io import StringIO

    out = StringIO()
    call_command("bench_store", iterations=50, principals=20, stdout=out)
    assert "MEMORY USAGE of an entry" in out.getvalue()


def test_purge_task_removes_expired_rows(transactional_db: object) -> None:
    import time

    from sessions_store.models import StoreEntry
    from sessions_store.tasks import purge_sessions

    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ):
        StoreEntry.objects.create(name="00" * 16, value=b"x", expires_at=time.time() - 1)
        StoreEntry.objects.create(name="11" * 16, value=b"x", expires_at=time.time() + 60)
        assert purge_sessions.apply().get() == {"entries": 1, "group_members": 0, "events": 0}
        assert list(StoreEntry.objects.values_list("name", flat=True)) == ["11" * 16]
