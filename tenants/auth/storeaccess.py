"""The one place authentication reaches the shared store from."""

from typing import Any


def get_store() -> Any:
    try:
        from sessions_store.store import get_store as shared_store
    except ImportError:  # the shared store is not installed: one process only
        from tenants.auth.standin_store import get_store as shared_store
    return shared_store()
