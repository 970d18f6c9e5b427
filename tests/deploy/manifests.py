"""The commands and settings the image and the manifests run, read from the files themselves
(so a test of them cannot drift from what is deployed)."""

import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _dockerfile_instructions() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and line[0] != "#"]


def image_command() -> list[str]:
    (cmd,) = [line for line in _dockerfile_instructions() if line.startswith("CMD ")]
    return list(json.loads(cmd.removeprefix("CMD ")))


def image_healthcheck() -> list[str]:
    (check,) = [line for line in _dockerfile_instructions() if line.startswith("HEALTHCHECK ")]
    return list(json.loads(check.split(" CMD ", 1)[1]))


def image_build_steps() -> list[list[str]]:
    """The ``python manage.py ...`` steps the image runs at build time."""
    steps = []
    for line in _dockerfile_instructions():
        for part in line.split("&&"):
            words = shlex.split(part)
            if "manage.py" in words:
                steps.append(words[words.index("python") :])
    return steps


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in _dockerfile_instructions():
        if line.startswith("ENV "):
            for item in shlex.split(line.removeprefix("ENV ")):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def k8s_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def k8s(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def k8s_container(kind: str, name: str) -> dict[str, Any]:
    return k8s(kind, name)["spec"]["template"]["spec"]["containers"][0]


def k8s_config() -> dict[str, str]:
    return dict(k8s("ConfigMap", "mcp-server")["data"])
