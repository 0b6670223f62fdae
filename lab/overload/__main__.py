"""``make test-overload``: the system past saturation and under hostile callers, bounded in time.

Each figure the issue of staying up asks for, from one run: the goodput curve at 1x to 8x the
saturating client count (with every invariant after it), 200 slow connections, a login storm,
a lock-out attempt, an inventory answering every call 503, and one answering every other call a
second late. Writes ``docs/overload.md`` (the
report) and ``.run/overload-report.json``; exit 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.overload.report import evaluate, write_report
from lab.overload.scenarios import Overload
from lab.processes import ROOT

SCENARIOS = ("curve", "slow_clients", "login_storm", "lockout", "retry_budget", "slow_inventory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="load time per curve level")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "overload.md")
    parser.add_argument("--json", type=Path, default=ROOT / ".run" / "overload-report.json")
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="these scenarios")
    parser.add_argument(
        "--report-only", action="store_true", help="write the report again from --json's run"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads(args.json.read_text())
    else:
        with Overload(args.seconds) as run:
            for name in args.only or SCENARIOS:
                getattr(run, name)()
            results = run.results
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    targets = evaluate(results)
    if not args.only:
        write_report(results, targets, args.out)
        print(f"report: {args.out}")
    for target in targets:
        print(f"{'met ' if target['met'] else 'MISS'}  {target['figure']}: {target['value']}")
    return 0 if all(t["met"] for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
