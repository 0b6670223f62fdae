"""An audit run over in-memory sources: what it judges, what it leaves in flight, and what
becomes of each finding when it repairs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from order_service.audit.run import Audit, Outcome, Scope
from order_service.domain import OrderLine
from order_service.inventory import ReservationState
from shared.resilience.failures import Reason
from tests.fakes.inventory import FakeInventory

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SCOPE = Scope(window=timedelta(hours=24), settle=timedelta(seconds=60))
SETTLED = (NOW - timedelta(minutes=5)).isoformat()


@dataclass
class Sources:
    """Both services' answers, read from an order list and the fake inventory."""

    inventory: FakeInventory
    orders_by_id: dict[str, dict] = field(default_factory=dict)

    def add(self, oid, status, lines, updated=SETTLED, created=SETTLED):
        self.orders_by_id[oid] = {
            "id": oid,
            "status": status,
            "items": [{"sku": s, "quantity": q} for s, q in lines],
            "created_at": created,
            "updated_at": updated,
            "attention": None,
        }

    def orders(self, status, created_since):
        for o in self.orders_by_id.values():
            if o["status"] == status and (
                created_since is None or datetime.fromisoformat(o["created_at"]) >= created_since
            ):
                yield o

    def order(self, order_id):
        return self.orders_by_id.get(order_id)

    def _json(self, rid):
        state, lines = self.inventory.reservations[rid]
        return {
            "id": rid,
            "status": state.value,
            "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in lines],
        }

    def reservations(self, status=None, updated_since=None):
        for rid, (state, _) in self.inventory.reservations.items():
            if status is None or state.value == status:
                yield self._json(rid)

    def reservation(self, reservation_id):
        return self._json(reservation_id) if reservation_id in self.inventory.reservations else None

    def stock(self):
        return []

    def intents(self):
        return None  # payments are audited apart (tests/unit/audit/test_payment_drift.py)


def audit(sources, flagged):
    def flag(order_id, reason):
        flagged[order_id] = reason
        return order_id in sources.orders_by_id

    return Audit(sources, sources.inventory, flag, lambda: NOW)


def test_orders_changed_within_the_settle_time_and_pending_ones_are_not_judged():
    sources = Sources(FakeInventory(stock={"A": 10}))
    sources.add("fresh", "CONFIRMED", [("A", 1)], updated=(NOW - timedelta(seconds=5)).isoformat())
    sources.add("waiting", "PENDING", [("A", 1)])
    report = audit(sources, {}).run(SCOPE, repair=False)
    assert (report.findings, report.in_flight, report.orders_checked) == ([], 2, 2)


def test_without_repair_findings_stay_open_and_nothing_is_sent():
    inventory = FakeInventory(stock={"A": 10})
    sources = Sources(inventory)
    sources.add("lost", "CONFIRMED", [("A", 1)])
    report = audit(sources, {}).run(SCOPE, repair=False)
    assert [(f.subject, o) for f, o in report.findings] == [("lost", Outcome.OPEN)]
    assert inventory.calls == []
    assert report.unrepaired == 1


def test_repairs_send_the_commands_and_flag_what_stock_cannot_cover():
    inventory = FakeInventory(stock={"A": 5})
    inventory.reservations["closed"] = (ReservationState.RESERVED, (OrderLine("A", 1),))
    inventory.reservations["nobody"] = (ReservationState.RESERVED, (OrderLine("A", 1),))
    inventory.reservations["shipped"] = (ReservationState.RESERVED, (OrderLine("A", 1),))
    sources = Sources(inventory)
    sources.add("lost", "CONFIRMED", [("A", 2)])
    sources.add("too-big", "CONFIRMED", [("A", 50)])
    sources.add("closed", "CANCELLED", [("A", 1)])
    sources.add("shipped", "SHIPPED", [("A", 1)])
    sources.add("shipped-lost", "DELIVERED", [("A", 1)])
    flagged = {}

    report = audit(sources, flagged).run(SCOPE, repair=True)

    outcomes = {f.subject: o for f, o in report.findings}
    assert outcomes == {
        "lost": Outcome.REPAIRED,
        "too-big": Outcome.FLAGGED,
        "closed": Outcome.REPAIRED,
        "nobody": Outcome.REPAIRED,
        "shipped": Outcome.REPAIRED,
        "shipped-lost": Outcome.REPAIRED,
    }
    assert list(flagged) == ["too-big"] and "stock short" in flagged["too-big"]
    states = {rid: state for rid, (state, _) in inventory.reservations.items()}
    assert states["lost"] is ReservationState.RESERVED
    assert states["closed"] is states["nobody"] is ReservationState.RELEASED
    assert states["shipped"] is states["shipped-lost"] is ReservationState.COMMITTED
    # Repeating the repair changes nothing: every command is idempotent.
    again = audit(sources, {}).run(SCOPE, repair=True)
    assert {f.subject for f, _ in again.findings} == {"too-big"}


def test_a_repair_inventory_does_not_answer_is_left_for_the_next_run():
    inventory = FakeInventory(stock={"A": 5})
    sources = Sources(inventory)
    sources.add("lost", "CONFIRMED", [("A", 1)])
    inventory.down = Reason.TIMEOUT
    report = audit(sources, {}).run(SCOPE, repair=True)
    assert [o for _, o in report.findings] == [Outcome.FAILED]


def test_a_repair_inventory_refuses_flags_the_order():
    inventory = FakeInventory(stock={"A": 5})
    inventory.reservations["shipped"] = (ReservationState.RELEASED, (OrderLine("A", 1),))
    sources = Sources(inventory)
    sources.add("shipped", "SHIPPED", [("A", 1)])
    flagged = {}
    report = audit(sources, flagged).run(SCOPE, repair=True)
    assert [o for _, o in report.findings] == [Outcome.FLAGGED]
    assert "no command can mend" in flagged["shipped"]
