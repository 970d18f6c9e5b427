"""django-oauth-toolkit's validator, bound to the tenant being served: a client is known only
at the tenant it belongs to, and a token request may ask for that tenant's resource only."""

from __future__ import annotations

from typing import Any

from oauth2_provider.cimd import is_cimd_client_id
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from tenants.models import BrokerClient
from tenants.oauth import context


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
