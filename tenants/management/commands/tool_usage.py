import datetime as dt
import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime

from tenants import selectors, usage
from tenants.management.base import OpsCommand


def _since(value: str) -> dt.datetime:
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = dt.datetime.combine(day, dt.time())
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"--since: not an ISO date or date and time: {value!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Command(OpsCommand):
    help = "Calls, errors and refusals per tool for a tenant, from the audit log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--since", help="ISO date (UTC) or date and time")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def run(self, *, slug: str, since: str | None, as_json: bool, **options: Any) -> None:
        start = _since(since) if since else None
        tenant = selectors.tenant_get(slug=slug)
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        report = usage.tool_usage(tenant=tenant, since=start)
        if as_json:
            counts = {tool.tool: tool.counts() for tool in report.tools}
            self.stdout.write(json.dumps(counts, indent=2, sort_keys=True))
            return
        if not report.tools:
            self.stdout.write(f"No tool calls for {slug}.")
            return
        width = max(len("tool"), *(len(tool.tool) for tool in report.tools))
        self.stdout.write(
            f"{'tool':<{width}}  {'calls':>7}  {'errors':>7}  {'refused':>7}  mean ms"
        )
        for tool in report.tools:
            self.stdout.write(
                f"{tool.tool:<{width}}  {tool.calls:>7}  {tool.errors:>7}  {tool.refused:>7}"
                f"  {tool.mean_ms:>7.1f}"
            )
