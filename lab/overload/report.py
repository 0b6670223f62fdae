"""The overload targets, judged on one run's figures, and the report in docs/overload.md."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.reports import commit, targets_table


def _target(figure: str, value: float | str, target: str, met: bool) -> dict[str, Any]:
    return {"figure": figure, "value": value, "target": target, "met": met}


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target the results allow judging (a scenario not run is not judged)."""
    found = []
    if "curve" in results:
        levels = results["curve"]
        peak = max(level["confirmed_per_s"] for level in levels.values())
        eight, one = levels["8x"], levels["1x"]
        refused_max = max(level["refused_max_ms"] for level in levels.values())
        broken = [f"{k}: {v}" for k, v in results["curve_invariants"].items() if v]
        found += [
            _target(
                "confirmed/s at 8x / peak",
                round(eight["confirmed_per_s"] / peak, 3),
                ">= 0.9",
                eight["confirmed_per_s"] >= 0.9 * peak,
            ),
            _target(
                "p99 of the admitted at 8x / p99 at saturation (1x)",
                round(eight["admitted_p99_ms"] / max(one["admitted_p99_ms"], 0.001), 2),
                "<= 2",
                eight["admitted_p99_ms"] <= 2 * one["admitted_p99_ms"],
            ),
            _target("slowest refusal, any level (ms)", refused_max, "<= 50", refused_max <= 50),
            _target(
                "invariants after the curve (a refusal records nothing)",
                "; ".join(broken) or "all hold",
                "all hold",
                not broken,
            ),
        ]
    if "slow_clients" in results:
        slow = results["slow_clients"]
        ratio = slow["with"]["admitted_p99_ms"] / max(slow["without"]["admitted_p99_ms"], 0.001)
        found.append(
            _target(
                "p99 with 200 slow connections / without", round(ratio, 2), "<= 1.5", ratio <= 1.5
            )
        )
    if "login_storm" in results:
        storm = results["login_storm"]
        ratio = storm["with"]["admitted_p99_ms"] / max(storm["without"]["admitted_p99_ms"], 0.001)
        found.append(
            _target(
                "p99 of POST /orders with 20 logins/s / without",
                round(ratio, 2),
                "<= 1.5",
                ratio <= 1.5,
            )
        )
    if "lockout" in results:
        seconds = results["lockout"]["in_after_s"]
        found.append(
            _target("owner logged in after 1,000 wrong logins (s)", seconds, "<= 5", seconds <= 5)
        )
    if "retry_budget" in results:
        ratio = results["retry_budget"]["ratio"]
        found.append(
            _target("inventory calls / orders, inventory all 503", ratio, "<= 1.2", ratio <= 1.2)
        )
    return found


_COLUMNS = (
    "| level | clients | confirmed/s | answers | statuses | admitted p50 ms | admitted p99 ms "
    "| refused | refused p99 ms | slowest refusal ms | refused by (server's count) | no answer |"
)


def _level_row(name: str, level: dict[str, Any]) -> str:
    statuses = ", ".join(f"{code}: {n}" for code, n in level["statuses"].items())
    refused_by = ", ".join(f"{why}: {n}" for why, n in level.get("refused_by", {}).items())
    return (
        f"| {name} | {level.get('clients', '')} | {level['confirmed_per_s']} | {level['answers']} "
        f"| {statuses} | {level['admitted_p50_ms']} | {level['admitted_p99_ms']} "
        f"| {level['refused']} | {level['refused_p99_ms']} | {level['refused_max_ms']} "
        f"| {refused_by or '-'} | {level['no_answer']} |"
    )


def _table(rows: dict[str, dict[str, Any]]) -> list[str]:
    return [_COLUMNS, "|" + "---|" * 12, *(_level_row(k, v) for k, v in rows.items())]


def write_report(results: dict[str, Any], targets: list[dict[str, Any]], out: Path) -> None:
    lines = [
        "# Overload: measured",
        "",
        f"`make test-overload` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit()}, "
        f"{platform.machine()} with {_cpus()} cores. The system runs as `make up` runs it (each "
        "service's own layout) on a throwaway PostgreSQL; the load is closed-loop clients on "
        "127.0.0.1 that honour `Retry-After-Ms` (`lab/overload/load.py`). What the figures "
        "mean and how each defence works: [docs/hardening.md](hardening.md#staying-up).",
        "",
        "## Targets",
        "",
        *targets_table(targets),
    ]
    if "curve" in results:
        saturation = results["saturation"]
        lines += [
            "",
            "## Goodput past saturation",
            "",
            f"Saturating client count: **{saturation['clients']}**, the fewest clients whose "
            "confirmed orders/s came within 10% of the best of 4, 8 and 16 (half-length trials "
            "below). Then 1x, 2x, 4x and 8x that many, one after the other.",
            "",
            *_table({f"trial {c}": f for c, f in saturation["trial"].items()}),
            "",
            *_table(results["curve"]),
            "",
            "Refusals the order service did not count were HAProxy's own (`reason: front`).",
        ]
    if "slow_clients" in results:
        slow = results["slow_clients"]
        lines += [
            "",
            f"## {slow['count']} slow connections",
            "",
            "Eight clients placing orders through HAProxy for 30 s; then again while "
            f"{slow['count']} connections from 127.0.0.2 send a request header a byte a second, "
            "reconnecting as soon as HAProxy cuts them (10 s).",
            "",
            *_table({"without": slow["without"], "with": slow["with"]}),
        ]
    if "login_storm" in results:
        storm = results["login_storm"]
        lines += [
            "",
            "## Login storm",
            "",
            f"Eight clients placing orders for 20 s; then again while {storm['per_s']:g} logins "
            "a second for random emails arrive, each on its own connection (answers: "
            + ", ".join(f"{k} {v}" for k, v in storm["logins"]["answers"].items())
            + ").",
            "",
            *_table({"without": storm["without"], "with": storm["with"]}),
        ]
    if "lockout" in results:
        lock = results["lockout"]
        lines += [
            "",
            "## Lock-out attempt",
            "",
            f"{lock['wrong']:,} wrong passwords for one account as fast as one client sends "
            "them (answers: "
            + ", ".join(f"{k} {v}" for k, v in lock["answers"].items())
            + f"); then its owner's right password, waiting as each answer asks: logged in "
            f"after **{lock['in_after_s']} s** ({lock['tries']} tries).",
        ]
    if "retry_budget" in results:
        budget = results["retry_budget"]
        lines += [
            "",
            "## Inventory answering every call 503",
            "",
            f"Eight clients for 15 s, the reconciler stopped so that only the request path "
            f"calls inventory: {budget['orders']} orders answered, {budget['inventory_calls']} "
            f"reservation calls reached inventory (ratio **{budget['ratio']}**; statuses "
            f"{budget['statuses']}).",
        ]
    if "slow_inventory" in results:
        slow = results["slow_inventory"]
        lines += [
            "",
            "## Inventory holding every other reservation a second",
            "",
            f"{slow['clients']} clients through HAProxy for 15 s: with the order instance's "
            "agent telling HAProxy to send one more for each request waiting long on inventory "
            "(`shared/front_agent.py`), then with HAProxy's fixed figure alone. Not a target; "
            "what the agent is for.",
            "",
            *_table({k: slow[k] for k in ("with the agent", "fixed figure")}),
        ]
    out.write_text("\n".join(lines) + "\n")


def _cpus() -> int:
    return os.cpu_count() or 0
