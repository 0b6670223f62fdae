"""What the order service may ask of the payment provider, and the only failures it handles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.resilience.failures import Refused, Unavailable


@dataclass(frozen=True)
class Intent:
    """A payment intent as the provider answered it."""

    id: str
    amount_cents: int
    currency: str
    status: str
    pay_url: str


@dataclass(frozen=True)
class RefundReply:
    id: str
    payment_id: str
    amount_cents: int


class PaymentsUnavailable(Unavailable):
    """The provider gave no answer; the call may or may not have taken effect (every call
    carries an Idempotency-Key, so asking again is safe)."""

    dependency = "payments"


class PaymentsRefused(Refused):
    """The provider answered with a refusal (4xx); asking again will not help."""

    dependency = "payments"


class PaymentsPort(Protocol):
    def create(
        self,
        *,
        key: str,
        amount_cents: int,
        currency: str,
        reference: str,
        return_url: str | None,
        timeout_s: float | None = None,
    ) -> Intent: ...

    def refund(
        self, payment_id: str, *, key: str, timeout_s: float | None = None
    ) -> RefundReply: ...

    def available(self) -> bool:
        """False while calls would be refused without trying (an open breaker)."""
        ...
