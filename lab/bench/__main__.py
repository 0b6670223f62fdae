"""``make bench``: throughput and tail latency of the order flow, healthy and under faults.

Starts the system as ``make up`` does on a throwaway PostgreSQL, loads it with wrk (C, not the
bottleneck) on 127.0.0.1 only, for a bounded time per scenario, and writes
``docs/benchmarks.md`` and ``docs/benchmarks.json``. Every target is a ratio between figures of
the same run, because timings on a shared machine drift from run to run.

The parts: ``load`` (the system and the wrk driver), ``scenarios`` (one method each),
``measure`` (CPU, memory, percentiles), ``report`` (targets and the written report).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from lab.bench.compare import DEFAULT_BASELINE, compare
from lab.bench.load import PRODUCTION_ENV, ROOT
from lab.bench.report import comparison_line, evaluate, write_report
from lab.bench.scenarios import SCENARIOS, Scenarios
from lab.processes import apt_install


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15, help="load time per scenario")
    parser.add_argument("--backlog", type=int, default=2000, help="orders in the backlog scenario")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--only",
        action="append",
        choices=[*SCENARIOS, "baseline"],
        help="run only these scenarios (no report is written)",
    )
    parser.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        help="the commit to compare CPU per confirmed order against (default %(default)s)",
    )
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds per system")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a setting of the services for this run",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        apt_install("wrk")
    if shutil.which("wrk") is None:
        print("wrk is needed: sudo apt-get install wrk", file=sys.stderr)
        return 2
    PRODUCTION_ENV.update(dict(pair.split("=", 1) for pair in args.env))
    chosen = args.only or [*SCENARIOS, "baseline"]
    results: dict[str, Any] = {}
    if any(name in SCENARIOS for name in chosen):
        with Scenarios(args.seconds, args.backlog) as bench:
            for name in chosen:
                if name in SCENARIOS:
                    getattr(bench, name)()
            results = bench.results
    if "baseline" in chosen:
        # After the other scenarios, whose system is stopped by then: both systems of the
        # comparison have the machine to themselves.
        print(f"against the baseline {args.baseline}:", flush=True)
        results["baseline"] = compare(args.baseline, args.rounds, min(args.seconds, 8))
        print(comparison_line(results["baseline"]), flush=True)
    if args.only:
        return 0
    targets = evaluate(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(results, targets, args.out, sys.argv[1:] if argv is None else argv)
    print()
    for t in targets:
        print(f"{'met ' if t['met'] else 'MISS'}  {t['figure']}: {t['value']} ({t['target']})")
    print(f"\nreport: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
