from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "tools.workspace"
    label = "workspace"
    verbose_name = "Workspace"
    default_auto_field = "django.db.models.BigAutoField"
