"""The chaos report as a person reads it: a table, the invariants checked, what gremlins hit."""

from __future__ import annotations

import sys
from typing import Any

from lab.invariants import violations


def print_table(reports: list[dict[str, Any]], out: Any = sys.stdout) -> None:
    header = (
        "scenario",
        "result",
        "definite 201/422 : 202",
        "confirmed/s (vs baseline)",
        "orders (final)",
        "client codes",
        "latency ms p50/p95/p99/max",
        "injections",
        "retries",
        "breaker opened",
        "drain s",
    )
    rows = []
    for r in reports:
        lat = r["latency_ms"]
        rows.append(
            (
                r["scenario"],
                "PASS" if r["passed"] else "FAIL",
                _definite(r["first_answers"]),
                _confirmed(r),
                " ".join(f"{k}={v}" for k, v in r["orders_by_status"].items()),
                " ".join(f"{k}:{v}" for k, v in r["client_status_codes"].items()),
                "/".join(str(int(lat[k])) for k in ("p50", "p95", "p99", "max")) if lat else "-",
                " ".join(f"{n}={g['fired']}/{g['matched']}" for n, g in r["gremlins"].items())
                or "-",
                str(r["retries"]),
                str(r["breaker_openings"]),
                str(r["drain_s"]),
            )
        )
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=False)]
    for line in (header, tuple("-" * w for w in widths), *rows):
        print(" | ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=False)), file=out)
    print(file=out)
    for r in reports:
        checked = ", ".join(
            f"{name} {'ok' if not found else 'FAILED'}" for name, found in r["invariants"].items()
        )
        print(f"{r['scenario']}: invariants: {checked}", file=out)
        for gremlin, entry in r["affected_orders"].items():
            ended = ", ".join(f"{k} {v}" for k, v in sorted(entry["ended"].items()))
            print(
                f"{r['scenario']}: {len(entry['orders'])} orders met {gremlin}; they ended {ended}",
                file=out,
            )
        for name, t in r.get("target_results", {}).items():
            got = "no baseline in this run" if t["got"] is None else f"{t['got']:.0%}"
            verdict = "ok" if t["met"] else "MISSED"
            kind = "target" if t.get("gates", True) else "aim (reported, not asserted)"
            print(f"{r['scenario']}: {kind} {name} >= {t['want']:.0%}: {got} {verdict}", file=out)
        for problem in violations(r["invariants"]):
            print(f"{r['scenario']}: VIOLATION {problem}", file=out)


def _definite(answers: dict[str, Any]) -> str:
    text = f"{answers['definite_share']:.0%} ({answers['definite']}:{answers['pending']})"
    if answers["asked_while_inventory_down"]:
        down = answers["asked_while_inventory_down"]
        text += f"; {answers['definite_share_while_up']:.0%} without the {down} asked while down"
    return text


def _confirmed(report: dict[str, Any]) -> str:
    ratio = report.get("target_results", {}).get("confirmed_rate", {}).get("got")
    return f"{report['confirmed_per_s']}" + (f" ({ratio:.0%})" if ratio is not None else "")
