"""Notes shared by a tenant's users, kept in Django's cache (Redis when REDIS_URL is set)."""

from django.core.cache import cache
from pydantic import BaseModel, Field

from tenants.principal import Principal
from tools.authoring import Toolset

notes = Toolset("notes", description="Short notes shared by a tenant's users")


class Note(BaseModel):
    number: int
    text: str


@notes.tool(title="Add a note", read_only=False, idempotent=False, open_world=False)
async def add_note(principal: Principal, text: str = Field(max_length=500)) -> Note:
    """Adds a note for everyone in the caller's tenant and returns it with its number."""
    saved = await cache.aget(f"notes:{principal.tenant_id}", [])
    note = Note(number=len(saved) + 1, text=text)
    await cache.aset(f"notes:{principal.tenant_id}", [*saved, note.model_dump()], None)
    return note


@notes.tool(title="List notes", read_only=True, open_world=False)
async def list_notes(principal: Principal) -> list[Note]:
    """Lists the tenant's notes, oldest first."""
    return [Note(**note) for note in await cache.aget(f"notes:{principal.tenant_id}", [])]
