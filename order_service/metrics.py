"""Order metrics as an extension: answers to ``POST /orders`` by outcome, and the backlog.

The backlog gauges come from the database when ``/metrics`` is scraped, so every worker reports
the same truth ("mostrecent" in multiprocess mode), and nothing in the order logic knows of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, Response, request
from prometheus_client import CollectorRegistry, Counter, Gauge

from order_service.audit.drift import Invariant
from order_service.audit.run import Outcome
from order_service.ports import OrderUnitOfWork


class OrderMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.placed = Counter(
            "orders_placed_total",
            "Answers to POST /orders by outcome",
            ["outcome"],
            registry=registry,
        )

        def latest(name: str, description: str, labels: tuple[str, ...] = ()) -> Gauge:
            # Read from the database at each scrape: every worker reports the same truth.
            return Gauge(
                name, description, labels, multiprocess_mode="mostrecent", registry=registry
            )

        self.pending = latest("orders_pending", "Orders waiting for inventory's answer")
        self.undelivered = latest(
            "orders_outbox_undelivered", "Inventory commands not delivered yet"
        )
        self.attention = latest(
            "orders_needing_attention",
            "Orders flagged because inventory refused a command (a person must look)",
        )
        # The last audit run (python -m order_service.audit), from the database: every
        # invariant and outcome always present, so a series never lingers from an older run.
        self.audit_findings = latest(
            "orders_audit_findings",
            "Drift the last audit found, by invariant and what became of it",
            ("invariant", "outcome"),
        )
        self.audit_last_run = latest(
            "orders_audit_last_run_timestamp_seconds", "When the last audit finished (0: never)"
        )
        self.oldest_age = latest(
            "orders_outbox_oldest_undelivered_age_seconds",
            "Age of the oldest undelivered inventory command (0 when none)",
        )
        self.webhooks = Counter(
            "payments_webhooks_total",
            "Webhooks received, by outcome (kept, duplicate, or why they were refused)",
            ["outcome"],
            registry=registry,
        )
        self.payments = latest(
            "payments", "Payments by status (open, captured, refunded)", ("status", "currency")
        )
        self.payments_amount = latest(
            "payments_amount_cents", "What the payments come to, by status", ("status", "currency")
        )
        self.inbox_waiting = latest("payments_inbox_waiting", "Webhook events not processed yet")
        self.inbox_age = latest(
            "payments_inbox_oldest_age_seconds",
            "Age of the oldest webhook event not processed yet (0 when none)",
        )
        self.dead_letters = latest(
            "payments_dead_letters", "Webhook events in the dead-letter queue (a person decides)"
        )

    def webhook_refused(self, reason: str) -> None:
        self.webhooks.labels(f"refused_{reason}").inc()


def outcome(response: Response) -> str:
    """What a ``POST /orders`` answer meant, in one low-cardinality word."""
    if response.headers.get("Idempotent-Replayed") == "true":
        return "replayed"
    simple = {201: "confirmed", 202: "pending", 400: "invalid", 409: "in_progress"}
    if response.status_code in simple:
        return simple[response.status_code]
    if response.status_code == 422:
        body = response.get_json(silent=True) or {}
        return str(body.get("error", {}).get("code", "rejected")).lower()
    return f"http_{response.status_code}"


def init_app(app: Flask, uow: Callable[[], OrderUnitOfWork], metrics: OrderMetrics) -> None:
    @app.after_request
    def _count(response: Response) -> Response:
        if (
            request.method == "POST"
            and request.url_rule
            and request.url_rule.rule == ("/api/v1/orders")
        ):
            metrics.placed.labels(outcome(response)).inc()
        elif request.endpoint == "payments.Webhook" and response.status_code == 200:
            duplicate = (response.get_json(silent=True) or {}).get("duplicate")
            metrics.webhooks.labels("duplicate" if duplicate else "kept").inc()
        return response

    @app.before_request
    def _backlog() -> None:
        if request.path != "/metrics":
            return
        with uow() as tx:
            pending = tx.orders.count_pending()
            attention = tx.orders.count_attention()
            undelivered, oldest = tx.outbox.backlog()
            audit = tx.audits.last()
            waiting, dead, inbox_age = tx.inbox.lag(datetime.now(UTC))
            totals = tx.payments.totals()
        metrics.inbox_waiting.set(waiting)
        metrics.dead_letters.set(dead)
        metrics.inbox_age.set(inbox_age)
        for currency, status, count, amount in totals:
            metrics.payments.labels(status, currency).set(count)
            metrics.payments_amount.labels(status, currency).set(amount)
        metrics.pending.set(pending)
        metrics.attention.set(attention)
        metrics.undelivered.set(undelivered)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        metrics.oldest_age.set(max(0.0, age))
        found = audit.findings if audit else {}
        for invariant in Invariant:
            for outcome in Outcome:
                count = found.get(invariant.value, {}).get(outcome.value, 0)
                metrics.audit_findings.labels(invariant.value, outcome.value).set(count)
        metrics.audit_last_run.set(audit.finished_at.timestamp() if audit else 0)
