"""The key ring: envelopes, binding to the storage name, key selection, development key."""

from __future__ import annotations

import logging
import zlib

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from sessions_store import codec, metrics
from sessions_store.crypto import OVERHEAD, KeyRing, get_keyring, key_id
from tests.sessions_store.conftest import KEY_A, KEY_B

A, B = bytes.fromhex(KEY_A), bytes.fromhex(KEY_B)


def test_round_trip_and_envelope_layout() -> None:
    ring = KeyRing(keys=[A])
    envelope = ring.seal(b"hello", aad=b"s:name")
    assert len(envelope) == len(b"hello") + OVERHEAD == 5 + 33
    assert envelope[0] == 1
    assert envelope[1:5] == key_id(A)
    assert ring.open(envelope, aad=b"s:name") == b"hello"
    # A fresh nonce every time: the same value never seals to the same bytes.
    assert ring.seal(b"hello", aad=b"s:name") != envelope


def test_bound_to_the_storage_name(caplog: pytest.LogCaptureFixture) -> None:
    ring = KeyRing(keys=[A])
    envelope = ring.seal(b"secret-value", aad=b"s:alice")
    caplog.set_level(logging.WARNING)
    before = metrics.get("crypto.refused.bad_tag")
    assert ring.open(envelope, aad=b"s:mallory") is None
    assert metrics.get("crypto.refused.bad_tag") == before + 1
    assert "secret-value" not in caplog.text and "alice" not in caplog.text


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda e: e[:-1], "bad_tag"),
        (lambda e: e[:10], "truncated"),
        (lambda e: b"\x02" + e[1:], "unknown_version"),
        (lambda e: e[:1] + b"\x00\x00\x00\x00" + e[5:], "unknown_key"),
        (lambda e: e[:20] + bytes([e[20] ^ 0x80]) + e[21:], "bad_tag"),
    ],
)
def test_mangled_envelopes_are_refused(mangle, reason) -> None:
    ring = KeyRing(keys=[A])
    envelope = ring.seal(b"value", aad=b"n")
    before = metrics.get(f"crypto.refused.{reason}")
    assert ring.open(mangle(envelope), aad=b"n") is None
    assert metrics.get(f"crypto.refused.{reason}") == before + 1


def test_first_key_seals_every_key_opens() -> None:
    old = KeyRing(keys=[A]).seal(b"v", aad=b"n")
    ring = KeyRing(keys=[B, A])
    assert ring.open(old, aad=b"n") == b"v"
    assert not ring.sealed_by_primary(old)
    new = ring.seal(b"v", aad=b"n")
    assert ring.sealed_by_primary(new)
    assert KeyRing(keys=[B]).open(new, aad=b"n") == b"v"
    assert KeyRing(keys=[B]).open(old, aad=b"n") is None


def test_repr_names_no_key() -> None:
    assert KEY_A not in repr(KeyRing(keys=[A]))


def test_keys_from_settings() -> None:
    with override_settings(MCP_SERVER={"ENCRYPTION_KEYS": [KEY_B, KEY_A]}):
        assert get_keyring().primary_key_id == key_id(B)


def test_development_key_only_in_debug_mode() -> None:
    with override_settings(MCP_SERVER={"ENCRYPTION_KEYS": []}, DEBUG=True):
        ring = get_keyring()
        envelope = ring.seal(b"v", aad=b"n")
    with override_settings(MCP_SERVER={"ENCRYPTION_KEYS": []}, DEBUG=True):
        # Stable across restarts: derived from SECRET_KEY, not random.
        assert get_keyring().open(envelope, aad=b"n") == b"v"
    with (
        override_settings(MCP_SERVER={"ENCRYPTION_KEYS": []}, DEBUG=False),
        pytest.raises(ImproperlyConfigured),
    ):
        get_keyring()


def _deflate_v1(value: bytes) -> bytes:
    packer = zlib.compressobj(
        6, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, codec._DICTIONARY_V1
    )
    return b"\0\0\0\0" + bytes([codec.DEFLATE_V1]) + packer.compress(value) + packer.flush()


def test_codec_round_trip_and_unknown_codec() -> None:
    principal = (
        b'{"s":"apikey:ak_1","m":"api_key","sc":["tools:read"],"e":null,"x":null,"c":"ak_1"}'
    )
    packed = codec.encode(principal, not_after=1234)
    assert packed[4] == codec.DEFLATE_V2 and len(packed) < len(principal) // 2
    assert codec.decode(packed) == (principal, 1234)
    assert codec.decode(_deflate_v1(principal)) == (principal, 0)  # written before V2
    assert codec.decode(codec.encode(b"short")) == (b"short", 0)
    assert codec.decode(b"\0\0\0\0\x07junk") is None
    assert codec.decode(b"\0\0\0\0" + bytes([codec.DEFLATE_V1]) + b"not deflate") is None
    assert codec.decode(b"") is None


def _nonce(envelope: bytes) -> bytes:
    return envelope[1 + 4 : OVERHEAD - 16]


def test_nonces_never_repeat_across_buffer_refills_and_a_fork() -> None:
    import os

    ring = KeyRing(keys=[A])
    # Several refills of the nonce buffer (256 nonces per read from the OS).
    nonces = {_nonce(ring.seal(b"x", aad=b"s:n")) for _ in range(1000)}
    assert len(nonces) == 1000
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it seals next must differ from what the parent seals next
        os.close(read)
        os.write(write, b"".join(_nonce(ring.seal(b"x", aad=b"s:n")) for _ in range(10)))
        os._exit(0)
    os.close(write)
    parent = {_nonce(ring.seal(b"x", aad=b"s:n")) for _ in range(10)}
    data = b""
    while chunk := os.read(read, 4096):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    child = {data[i : i + 12] for i in range(0, len(data), 12)}
    assert len(child) == 10
    assert not (child & parent) and not (child & nonces)
