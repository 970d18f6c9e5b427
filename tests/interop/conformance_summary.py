"""Summarise a conformance suite report: scored scenarios passing, and which fail.

python -m tests.interop.conformance_summary REPORT.txt  (exit 1 when any scored scenario fails)
"""

import re
import sys


def summarise(text: str) -> tuple[list[str], list[str]]:
    summary = text.split("=== SUMMARY ===", 1)[-1]

    results = {name: mark for mark, name in re.findall(r"^([✓✗]) ([\w./-]+):", summary, re.M)}
    unscored = set(re.findall(r"^  [✓✗] ([\w./-]+) \(", summary, re.M))
    scored = [name for name in results if name not in unscored]
    failing = [name for name in scored if results[name] == "✗"]
    return scored, failing


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        scored, failing = summarise(handle.read())
    passed = len(scored) - len(failing)
    line = f"scored scenarios: {passed} passed, {len(failing)} failed"
    if failing:
        line += " (" + ", ".join(failing) + ")"
    print(line)
    # Exit status: a failing scored scenario, or a report with none scored, fails the run.
    sys.exit(1 if failing or not scored else 0)


if __name__ == "__main__":
    main()
