"""``python -m order_service.audit [--repair]`` (``make audit [REPAIR=1]``).

Compares every non-final and recent order with its reservation, every reservation with its
order, stock with the ledger, and paid and closed orders with the payment provider's payments,
through the services' and the provider's public APIs; prints the drift by
invariant; with ``--repair`` re-delivers the idempotent commands that mend it and flags for a
person what they cannot. Exit status 0 when nothing is left (none found, or all repaired),
1 when drift remains, 2 when a service could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from functools import partial

from order_service.audit.drift import WHAT, Invariant
from order_service.audit.records import flag_order, record_run
from order_service.audit.run import Audit, Report, Scope
from order_service.audit.sources import ApiSources, SourceUnavailable
from order_service.bootstrap import build_inventory, build_issuer, build_payments, utcnow
from order_service.repository import UnitOfWork
from shared.auth.tokens import ServiceTokens
from shared.config import load_settings
from shared.db import make_engine
from shared.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repair", action="store_true", help="mend what commands can mend")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level)
    issuer = build_issuer(settings)
    ttl = settings.service_token_ttl_s
    sources = ApiSources(
        settings.order_url,
        settings.inventory_url,
        ServiceTokens(issuer, subject="order-audit", audience=settings.auth_audience, ttl_s=ttl),
        ServiceTokens(issuer, subject="order-audit", audience="inventory", ttl_s=ttl),
        payments=(settings.payments_url, settings.payments_key()),
    )
    engine = make_engine(settings.database_url("orders"), settings, application_name="audit")
    uow = partial(UnitOfWork, engine)
    audit = Audit(
        sources,
        build_inventory(settings, agent="order-audit"),
        lambda order_id, reason: flag_order(uow, order_id, reason, utcnow()),
        utcnow,
        build_payments(settings),
    )
    scope = Scope(
        timedelta(hours=settings.audit_window_h), timedelta(seconds=settings.audit_settle_s)
    )
    try:
        report = audit.run(scope, repair=args.repair)
        record_run(uow, report)
    except SourceUnavailable as exc:
        print(f"audit: could not read a service, nothing judged: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(json.dumps(as_json(report), indent=2) if args.json else as_text(report))
    return 1 if report.unrepaired else 0


def as_json(report: Report) -> dict[str, object]:
    return {
        "started_at": report.started_at.isoformat(),
        "repair": report.repair,
        "orders_checked": report.orders_checked,
        "reservations_checked": report.reservations_checked,
        "products_checked": report.products_checked,
        "in_flight": report.in_flight,
        "by_invariant": report.by_invariant(),
        "findings": [
            {
                "invariant": f.invariant.value,
                "subject": f.subject,
                "detail": f.detail,
                "repair": f.repair.value,
                "outcome": outcome.value,
            }
            for f, outcome in report.findings
        ],
    }


def as_text(report: Report) -> str:
    lines = [
        f"Audit at {report.started_at:%Y-%m-%d %H:%M:%S %Z}"
        f"{' (repair)' if report.repair else ''}: {report.orders_checked} orders, "
        f"{report.reservations_checked} reservations, {report.products_checked} products; "
        f"{report.in_flight} orders in flight (not judged)."
    ]
    table = report.by_invariant()
    if not table:
        lines.append("No drift: every invariant holds.")
    for name, outcomes in table.items():
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
        lines.append(f"  {name}: {sum(outcomes.values())} ({counts}) - {WHAT[Invariant(name)]}")
    for finding, outcome in report.findings:
        lines.append(
            f"    {finding.invariant.value} {finding.subject}: {finding.detail} "
            f"[{finding.repair.value} -> {outcome.value}]"
        )
    if report.findings and not report.repair:
        lines.append(f"{len(report.findings)} found; `make audit REPAIR=1` mends what it can.")
    elif report.findings:
        left = report.unrepaired
        lines.append(f"{left} left to a person." if left else "Every finding was repaired.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
