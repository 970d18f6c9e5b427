"""Every check of one conformance run, from the results the suite saves with ``-o DIR``.

python -m tests.interop.conformance_checks DIR CLAIMS  prints one line: checks passed, failed
(and in how many scenarios), and exits 1 when a failing check is in a claimed scenario, a
check a claim requires did not succeed, or a claimed scenario the run should have had left no
results. A claim ``SCENARIO requires: CHECK, CHECK`` also needs each named check to be there
and to succeed wherever the scenario runs (the suite records some only as a warning or not at
all when a feature is missing: a claim of the feature says so).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

FAILING = {"FAILURE"}
_STAMP = re.compile(r"-\d{4}-\d{2}-\d{2}T[\d-]+Z$")


def claimed(path: Path) -> dict[str, set[str]]:
    """Claimed scenario → the checks it must pass besides failing none."""
    names: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("not claimed:"):
            name, _, required = line.partition(" requires:")
            names[name.strip()] = {c.strip() for c in required.split(",") if c.strip()}
    return names


def results(directory: Path) -> dict[str, list[dict[str, object]]]:
    """Scenario name → its checks (a scenario run twice keeps its last run)."""
    found: dict[str, list[dict[str, object]]] = {}
    for checks in sorted(directory.glob("*/checks.json")):
        # Directories are named server-<scenario>-<timestamp> (authorization-server-... for
        # the authorization command's scenarios).
        name = checks.parent.name.removeprefix("authorization-server-").removeprefix("server-")
        name = _STAMP.sub("", name)
        found[name] = json.loads(checks.read_text(encoding="utf-8"))
    return found


def main() -> None:
    directory, claims = Path(sys.argv[1]), claimed(Path(sys.argv[2]))
    runs = results(directory)
    passed = failed = 0
    bad: list[str] = []
    for scenario, checks in runs.items():
        failing = [c for c in checks if c.get("status") in FAILING]
        passed += sum(1 for c in checks if c.get("status") == "SUCCESS")
        failed += len(failing)
        if failing and scenario in claims:
            bad.append(f"{scenario} ({', '.join(sorted({str(c.get('id')) for c in failing}))})")
        succeeded = {str(c.get("id")) for c in checks if c.get("status") == "SUCCESS"}
        missing = claims.get(scenario, set()) - succeeded
        if missing:
            bad.append(f"{scenario} (did not succeed: {', '.join(sorted(missing))})")
        if failing and scenario not in claims:
            print(f"unclaimed scenario failing: {scenario}", file=sys.stderr)
    print(f"{len(runs)} scenarios, checks {passed} passed, {failed} failed", end="")
    print(f"; failing in claimed scenarios: {'; '.join(bad)}" if bad else "")
    sys.exit(1 if bad or not runs else 0)


if __name__ == "__main__":
    main()
