"""Django middleware for the admin, portal and API side of the server."""

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from mcpserver.context import client_ip, request_id_from_header, request_id_var


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID) and a trusted client address."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def _enter(self, request: HttpRequest) -> object:
        request.request_id = request_id_from_header(  # type: ignore[attr-defined]
            request.headers.get("X-Request-ID")
        )
        request.client_ip = client_ip(  # type: ignore[attr-defined]
            peer=request.META.get("REMOTE_ADDR"),
            forwarded_for=request.headers.get("X-Forwarded-For"),
        )
        return request_id_var.set(request.request_id)  # type: ignore[attr-defined]

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self._is_async:
            return self.__acall__(request)
        token = self._enter(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)  # type: ignore[arg-type]
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        token = self._enter(request)
        try:
            response = await self.get_response(request)  # type: ignore[misc]
        finally:
            request_id_var.reset(token)  # type: ignore[arg-type]
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response
