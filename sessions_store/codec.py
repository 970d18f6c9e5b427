"""The plaintext layer inside an envelope: not-after time (4 bytes), codec byte, value.

The not-after time (epoch seconds, 0 for none) is sealed with the value, so someone who can
write to the shared tier cannot keep an entry alive past the expiry it was written with by
re-setting its TTL or putting back a copy later.

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


def encode(value: bytes, *, not_after: int = 0) -> bytes:
    header = not_after.to_bytes(4, "big")
    if len(value) >= _MIN_SIZE:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_V1)
        packed = packer.compress(value) + packer.flush()
        if len(packed) < len(value):
            return header + bytes([DEFLATE_V1]) + packed
    return header + bytes([RAW]) + value


def decode(data: bytes) -> tuple[bytes, int] | None:
    """The value and its not-after time, or None for an unknown codec or a corrupt body."""
    if len(data) < 5:
        return None
    not_after, kind, body = int.from_bytes(data[:4], "big"), data[4], data[5:]
    if kind == RAW:
        return body, not_after
    if kind == DEFLATE_V1:
        unpacker = zlib.decompressobj(-15, _DICTIONARY_V1)
        try:
            value = unpacker.decompress(body) + unpacker.flush()
        except zlib.error:
            return None
        return (value, not_after) if unpacker.eof else None
    return None
