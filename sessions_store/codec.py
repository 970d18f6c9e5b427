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
DEFLATE_V2 = 2

# Preset dictionaries are never changed (stored values would become undecodable): a new
# dictionary gets a new codec byte, and older bytes stay readable until their values expire.
# V1 named fields nothing stores any more; read only.
_DICTIONARY_V1 = (
    b'"credential_id":"https://","expires_at":null,"auth_method":"api_key","jwt",'
    b'"scopes":["tools:read","tools:call","resources:read","prompts:read","],'
    b'"protocol_version":"2025-11-25","session_id":"","client_info":{"name":"","version":"'
    b'"email":"@example.com","tenant_slug":"","subject":"","fingerprint":"","tenant_id":'
)
# V2: the field names and frequent values of what is stored: cached principals
# (tenants.auth.tokencache), tenant configurations (tenants.auth.tenantcache) and session
# state (mcpserver.protocol.sessions). The most frequent go last, where deflate finds them
# cheapest.
_DICTIONARY_V2 = (
    b'"issuer":"https://","jwks_uri":"","audience":"","algorithms":["RS256","ES256"],'
    b'"org_claim":"","org_value":"","scopes_claim":"","providers":[],"rev":"",'
    b'"tenant":{"id":,"slug":"","name":"","status":"active","enabled_toolsets":["builtin",'
    b'"principal":"","version":"2025-11-25","capabilities":{},"log_level":null,'
    b'"subscriptions":[],"created":,"touched":,'
    b'{"s":"apikey:","m":"api_key","jwt","sc":["tools:read","],"e":null,"x":null,"c":"'
)
_DICTIONARIES = {DEFLATE_V1: _DICTIONARY_V1, DEFLATE_V2: _DICTIONARY_V2}
_MIN_SIZE = 48


def encode(value: bytes, *, not_after: int = 0) -> bytes:
    header = not_after.to_bytes(4, "big")
    if len(value) >= _MIN_SIZE:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_V2)
        packed = packer.compress(value) + packer.flush()
        if len(packed) < len(value):
            return header + bytes([DEFLATE_V2]) + packed
    return header + bytes([RAW]) + value


def decode(data: bytes) -> tuple[bytes, int] | None:
    """The value and its not-after time, or None for an unknown codec or a corrupt body."""
    if len(data) < 5:
        return None
    not_after, kind, body = int.from_bytes(data[:4], "big"), data[4], data[5:]
    if kind == RAW:
        return body, not_after
    dictionary = _DICTIONARIES.get(kind)
    if dictionary is not None:
        unpacker = zlib.decompressobj(-15, dictionary)
        try:
            value = unpacker.decompress(body) + unpacker.flush()
        except zlib.error:
            return None
        return (value, not_after) if unpacker.eof else None
    return None
