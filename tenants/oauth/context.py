"""The tenant whose authorization server is handling the current request.

django-oauth-toolkit knows nothing of tenants: the views in ``tenants.oauth.views`` pin the
tenant here for the request's duration, and the validator and token generator read it."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from tenants.models import Tenant

_current: contextvars.ContextVar[Tenant | None] = contextvars.ContextVar(
    "broker_tenant", default=None
)


@contextmanager
def serving(tenant: Tenant) -> Iterator[None]:
    token = _current.set(tenant)
    try:
        yield
    finally:
        _current.reset(token)


def tenant() -> Tenant:
    current = _current.get()
    if current is None:
        raise RuntimeError("the broker was reached outside tenants.oauth.views")
    return current
