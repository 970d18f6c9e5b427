"""Client ID metadata documents fetched through the project's guarded outbound client
(``tenants.outbound``: the address checked before connecting, no private networks, bounded
time and size), not django-oauth-toolkit's own fetcher."""

from __future__ import annotations

import json
from typing import Any

from oauth2_provider.cimd import CIMDError, _effective_max_age, _validate_client_id_url
from oauth2_provider.settings import oauth2_settings

from tenants import outbound


class OutboundMetadataFetcher:
    def fetch(self, client_id: str) -> tuple[dict[str, Any], int | None]:
        _validate_client_id_url(client_id)  # https, a path, no fragment or user info
        policy = outbound.OutboundPolicy(
            timeout=float(oauth2_settings.CIMD_FETCH_TIMEOUT_SECONDS),
            max_bytes=int(oauth2_settings.CIMD_MAX_DOCUMENT_SIZE),
        )
        try:
            response = outbound.request(
                "GET", client_id, policy=policy, headers={"Accept": "application/json"}
            )
        except outbound.OutboundError as exc:
            raise CIMDError(f"could not fetch client_id document: {exc}") from exc
        if response.status != 200:
            raise CIMDError(f"client_id document returned HTTP {response.status}")
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not (
            media.startswith("application/") and media.endswith("+json")
        ):
            raise CIMDError("client_id document is not JSON")
        try:
            data = json.loads(response.body)
        except ValueError as exc:
            raise CIMDError("client_id document is not valid JSON") from exc
        if not isinstance(data, dict):
            raise CIMDError("client_id document must be a JSON object")
        return data, _effective_max_age(response.headers.get("cache-control"))
