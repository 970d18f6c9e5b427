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

        # What tenants need of the tools layer, handed down rather than imported from below:
        # the catalogue to validate a tenant's selection against, and the announcement of a
        # changed selection to the tenant's listening clients.
        from tenants import catalogue, signals
        from tools import enablement, events

        catalogue.register_source(enablement.RegistrySource())
        signals.tools_changed.connect(events.announce_tools_changed, dispatch_uid="tools-changed")
