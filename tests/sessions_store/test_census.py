"""The key ring census: what running instances report, and which rotation steps it blocks."""

import logging
import time

import pytest

from sessions_store import census
from sessions_store.crypto import KeyRing, get_keyring
from sessions_store.models import KeyRingMember

pytestmark = pytest.mark.django_db

OLD, NEW = bytes(range(32)), bytes(range(32, 64))


def _ids(*keys: bytes) -> list[str]:
    return [key_id.hex() for key_id in KeyRing(keys=list(keys)).key_ids]


def _member(name: str, *keys: bytes, age: float = 0.0) -> None:
    ids = _ids(*keys)
    KeyRingMember.objects.create(
        instance=f"elsewhere/1:{name}:x",
        encrypts=ids[0],
        decrypts=",".join(ids),
        seen_at=time.time() - age,
    )


def test_describe_names_key_ids_never_keys():
    text = census.describe(KeyRing(keys=[NEW, OLD]))
    old_id, new_id = _ids(OLD)[0], _ids(NEW)[0]
    assert text == f"encrypts with key {new_id}; decrypt-only: {old_id}"
    assert OLD.hex() not in text and NEW.hex() not in text


def test_each_step_is_checked_against_every_live_instance(settings):
    settings.MCP_SERVER = {**settings.MCP_SERVER, "KEYRING_REPORT_INTERVAL": 30}
    command = KeyRing(keys=[NEW, OLD])
    _member("1", OLD)
    _member("2", OLD, NEW)
    _member("3", NEW, OLD)
    _member("4", OLD, age=120)  # stale: stopped more than three intervals ago
    members = census.live_members()
    assert [m.instance for m in members] == [f"elsewhere/1:{n}:x" for n in "123"]
    assert len(census.not_ready_to_encrypt(command, members)) == 1
    blockers = census.not_ready_to_rotate(command, members)
    assert any("elsewhere/1:1:x cannot decrypt" in b for b in blockers)
    assert any("elsewhere/1:2:x still encrypts" in b for b in blockers)
    assert not any(":3:" in b for b in blockers)


def test_a_report_from_a_dead_process_on_this_machine_is_ignored():
    ids = _ids(OLD)
    KeyRingMember.objects.create(
        instance=f"{census.HOST}:999999999:x", encrypts=ids[0], decrypts=ids[0], seen_at=time.time()
    )
    assert census.live_members() == []


def test_start_logs_the_key_ring_and_an_out_of_order_step(settings, caplog):
    settings.MCP_SERVER = {**settings.MCP_SERVER, "ENCRYPTION_KEYS": [NEW.hex(), OLD.hex()]}
    _member("1", OLD)
    caplog.set_level(logging.INFO, logger="sessions_store")
    census.report_and_announce(get_keyring())
    try:
        assert f"encrypts with key {_ids(NEW)[0]}" in caplog.text
        assert "key rotation out of order" in caplog.text and "elsewhere/1:1:x" in caplog.text
        assert NEW.hex() not in caplog.text and OLD.hex() not in caplog.text
        assert KeyRingMember.objects.filter(instance=census.INSTANCE).exists()
    finally:
        census.withdraw()
