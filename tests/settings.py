"""Test settings: the real settings with fast hashers and fixed test-only keys."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("MCP_ENCRYPTION_KEYS", "11" * 32)

from mcpserver.conf import DEFAULTS
from mcpserver.settings import *  # noqa: F403
from mcpserver.settings import MCP_SERVER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# No key ring reports from the test process: the servers tests start as processes report.
MCP_SERVER = {
    **MCP_SERVER,
    "PUBLIC_URL": "http://testserver",
    "KEYRING_REPORT_INTERVAL": 0.0,
    # A tool set written with tools.authoring, listed by its module path as a company would.
    # tests.interop.ticker: a slow tool whose steps a test can watch (cancellation, polling).
    "TOOLSETS": [
        *MCP_SERVER.get("TOOLSETS", DEFAULTS["TOOLSETS"]),
        "examples.notes_toolset",
        "tests.interop.ticker",
    ],
    # Tests give tenants the conformance fixture set.
    "ALLOW_INTERNAL_TOOLSETS": True,
    # Tool-call audit records written by the request itself, inside the test's transaction
    # (tests/tenants/test_toolaudit.py runs the journal and its threads for real).
    "AUDIT_WRITE_INLINE": True,
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
