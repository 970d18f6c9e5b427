"""``python manage.py mcp_stdio SLUG``: serve one tenant's MCP endpoint over stdio.

The API key comes from the ``MCP_API_KEY`` environment variable (never the command line, where
other users of the machine could read it) and goes through the same authentication as HTTP.
"""

import asyncio
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mcpserver.protocol.stdio import StdioServer


class Command(BaseCommand):
    help = "Serve a tenant's MCP endpoint over stdio (API key in MCP_API_KEY)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, slug: str, **options: Any) -> None:
        key = os.environ.get("MCP_API_KEY", "")
        if not key:
            raise CommandError("Set MCP_API_KEY to one of the tenant's API keys.")
        asyncio.run(self._serve(slug, key))

    async def _serve(self, slug: str, key: str) -> None:
        from mcpserver.refusals import AuthFailure
        from tenants.auth import tenantcache
        from tenants.auth.authenticator import authenticate

        config = await tenantcache.resolve(slug)
        if config is None:
            raise CommandError(f"No active tenant {slug!r}.")
        try:
            principal = await authenticate(config, f"Bearer {key}")
        except AuthFailure as failure:
            raise CommandError(f"The API key was refused: {failure.description}") from None
        loop = asyncio.get_running_loop()
        stdout = sys.stdout.buffer

        async def readline() -> bytes:
            return await loop.run_in_executor(None, sys.stdin.buffer.readline)

        async def write(data: bytes) -> None:
            stdout.write(data)
            stdout.flush()

        toolsets = config.tenant.enabled_toolsets
        await StdioServer(config.tenant, principal, toolsets, write).serve(readline)
