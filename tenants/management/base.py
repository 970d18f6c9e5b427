"""A base for the ops commands: one-line errors, exit status 1, nothing changed on failure."""

import sys
from collections.abc import Callable
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.audit import Actor


def validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        parts = [
            f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
            for field, messages in error.message_dict.items()
        ]
        return "; ".join(parts)
    return " ".join(error.messages)


class OpsCommand(BaseCommand):
    """Subclasses implement ``run``; validation failures become one line on stderr."""

    run: Callable[..., Any]

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message: str) -> NoReturn:
            sys.stderr.write(f"error: {message}\n")
            sys.exit(1)

        parser.error = error  # type: ignore[method-assign]
        return parser

    @property
    def actor(self) -> Actor:
        return Actor.system(f"cli:{self.__module__.rsplit('.', 1)[-1]}")

    def handle(self, *args: Any, **options: Any) -> str | None:
        try:
            return self.run(**options)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc


def csv_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
