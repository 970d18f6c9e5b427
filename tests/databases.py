"""SQLite databases for the server processes tests start, copied from templates built once
per test run.

Migrating a fresh SQLite file takes a new Django process and several seconds, and creating
the tenant every multi-instance test serves (``pair``) another process: most of what
starting a cluster cost. A test that is not about migrating gets a copy of a file migrated
once (and, if it asks, with ``pair`` already created); the processes it starts then open a
database in the state ``migrate`` and ``create_tenant`` would have left it in. A test whose
subject is migrating (``make run``, the deployment commands) runs ``migrate`` itself.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = "schema"  # migrated, nothing else
PAIR = "pair"  # migrated, and the tenant ``pair`` with the built-in and conformance tool sets

_lock = threading.Lock()
_templates: dict[str, Path] = {}


def seed_sqlite(database_url: str, *, template: str = SCHEMA) -> None:
    """Writes a copy of ``template`` where ``database_url`` (``sqlite:///<path>``) points."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        raise ValueError(f"not a SQLite file URL: {database_url}")
    target = Path(database_url[len(prefix) :])
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template(template), target)


def _template(name: str) -> Path:
    with _lock:
        if name not in _templates:
            _templates[name] = _build(name)
        return _templates[name]


def _build(name: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix=f"mcp-template-{name}-"))
    atexit.register(shutil.rmtree, directory, True)
    path = directory / "db.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mcpserver.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "MCP_ENCRYPTION_KEYS": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{path}",
        "LOG_LEVEL": "WARNING",
        "MCP_ALLOW_INTERNAL_TOOLSETS": "1",
    }
    if os.environ.get("TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    commands = [["migrate", "--noinput", "-v", "0"]]
    if name == PAIR:
        commands.append(
            ["create_tenant", "pair", "--name", "Pair", "--toolsets", "builtin,conformance"]
        )
    elif name != SCHEMA:
        raise ValueError(f"no such template: {name}")
    for args in commands:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)}: {done.stdout}{done.stderr}")
    # Everything into the main file (the settings use WAL): a copy of it alone is whole.
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return path
