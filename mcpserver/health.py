"""Liveness and readiness endpoints for load balancers and orchestrators."""

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def _database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("readiness: database unreachable", exc_info=True)
        return False
    return True


def _redis_ready() -> bool:
    from django_redis import get_redis_connection

    try:
        return bool(get_redis_connection("default").ping())
    except Exception:
        logger.warning("readiness: redis unreachable", exc_info=True)
        return False


def readiness() -> dict[str, bool]:
    """Each part this instance needs, and whether it answers now."""
    checks = {"database": _database_ready()}
    if settings.REDIS_URL:
        checks["redis"] = _redis_ready()
    return checks


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The parts this instance needs are reachable; 503 names the ones that are not."""
    checks = readiness()
    failing = sorted(name for name, ok in checks.items() if not ok)
    body: dict[str, object] = {
        "status": "unavailable" if failing else "ready",
        "checks": {name: "ok" if ok else "failing" for name, ok in checks.items()},
    }
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
