"""django-oauth-toolkit's validator, bound to the tenant being served: a client is known only
at the tenant it belongs to, and a token request may ask for that tenant's resource only. A
refresh token's family is the one its access token names (``tokens.family_of``), and a family
revoked here (its old refresh token replayed, or revoked at the revocation endpoint) refuses
that family's access tokens at once on every instance (``tenants.oauth.revoking``)."""

from __future__ import annotations

from typing import Any

from oauth2_provider.cimd import is_cimd_client_id
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from tenants.models import BrokerClient
from tenants.oauth import context, revoking, tokens


class BrokerValidator(OAuth2Validator):
    def _load_application(self, client_id: str, request: Any) -> Any:
        application = super()._load_application(client_id, request)
        if application is None:
            return None
        tenant = context.tenant()
        link = BrokerClient.objects.filter(tenant=tenant, application=application).first()
        if link is not None and link.revoked_at is None:
            return application
        if link is None and is_cimd_client_id(application.client_id):
            # A metadata-document client is anyone's: linked to each tenant it is used at.
            BrokerClient.objects.get_or_create(tenant=tenant, application=application)
            return application
        request.client = None
        return None  # registered at another tenant, or revoked here: unknown

    def _check_and_set_request_resource(self, request: Any) -> None:
        super()._check_and_set_request_resource(request)
        own = context.tenant().resource_identifier
        if any(resource != own for resource in request.resource):
            raise errors.CustomOAuth2Error(
                error="invalid_target",
                description="This authorization server issues tokens for its tenant's "
                "resource only.",
                request=request,
            )

    def _create_refresh_token(
        self, request: Any, refresh_token_code: Any, access_token: Any, previous: Any
    ) -> Any:
        refresh = super()._create_refresh_token(request, refresh_token_code, access_token, previous)
        family = tokens.family_of(request)  # what the access token just signed names
        if refresh.token_family != family:
            refresh.token_family = family
            refresh.save(update_fields=["token_family"])
        return refresh

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if not valid:
            # A revoked refresh token presented again: the library has revoked its family
            # (reuse protection); make that reach the family's access tokens too.
            revoking.family_refused(refresh_token)
        return bool(valid)

    def revoke_token(
        self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        revoking.refresh_token_revoked(token, request)
