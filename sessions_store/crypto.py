"""The AEAD key ring: AES-256-GCM envelopes bound to the storage key they are kept under.

Envelope (33 bytes of overhead)::

    version (1) | key id (4) | nonce (12) | ciphertext + GCM tag (len(plaintext) + 16)

The associated data is the version, the key id and the caller's ``aad`` (the storage name),
so a blob moved under another name, or re-labelled with another key id, fails to open.
``open`` never raises: any failure is ``None``, one security log line and a counter.
"""

from __future__ import annotations

import binascii
import hashlib
import logging
import os
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from mcpserver.conf import mcp_settings
from mcpserver.process import process_state
from sessions_store import metrics

VERSION = 1
KEY_ID_SIZE = 4
NONCE_SIZE = 12
TAG_SIZE = 16
HEADER_SIZE = 1 + KEY_ID_SIZE + NONCE_SIZE
OVERHEAD = HEADER_SIZE + TAG_SIZE

security_log = logging.getLogger("sessions_store.security")


class _Nonces:
    """Random nonces read from the OS 256 at a time, not one system call per seal: os.urandom
    releases the GIL, and on a server whose other threads are busy (the audit drainer) every
    release cost the request path a wait for the GIL. Each nonce is still fresh random bytes,
    handed out once; a forked child forgets the parent's buffer, so the two never share one."""

    _PER_READ = 256

    def __init__(self) -> None:
        self._forget()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._at = 0

    def take(self) -> bytes:
        with self._lock:
            if self._at >= len(self._buffer):
                self._buffer, self._at = os.urandom(NONCE_SIZE * self._PER_READ), 0
            at = self._at
            self._at = at + NONCE_SIZE
            return self._buffer[at : at + NONCE_SIZE]


_nonces = _Nonces()


def key_id(key: bytes) -> bytes:
    """A public label for a key: reveals nothing useful about it, independent of its position."""
    return hashlib.sha256(b"mcp-store-key-id\x00" + key).digest()[:KEY_ID_SIZE]


@dataclass(frozen=True, slots=True)
class _Key:
    id: bytes
    aead: AESGCM


class KeyRing:
    """The first key seals; every key opens. Built once per process from settings."""

    def __init__(self, *, keys: list[bytes]) -> None:
        if not keys:
            raise ImproperlyConfigured("The key ring needs at least one key.")
        if any(len(key) != 32 for key in keys):
            raise ImproperlyConfigured("Encryption keys are 32 bytes (64 hex characters).")
        self._keys = [_Key(id=key_id(key), aead=AESGCM(key)) for key in keys]
        self._primary = self._keys[0]

    @property
    def primary_key_id(self) -> bytes:
        return self._primary.id

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """Every key's public id, the encrypting one first."""
        return tuple(key.id for key in self._keys)

    def __repr__(self) -> str:
        return f"<KeyRing keys={len(self._keys)} primary={self._primary.id.hex()}>"

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        header = bytes([VERSION]) + self._primary.id + _nonces.take()
        return header + self._primary.aead.encrypt(header[-NONCE_SIZE:], plaintext, header + aad)

    def open(self, envelope: bytes, *, aad: bytes) -> bytes | None:
        if len(envelope) < OVERHEAD:
            _refuse("truncated")
            return None
        if envelope[0] != VERSION:
            _refuse("unknown_version")
            return None
        header = envelope[:HEADER_SIZE]
        wanted = envelope[1 : 1 + KEY_ID_SIZE]
        candidates = [key for key in self._keys if key.id == wanted]
        if not candidates:
            _refuse("unknown_key")
            return None
        nonce = envelope[1 + KEY_ID_SIZE : HEADER_SIZE]
        for key in candidates:
            try:
                return key.aead.decrypt(nonce, envelope[HEADER_SIZE:], header + aad)
            except InvalidTag:
                continue
        _refuse("bad_tag")
        return None

    def sealed_by_primary(self, envelope: bytes) -> bool:
        """Whether rotation can leave this envelope alone."""
        return envelope[1 : 1 + KEY_ID_SIZE] == self._primary.id


def _refuse(reason: str) -> None:
    # Neither the envelope nor the storage name is logged: the name derives from a credential.
    metrics.incr(f"crypto.refused.{reason}")
    security_log.warning("sealed value refused: %s", reason, extra={"reason": reason})
    return None


def _development_key() -> bytes:
    """A stable key derived from SECRET_KEY, so debug runs work without configuration."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"mcp-sessions-store",
        info=b"development encryption key",
    ).derive(settings.SECRET_KEY.encode())


def keys_from_settings() -> list[bytes]:
    configured: list[str] = list(mcp_settings.ENCRYPTION_KEYS)
    if not configured:
        if settings.DEBUG:
            return [_development_key()]
        # System check mcpserver.E001 reports this at start; this guards direct use.
        raise ImproperlyConfigured("MCP_ENCRYPTION_KEYS is empty outside debug mode.")
    try:
        return [binascii.unhexlify(key.strip()) for key in configured]
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("MCP_ENCRYPTION_KEYS holds a malformed key.") from exc


_keyring = process_state.slot(
    "sessions_store.keyring",
    lambda: KeyRing(keys=keys_from_settings()),
    settings={"MCP_SERVER", "SECRET_KEY", "DEBUG"},
)


def get_keyring() -> KeyRing:
    return _keyring.get()
