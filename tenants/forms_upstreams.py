"""Admin forms for tenant secrets, upstream servers and HTTP tools: everything the services
would refuse is refused here first, so a save never fails half-way.

The secret's value field is a password input that never renders a value: on a change page
it is empty, and left empty it keeps the stored value.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from tenants import catalogue
from tenants.forms import WordListField
from tenants.models import HttpTool, TenantSecret, Upstream
from tenants.upstreams.httpspec import flat_messages, normalized_http_tool_spec
from tenants.upstreams.spec import validate_secret_value


class TenantSecretForm(forms.ModelForm):
    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        required=False,
        strip=False,
        help_text="Stored encrypted; it cannot be shown again. On an existing secret, leave "
        "blank to keep the current value.",
    )

    class Meta:
        model = TenantSecret
        fields = ("tenant", "name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        value = data.get("value") or ""
        if not value and self.instance.pk is None:
            self.add_error("value", "Give the secret's value.")
        elif value:
            try:
                validate_secret_value(value)
            except ValidationError as exc:
                self.add_error("value", exc)
        return data


class UpstreamForm(forms.ModelForm):
    url = forms.URLField(label="MCP endpoint URL", assume_scheme="https", max_length=500)
    scopes = WordListField(required=False, help_text="Separated by spaces or commas.")

    class Meta:
        model = Upstream
        fields = (
            "tenant", "name", "url", "headers", "allow_private_network", "timeout", "scopes",
            "enabled",
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        tenant, name = data.get("tenant"), data.get("name")
        taken = Upstream.objects.filter(tenant=tenant, name=name)
        if self.instance.pk is None and tenant and name and taken.exists():
            self.add_error("name", f"Tenant {tenant.slug} already has an upstream {name!r}.")
        return data


class HttpToolForm(forms.ModelForm):
    spec = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "cols": 90, "spellcheck": "false"}),
        help_text="The tool's JSON specification (the README's 'Upstream HTTP APIs'). Its "
        "name cannot change once created.",
    )

    class Meta:
        model = HttpTool
        fields = ("tenant", "spec", "enabled")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            spec = {"name": self.instance.name, **dict(self.instance.spec or {})}
            self.initial["spec"] = json.dumps(spec, indent=2)

    def clean_spec(self) -> dict[str, Any]:
        try:
            document = json.loads(self.cleaned_data["spec"])
        except ValueError as exc:
            raise ValidationError(f"Not JSON: {exc}.") from exc
        if self.instance.pk is not None and isinstance(document, dict):
            document["name"] = self.instance.name
        try:
            spec = normalized_http_tool_spec(document)
        except ValidationError as exc:
            raise ValidationError(flat_messages(exc)) from exc
        static = {t.name for info in catalogue.toolsets_by_name().values() for t in info.tools}
        if spec["name"] in static:
            raise ValidationError(f"A registered tool set already has a tool {spec['name']!r}.")
        return spec

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        spec, tenant = data.get("spec"), data.get("tenant")
        if self.instance.pk is None and spec and tenant:
            name = spec["name"]
            if HttpTool.objects.filter(tenant=tenant, name=name).exists():
                self.add_error("spec", f"Tenant {tenant.slug} already has a tool {name!r}.")
        return data

    def _post_clean(self) -> None:
        # The model's name follows the spec's (set before the model's own validation runs).
        spec = self.cleaned_data.get("spec")
        if isinstance(spec, dict) and self.instance.pk is None:
            self.instance.name = spec["name"]
        super()._post_clean()  # type: ignore[misc]
