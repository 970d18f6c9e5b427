from importlib import import_module

from django.apps import AppConfig


class ToolsConfig(AppConfig):
    name = "tools"
    verbose_name = "Tools"

    def ready(self) -> None:
        # One module per tool set, named as the set: importing it registers it with
        # tools.registry, so the registry itself never imports its tool sets.
        from mcpserver.conf import mcp_settings

        for name in mcp_settings.TOOLSETS:
            import_module(f"tools.{name}")
