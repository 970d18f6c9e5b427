"""What the API shows and accepts. Secrets never appear: keys show their id and last four."""

from __future__ import annotations

from rest_framework import serializers

from tenants.models import ApiKey, AuditLog, IdentityProvider, Membership, Tenant


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ("slug", "name", "status", "enabled_toolsets", "disabled_tools", "created_at")
        read_only_fields = ("status", "enabled_toolsets", "disabled_tools", "created_at")


class TenantCreateSerializer(serializers.Serializer):
    slug = serializers.CharField(max_length=63)
    name = serializers.CharField(max_length=200)
    toolsets = serializers.ListField(child=serializers.CharField(max_length=100), required=False)


class TenantUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=Tenant.Status.choices, required=False)


class ToolsSerializer(serializers.Serializer):
    toolsets = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    enable_tools = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list
    )
    disable_tools = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list
    )


class ToolsStateSerializer(serializers.Serializer):
    enabled_toolsets = serializers.ListField(child=serializers.CharField())
    disabled_tools = serializers.ListField(child=serializers.CharField())


class IdentityProviderSerializer(serializers.ModelSerializer):
    class Meta:
        model = IdentityProvider
        fields = (
            "id", "issuer", "jwks_uri", "audience", "algorithms", "org_claim", "org_value",
            "scopes_claim", "allow_private_network", "enabled", "keys_error", "created_at",
        )  # fmt: skip
        read_only_fields = ("id", "enabled", "keys_error", "created_at")


class EnabledSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()


class ApiKeySerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = (
            "public_id", "name", "last_four", "scopes", "expires_at", "revoked_at",
            "last_used_at", "created_by", "created_at", "state", "owner",
        )  # fmt: skip
        read_only_fields = fields

    def get_state(self, key: ApiKey) -> str:
        return "revoked" if key.is_revoked else "expired" if key.is_expired else "active"

    def get_owner(self, key: ApiKey) -> str | None:
        return key.owner.get_username() if key.owner_id and key.owner else None


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    scopes = serializers.ListField(
        child=serializers.RegexField(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$"),
        required=False,
        default=list,
        max_length=50,
    )
    expires_in_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The raw key: shown in this answer only.")

    class Meta(ApiKeySerializer.Meta):
        fields: tuple[str, ...] = (*ApiKeySerializer.Meta.fields, "key")  # type: ignore[assignment]
        read_only_fields: tuple[str, ...] = fields  # type: ignore[assignment]


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ("id", "username", "email", "role", "subject", "created_at")
        read_only_fields = ("id", "username", "email", "subject", "created_at")


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class AuditLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditLog
        fields = (
            "id", "time", "actor", "action", "target", "outcome", "client_ip", "request_id",
            "details", "seq",
        )  # fmt: skip
        read_only_fields = fields


class SeenClientSerializer(serializers.Serializer):
    credential = serializers.CharField()
    client = serializers.CharField()
    protocol_version = serializers.CharField()
    last_used = serializers.DateTimeField()
    calls = serializers.IntegerField()


class SignOutSerializer(serializers.Serializer):
    revoked_keys = serializers.ListField(child=serializers.CharField())
