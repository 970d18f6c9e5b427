"""The sign-in site the end-to-end tests and ``bin/run-conformance`` run: two server processes
behind the alternating proxy, a broker-mode tenant ``acme`` whose users sign in at a real
oidc-provider, a direct-mode tenant ``globex`` whose own oidc-provider issues its tokens, and
a client ID metadata document served over https on loopback.

    python -m tests.interop.broker_site DIR   runs the conformance suite's ``authorization``
    command against acme's authorization server, saving its results in DIR (exit status: the
    suite's).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2

from tests.browser.portal_harness import NODE, NODE_TOOLS, free_port, oidc_provider
from tests.interop.instances import ROOT, Cluster
from tests.interop.keyproxy import AlternatingProxy
from tests.interop.signin_harness import (
    REDIRECT_URI,
    DocumentServer,
    Person,
    alternating_proxy,
    client_metadata_document,
)

SUITE = NODE_TOOLS / "conformance-0.2" / "dist" / "index.js"
PORTAL_SECRET = secrets.token_urlsafe(24)
DOCUMENT = {
    "client_name": "SDK client by metadata document",
    "redirect_uris": [REDIRECT_URI],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}


@dataclass
class Site:
    mcp_url: str  # acme's, in broker mode
    public: str
    cluster: Cluster
    proxy: AlternatingProxy
    document: DocumentServer
    direct_issuer: str  # globex's provider, in direct mode

    @property
    def direct_url(self) -> str:
        return f"{self.public}/mcp/globex"


def _tenants(cluster: Cluster, *, issuer: str, own: str) -> None:
    cluster.manage("migrate", "--noinput", "-v", "0")
    cluster.manage("create_tenant", "acme", "--name", "Acme", "--toolsets", "builtin")
    subprocess.run(
        [sys.executable, "manage.py", "set_sign_in", "acme", "--mode", "broker",
         "--oidc-issuer", issuer, "--client-id", "acme-portal", "--allow-private"],
        cwd=ROOT, env=cluster.env, input=PORTAL_SECRET, text=True, check=True,
        capture_output=True,
    )  # fmt: skip
    # Direct mode: globex's own provider registers clients and issues the tokens.
    cluster.manage("create_tenant", "globex", "--name", "Globex", "--toolsets", "builtin")
    cluster.manage("add_identity_provider", "globex", "--issuer", own, "--allow-private")


@contextmanager
def broker_site(*, tmp: Path, redis_url: str, token_ttl: int) -> Iterator[Site]:
    cluster = Cluster(redis_url=redis_url, tmp_path=tmp, keys=secrets.token_hex(32))
    with (
        alternating_proxy(cluster.ports) as (port, proxy),
        client_metadata_document(DOCUMENT, directory=tmp) as served,
    ):
        public = f"http://127.0.0.1:{port}"
        portal = {"client_id": "acme-portal", "client_secret": PORTAL_SECRET,
                  "redirect_uris": [f"{public}/oidc/callback/"]}  # fmt: skip
        accounts = {"alice": {"email": "alice@acme.test", "name": "Alice"}}
        with (
            oidc_provider(clients=[portal], accounts=accounts) as issuer,
            oidc_provider(clients=[], accounts=accounts, resourcePrefix=f"{public}/mcp/") as own,
        ):
            cluster.env.update(
                {
                    "MCP_PUBLIC_URL": public,
                    "MCP_BROKER_ACCESS_TOKEN_TTL": str(token_ttl),
                    # The metadata document's server: a loopback address the operator allows
                    # and a certificate the processes trust, as for a public client's site.
                    "DJANGO_SETTINGS_MODULE": "tests.interop.instance_settings",
                    "MCP_TEST_OVERRIDES": json.dumps(
                        {"MCP_SERVER": {"OUTBOUND_ALLOWED_NETWORKS": ["127.0.0.3/32"]}}
                    ),
                    "SSL_CERT_FILE": served.cafile,
                }
            )
            _tenants(cluster, issuer=issuer, own=own)
            try:
                cluster.start(0)
                cluster.start(1)
                yield Site(f"{public}/mcp/acme", public, cluster, proxy, served, own)
            finally:
                cluster.stop_all()
                for index in (0, 1):
                    assert "Traceback" not in cluster.log_of(index), cluster.log_of(index)


def run_authorization_suite(site: Site, results: Path) -> tuple[int, str]:
    """The suite's ``authorization`` command against acme's issuer, with a client registered
    for it; the person answers the sign-in and consent when the suite prints the URL to open.
    Returns the suite's exit status and output."""
    port = free_port()
    callback = f"http://127.0.0.1:{port}/callback"
    registered = httpx2.post(
        f"{site.public}/oauth/acme/register",
        json={"redirect_uris": [callback], "token_endpoint_auth_method": "none",
              "grant_types": ["authorization_code", "refresh_token"],
              "client_name": "Conformance suite"},
        timeout=10,
    )  # fmt: skip
    registered.raise_for_status()
    issuer = f"{site.public}/oauth/acme"
    suite = subprocess.Popen(
        [str(NODE), str(SUITE), "authorization", "--url", issuer,
         "--client-id", registered.json()["client_id"], "--resource", site.mcp_url,
         "--port", str(port), "-o", str(results)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert suite.stdout is not None
        seen = []
        for line in suite.stdout:  # it prints the URL to open, then waits for the callback
            seen.append(line)
            if line.startswith(f"{issuer}/authorize?"):
                person = Person("alice", redirect_uri=callback)
                arrived = anyio.run(person.authorize, line.strip())
                httpx2.get(arrived, timeout=10).raise_for_status()  # back to the suite
                break
        output = "".join(seen) + suite.stdout.read()
        return suite.wait(timeout=60), output
    finally:
        suite.kill()


def main() -> None:
    results = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        site_context = broker_site(
            tmp=Path(tmp), redis_url=os.environ.get("TEST_REDIS_URL", ""), token_ttl=300
        )
        with site_context as site:
            status, output = run_authorization_suite(site, results)
    print(output)
    sys.exit(status)


if __name__ == "__main__":
    main()
