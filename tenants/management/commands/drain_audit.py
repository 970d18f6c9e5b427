import signal
import threading
from typing import Any

from django.core.management.base import CommandParser

from tenants import toolaudit
from tenants.management.base import OpsCommand


class Command(OpsCommand):
    help = (
        "Move tool-call audit records from the Redis stream to the database: until the stream "
        "is empty, or with --follow until stopped (SIGTERM or SIGINT: the round under way is "
        "finished and acknowledged first)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--follow", action="store_true")

    def run(self, *, follow: bool, **options: Any) -> None:
        journal = toolaudit.journal()
        if journal.stream is None:
            self.stdout.write("No Redis stream (embedded default): records go straight in.")
            return
        if not follow:
            self.stdout.write(f"Moved {journal.drain_until_empty()} records.")
            return
        stopping = threading.Event()
        for each in (signal.SIGTERM, signal.SIGINT):
            signal.signal(each, lambda *_: stopping.set())
        self.stdout.write("Draining the tool-call stream until stopped.")
        self.stdout.flush()
        moved = 0
        while not stopping.is_set():  # a failed round is retried: nothing was acknowledged
            try:
                moved += journal.drain_stream(block=1.0)
            except Exception as exc:  # noqa: BLE001
                self.stderr.write(f"drain failed, retrying: {type(exc).__name__}")
                stopping.wait(1.0)
        self.stdout.write(f"Stopped; records moved: {moved}.")
