"""The tenant page's tools section: the catalogue, the selection, a preview of tools/list.

The catalogue comes from ``tenants.catalogue`` (the tools app's registry, handed down); the
selection is validated there too, by the same ``check_selection`` the service runs, so the
form shows an error instead of the service refusing during the save.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from mcpserver.conf import mcp_settings
from tenants import catalogue, services
from tenants.audit import Actor
from tenants.forms import TenantForm
from tenants.models import Tenant

TOOLS_FIELDS = ("enabled_toolsets", "disabled_tools", "tool_catalogue", "tools_list_preview")


class TenantToolsForm(TenantForm):
    disabled_tools = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Ticked tools are left out of this tenant's tools/list and cannot be called.",
    )

    class Meta:
        model = Tenant
        fields = (*TenantForm.Meta.fields, "disabled_tools")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sets = catalogue.toolsets_by_name()
        current = current_toolsets(self.instance)
        offered = [
            name
            for name in catalogue.toolset_names()
            if name in current
            or mcp_settings.ALLOW_INTERNAL_TOOLSETS
            or not (name in sets and sets[name].internal)
        ]
        toolsets: Any = self.fields["enabled_toolsets"]
        toolsets.choices = [(name, _set_label(name, sets.get(name))) for name in offered]
        # The tools one may leave out are those of the sets this tenant may have: a fixture
        # set's, only where it may be given.
        tools = {
            t.name: f"{t.name} ({info.name})"
            for name in offered
            if (info := sets.get(name)) is not None
            for t in info.tools
        }
        # Names kept from before that no set offers now (an upstream server's) stay visible.
        kept = [n for n in self.instance.disabled_tools or () if n not in tools]
        disabled: Any = self.fields["disabled_tools"]
        disabled.choices = [*tools.items(), *((n, f"{n} (not offered now)") for n in kept)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        before = self.instance.disabled_tools if self.instance.pk else []
        try:
            catalogue.check_selection(
                toolsets=data.get("enabled_toolsets") or [],
                new_tools=[n for n in data.get("disabled_tools") or [] if n not in before],
                previously_enabled=current_toolsets(self.instance),
            )
        except ValidationError as exc:
            self.add_error(None, exc)
        return data


def current_toolsets(tenant: Tenant) -> list[str]:
    return list(tenant.enabled_toolsets or ()) if tenant.pk else []


def _set_label(name: str, info: catalogue.ToolSetInfo | None) -> str:
    if info is None:
        return name
    internal = " [internal: test fixture]" if info.internal else ""
    return f"{name}{internal}: {info.description}" if info.description else f"{name}{internal}"


class TenantToolsAdminMixin:
    """For ``TenantAdmin``: the tools fieldset, its read-only parts, and saving it."""

    def get_fieldsets(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        fields = self.get_fields(request, obj)  # type: ignore[attr-defined]
        tools = [f for f in TOOLS_FIELDS if obj is not None or f != "tools_list_preview"]
        return [
            (None, {"fields": [f for f in fields if f not in TOOLS_FIELDS]}),
            ("Tools", {"fields": tools}),
        ]

    @staticmethod
    def tools_readonly(obj: Tenant | None) -> tuple[str, ...]:
        return ("tool_catalogue",) if obj is None else ("tool_catalogue", "tools_list_preview")

    def tool_catalogue(self, obj: Tenant | None) -> SafeString:
        enabled = set(obj.enabled_toolsets) if obj is not None and obj.pk else set()
        disabled = set(obj.disabled_tools) if obj is not None and obj.pk else set()
        sets = [
            {
                "info": info,
                "enabled": info.name in enabled,
                "tools": [
                    {
                        "info": tool,
                        "disabled": tool.name in disabled,
                        "annotations": ", ".join(
                            f"{k}: {json.dumps(v)}" for k, v in tool.annotations.items()
                        ),
                    }
                    for tool in info.tools
                ],
            }
            for info in catalogue.source().toolsets()
            # A fixture set is shown only where it may be given, or where it already is.
            if not info.internal or info.name in enabled or mcp_settings.ALLOW_INTERNAL_TOOLSETS
        ]
        return render_to_string("admin/tenants/tenant/catalogue.html", {"sets": sets})

    tool_catalogue.short_description = "catalogue"  # type: ignore[attr-defined]

    def tools_list_preview(self, obj: Tenant) -> SafeString:
        tools = catalogue.source().tools_list(obj.enabled_toolsets, obj.disabled_tools)
        preview = json.dumps({"tools": tools}, indent=2)
        return render_to_string(
            "admin/tenants/tenant/tools_preview.html", {"preview": preview, "count": len(tools)}
        )

    tools_list_preview.short_description = "tools/list preview"  # type: ignore[attr-defined]

    @staticmethod
    def save_tools(stored: Tenant, form: forms.Form, actor: Actor) -> Tenant:
        """Bring the stored tenant to the form's selection (one audited service call)."""
        wanted = set(form.cleaned_data.get("disabled_tools") or [])
        return services.tenant_set_tools(
            tenant=stored,
            toolsets=form.cleaned_data["enabled_toolsets"],
            enable_tools=sorted(set(stored.disabled_tools) - wanted),
            disable_tools=sorted(wanted - set(stored.disabled_tools)),
            actor=actor,
        )
