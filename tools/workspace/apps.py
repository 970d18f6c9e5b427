from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "tools.workspace"
    label = "workspace"
    verbose_name = "Workspace"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the tool set with tools.registry; it imports the models, so not earlier.
        from tools.workspace import toolset  # noqa: F401
