"""The bench's report: one line per scenario while it runs, the targets, docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.bench.measure import GROUPS, ms_per_order
from lab.reports import commit, targets_table
from shared.config import Settings


def runs_summary(results: list[dict[str, Any]]) -> str:
    return " / ".join(str(r["successful_per_s"]) for r in results)


def line(title: str, r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    return (
        f"{title}: {r['orders_per_s']} orders/s ({r['successful_per_s']} confirmed/s), "
        f"p50 {lat['p50']:.1f} p95 {lat['p95']:.1f} p99 {lat['p99']:.1f} "
        f"max {lat['max']:.1f} ms, codes {r['codes']}"
    )


def comparison_line(c: dict[str, Any]) -> str:
    old, new, floor = c["baseline"], c["current"], c["floor"]
    return (
        f"CPU per confirmed order {new['cpu_ms']['total']} ms against {old['cpu_ms']['total']} ms "
        f"at {c['baseline_commit']} (ratio {c['cpu_ratio']}); confirmed/s {new['confirmed_per_s']} "
        f"against {old['confirmed_per_s']} (ratio {c['throughput_ratio']}); the stack's floor "
        f"{floor['cpu_ms']['total']} ms (ratio {c['floor_ratio']})"
    )


Figure = Callable[[dict[str, Any]], float]
TARGETS: list[tuple[str, str, float, Figure]] = [
    (
        "successful orders/s at 16 clients, resilient / bare client (alternating rounds)",
        ">=",
        0.95,
        lambda r: (
            r["resilient_paired_c16"]["successful_per_s"] / r["bare_paired_c16"]["successful_per_s"]
        ),
    ),
    (
        "p99 of 202 with the breaker open / healthy p99 at 16 clients, measured just before",
        "<=",
        0.5,
        lambda r: (
            r["breaker_open_c16"]["latency_ms"]["p99"]
            / r["healthy_before_open_c16"]["latency_ms"]["p99"]
        ),
    ),
    (
        "p99 of orders not hit by the gremlin / healthy p99",
        "<=",
        2.0,
        lambda r: r["latency_gremlin_c16"]["unhit_p99_ms"] / r["healthy_c16"]["latency_ms"]["p99"],
    ),
    (
        "max latency of any POST /orders, seconds (deadline 6 + 0.5)",
        "<=",
        6.5,
        lambda r: max(v["latency_ms"]["max"] for v in r.values() if "latency_ms" in v) / 1000,
    ),
    (
        "backlog drain rate / healthy successful orders/s",
        ">=",
        0.5,
        lambda r: r["backlog"]["drain_per_s"] / r["healthy_c16"]["successful_per_s"],
    ),
    (
        "8 concurrent slow inventory calls, wall time / one call",
        "<=",
        1.5,
        lambda r: r["parallel_slow_calls"]["ratio"],
    ),
    (
        "CPU per confirmed order (all processes) / the baseline commit's, same run",
        "<=",
        round(1 / 3, 3),
        lambda r: r["baseline"]["cpu_ratio"],
    ),
    (
        "CPU per confirmed order of the stack's floor (no features) / the baseline's, same run "
        "(information: what the stack allows)",
        "<=",
        round(1 / 3, 3),
        lambda r: r["baseline"]["floor_ratio"],
    ),
    (
        "healthy successful orders/s at 16 clients (aim, information)",
        ">=",
        250,
        lambda r: r["healthy_c16"]["successful_per_s"],
    ),
]


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, op, target, figure in TARGETS:
        value = round(figure(results), 3)
        met = value >= target if op == ">=" else value <= target
        rows.append({"figure": name, "value": value, "target": f"{op} {target}", "met": met})
    return rows


def write_report(
    results: dict[str, Any], targets: list[dict[str, Any]], out: Path, argv: list[str]
) -> None:
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "command": " ".join(["python -m lab.bench", *argv]) if argv else "make bench",
    }
    scenarios = {k: v for k, v in results.items() if "latency_ms" in v}
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`lab/bench/`): the system as `make up` runs it "
        f"(gunicorn workers x threads: orders {_layout('orders')}, inventory "
        f"{_layout('inventory')}; JSON logs and metrics on, the reconciler), a throwaway "
        "PostgreSQL, load from wrk on 127.0.0.1. Timings on a shared machine drift, so the "
        "targets are ratios between figures of the same run; absolute figures are for information.",
        "",
        "How each service's process layout was chosen (measured under the crash storm and "
        "healthy), and worker respawn times: [process-layout.md](process-layout.md). Where "
        "the CPU of an order goes, what was cut and what is left: "
        "[performance.md](performance.md), with flame graphs of both services under this "
        "load ([orders](flames/orders.svg), [inventory](flames/inventory.svg); `make flames`).",
        "",
        f"- date: {meta['date']}",
        f"- commit: {meta['commit']}",
        f"- machine: {meta['cores']} cores, Python {meta['python']}",
        f"- command: `{meta['command']}`",
        "",
        "## Targets",
        "",
        *targets_table(targets),
        "",
        "## Scenarios",
        "",
        "| scenario | clients | orders/s | confirmed/s | p50 ms | p95 ms | p99 ms | max ms | "
        "status codes | CPU % (orders / inventory / reconciler / postgres / wrk) | "
        "peak RSS per worker MB (orders / inventory) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in scenarios.items():
        lat = r["latency_ms"]
        cpu = {
            k: r["cpu_percent"].get(k, "-")
            for k in ("orders", "inventory", "reconciler", "postgres", "wrk")
        }
        rss = {k: r["peak_rss_mb"].get(k, "-") for k in ("orders", "inventory")}
        codes = " ".join(f"{k}:{v}" for k, v in r["codes"].items())
        lines.append(
            f"| {name} | {r['clients']} | {r['orders_per_s']} | {r['successful_per_s']} | "
            f"{lat['p50']:.1f} | {lat['p95']:.1f} | {lat['p99']:.1f} | {lat['max']:.1f} | "
            f"{codes} | "
            f"{cpu['orders']} / {cpu['inventory']} / {cpu['reconciler']} / {cpu['postgres']} / "
            f"{cpu['wrk']} | {rss['orders']} / {rss['inventory']} |"
        )
    backlog, slow = results["backlog"], results["parallel_slow_calls"]
    order_ms = ms_per_order([results["healthy_c16"]])["orders"]
    gremlin, contention = results["latency_gremlin_c16"], results["contention_c64"]
    lines += [
        "",
        f"- Latency gremlin (every 5th reservation +3 s): fired {gremlin['gremlin_fired']} times; "
        f"p99 of the orders it did not hit: {gremlin['unhit_p99_ms']:.1f} ms.",
        f"- Backlog: {backlog['accepted_pending']} orders accepted as PENDING with inventory "
        f"stopped, settled {backlog['drain_s']} s after it came back "
        f"({backlog['drain_per_s']}/s).",
        f"- Contention: stock left {contention['stock_left']}, skus oversold: "
        f"{contention['oversold_skus']}.",
        f"- 8 concurrent slow (0.5 s) inventory calls in one process: {slow['eight_s']} s; "
        f"one call: {slow['one_s']} s.",
        "- The resilience layer's own CPU per inventory call (deadline, bulkhead, tenacity, "
        "breaker, metrics; in-process against an instant inventory): "
        f"{results['layer_cost']['us_per_call']} us, against "
        f"{order_ms:.1f} ms of order-service CPU per confirmed order at 16 clients. Paired "
        "rounds cannot resolve a difference that small: their own spread is about 10%.",
        f"- Paired rounds, confirmed/s: resilient {results['resilient_paired_c16']['rounds']}, "
        f"bare {results['bare_paired_c16']['rounds']}.",
        *_paid(results.get("paid_c16"), results["healthy_c16"]),
        "",
        *_comparison(results["baseline"]),
        "",
        *(_scaled(results["scaled"]) if "scaled" in results else []),
        "Exact load commands (wrk, `lab/bench/orders.lua`):",
        "",
        *[f"- {name}: `{r['command']}`" for name, r in scenarios.items()],
        "",
    ]
    out.write_text("\n".join(lines))
    data = {
        "meta": meta,
        "targets": targets,
        "results": {
            k: {kk: vv for kk, vv in v.items() if kk != "curve_us"} for k, v in results.items()
        },
    }
    out.with_suffix(".json").write_text(json.dumps(data, indent=2, default=str))


def _paid(paid: dict[str, Any] | None, healthy: dict[str, Any]) -> list[str]:
    """The money flow beside the healthy confirmed rate (``lab.bench.scenarios.paid``)."""
    if paid is None:
        return []
    return [
        f"- Confirmed and paid, {paid['clients']} clients (place, start the payment, pay at the "
        f"provider, PAID once its webhook is processed; a Python client, so slower than wrk): "
        f"{paid['paid_per_s']} orders/s paid, {paid['confirmed_per_s']} confirmed/s in the same "
        f"loop, against {healthy['successful_per_s']} confirmed/s from wrk without paying; the "
        f"last order PAID {paid['last_paid_after_load_s']} s after the load ended."
    ]


def _scaled(figures: dict[str, Any]) -> list[str]:
    """One instance of each against 2 x 2 behind HAProxy (docs/scale-out.md)."""
    rows = [
        f"| {name} | {r['successful_per_s']} | {r['latency_ms']['p50']:.1f} / "
        f"{r['latency_ms']['p99']:.1f} | "
        + " / ".join(str(r["cpu_ms"][g]) for g in (*GROUPS, "total"))
        + " |"
        for name, r in figures.items()
    ]
    return [
        "## One instance of each against 2 x 2 behind HAProxy",
        "",
        "Healthy load, 16 clients, one layout after the other (`python -m lab.bench --only "
        "scaled`). On 2 cores no gain is expected; the difference is the cost of the hop, Redis "
        "and the extra processes.",
        "",
        "| layout | confirmed/s | p50 / p99 ms | CPU ms per confirmed order "
        f"({' / '.join(GROUPS)} / all) |",
        "|---|---|---|---|",
        *rows,
        "",
    ]


def _layout(service: str) -> str:
    layout = Settings().layout(service)
    return f"{layout.workers} x {layout.threads}"


def _comparison(c: dict[str, Any]) -> list[str]:
    """The section comparing this commit with the baseline and the stack's floor, one run."""
    sides = [c["baseline"], c["current"], c["floor"]]

    def row(label: str, figure: Callable[[dict[str, Any]], Any]) -> str:
        return f"| {label} | " + " | ".join(str(figure(side)) for side in sides) + " |"

    def cpu(group: str) -> Callable[[dict[str, Any]], Any]:
        return lambda side: side["cpu_ms"][group]

    target = round(c["baseline"]["cpu_ms"]["total"] / 3, 2)
    left = round(target - c["floor"]["cpu_ms"]["total"], 2)
    return [
        f"## Against the baseline ({c['baseline_commit']}) and the stack's floor",
        "",
        f"Both systems side by side, the baseline from a temporary git worktree of "
        f"{c['baseline_commit']}, each on its own throwaway PostgreSQL; {c['rounds']} rounds of "
        f"{c['seconds_per_round']} s each at {c['clients']} clients, rotating between them "
        "(A B C C B A ...) so that all see the same drift of the machine; the same wrk script and "
        "body (`customer_id` named, since the baseline has no accounts; this commit also checks "
        "the bearer token). CPU from /proc per process group, divided by the orders confirmed "
        "(201). `python -m lab.bench --only baseline` runs this part alone.",
        "",
        "The third system is the stack's floor (`lab/bench/floor_app.py`): the pattern's "
        "skeleton on the same stack and process layout (Flask under gunicorn gthread, requests "
        "with keep-alive, SQLAlchemy Core and psycopg; the order stored, one HTTP call to "
        "inventory, which stores the reservation, the order marked confirmed: three commits) "
        "with every feature taken away: no validation, authentication, idempotency, logs, "
        "metrics or resilience layer. No implementation on this stack can spend less.",
        "",
        f"| figure | {c['baseline_commit']} (baseline) | {c['current_commit']} (this commit) "
        "| the stack's floor |",
        "|---|---|---|---|",
        row("confirmed orders/s", lambda side: side["confirmed_per_s"]),
        row("confirmed/s per round", lambda side: side["rounds_confirmed_per_s"]),
        row("p50 / p99 ms (mean of rounds)", lambda side: f"{side['p50_ms']} / {side['p99_ms']}"),
        row("status codes", lambda side: side["codes"]),
        *[
            row(f"CPU ms per confirmed order, {label}", cpu(key))
            for key, label in [
                ("orders", "order service"),
                ("inventory", "inventory service"),
                ("reconciler", "reconciler"),
                ("postgres", "PostgreSQL"),
                ("wrk", "load generator (wrk)"),
                ("total", "**all processes**"),
            ]
        ],
        "",
        f"CPU per confirmed order, this commit / baseline: **{c['cpu_ratio']}**; confirmed "
        f"orders/s, this commit / baseline: **{c['throughput_ratio']}**.",
        "",
        f"The stack's floor / baseline: **{c['floor_ratio']}**. A third of the baseline is "
        f"{target} ms per order; the floor alone costs {c['floor']['cpu_ms']['total']} ms, which "
        + (
            f"leaves {left} ms for every feature."
            if left > 0
            else f"is {-left} ms over it before any feature is added."
        ),
    ]
