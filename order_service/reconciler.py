"""The reconciler: delivers what the request thread could not, until nothing is left undecided.

Run it as ``python -m order_service.reconciler``; several may run at once. Each pass claims due
outbox commands (``FOR UPDATE SKIP LOCKED`` plus a lease, so a reconciler that dies mid-delivery
frees its rows when the lease runs out), delivers them, processes the payment webhooks waiting
in the inbox (the same way), cancels PENDING orders older than ``ORDER_PENDING_TTL_S`` and
unpaid orders past ``PAYMENT_WINDOW_S`` (which releases their stock), and drops expired
idempotency keys, rejected orders past ``REJECTED_ORDER_RETENTION_S`` and failed logins past
their window.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, start_http_server

from order_service.domain import CommandKind
from order_service.payments import service as payment_service
from order_service.payments.service import PaymentContext
from order_service.ports import OutboxCommand
from order_service.services import OrderContext, cancel_order, expire_unpaid
from shared.errors import InvalidTransition

log = logging.getLogger(__name__)
INVENTORY_COMMANDS = frozenset({CommandKind.RESERVE, CommandKind.RELEASE, CommandKind.COMMIT})


@dataclass
class Reconciler:
    ctx: OrderContext
    pending_ttl_s: float
    batch_size: int = 50
    interval_s: float = 1.0
    concurrency: int = 8
    # Told of every delivery: (command, delivered?). Metrics plug in here.
    on_delivery: Callable[[str, bool], None] = lambda command, delivered: None
    # How long rejected orders and failed logins are kept (None: for ever), and how often the
    # reconciler looks for what is past it: deletes are rare, and each pass need not ask.
    rejected_retention_s: float | None = None
    login_failure_window_s: float | None = None
    purge_every_s: float = 60.0
    # The webhook inbox's processing and the payment window (None: payments are not handled).
    payments: PaymentContext | None = None
    payment_window_s: float | None = None
    _purged_at: float = field(default=float("-inf"), init=False)

    def run_once(self) -> int:
        """One pass; returns how many commands and orders it handled."""
        handled = self._deliver_due()
        if self.payments is not None:
            handled += payment_service.process_due(self.payments, self.batch_size)
        handled += self._expire_pending()
        handled += self._expire_unpaid()
        self._purge()
        return handled

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set; idle passes wait ``interval_s``."""
        log.info("reconciler started")
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # a database blip must not end the process; retry next pass
                log.exception("reconciler pass failed")
                busy = 0
            if not busy:
                stop.wait(self.interval_s)
        log.info("reconciler stopped")

    def _deliver_due(self) -> int:
        # While a dependency's breaker refuses, claiming its commands would only churn the
        # outbox: they wait for the moment a probe may go, and the other's go on (a refund is
        # not held up because inventory is away, nor a release because the provider is).
        kinds = self._deliverable()
        if kinds is not None and not kinds:
            return 0
        now = self.ctx.now()
        lease = timedelta(seconds=self.ctx.reserve_timeout_s + 5)
        # No more than can be sent at once: each delivery ends within the deadline, so within
        # the lease. A command still queued here when its lease ran out could be claimed and
        # sent by another reconciler at the same time as this one sends it.
        with self.ctx.uow() as tx:
            commands = tx.outbox.claim_due(now, now + lease, self.claim_limit, kinds)
            tx.commit()
        if len(commands) > 1 and self.concurrency > 1:
            with ThreadPoolExecutor(min(self.concurrency, len(commands))) as pool:
                list(pool.map(self._deliver, commands))
        else:
            for command in commands:
                self._deliver(command)
        return len(commands)

    def _deliverable(self) -> frozenset[CommandKind] | None:
        """The command kinds whose dependency may be called now (None: every kind)."""
        deliverer = self.ctx.deliverer
        inventory = deliverer.inventory.available()
        payments = deliverer.payments is None or deliverer.payments.available()
        if inventory and payments:
            return None
        return (INVENTORY_COMMANDS if inventory else frozenset()) | (
            frozenset({CommandKind.REFUND}) if payments else frozenset()
        )

    @property
    def claim_limit(self) -> int:
        return max(1, min(self.batch_size, self.concurrency))

    def _deliver(self, command: OutboxCommand) -> None:
        # Commands of one order may go in parallel: every inventory command is idempotent and a
        # release that overtakes its reserve leaves a tombstone, so any order ends the same.
        delivered = self.ctx.deliverer.deliver(command, self.ctx.reserve_timeout_s)
        self.on_delivery(command.kind.value, delivered)
        log.info(
            "delivered" if delivered else "delivery failed",
            extra={
                "order_id": str(command.order_id),
                "command": command.kind.value,
                "attempt": command.attempts + 1,
            },
        )

    def _expire_pending(self) -> int:
        cutoff = self.ctx.now() - timedelta(seconds=self.pending_ttl_s)
        with self.ctx.uow() as tx:
            stale = tx.orders.stale_pending(cutoff, self.batch_size)
        for order_id in stale:
            try:
                cancel_order(self.ctx, order_id, reason="pending too long")
                log.info("cancelled stale pending order", extra={"order_id": str(order_id)})
            except InvalidTransition:
                pass  # it was resolved meanwhile; nothing to do
        return len(stale)

    def _expire_unpaid(self) -> int:
        if self.payment_window_s is None:
            return 0
        cutoff = self.ctx.now() - timedelta(seconds=self.payment_window_s)
        with self.ctx.uow() as tx:
            owing = tx.orders.owing_since(cutoff, self.batch_size)
        for order_id in owing:
            order = expire_unpaid(self.ctx, order_id)
            log.info(
                "payment window passed" if order.status.value == "CANCELLED" else "paid in time",
                extra={"order_id": str(order_id)},
            )
        return len(owing)

    def _purge(self) -> None:
        """What is kept only for a while: expired idempotency keys (every pass), and once a
        minute rejected orders past their retention (a batch at a time, so no transaction
        holds locks for long) and old failed logins. Each in its own transaction."""
        now = self.ctx.now()
        with self.ctx.uow() as tx:
            tx.keys.purge_expired(now)
            tx.commit()
        if time.monotonic() - self._purged_at < self.purge_every_s:
            return
        self._purged_at = time.monotonic()
        if self.rejected_retention_s is not None:
            before = now - timedelta(seconds=self.rejected_retention_s)
            with self.ctx.uow() as tx:
                tx.orders.purge_rejected(before, self.batch_size)
                tx.commit()
        if self.login_failure_window_s is not None:
            with self.ctx.uow() as tx:
                tx.users.purge_failures(now - timedelta(seconds=self.login_failure_window_s))
                tx.commit()


