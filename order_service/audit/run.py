"""One audit run: read both sides, find the drift, mend what commands can, flag the rest.

Read reservations before orders: an order is stored before its reserve is sent, so every
reservation read has its order already stored when the orders are read after it. Orders changed
within the settle time may still have a command on its way (the outbox): they are counted as in
flight and judged by the next run, never "repaired" while the reconciler is delivering.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from order_service.audit.drift import (
    STOCK_FIGURES,
    Finding,
    IntentView,
    OrderView,
    Repair,
    ReservationView,
    StockView,
    find_drift,
)
from order_service.domain import OrderLine
from order_service.inventory import (
    InventoryPort,
    InventoryRefused,
    InventoryUnavailable,
    ReservationState,
)
from order_service.payments.port import PaymentsPort, PaymentsRefused, PaymentsUnavailable

log = logging.getLogger("order_service.audit")

NON_FINAL = ("CONFIRMED", "PAID", "SHIPPED")
FINAL = ("CANCELLED", "REJECTED", "DELIVERED")


class Outcome(StrEnum):
    OPEN = "open"  # found, and no repair was asked for
    REPAIRED = "repaired"
    FLAGGED = "flagged"  # no command can mend it: the order waits for a person
    LEFT = "left"  # nothing to flag (a product, or a reservation without an order)
    FAILED = "failed"  # inventory gave no answer: the next run tries again


@dataclass(frozen=True)
class Scope:
    window: timedelta  # final orders (and reservations) changed this recently are compared
    settle: timedelta  # orders changed this recently are in flight: not judged yet


@dataclass
class Report:
    started_at: datetime
    repair: bool
    findings: list[tuple[Finding, Outcome]] = field(default_factory=list)
    orders_checked: int = 0
    reservations_checked: int = 0
    products_checked: int = 0
    in_flight: int = 0
    finished_at: datetime | None = None

    def by_invariant(self) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = {}
        for finding, outcome in self.findings:
            table.setdefault(finding.invariant.value, Counter())[outcome.value] += 1
        return {name: dict(counts) for name, counts in sorted(table.items())}

    @property
    def unrepaired(self) -> int:
        return sum(1 for _, outcome in self.findings if outcome is not Outcome.REPAIRED)


class Sources(Protocol):
    """What the audit reads (``sources.ApiSources``: both public APIs), as their JSON says."""

    def orders(self, status: str, created_since: datetime | None) -> Iterator[dict[str, Any]]: ...

    def order(self, order_id: str) -> dict[str, Any] | None: ...

    def reservations(
        self, status: str | None = None, updated_since: datetime | None = None
    ) -> Iterator[dict[str, Any]]: ...

    def reservation(self, reservation_id: str) -> dict[str, Any] | None: ...

    def stock(self) -> list[dict[str, Any]]: ...

    def intents(self) -> Iterator[dict[str, Any]] | None:
        """Every payment at the provider; None when payments are not audited."""
        ...


Flagger = Callable[[str, str], bool]  # (order id, reason) -> True when the order was flagged


@dataclass(frozen=True)
class Audit:
    sources: Sources
    inventory: InventoryPort
    flag: Flagger
    clock: Callable[[], datetime]
    payments: PaymentsPort | None = None

    def run(self, scope: Scope, *, repair: bool) -> Report:
        report = Report(self.clock(), repair)
        findings = self.find(scope, report)
        for finding in findings:
            outcome = self.mend(finding) if repair else Outcome.OPEN
            report.findings.append((finding, outcome))
            log.warning(
                "drift",
                extra={
                    "invariant": finding.invariant.value,
                    "subject": finding.subject,
                    "detail": finding.detail,
                    "outcome": outcome.value,
                },
            )
        report.finished_at = self.clock()
        return report

    def find(self, scope: Scope, report: Report) -> list[Finding]:
        now = report.started_at
        since, settled_before = now - scope.window, now - scope.settle
        reservations: dict[str, ReservationView | None] = {}
        for status, changed in (("RESERVED", None), (None, since)):
            for raw in self.sources.reservations(status=status, updated_since=changed):
                reservations[raw["id"]] = _reservation(raw)
        report.reservations_checked = len(reservations)
        seen: set[str] = set()
        judged: list[OrderView] = []

        def consider(raw: dict[str, Any]) -> None:
            seen.add(raw["id"])
            if raw["status"] == "PENDING" or _at(raw["updated_at"]) > settled_before:
                report.in_flight += 1
            else:
                judged.append(_order(raw))

        for status in ("PENDING", *NON_FINAL):
            for raw in self.sources.orders(status, None):
                consider(raw)
        for status in FINAL:
            for raw in self.sources.orders(status, since):
                consider(raw)
        orphans = []
        for rid in [rid for rid in reservations if rid not in seen]:
            # Its order may be old and final, outside the window: ask for it before judging.
            raw_order = self.sources.order(rid)
            if raw_order is None:
                found = reservations[rid]
                assert found is not None
                orphans.append(found)
            else:
                consider(raw_order)
        for order in judged:
            if order.id not in reservations:
                raw_reservation = self.sources.reservation(order.id)
                reservations[order.id] = _reservation(raw_reservation) if raw_reservation else None
        report.orders_checked = len(seen)
        stock = [_stock(raw) for raw in self.sources.stock()]
        report.products_checked = len(stock)
        return find_drift(judged, reservations, orphans, stock, self._intents())

    def _intents(self) -> dict[str, list[IntentView]] | None:
        raw = self.sources.intents()
        if raw is None:
            return None
        found: dict[str, list[IntentView]] = {}
        for i in raw:
            view = IntentView(
                i["id"], i["reference"], i["status"], i["amount_cents"], i["currency"]
            )
            found.setdefault(view.reference, []).append(view)
        return found

    def mend(self, finding: Finding) -> Outcome:
        """Send the commands that mend ``finding``; flag its order when they cannot."""
        rid, order = finding.subject, finding.order
        try:
            if finding.repair in (Repair.RESERVE, Repair.RESERVE_AND_COMMIT):
                assert order is not None
                reply = self.inventory.reserve(rid, [OrderLine(*line) for line in order.lines])
                if reply.state is not ReservationState.RESERVED:
                    short = ", ".join(
                        f"{s['sku']} asked {s['requested']}, available {s['available']}"
                        for s in reply.shortages
                    )
                    why = f"stock short: {short}" if short else f"reservation {reply.state}"
                    return self._flag(finding, f"could not reserve again ({why})")
                if finding.repair is Repair.RESERVE:
                    return Outcome.REPAIRED
                self.inventory.commit(rid)
                return Outcome.REPAIRED
            if finding.repair is Repair.COMMIT:
                self.inventory.commit(rid)
                return Outcome.REPAIRED
            if finding.repair is Repair.RELEASE:
                self.inventory.release(rid)
                return Outcome.REPAIRED
            if finding.repair is Repair.REFUND and self.payments is not None:
                assert finding.payment is not None
                # The key the outbox's refund uses: however many ask, the provider refunds once.
                self.payments.refund(finding.payment, key=f"refund-{finding.payment}")
                return Outcome.REPAIRED
        except (InventoryUnavailable, PaymentsUnavailable):
            log.warning("repair postponed: no answer", extra={"order_id": rid})
            return Outcome.FAILED
        except PaymentsRefused as exc:
            return self._flag(finding, f"the provider refused the refund: {exc}")
        except InventoryRefused as exc:
            return self._flag(finding, f"inventory refused the repair: {exc}")
        return self._flag(finding, "no command can mend this")

    def _flag(self, finding: Finding, why: str) -> Outcome:
        if finding.order is None:
            return Outcome.LEFT
        reason = f"audit: {finding.invariant.value} ({finding.detail}); {why}"
        return Outcome.FLAGGED if self.flag(finding.order.id, reason) else Outcome.LEFT


def _at(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


def _lines(items: Iterable[dict[str, Any]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((item["sku"], int(item["quantity"])) for item in items))


def _order(raw: dict[str, Any]) -> OrderView:
    total = raw.get("total") or {}
    return OrderView(
        raw["id"],
        raw["status"],
        _lines(raw["items"]),
        bool(raw.get("attention")),
        total.get("amount_cents"),
        total.get("currency"),
    )


def _reservation(raw: dict[str, Any]) -> ReservationView:
    return ReservationView(raw["id"], raw["status"], _lines(raw["lines"]))


def _stock(raw: dict[str, Any]) -> StockView:
    return StockView(**{name: raw[name] for name in STOCK_FIGURES})
