"""Customers who pay, for the payment scenarios: what each does once its order is CONFIRMED.

By the order's number (``i % 10``): 9 leaves it unpaid (it expires when the window is short),
3 pays and then cancels (a refund), 7 pays and ships once PAID, the others pay; with
``late_s`` set, 1 and 5 start paying at once but pay only that long after (past a short
window: the success arrives for an order cancelled meanwhile and is refunded).

Every customer is careful: it asks again with the same order (the payment is idempotent by
order) while the provider does not answer, and pays again at the provider while it answers
5xx or nothing (paying a paid intent changes nothing).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy import Engine, text

from lab.invariants import Observed
from lab.system import System

NO_ANSWER = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


@dataclass
class PaymentsSeen:
    """What the paying customers saw: answers to starting a payment, captures, ships."""

    outcomes: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(self, what: str) -> None:
        with self._lock:
            self.outcomes[what] += 1

    def summary(self, orders: Engine) -> dict[str, Any]:
        with orders.connect() as conn:
            rows = conn.execute(text("SELECT status, count(*) FROM payments GROUP BY status"))
            payments: dict[str, int] = {r[0]: r[1] for r in rows}
            dead = conn.execute(
                text("SELECT count(*) FROM payment_events WHERE dead_at IS NOT NULL")
            ).scalar_one()
            events = conn.execute(text("SELECT count(*) FROM payment_events")).scalar_one()
        return {
            "customers": dict(sorted(self.outcomes.items())),
            "payments_by_status": payments,
            "webhook_events_kept": events,
            "dead_letters": dead,
        }


@dataclass
class Paying:
    system: System
    options: dict[str, Any]
    seen: PaymentsSeen

    def after_confirmed(self, i: int, order_id: str, observed: Observed) -> None:
        kind = i % 10
        if kind == 9:
            self.seen.note("left unpaid")
            return
        payment = self._start(order_id)
        if payment is None:
            return
        late = self.options.get("late_s")
        if late and kind in (1, 5):
            # The customer leaves the pay page open and pays later, past the window.
            time.sleep(float(late))
            self.seen.note("paid late")
        if not self._capture(payment["payment_id"]):
            return
        if kind == 3:
            observed.record(None, *self.system.act_answer(order_id, "cancel"))
            self.seen.note("paid, then cancelled")
        elif kind == 7 and self._paid(order_id):
            observed.record(None, *self.system.act_answer(order_id, "ship"))
            self.seen.note("paid, then shipped")

    def _start(self, order_id: str) -> dict[str, Any] | None:
        for _ in range(60):
            try:
                response = self.system.start_payment(order_id)
            except NO_ANSWER:  # the order service restarting: ask again in a moment
                self.seen.note("start: no answer")
                time.sleep(0.5)
                continue
            if response.status_code in (200, 201):
                self.seen.note(f"start: {response.status_code}")
                body: dict[str, Any] = response.json()
                return body
            code = response.json().get("error", {}).get("code", "")
            self.seen.note(f"start: {response.status_code} {code}")
            if response.status_code != 503:
                return None  # not payable (it expired meanwhile): nothing to pay
            time.sleep(float(response.headers.get("Retry-After", "1")))
        raise RuntimeError(f"no payment for {order_id} after 60 tries")

    def _capture(self, payment_id: str) -> bool:
        for _ in range(60):
            try:
                response = self.system.provider("POST", f"/v1/payment_intents/{payment_id}/capture")
            except NO_ANSWER:
                self.seen.note("capture: no answer")
                time.sleep(0.2)
                continue
            self.seen.note(f"capture: {response.status_code}")
            if response.status_code == 200:
                return True
            if response.status_code < 500:
                return False
            time.sleep(0.2)
        raise RuntimeError(f"payment {payment_id} not captured after 60 tries")

    def _paid(self, order_id: str, timeout_s: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                status = self.system.order(order_id).get("status")
            except NO_ANSWER:  # the order service restarting: ask again
                time.sleep(0.2)
                continue
            if status == "PAID":
                return True
            if status != "CONFIRMED":
                return False
            time.sleep(0.2)  # polling the order, not a guess at how long the webhook takes
        self.seen.note("not PAID in time to ship")
        return False
