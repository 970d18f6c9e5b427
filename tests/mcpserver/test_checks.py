import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from mcpserver.conf import mcp_settings


def ids(**overrides) -> set[str | None]:
    with override_settings(**overrides):
        return {message.id for message in checks.run_checks(tags=["mcpserver"])}


def test_clean_test_configuration_passes():
    assert ids() == set()


def test_malformed_encryption_key():
    assert "mcpserver.E003" in ids(MCP_SERVER={"ENCRYPTION_KEYS": ["abc"]})


def test_missing_encryption_key_in_production_only():
    assert "mcpserver.E001" in ids(MCP_SERVER={"ENCRYPTION_KEYS": []})
    assert "mcpserver.E001" not in ids(DEBUG=True, MCP_SERVER={"ENCRYPTION_KEYS": []})


def test_pickle_serializer_on_redis_cache():
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "store": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1"},
    }
    assert "mcpserver.E004" in ids(CACHES=caches)


def test_debug_with_public_hosts():
    assert "mcpserver.E005" in ids(DEBUG=True, ALLOWED_HOSTS=["mcp.example.com"])
    assert "mcpserver.E005" not in ids(DEBUG=True, ALLOWED_HOSTS=["localhost", "127.0.0.1"])


def test_plain_http_public_url_warns():
    assert "mcpserver.W001" in ids(MCP_SERVER={"PUBLIC_URL": "http://mcp.example.com"})


def test_settings_object_defaults_overrides_and_unknown_keys():
    assert mcp_settings.API_KEY_LAST_USED_INTERVAL == 60
    with override_settings(MCP_SERVER={"API_KEY_LAST_USED_INTERVAL": 5}):
        assert mcp_settings.API_KEY_LAST_USED_INTERVAL == 5
    assert mcp_settings.API_KEY_LAST_USED_INTERVAL == 60
    with override_settings(MCP_SERVER={"NO_SUCH_KEY": 1}), pytest.raises(ImproperlyConfigured):
        _ = mcp_settings.PUBLIC_URL
    with pytest.raises(AttributeError):
        _ = mcp_settings.NO_SUCH_KEY


MANIFEST_STORAGE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_production_without_collected_static_files_refuses_to_start(tmp_path, settings):
    from mcpserver.checks import check_static_manifest

    settings.DEBUG = False
    settings.STORAGES = MANIFEST_STORAGE
    settings.STATIC_ROOT = str(tmp_path)
    [error] = check_static_manifest()
    assert error.id == "mcpserver.E008" and "collectstatic" in error.hint
    (tmp_path / "staticfiles.json").write_text("{}")
    assert check_static_manifest() == []
    settings.DEBUG = True  # make run serves assets from the apps, nothing to collect
    (tmp_path / "staticfiles.json").unlink()
    assert check_static_manifest() == []
