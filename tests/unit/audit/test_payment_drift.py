"""The audit's payment side: a paid order's payment kept at the provider for its total, and
none kept for a closed order (refunded by the repair, once)."""

from __future__ import annotations

from datetime import timedelta

from order_service.audit.drift import IntentView, Invariant, OrderView, Repair, payment_drift
from order_service.audit.run import Audit, Outcome, Scope
from order_service.payments.port import Intent, PaymentsRefused, RefundReply
from tests.fakes.inventory import FakeInventory
from tests.unit.audit.test_run import NOW, Sources

LINES = (("A", 1),)


def order(status: str, total: int | None = 500) -> OrderView:
    return OrderView("o-1", status, LINES, False, total, "EUR" if total is not None else None)


def intent(status: str, amount: int = 500, currency: str = "EUR", pid: str = "pi_1") -> IntentView:
    return IntentView(pid, "o-1", status, amount, currency)


def test_a_paid_order_with_its_payment_kept_is_in_step():
    for status in ("PAID", "SHIPPED", "DELIVERED"):
        assert payment_drift(order(status), [intent("succeeded")]) == []


def test_a_paid_order_without_a_kept_payment_of_its_total_is_for_a_person():
    cases = [
        [],
        [intent("requires_payment")],
        [intent("refunded")],
        [intent("succeeded", amount=499)],
        [intent("succeeded", currency="USD")],
        [intent("succeeded"), intent("succeeded", pid="pi_2")],
    ]
    for intents in cases:
        (finding,) = payment_drift(order("PAID"), intents)
        assert (finding.invariant, finding.repair) == (Invariant.PAID_NOT_CAPTURED, Repair.NONE)


def test_a_closed_order_whose_payment_was_kept_is_refunded():
    (finding,) = payment_drift(order("CANCELLED"), [intent("succeeded"), intent("refunded")])

    assert (finding.invariant, finding.repair, finding.payment) == (
        Invariant.CAPTURED_FOR_CLOSED_ORDER,
        Repair.REFUND,
        "pi_1",
    )
    assert payment_drift(order("CANCELLED"), [intent("refunded")]) == []


def test_orders_with_nothing_to_pay_and_open_ones_are_not_judged_on_payments():
    assert payment_drift(order("SHIPPED", total=0), []) == []
    assert payment_drift(order("SHIPPED", total=None), []) == []
    assert payment_drift(order("CONFIRMED"), [intent("requires_payment")]) == []


class Provider:
    """The provider port as the audit uses it: refunds, each key once."""

    def __init__(self, refuse: bool = False) -> None:
        self.refunds: dict[str, str] = {}
        self.refuse = refuse

    def create(self, **_: object) -> Intent:
        raise AssertionError("the audit never creates a payment")

    def refund(self, payment_id: str, *, key: str, timeout_s: float | None = None) -> RefundReply:
        if self.refuse:
            raise PaymentsRefused(409, "CONFLICT", "nothing captured")
        self.refunds.setdefault(key, payment_id)
        return RefundReply(f"re_{payment_id}", payment_id, 500)

    def available(self) -> bool:
        return True


class PaidSources(Sources):
    def __init__(self, inventory: FakeInventory, intents: list[dict]) -> None:
        super().__init__(inventory)
        self._intents = intents

    def intents(self):
        return iter(self._intents)


def _run(provider: Provider, flagged: dict[str, str]):
    inventory = FakeInventory(stock={"A": 10})
    sources = PaidSources(
        inventory,
        [
            {
                "id": "pi_1",
                "reference": "gone",
                "status": "succeeded",
                "amount_cents": 500,
                "currency": "EUR",
            }
        ],
    )
    sources.add("gone", "CANCELLED", [("A", 1)])
    sources.orders_by_id["gone"]["total"] = {"amount_cents": 500, "currency": "EUR"}

    def flag(order_id: str, reason: str) -> bool:
        flagged[order_id] = reason
        return True

    audit = Audit(sources, inventory, flag, lambda: NOW, provider)
    return audit.run(Scope(timedelta(hours=24), timedelta(seconds=60)), repair=True)


def test_the_repair_refunds_a_kept_payment_with_the_outboxs_key():
    provider, flagged = Provider(), {}

    report = _run(provider, flagged)

    [(finding, outcome)] = report.findings
    assert (finding.invariant, outcome) == (Invariant.CAPTURED_FOR_CLOSED_ORDER, Outcome.REPAIRED)
    assert provider.refunds == {"refund-pi_1": "pi_1"} and flagged == {}


def test_a_refund_the_provider_refuses_flags_the_order():
    flagged: dict[str, str] = {}

    report = _run(Provider(refuse=True), flagged)

    [(_, outcome)] = report.findings
    assert outcome is Outcome.FLAGGED and "refused the refund" in flagged["gone"]
