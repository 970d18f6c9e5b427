"""The django-redis cache entry for the shared store (imported by settings: no Django here)."""

from typing import Any


def store_cache(url: str) -> dict[str, Any]:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SERIALIZER": "sessions_store.serializers.BytesSerializer",
            # Short timeouts: a slow Redis must become a miss (full validation), not a hang.
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            "CONNECTION_POOL_KWARGS": {"max_connections": 64, "health_check_interval": 30},
        },
    }
