from importlib import import_module

from django.apps import AppConfig


def toolset_module(entry: str) -> str:
    """A ``TOOLSETS`` entry as a module path: a bare name means ``tools.<name>``."""
    return entry if "." in entry else f"tools.{entry}"


class ToolsConfig(AppConfig):
    name = "tools"
    verbose_name = "Tools"

    def ready(self) -> None:
        # MCP_SERVER["TOOLSETS"] lists modules. Importing one runs its decorators (or its own
        # register() call); every tools.authoring.Toolset found in it is then registered, so
        # the registry itself never imports its tool sets.
        from mcpserver.conf import mcp_settings, provide_toolset_names
        from tools.authoring import register_module
        from tools.registry import all_toolsets

        for entry in mcp_settings.TOOLSETS:
            register_module(import_module(toolset_module(entry)))
        # tenants validates a tenant's list against these names but sits below tools.
        provide_toolset_names(lambda: tuple(all_toolsets()))
