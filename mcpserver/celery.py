"""The Celery app. Configuration comes from Django settings under the CELERY_ namespace.

Workers and beat: ``celery -A mcpserver worker`` and ``celery -A mcpserver beat`` (README,
"Background jobs"). Without a broker the tasks run inline and the same jobs run from
management commands.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import task_failure, task_retry, task_success, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mcpserver.settings")

app = Celery("mcpserver")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _record(sender: Any, outcome: str) -> None:
    from tenants.alerts import record_task_result  # apps are loaded by the time a task ends

    name = getattr(sender, "name", None) or getattr(getattr(sender, "task", None), "name", "?")
    record_task_result(task=str(name), outcome=outcome)


@task_success.connect
def _on_success(sender: Any = None, **kwargs: Any) -> None:
    _record(sender, "success")


@task_retry.connect
def _on_retry(sender: Any = None, **kwargs: Any) -> None:
    _record(sender, "retry")


@task_failure.connect
def _on_failure(sender: Any = None, **kwargs: Any) -> None:
    _record(sender, "failure")


@worker_process_init.connect
def _export_metrics(**kwargs: Any) -> None:
    """Each worker process copies its counters (task results among them) into the series;
    with PROMETHEUS_MULTIPROC_DIR shared with the web processes, one scrape sees them all."""
    from mcpserver.observability import bridge

    bridge.start()
