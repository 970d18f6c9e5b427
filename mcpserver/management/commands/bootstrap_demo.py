"""``make run``'s demo: two tenants with the workspace tools, seeded work, scoped keys, a login.

Safe to run again: what exists is kept (the keys and the admin password live in private files
in the checkout), and only a tenant created now is seeded.
"""

import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser
from django.db import transaction

from mcpserver.conf import mcp_settings
from tenants import catalogue, key_material, selectors, services
from tenants.management.base import OpsCommand
from tenants.models import ApiKey, Tenant
from tools.workspace import services as workspace

DEMO_ADMIN = "admin"
DEMO_SCOPES = ["workspace:read", "workspace:write"]

# What the demo tenant's team is working on, so the first tools/call finds something.
DEMO_WORK: list[dict[str, Any]] = [
    {
        "title": "Single sign-on for the customer portal",
        "description": "Customers sign in with their company's identity provider (OIDC), "
        "keep one session across the portal and the API, and sign out everywhere at once.",
        "status": "in_progress",
        "priority": "high",
        "repositories": ["demo/portal", "demo/api"],
        "owner": "dana@demo.example",
        "tasks": [
            ("Register the portal as an OIDC client per tenant", "done", "dana@demo.example"),
            ("Callback view with PKCE and state checks", "in_progress", "lee@demo.example"),
            ("Sign out everywhere", "todo", ""),
        ],
    },
    {
        "title": "Export invoices as CSV",
        "description": "Finance wants a monthly CSV export of invoices with totals per "
        "currency, downloadable from the billing page.",
        "status": "open",
        "priority": "medium",
        "repositories": ["demo/billing"],
        "owner": "sam@demo.example",
        "tasks": [("Define the CSV columns with finance", "todo", "sam@demo.example")],
    },
    {
        "title": "Rate limits on the public API",
        "description": "Per-customer limits with a clear 429 and Retry-After, shared by every "
        "instance.",
        "status": "draft",
        "priority": "urgent",
        "repositories": ["demo/api"],
        "owner": "",
        "tasks": [],
    },
]
OTHER_WORK: list[dict[str, Any]] = [
    {
        "title": "Globex: warehouse barcode scanning",
        "description": "Only Globex's users can see this requirement; the demo tenant cannot.",
        "status": "open",
        "priority": "low",
        "repositories": ["globex/warehouse"],
        "owner": "hank@globex.example",
        "tasks": [],
    }
]


class Command(OpsCommand):
    help = (
        "Local development: make sure the demo tenants, their API keys and an admin login "
        "exist, and print how to connect. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        base = Path(settings.BASE_DIR)
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--key-file", default=str(base / ".demo-api-key"))
        parser.add_argument("--admin-file", default=str(base / ".demo-admin-password"))

    def run(self, *, slug: str, key_file: str, admin_file: str, **options: Any) -> None:
        tenant = self._tenant(slug, "Demo Co", DEMO_WORK)
        raw = self._key(tenant, Path(key_file))
        other = self._tenant(f"{slug}-globex", "Globex (a second tenant)", OTHER_WORK)
        other_raw = self._key(other, Path(f"{key_file}-globex"))
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
            f"Claude Code: claude mcp add --transport http {slug} {endpoint} "
            f'--header "Authorization: Bearer {raw}"'
        )
        self.stdout.write(
            f"A second tenant, to see isolation: {other.resource_identifier} (key {other_raw})"
        )
        self.stdout.write(
            f"Admin: {mcp_settings.PUBLIC_URL}/admin/ ({self._admin_login(admin_file)})"
        )
        self.stdout.write("Management commands: bin/manage <command> (bin/manage help lists them)")
        self.stdout.write("API key:")
        self.stdout.write(raw)

    def _tenant(self, slug: str, name: str, work: list[dict[str, Any]]) -> Tenant:
        tenant = selectors.tenant_get(slug=slug)
        if tenant is not None:
            return tenant
        with transaction.atomic():
            tenant = services.tenant_create(
                slug=slug, name=name, toolsets=catalogue.customer_toolsets(), actor=self.actor
            )
            for item in work:
                self._seed(tenant, item)
        return tenant

    def _seed(self, tenant: Tenant, item: dict[str, Any]) -> None:
        fields = {k: v for k, v in item.items() if k != "tasks"}
        requirement = workspace.requirement_create(
            tenant_id=tenant.pk, created_by="demo", actor=self.actor, **fields
        )
        for title, status, assignee in item["tasks"]:
            workspace.task_create(
                tenant_id=tenant.pk,
                requirement_id=requirement.public_id,
                title=title,
                status=status,
                assignee=assignee,
                created_by="demo",
                actor=self.actor,
            )

    def _key(self, tenant: Tenant, path: Path) -> str:
        """The key kept in ``path`` while it is usable and carries the demo scopes, or a new one."""
        try:
            raw = path.read_text().strip()
        except OSError:
            raw = ""
        if key_material.looks_like_api_key(raw):
            key = (
                ApiKey.objects.usable()
                .filter(tenant_id=tenant.pk, digest=key_material.digest_of(raw))
                .first()
            )
            if key is not None and set(DEMO_SCOPES) <= set(key.scopes):
                return raw
        _, raw = services.api_key_create(
            tenant=tenant, name="demo (make run)", scopes=DEMO_SCOPES, actor=self.actor
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(raw + "\n")
        return raw

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
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        return f"user {DEMO_ADMIN}, password {password}"
