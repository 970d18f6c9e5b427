"""The ``plan_requirement`` prompt's messages: the requirement itself, then the instructions."""

from __future__ import annotations

import json
from typing import Any

from tools.workspace.schemas import RequirementDetail

INSTRUCTIONS = """\
Break the requirement above into tasks a developer can finish in a day or less each.

- Read its description, repositories and the tasks it already has; do not repeat those.
- Propose the new tasks as a numbered list: a short imperative title, then one or two \
sentences saying what done looks like and which repository it touches.
- Order them so each can start when the ones before it are done; say which can run in \
parallel.
- Name open questions separately instead of guessing.
- When the user agrees, create each task with the create_task tool \
(requirement_id "{id}")."""


def plan_messages(detail: RequirementDetail) -> list[dict[str, Any]]:
    body = detail.model_dump(mode="json")
    resource = {"uri": detail.uri, "mimeType": "application/json", "text": json.dumps(body)}
    return [
        {"role": "user", "content": {"type": "resource", "resource": resource}},
        {"role": "user", "content": {"type": "text", "text": INSTRUCTIONS.format(id=detail.id)}},
    ]
