"""A real identity provider on loopback for the tests: discovery documents and a JWKS served
over HTTP by a threaded server, keys made with ``cryptography``, and a count of every request."""

import base64
import hashlib
import hmac
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.ports import serve_in_thread


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, Any]:
        if self.alg.startswith("ES"):
            data = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        else:
            data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": self.alg}


def new_key(alg: str, kid: str) -> SigningKey:
    if alg.startswith("ES"):
        return SigningKey(kid=kid, alg=alg, private=ec.generate_private_key(ec.SECP256R1()))
    return SigningKey(
        kid=kid, alg=alg, private=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )


@dataclass
class LoopbackIdP:
    """Serves ``/.well-known/openid-configuration`` (and optionally the RFC 8414 document)
    and ``/jwks`` on 127.0.0.1; ``hits`` counts requests per path."""

    keys: list[SigningKey]
    serve_rfc8414: bool = False
    hits: Counter[str] = field(default_factory=Counter)
    server: ThreadingHTTPServer | None = None
    # Any loopback address (all of 127.0.0.0/8 reaches this host on Linux).
    host: str = "127.0.0.1"
    # What discovery names as jwks_uri (default: this server's /jwks).
    advertised_jwks_uri: str | None = None
    # Where /redirect sends its 302.
    redirect_to: str = ""
    host_headers: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://{self.host}:{self.server.server_address[1]}"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def total_hits(self) -> int:
        return sum(self.hits.values())

    def start(self) -> "LoopbackIdP":
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                idp.hits[self.path] += 1
                idp.host_headers.append(self.headers.get("Host", ""))
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", idp.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/jwks":
                    body: Any = {"keys": [k.jwk() for k in idp.keys]}
                elif self.path == "/.well-known/openid-configuration" or (
                    idp.serve_rfc8414 and self.path == "/.well-known/oauth-authorization-server"
                ):
                    body = {
                        "issuer": idp.issuer,
                        "jwks_uri": idp.advertised_jwks_uri or idp.jwks_uri,
                    }
                else:
                    self.send_error(404)
                    return
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        serve_in_thread(self.server)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def jwks_hits(self) -> int:
        return self.hits["/jwks"]

    def claims(self, *, audience: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "sub": "user-1",
            "iat": now,
            "exp": now + 600,
            "scope": "tools:read tools:call",
            "email": "user@example.com",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: SigningKey, *, audience: str, kid: str | None = "", **claims: Any) -> str:
        headers = {"kid": key.kid if kid == "" else kid}
        if headers["kid"] is None:
            headers = {}
        return jwt.encode(
            self.claims(audience=audience, **claims), key.private, algorithm=key.alg,
            headers=headers,
        )  # fmt: skip


def unsigned_token(claims: dict[str, Any], *, kid: str) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def hmac_token(claims: dict[str, Any], *, secret: bytes, kid: str) -> str:
    """HS256 with the provider's public key as the secret: the classic key-confusion attack."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"
