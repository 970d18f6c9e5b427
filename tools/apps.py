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
        from mcpserver.conf import mcp_settings
        from tools.authoring import register_module

        for entry in mcp_settings.TOOLSETS:
            register_module(import_module(toolset_module(entry)))

        # What tenants need of the tools layer, handed down rather than imported from below:
        # the catalogue to validate a tenant's selection against, and the announcement of a
        # changed selection to the tenant's listening clients.
        from tenants import catalogue, signals
        from tools import enablement, events

        catalogue.register_source(enablement.RegistrySource())
        signals.tools_changed.connect(events.announce_tools_changed, dispatch_uid="tools-changed")
