"""The Django project: settings, ASGI routing, the Celery app and the MCP protocol."""

from mcpserver.celery import app as celery_app

__all__ = ("celery_app",)
