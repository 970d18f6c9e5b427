"""Shared content and request builders of the conformance fixture."""

from collections.abc import Mapping
from typing import Any

# A 1x1 red PNG and a minimal WAV file, base64-encoded.
IMAGE_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAF"
    "BQIAX8jx0gAAAABJRU5ErkJggg=="
)
AUDIO_WAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
EMPTY_SCHEMA = {"type": "object", "properties": {}}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def result(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"content": list(blocks)}


def elicit(message: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "method": "elicitation/create",
        "params": {
            "message": message,
            "requestedSchema": {"type": "object", "properties": properties, "required": required},
        },
    }


def sample(prompt: str, max_tokens: int) -> dict[str, Any]:
    return {
        "method": "sampling/createMessage",
        "params": {
            "messages": [{"role": "user", "content": text(prompt)}],
            "maxTokens": max_tokens,
        },
    }


ROOTS = {"method": "roots/list", "params": {}}


def sampled_text(answer: Mapping[str, Any]) -> str:
    content = answer.get("content")
    if isinstance(content, Mapping):
        return str(content.get("text", ""))
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return str(content[0].get("text", ""))
    return ""


def accepted(answer: Mapping[str, Any]) -> Mapping[str, Any]:
    content = answer.get("content")
    return content if isinstance(content, Mapping) else {}