def main() -> None:
    from order_service.bootstrap import (
        build_context,
        build_inventory,
        build_payment_context,
        build_payments,
    )
    from shared.config import load_settings
    from shared.db import make_engine
    from shared.logs import configure_logging
    from shared.metrics import ClientMetrics

    # SIGTERM ends the current pass cleanly; anything claimed but not settled is redelivered
    # by whoever claims it after the lease, and redelivery is harmless. Installed first, so a
    # stop during start-up is clean too.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    settings = load_settings()
    configure_logging(settings.log_level, service="reconciler")
    engine = make_engine(settings.database_url("orders"), settings, application_name="reconciler")
    registry = CollectorRegistry()
    deliveries = Counter(
        "reconciler_deliveries_total",
        "Outbox commands the reconciler tried, by outcome",
        ["command", "outcome"],
        registry=registry,
    )
    # Each reconciler names itself to inventory, so its access log tells reconcilers apart.
    agent = f"reconciler/{socket.gethostname()}-{os.getpid()}"
    events = Counter(
        "reconciler_payment_events_total",
        "Payment webhook events the reconciler processed, by type and outcome",
        ["type", "outcome"],
        registry=registry,
    )
    clients = ClientMetrics(registry)
    inventory = build_inventory(settings, clients, agent=agent)
    payments_client = build_payments(settings, ClientMetrics(registry, "payments"))
    ctx = build_context(settings, inventory, engine, payments_client)
    payments = build_payment_context(
        settings, ctx, on_event=lambda kind, outcome: events.labels(kind, outcome).inc()
    )
    reconciler = Reconciler(
        ctx,
        settings.order_pending_ttl_s,
        settings.reconciler_batch_size,
        settings.reconciler_interval_s,
        settings.reconciler_concurrency,
        rejected_retention_s=settings.rejected_order_retention_s,
        login_failure_window_s=settings.auth_failure_window_s,
        payments=payments,
        payment_window_s=settings.payment_window_s,
        on_delivery=lambda command, ok: deliveries.labels(
            command, "delivered" if ok else "failed"
        ).inc(),
    )
    host, _, port = settings.reconciler_metrics_bind.rpartition(":")
    start_http_server(int(port), addr=host, registry=registry)
    reconciler.run(stop)
    engine.dispose()


if __name__ == "__main__":
    main()
