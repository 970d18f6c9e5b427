"""The ``builtin`` tool set: tools every tenant can have, such as ``whoami``."""

from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from tenants.principal import Principal
from tools.authoring import Toolset

builtin = Toolset(
    "builtin",
    description="Tools every tenant can have: whoami shows who the server thinks is calling.",
)


class Caller(TypedDict):
    tenant: Annotated[str, Field(description="The tenant's slug")]
    subject: Annotated[str, Field(description="Who the credential names")]
    scopes: list[str]
    auth_method: Literal["api_key", "jwt"]


@builtin.tool(title="Who am I", read_only=True, idempotent=True, open_world=False)
async def whoami(principal: Principal) -> Caller:
    """Shows who the server thinks is calling: the tenant, the subject of the credential, its
    scopes and how it was authenticated."""
    return {
        "tenant": principal.tenant_slug,
        "subject": principal.subject,
        "scopes": sorted(principal.scopes),
        "auth_method": principal.auth_method.value,
    }
