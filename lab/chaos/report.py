"""The chaos report as a person reads it: a table, the invariants checked, what gremlins hit."""

from __future__ import annotations

import io
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
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
        if r.get("payments"):
            print(f"{r['scenario']}: payments: {_payments(r['payments'])}", file=out)
        for problem in violations(r["invariants"]):
            print(f"{r['scenario']}: VIOLATION {problem}", file=out)


def _payments(seen: dict[str, Any]) -> str:
    """What the paying customers did and what the provider sent, in one line."""
    hooks = seen.get("webhooks", {})
    by_status = " ".join(f"{k}={v}" for k, v in sorted(seen["payments_by_status"].items()))
    customers = ", ".join(f"{k} {v}" for k, v in seen["customers"].items())
    return (
        f"{by_status}; {seen['webhook_events_kept']} events kept from {hooks.get('copies', 0)} "
        f"copies ({hooks.get('forged', 0)} forged, {hooks.get('forged_refused', 0)} refused), "
        f"{seen['dead_letters']} dead; customers: {customers}"
    )


def _definite(answers: dict[str, Any]) -> str:
    text = f"{answers['definite_share']:.0%} ({answers['definite']}:{answers['pending']})"
    if answers["asked_while_inventory_down"]:
        down = answers["asked_while_inventory_down"]
        text += f"; {answers['definite_share_while_up']:.0%} without the {down} asked while down"
    return text


def _confirmed(report: dict[str, Any]) -> str:
    ratio = report.get("target_results", {}).get("confirmed_rate", {}).get("got")
    return f"{report['confirmed_per_s']}" + (f" ({ratio:.0%})" if ratio is not None else "")


def write_markdown(path: Path, reports: list[dict[str, Any]], *, soak: int | None) -> None:
    """The report as a page under docs/: what ran, on what, and the printed table."""
    table = io.StringIO()
    print_table(reports, table)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], capture_output=True, text=True, check=False
    ).stdout.strip()
    commit = f"{commit} with uncommitted changes" if commit and dirty else commit
    title = f"Soak: {soak} orders under the crash storm" if soak else "Chaos report"
    lines = [
        f"# {title}",
        "",
        "Written by `make soak` (`python -m lab.chaos --soak N --markdown ...`): the healthy "
        "baseline, then the crash-storm mix (16 clients; crash after commit on 10% of reserves, "
        "a 500 after commit on 20%, 3 s latency on every 5th) for the whole run, every invariant "
        "checked after the drain. Each order's first answer counts: definite is 201 or 422.",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit or 'unknown'}",
        f"- machine: {platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
        f"- result: {'PASS' if all(r['passed'] for r in reports) else 'FAIL'}",
        "",
        "```",
        table.getvalue().rstrip(),
        "```",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def _cpus() -> int:
    return os.cpu_count() or 0
