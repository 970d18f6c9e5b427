"""What the sign-in end-to-end tests run: two server processes behind a loopback proxy that
alternates between them, a person who answers the authorization pages over HTTP (the
tenant's OpenID provider's login form, then the consent page) as a browser would, and a
client ID metadata document served over https on loopback."""

from __future__ import annotations

import asyncio
import datetime
import http.server
import ipaddress
import json
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mcp.client.auth import AuthorizationCodeResult

from tests.interop.keyproxy import AlternatingProxy
from tests.ports import serve_in_thread

REDIRECT_URI = "http://127.0.0.1:1/callback"  # never reached: the person stops at it


@contextmanager
def alternating_proxy(ports: list[int]) -> Iterator[tuple[int, AlternatingProxy]]:
    """The proxy on a loopback port of its own, served from a thread; yields its port."""
    proxy = AlternatingProxy([("127.0.0.1", port) for port in ports])
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, asyncio.Server] = {}

    async def serve() -> None:
        holder["server"] = await proxy.serve("127.0.0.1", 0)
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=10)
    started.wait(10)
    try:
        yield int(holder["server"].sockets[0].getsockname()[1]), proxy
    finally:

        async def close() -> None:
            holder["server"].close()

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def _hidden_inputs(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    return fields


@dataclass
class Person:
    """A user with a browser's cookie jar, following redirects by hand: signs in at the
    tenant's OpenID provider when asked, allows the consent page, stops at the client's
    redirect URI and hands its parameters to the SDK client's callback handler."""

    login: str
    redirect_uri: str = REDIRECT_URI
    cookies: httpx2.Cookies = field(default_factory=httpx2.Cookies)  # kept between flows
    authorizations: int = 0  # authorization requests the client sent this person through
    sign_ins: int = 0  # times the provider's login form was filled in
    consent_pages: list[str] = field(default_factory=list)
    arrived: str = ""  # the last redirect to the client, in full
    _result: AuthorizationCodeResult | None = None
    http: httpx2.AsyncClient = field(init=False, repr=False)

    async def redirect_handler(self, url: str) -> None:
        self.authorizations += 1
        self._result = await self._follow(url)

    async def authorize(self, url: str) -> str:
        """Follow ``url`` to the client's redirect URI; return where it arrived."""
        await self._follow(url)
        return self.arrived

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self._result is not None, "the authorization did not reach the redirect URI"
        result, self._result = self._result, None
        return result

    async def _follow(self, url: str) -> AuthorizationCodeResult:
        # A client per flow (each runs in an event loop of its own), the cookie jar kept.
        async with httpx2.AsyncClient(timeout=15, cookies=self.cookies) as self.http:
            try:
                return await self._walk(url)
            finally:
                self.cookies = self.http.cookies

    async def _walk(self, url: str) -> AuthorizationCodeResult:
        response = await self.http.get(url)
        for _ in range(20):
            if response.status_code in (301, 302, 303, 307):
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(self.redirect_uri):
                    self.arrived = target
                    query = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
                    assert "code" in query, f"the authorization was refused: {query}"
                    return AuthorizationCodeResult(
                        code=query["code"], state=query.get("state"), iss=query.get("iss")
                    )
                response = await self.http.get(target)
            elif "/interaction/" in response.text:  # oidc-provider's login or consent form
                action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
                assert action, response.text
                form = _hidden_inputs(response.text)
                if 'name="login"' in response.text:
                    self.sign_ins += 1
                    form.update(login=self.login, password="any password")
                response = await self.http.post(
                    urljoin(str(response.url), unescape(action.group(1))), data=form
                )
            elif 'id="consent"' in response.text:  # the broker's consent page
                self.consent_pages.append(response.text)
                form = {**_hidden_inputs(response.text), "allow": "Authorize"}
                response = await self.http.post(
                    str(response.url), data=form, headers={"referer": str(response.url)}
                )
            else:
                raise AssertionError(
                    f"stuck at {response.url} ({response.status_code}): {response.text[:500]}"
                )
        raise AssertionError("too many redirects")


@dataclass
class DocumentServer:
    url: str  # the document's https URL
    cafile: str  # the certificate that server processes must trust (SSL_CERT_FILE)
    hits: list[str] = field(default_factory=list)


def _self_signed(address: str, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cimd-cert.pem", directory / "cimd-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def client_metadata_document(
    document: dict[str, Any], *, directory: Path, address: str = "127.0.0.3"
) -> Iterator[DocumentServer]:
    """A client ID metadata document served over https on a loopback address of its own,
    with a certificate made for it; ``document`` gets its ``client_id`` (the URL) here."""
    cert, key = _self_signed(address, directory)
    server = DocumentServer(url="", cafile=str(cert))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.hits.append(self.path)
            body = json.dumps({**document, "client_id": server.url}).encode()
            status = 200 if self.path == "/clients/sdk.json" else 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer((address, 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    server.url = f"https://{address}:{httpd.server_address[1]}/clients/sdk.json"
    thread = serve_in_thread(httpd)
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
