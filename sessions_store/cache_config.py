"""The cache and channel-layer entries settings build from ``REDIS_URL`` (imported by
settings: no Django here). Without Redis, the embedded default: in-process backends."""

from typing import Any


def store_cache(url: str) -> dict[str, Any]:
    """The encrypted shared store: raw bytes (sealed envelopes), never pickle."""
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


def shared_caches(url: str | None) -> dict[str, Any]:
    """``CACHES``: Django's default cache and the shared store on Redis, or in-process."""
    if not url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
                "SOCKET_CONNECT_TIMEOUT": 1.0,
                "SOCKET_TIMEOUT": 1.0,
            },
            "KEY_PREFIX": "mcp",
        },
        "store": store_cache(url),
    }


def channel_layers(url: str | None) -> dict[str, Any]:
    """``CHANNEL_LAYERS``: channels_redis with messages sealed by the store's key ring, socket
    reads longer than its blocking pop, and a bounded pool that queues bursts instead of
    failing; in-process without Redis."""
    if not url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return {
        "default": {
            "BACKEND": "sessions_store.channel_layer.SealedRedisChannelLayer",
            "CONFIG": {
                "hosts": [url],
                # Streams hold a connection only for short commands (receiving is one pop per
                # process), so this covers MCP_SERVER["STREAMS_PER_PROCESS"] opening at once.
                "max_connections": 50,
                "pool_timeout": 10.0,
                # A stream refreshes its group membership every STREAM_KEEPALIVE seconds; the
                # member of a process that died without leaving is dropped after this.
                "group_expiry": 90,
            },
        }
    }
