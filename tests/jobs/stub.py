"""A JWKS on loopback for worker tests: one key set per path, a count of requests per path,
and paths whose first request is held open (a job caught mid-flight) until the stub stops."""

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.ports import serve_in_thread
from tests.tenants.auth.idp import SigningKey


class JwksStub:
    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = keys
        self.hits: Counter[str] = Counter()
        self.hold_first: set[str] = set()  # paths whose first request never gets an answer
        self.held = threading.Event()  # set once such a request has arrived
        self._release = threading.Event()
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with stub._lock:
                    stub.hits[self.path] += 1
                    hold = self.path in stub.hold_first and stub.hits[self.path] == 1
                if hold:
                    stub.held.set()
                    stub._release.wait(60)
                    return
                payload = json.dumps({"keys": [k.jwk() for k in stub.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        serve_in_thread(self.server)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
