"""The only module that calls pyjwt.

Every decode names its algorithms, issuer and audience explicitly and requires exp, iss, aud
and sub. Keys come from a JWKS and are bound to one asymmetric algorithm when loaded, so a
token cannot choose how its own signature is checked: ``none`` and the HMAC family are refused
here whatever a provider's configuration says.
"""

import json
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK
from jwt import exceptions as jwt_errors

from mcpserver.refusals import InvalidToken
from tenants.validators import ALLOWED_ALGORITHMS

# A bearer token longer than this is refused before any parsing.
MAX_TOKEN_LENGTH = 8192
_ASYMMETRIC = frozenset(ALLOWED_ALGORITHMS)
_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


@dataclass(frozen=True, slots=True)
class Unverified:
    """What a token says about itself before its signature is checked: used only to pick
    the provider and the key, never to decide anything else."""

    alg: str
    kid: str | None
    issuer: str


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and len(token) <= MAX_TOKEN_LENGTH


def peek(token: str) -> Unverified:
    """Read the header and the issuer without trusting either."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt_errors.PyJWTError, ValueError, json.JSONDecodeError) as exc:
        raise InvalidToken(
            "The access token is malformed.", reason="unparsable", client_text=str(exc)
        ) from exc
    alg, kid, issuer = header.get("alg"), header.get("kid"), claims.get("iss")
    if not isinstance(alg, str) or alg not in _ASYMMETRIC:
        raise InvalidToken(
            "The token's signing algorithm is not accepted.",
            reason="algorithm not accepted",
            client_text=repr(alg),
        )
    if kid is not None and not isinstance(kid, str):
        raise InvalidToken("The access token is malformed.", reason="kid is not a string")
    if not isinstance(issuer, str) or not issuer:
        raise InvalidToken("The token names no issuer.", reason="no iss claim")
    return Unverified(alg=alg, kid=kid, issuer=issuer)


def issued_at(token: str) -> float | None:
    """The ``iat`` of a token already verified elsewhere; None when absent or not a number."""
    try:
        value = jwt.decode(token, options={"verify_signature": False}).get("iat")
    except (jwt_errors.PyJWTError, ValueError):
        return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def load_key(jwk: dict[str, Any], *, algorithm: str) -> PyJWK | None:
    """A public key from one JWK, bound to ``algorithm``; None if they do not fit together."""
    if algorithm not in _ASYMMETRIC or jwk.get("kty") not in {"RSA", "EC", "OKP"}:
        return None
    declared = jwk.get("alg")
    if declared is not None and declared != algorithm:
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    public = {
        name: value for name, value in jwk.items() if name not in {"d", "p", "q", "dp", "dq", "qi"}
    }
    try:
        return PyJWK(public, algorithm=algorithm)
    except (jwt_errors.PyJWTError, ValueError, TypeError, KeyError):
        return None


def public_jwk(jwk: Any) -> dict[str, Any] | None:
    """A JWK fit to keep: asymmetric, for signing, without private members."""
    if not isinstance(jwk, dict) or jwk.get("kty") not in {"RSA", "EC", "OKP"}:
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    return {
        name: value
        for name, value in jwk.items()
        if name in {"kty", "kid", "alg", "use", "n", "e", "crv", "x", "y"}
    }


_FAILURES: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt_errors.ExpiredSignatureError, "The access token has expired.", "expired"),
    (jwt_errors.ImmatureSignatureError, "The access token is not valid yet.", "not yet valid"),
    (jwt_errors.InvalidAudienceError, "The access token was issued for another resource.",
     "wrong audience"),
    (jwt_errors.InvalidIssuerError, "The access token's issuer is not trusted.", "wrong issuer"),
    (jwt_errors.MissingRequiredClaimError, "The access token lacks a required claim.",
     "missing claim"),
    (jwt_errors.InvalidSignatureError, "The access token's signature is invalid.",
     "bad signature"),
    (jwt_errors.InvalidAlgorithmError, "The token's signing algorithm is not accepted.",
     "algorithm"),
)  # fmt: skip


def decode(
    token: str, *, key: PyJWK, algorithm: str, issuer: str, audience: str, leeway: float
) -> dict[str, Any]:
    """Verify signature and registered claims; return the claims or raise InvalidToken."""
    if algorithm not in _ASYMMETRIC or key.algorithm_name != algorithm:
        raise InvalidToken("The token's signing algorithm is not accepted.", reason="algorithm")
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options={"require": _REQUIRED_CLAIMS, "strict_aud": False},
        )
    except jwt_errors.PyJWTError as exc:
        for kind, description, reason in _FAILURES:
            if isinstance(exc, kind):
                raise InvalidToken(description, reason=reason, client_text=str(exc)) from exc
        raise InvalidToken(
            "The access token is invalid.", reason="rejected", client_text=str(exc)
        ) from exc


# --- signing, for the benchmark and local testing only (the server never issues tokens) ----


def sign(claims: dict[str, Any], *, private_key: Any, algorithm: str, kid: str) -> str:
    if algorithm not in _ASYMMETRIC:
        raise ValueError(f"refusing to sign with {algorithm!r}")
    return jwt.encode(claims, private_key, algorithm=algorithm, headers={"kid": kid})


def jwk_of(private_key: Any, *, algorithm: str, kid: str) -> dict[str, Any]:
    """The public JWK of ``private_key``."""
    family = (
        jwt.algorithms.ECAlgorithm if algorithm.startswith("ES") else jwt.algorithms.RSAAlgorithm
    )
    public = json.loads(family.to_jwk(private_key.public_key()))
    return {**public, "kid": kid, "alg": algorithm, "use": "sig"}


def string_claim(token: str, name: str) -> str | None:
    """A string claim of a token already verified elsewhere; None when absent or not text."""
    try:
        value = jwt.decode(token, options={"verify_signature": False}).get(name)
    except (jwt_errors.PyJWTError, ValueError):
        return None
    return value if isinstance(value, str) and value else None
