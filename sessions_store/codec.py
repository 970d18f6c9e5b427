"""The plaintext layer inside an envelope: one codec byte, then the value.

Redis memory is paid per cached principal, and a principal's JSON is mostly the same field
names every time, so values are deflated with a preset dictionary of those names when that
makes them shorter. Decoding is a couple of microseconds and happens only on a shared-tier
hit (the process tier holds decoded values).

Compression before encryption lets the ciphertext length depend on the content. That leaks
something only where one value mixes attacker-chosen text with a secret the attacker wants,
and the attacker can watch lengths in the shared tier; see docs/sessions-store.md.
"""

from __future__ import annotations

import zlib

RAW = 0
DEFLATE_V1 = 1

# Frequent substrings of what the project stores (principals, session state). Append-only:
# changing it would make stored values undecodable; a new dictionary gets a new codec byte.
_DICTIONARY_V1 = (
    b'"credential_id":"https://","expires_at":null,"auth_method":"api_key","jwt",'
    b'"scopes":["tools:read","tools:call","resources:read","prompts:read","],'
    b'"protocol_version":"2025-11-25","session_id":"","client_info":{"name":"","version":"'
    b'"email":"@example.com","tenant_slug":"","subject":"","fingerprint":"","tenant_id":'
)
_MIN_SIZE = 48


def encode(value: bytes) -> bytes:
    if len(value) >= _MIN_SIZE:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_V1)
        packed = packer.compress(value) + packer.flush()
        if len(packed) < len(value):
            return bytes([DEFLATE_V1]) + packed
    return bytes([RAW]) + value


def decode(data: bytes) -> bytes | None:
    """The value, or None for a codec this version does not know or a corrupt body."""
    if not data:
        return None
    if data[0] == RAW:
        return data[1:]
    if data[0] == DEFLATE_V1:
        unpacker = zlib.decompressobj(-15, _DICTIONARY_V1)
        try:
            value = unpacker.decompress(data[1:]) + unpacker.flush()
        except zlib.error:
            return None
        return value if unpacker.eof else None
    return None
