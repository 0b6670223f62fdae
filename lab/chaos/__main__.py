"""``python -m lab.chaos``: see the package's docstring."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lab.chaos import __doc__ as DESCRIPTION
from lab.chaos.report import print_table, write_markdown
from lab.chaos.scenario import (
    ADMIN_TOKEN,
    RUNNER_ENV,
    Scenario,
    all_scenarios,
    judge,
    run_scenario,
)
from lab.system import Environment


class ChaosEnvironment(Environment):
    """A throwaway PostgreSQL and the running system, for the length of a run."""

    def __init__(self) -> None:
        super().__init__("chaos", RUNNER_ENV, ADMIN_TOKEN, fast=True)

    def run(self, scenario: Scenario) -> dict[str, Any]:
        return run_scenario(self.system, self.orders, self.inventory, scenario, self.payments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", action="append", help="run only these (repeatable)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every order count")
    parser.add_argument(
        "--soak",
        type=int,
        metavar="ORDERS",
        help="the soak: the healthy baseline, then the crash storm with this many orders",
    )
    parser.add_argument("--markdown", type=Path, help="also write the report here, as Markdown")
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(".run/chaos-report.json"),
        help="where to write the JSON report",
    )
    args = parser.parse_args(argv)
    scenarios = all_scenarios(args.scenario, args.scale)
    if args.soak:
        scenarios = all_scenarios(["baseline", "crash_storm"])
        scenarios[1].orders = args.soak
    reports = []
    with ChaosEnvironment() as env:
        print(f"logs in {env.system.logdir}", flush=True)
        baseline = None
        for scenario in scenarios:
            print(f"running {scenario.name}: {scenario.description}", flush=True)
            report = env.run(scenario)
            baseline = report if scenario.name == "baseline" else baseline
            report["target_results"] = judge(report, baseline)
            report["passed"] = report["passed"] and all(
                t["met"] for t in report["target_results"].values() if t["gates"]
            )
            reports.append(report)
    print()
    print_table(reports)
    if args.markdown:
        write_markdown(args.markdown, reports, soak=args.soak)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(reports, indent=2, default=str))
    print(f"\nJSON report: {args.json}")
    return 0 if all(r["passed"] for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
