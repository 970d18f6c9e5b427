"""How the OpenAPI document describes the API's authentication (drf-spectacular extensions)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.BearerAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key holding the admin scope, or an access token from the "
            "staff or the tenant's identity provider.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.SessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class _ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False)


class ErrorSerializer(serializers.Serializer):
    """The one shape of every error answer (tenants.api.errors)."""

    error = _ErrorBody()


# Every operation may answer these, in the error shape.
_ERRORS = ("400", "401", "403", "404", "405", "406", "415", "429")


class ApiSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = dict(super()._get_response_bodies(direction))
        for code in _ERRORS:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
        return responses
