"""django-oauth-toolkit's validator, bound to the tenant being served: a client is known only
at the tenant it belongs to, and a token request may ask for that tenant's resource only. A
refresh token's family is the one its access token names (``tokens.family_of``), and a family
revoked here (its old refresh token replayed, or revoked at the revocation endpoint) refuses
that family's access tokens at once on every instance (``tenants.oauth.revoking``).

What a person grants stays at the tenant they granted it at. A metadata-document client is
linked to every tenant it is used at, so the client alone does not say where a code or a
refresh token was issued: each is made for the tenant's resource (a request that names none
gets it), and one made for another resource is unknown here (``invalid_grant``, nothing
revoked). A grant made before that rule, with no resource, is taken only where its client is
known at no other tenant.
"""

from __future__ import annotations

import hashlib
from typing import Any

from oauth2_provider.cimd import is_cimd_client_id
from oauth2_provider.models import AccessToken, Grant, RefreshToken
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

    def _create_authorization_code(self, request: Any, code: Any, expires: Any = None) -> Any:
        if not getattr(request, "resource", None):
            request.resource = [context.tenant().resource_identifier]
        return super()._create_authorization_code(request, code, expires)

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        grant = Grant.objects.filter(code=code, application=client).only("resource").first()
        if grant is None or not _made_here(grant.resource, client):
            return False
        return bool(super().validate_code(client_id, code, client, request, *args, **kwargs))

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
        if _issued_elsewhere(refresh_token, client, (RefreshToken,)):
            return False  # another tenant's: unknown here, and nothing of it revoked
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if not valid:
            # A revoked refresh token presented again: the library has revoked its family
            # (reuse protection); make that reach the family's access tokens too.
            revoking.family_refused(refresh_token)
        return bool(valid)

    def revoke_token(
        self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        if _issued_elsewhere(token, request.client, (RefreshToken, AccessToken)):
            return  # RFC 7009: an unknown token is answered like a revoked one
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        revoking.refresh_token_revoked(token, request)


def _issued_elsewhere(token: str, client: Any, kinds: tuple[Any, ...]) -> bool:
    """Whether ``token``, one of ``client``'s, was made by another tenant."""
    if getattr(client, "pk", None) is None:
        return False
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    for kind in kinds:
        rows = kind.objects.filter(token_checksum=checksum, application=client)
        for resource in rows.values_list("resource", flat=True)[:2]:
            if not _made_here(resource, client):
                return True
    return False


def _made_here(resource: Any, client: Any) -> bool:
    """Whether a code or refresh token made for ``resource`` was issued by this tenant."""
    tenant = context.tenant()
    if resource:
        own = tenant.resource_identifier
        return isinstance(resource, list) and all(item == own for item in resource)
    return not BrokerClient.objects.filter(application=client).exclude(tenant=tenant).exists()
