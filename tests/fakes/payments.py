"""An in-memory payment provider port: refunds, each key once, and a breaker that may be open."""

from __future__ import annotations

from order_service.payments.port import Intent, PaymentsUnavailable, RefundReply
from shared.resilience.failures import Reason


class FakeProvider:
    def __init__(self, *, breaker_open: bool = False) -> None:
        self.refunds: dict[str, str] = {}  # key -> payment id
        self.breaker_open = breaker_open

    def create(
        self,
        *,
        key: str,
        amount_cents: int,
        currency: str,
        reference: str,
        return_url: str | None,
        timeout_s: float | None = None,
    ) -> Intent:
        return Intent(f"pi_{reference}", amount_cents, currency, "requires_payment", "http://p/")

    def refund(self, payment_id: str, *, key: str, timeout_s: float | None = None) -> RefundReply:
        if self.breaker_open:
            raise PaymentsUnavailable(Reason.BREAKER_OPEN)
        self.refunds.setdefault(key, payment_id)
        return RefundReply(f"re_{payment_id}", payment_id, 0)

    def available(self) -> bool:
        return not self.breaker_open
