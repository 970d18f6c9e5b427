from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        # Tenant secrets are sealed with the store's key ring: its rotation re-seals them.
        from sessions_store.maintenance import register_resealer
        from tenants import secrets

        register_resealer("tenant-secrets", secrets.reseal)
