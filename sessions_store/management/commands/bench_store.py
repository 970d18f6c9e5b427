"""Print the per-operation cost of each store tier and Redis bytes per cached principal."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sessions_store.bench import run
from sessions_store.store import get_store


class Command(BaseCommand):
    help = "Benchmark the shared store on the configured backend (REDIS_URL or the database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--iterations", type=int, default=20_000)
        parser.add_argument("--principals", type=int, default=2_000)

    def handle(self, *args: Any, **options: Any) -> None:
        for line in run(
            store=get_store(), iterations=options["iterations"], principals=options["principals"]
        ):
            self.stdout.write(line)
