"""One error shape for every API answer that is not a success:

``{"error": {"code": "not_found", "message": "...", "fields": {...}}}`` (``fields`` only for
validation errors). Django's ValidationError from a service becomes a 400 in the same shape;
anything unexpected is DRF's to log and a plain 500 without internals.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    415: "unsupported_media_type",
    429: "throttled",
}


def _message(detail: Any) -> str:
    if isinstance(detail, dict):
        return "The request is not valid."
    if isinstance(detail, list):
        return " ".join(str(item) for item in detail) or "The request is not valid."
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(fields)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = (
        response.data.get("detail", response.data)
        if isinstance(response.data, dict)
        else response.data
    )
    error: dict[str, Any] = {
        "code": _CODES.get(response.status_code, "error"),
        "message": _message(detail),
    }
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        error["fields"] = exc.detail
    elif isinstance(exc, exceptions.ValidationError):
        error["message"] = _message(exc.detail)
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        error["message"] = (
            error["message"] + " Sign in, or send 'Authorization: Bearer <token>' with an API key "
            "holding the admin scope or an access token."
        )
    response.data = {"error": error}
    return response
