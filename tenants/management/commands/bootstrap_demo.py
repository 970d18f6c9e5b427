import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser

from mcpserver.conf import mcp_settings
from tenants import catalogue, key_material, selectors, services
from tenants.management.base import OpsCommand
from tenants.models import ApiKey

DEMO_ADMIN = "admin"


class Command(OpsCommand):
    help = (
        "Local development: make sure a demo tenant with a working API key exists and print "
        "how to connect. Safe to run again; the key is kept in a private file in the checkout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--key-file", default=str(Path(settings.BASE_DIR) / ".demo-api-key"))
        parser.add_argument(
            "--admin-file", default=str(Path(settings.BASE_DIR) / ".demo-admin-password")
        )

    def run(self, *, slug: str, key_file: str, admin_file: str, **options: Any) -> None:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            tenant = services.tenant_create(
                slug=slug,
                name="Demo tenant",
                toolsets=catalogue.customer_toolsets(),
                actor=self.actor,
            )
        raw = self._existing_key(Path(key_file), tenant_id=tenant.pk)
        if raw is None:
            _, raw = services.api_key_create(
                tenant=tenant, name="demo (make run)", actor=self.actor
            )
            self._write_private(Path(key_file), raw)
        endpoint = tenant.resource_identifier
        config = {
            "mcpServers": {
                slug: {
                    "type": "http",
                    "url": endpoint,
                    "headers": {"Authorization": f"Bearer {raw}"},
                }
            }
        }
        self.stdout.write(f"MCP endpoint: {endpoint}")
        self.stdout.write("Client configuration (paste into your MCP client's settings):")
        self.stdout.write(json.dumps(config, indent=2))
        self.stdout.write(
            f"Admin: {mcp_settings.PUBLIC_URL}/admin/ ({self._admin_login(admin_file)})"
        )
        self.stdout.write("Management commands: bin/manage <command> (bin/manage help lists them)")
        self.stdout.write("API key:")
        self.stdout.write(raw)

    def _admin_login(self, admin_file: str) -> str:
        """A local superuser to sign in with: created once, its password kept beside the key."""
        path = Path(admin_file)
        users = get_user_model().objects
        try:
            password = path.read_text().strip()
        except OSError:
            password = ""
        user = users.filter(username=DEMO_ADMIN).first()
        if user is not None and password and user.check_password(password):
            return f"user {DEMO_ADMIN}, password {password}"
        if user is not None or users.filter(is_superuser=True).exists():
            return "sign in with your superuser; bin/manage changepassword NAME resets one"
        password = secrets.token_urlsafe(12)
        users.create_superuser(username=DEMO_ADMIN, email="", password=password)
        self._write_private(path, password)
        return f"user {DEMO_ADMIN}, password {password}"

    @staticmethod
    def _existing_key(path: Path, *, tenant_id: int) -> str | None:
        try:
            raw = path.read_text().strip()
        except OSError:
            return None
        if not key_material.looks_like_api_key(raw):
            return None
        usable = ApiKey.objects.usable().filter(
            tenant_id=tenant_id, digest=key_material.digest_of(raw)
        )
        return raw if usable.exists() else None

    @staticmethod
    def _write_private(path: Path, raw: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(raw + "\n")
