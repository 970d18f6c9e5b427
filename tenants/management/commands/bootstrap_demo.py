import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from mcpserver.conf import mcp_settings
from tenants import catalogue, key_material, selectors, services
from tenants.management.base import OpsCommand
from tenants.models import ApiKey


class Command(OpsCommand):
    help = (
        "Local development: make sure a demo tenant with a working API key exists and print "
        "how to connect. Safe to run again; the key is kept in a private file in the checkout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--key-file", default=str(Path(settings.BASE_DIR) / ".demo-api-key"))

    def run(self, *, slug: str, key_file: str, **options: Any) -> None:
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
            f"Admin: {mcp_settings.PUBLIC_URL}/admin/ (python manage.py createsuperuser)"
        )
        self.stdout.write("API key:")
        self.stdout.write(raw)

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
