import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def redis_settings(url: str) -> dict:
    return {
        "REDIS_URL": url,
        "CACHES": {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": url,
                "OPTIONS": {
                    "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
                    "SOCKET_CONNECT_TIMEOUT": 0.5,
                    "SOCKET_TIMEOUT": 0.5,
                },
            }
        },
    }


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


def test_request_id_is_echoed_when_plain_and_replaced_when_not(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
    assert replaced != "bad id\nwith newline" and len(replaced) == 32


def test_readyz_with_database_only(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_readyz_with_redis(client, redis_url):
    with override_settings(**redis_settings(redis_url)):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_names_unreachable_redis(client, tmp_path):
    with override_settings(**redis_settings(f"unix://{tmp_path}/nothing-here.sock")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]
    assert response.json()["status"] == "unavailable"


def test_healthz_is_get_only(client):
    assert client.post("/healthz").status_code == 405
