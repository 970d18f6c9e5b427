"""The container's health check: ``python -m mcpserver.probe URL`` exits 0 on HTTP 200.

The image has no curl or wget (nothing it does not need); this uses the standard library
only and imports nothing of Django, so a probe costs a few milliseconds. It names the first
of ``DJANGO_ALLOWED_HOSTS`` as its Host, as a client would (Django refuses any other), and says
it came through the TLS proxy so an https redirect never answers it.
"""

import os
import sys
import urllib.error
import urllib.request


def probe(url: str, *, timeout: float = 2.5) -> int:
    if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        print("probe: only a loopback http URL is probed", file=sys.stderr)
        return 2
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")]
    host = next((h for h in hosts if h and not h.startswith((".", "*"))), "localhost")
    request = urllib.request.Request(  # noqa: S310 (loopback http only, checked above)
        url, headers={"Host": host, "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"probe: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(probe(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/readyz"))
