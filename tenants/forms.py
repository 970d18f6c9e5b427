"""Admin forms: friendlier widgets for the JSON list fields, validation before services run."""

from typing import Any

from django import forms
from django.utils import timezone

from mcpserver.conf import mcp_settings
from tenants import catalogue
from tenants.models import ApiKey, IdentityProvider, Tenant
from tenants.validators import ALLOWED_ALGORITHMS


class WordListField(forms.CharField):
    """A list of words typed as text, separated by commas or spaces."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return " ".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [word for word in text.replace(",", " ").split() if word]


class TenantForm(forms.ModelForm):
    enabled_toolsets = forms.MultipleChoiceField(
        choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Tenant
        fields = ("slug", "name", "enabled_toolsets", "rate_limit_tenant", "rate_limit_credential")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        toolsets: Any = self.fields["enabled_toolsets"]
        toolsets.choices = [(name, name) for name in catalogue.toolset_names()]
        if not self.instance.pk:
            self.initial.setdefault("enabled_toolsets", list(mcp_settings.DEFAULT_TOOLSETS))
        defaults = {
            "rate_limit_tenant": mcp_settings.RATE_LIMIT_TENANT,
            "rate_limit_credential": mcp_settings.RATE_LIMIT_CREDENTIAL,
        }
        for name, default in defaults.items():
            self.fields[name].widget.attrs["placeholder"] = f"default: {default or 'off'}"

    def clean_rate_limit_tenant(self) -> str:
        return str(self.cleaned_data.get("rate_limit_tenant") or "").strip()

    def clean_rate_limit_credential(self) -> str:
        return str(self.cleaned_data.get("rate_limit_credential") or "").strip()


class IdentityProviderForm(forms.ModelForm):
    issuer = forms.URLField(assume_scheme="https", max_length=500)
    jwks_uri = forms.URLField(
        assume_scheme="https",
        max_length=500,
        required=False,
        help_text="Leave blank to discover it from the issuer's metadata.",
    )
    algorithms = forms.MultipleChoiceField(
        choices=[(alg, alg) for alg in ALLOWED_ALGORITHMS],
        initial=["RS256", "ES256"],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = IdentityProvider
        fields = (
            "tenant",
            "issuer",
            "jwks_uri",
            "audience",
            "algorithms",
            "org_claim",
            "org_value",
            "scopes_claim",
            "allow_private_network",
            "enabled",
        )


class ApiKeyCreateForm(forms.ModelForm):
    scopes = WordListField(
        required=False, help_text="Separated by spaces or commas. Leave blank for no scopes."
    )

    class Meta:
        model = ApiKey
        fields = ("tenant", "name", "scopes", "expires_at")

    def clean_expires_at(self) -> Any:
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return expires_at
