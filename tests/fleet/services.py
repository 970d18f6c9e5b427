"""The real services a fleet runs beside its instances: a private PostgreSQL a scenario may
stop and start again, and nginx balancing round robin with the production proxy settings; and
the bounded waits every part of the fleet uses. Nothing here needs pytest to be running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.ports import free_port


def wait_for(predicate: object, *, timeout: float, what: str) -> float:
    """Polls ``predicate`` every 50 ms; returns the seconds it took or raises."""
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def seen_after(predicate: object, *, timeout: float, what: str) -> float:
    """Seconds from now until the start of the first check of ``predicate`` that holds (a
    check itself may take a while on a loaded machine); raises past ``timeout``."""
    started = time.monotonic()
    while True:
        attempt = time.monotonic()
        if predicate():  # type: ignore[operator]
            return attempt - started
        if attempt - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.02)


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise RuntimeError("PostgreSQL is not installed (bin/with-test-services installs it)")
    return Path(pg_ctl).parent


class PostgresServer:
    """A private PostgreSQL on a Unix socket, which a scenario may stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.bin = _pg_bin()
        # PostgreSQL refuses to run as root; the Debian package created this user.
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []

    @property
    def url(self) -> str:
        from urllib.parse import quote

        return f"postgres://postgres@{quote(str(self.directory), safe='')}/postgres"

    def _pg(self, *args: str) -> None:
        subprocess.run([*self.as_pg, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.directory.chmod(0o755)
        if self.as_pg:
            shutil.chown(self.directory, "postgres")
        initdb = str(self.bin / "initdb")
        self._pg(initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()

    def start(self) -> None:
        options = f"-k {self.directory} -c listen_addresses='' -c fsync=off -c max_connections=200"
        log = str(self.directory / "server.log")
        self._pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", "-o", options,
                 "start")  # fmt: skip

    def stop(self, *, mode: str = "immediate") -> None:
        """Immediate by default: every connection is cut, as when the database host goes
        away (``"fast"``: the server ends its sessions first, as an orderly restart does)."""
        self._pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stopped if it still runs, and its directory gone."""
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream fleet {{
        {servers}
        keepalive 64;
        keepalive_timeout 4s;  # as deploy/nginx/nginx.conf: below uvicorn's 5 s keep-alive
    }}
    server {{
        listen 127.0.0.1:{port};
        # A slow client is nginx's to absorb: the request reaches an instance only when whole.
        client_header_timeout 10s;
        client_body_timeout 5s;
        location / {{
            proxy_pass http://fleet;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # Event streams pass through as they are written.
            proxy_buffering off;
            proxy_read_timeout 300s;
            proxy_connect_timeout 1s;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, directory: Path, upstreams: list[int]) -> None:
        self.directory = directory
        self.port = free_port()
        self.upstreams = upstreams
        self.process: subprocess.Popen[bytes] | None = None
        self.conf = directory / "nginx.conf"

    def _write(self, down: set[int]) -> None:
        servers = "\n        ".join(
            f"server 127.0.0.1:{port} max_fails=1 fail_timeout=2s{' down' if i in down else ''};"
            for i, port in enumerate(self.upstreams)
        )
        self.conf.write_text(NGINX_CONF.format(dir=self.directory, servers=servers, port=self.port))

    def drain(self, down: set[int], *, settle: float = 1.0) -> None:
        """Takes instances ``down`` out of the rotation (a reload: old workers finish what
        they hold), as a deployment does before it stops them; ``set()`` puts all back."""
        assert self.process is not None
        self._write(down)
        self.process.send_signal(signal.SIGHUP)
        time.sleep(settle)

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise RuntimeError("nginx is not installed (bin/with-test-services installs it)")
        self._write(set())
        conf = self.conf
        log = (self.directory / "stderr.log").open("ab")
        self.process = subprocess.Popen(
            [binary, "-p", str(self.directory), "-c", str(conf)], stdout=log, stderr=log
        )
        wait_for(self._listening, timeout=20, what="nginx listening")

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError((self.directory / "stderr.log").read_text())
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None
