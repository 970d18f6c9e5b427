"""Celery tasks of the MCP endpoint: the work of an MCP task (tasks extension), in a worker."""

import asyncio

from celery import shared_task


@shared_task(name="mcpserver.run_tool_task", ignore_result=True)
def run_tool_task(tenant_id: int, task_id: str) -> None:
    """Run one MCP task to its end; everything it needs is in the shared store."""
    from mcpserver.protocol.task_runner import execute

    asyncio.run(execute(tenant_id, task_id))
