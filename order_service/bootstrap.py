"""Wiring of the order service's objects, shared by the app factory, the reconciler and tools.

Nothing here knows Flask: the reconciler and the bench build the same service-layer context
as the web app without importing the web layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine

from order_service.accounts import Accounts
from order_service.accounts.hashing import BoundedHasher
from order_service.accounts.throttle import FailureDelay
from order_service.delivery import Deliverer
from order_service.inventory import InventoryPort, InventoryUnavailable
from order_service.inventory.http import HttpInventory
from order_service.inventory.resilient import ResilientInventory
from order_service.payments.http import HttpPayments, ResilientPayments
from order_service.payments.port import PaymentsPort, PaymentsUnavailable
from order_service.payments.service import PaymentContext
from order_service.ports import Holds
from order_service.repository import UnitOfWork
from order_service.services import OrderContext
from shared.auth.tokens import ServiceTokens, TokenIssuer
from shared.config import Settings
from shared.db import make_engine
from shared.metrics import ClientMetrics
from shared.resilience.breaker import Breaker, FailureRate
from shared.resilience.budget import RetryBudget
from shared.resilience.bulkhead import Bulkhead
from shared.resilience.failures import Unavailable
from shared.resilience.hedge import Hedge, HedgeBudget
from shared.resilience.policy import Policy, breaker_storage, hedge_final


def utcnow() -> datetime:
    return datetime.now(UTC)


def build_inventory(
    settings: Settings,
    metrics: ClientMetrics | None = None,
    *,
    agent: str = "order-service",
    context: Callable[[], Mapping[str, str]] = dict,
) -> ResilientInventory | HttpInventory:
    """The inventory client of one process: timeouts, retries, breaker and bulkhead.

    ``agent`` is its User-Agent, which inventory's access log records: who sent what, when;
    ``context`` gives the headers of the request being served (its request id).
    """
    calls = max(settings.inventory_max_concurrency, settings.layout("orders").threads)
    hedging = settings.inventory_client != "bare" and settings.inventory_hedge_after_s > 0
    # With hedging every request runs on the hedge's threads, a call and its copy each: one
    # pooled connection per thread, or urllib3 discards the extras (and warns) after each use.
    requests_at_once = 2 * calls if hedging else calls
    http = HttpInventory(
        settings.inventory_url,
        connect_timeout_s=settings.inventory_connect_timeout_s,
        read_timeout_s=settings.inventory_read_timeout_s,
        pool_size=requests_at_once,
        headers={"User-Agent": agent},
        token=ServiceTokens(build_issuer(settings), ttl_s=settings.service_token_ttl_s),
        context=context,
    )
    if settings.inventory_client == "bare":
        return http
    hedge = _hedge(settings, requests_at_once) if hedging else None
    policy = _policy(
        "inventory",
        settings,
        metrics,
        attempts=settings.inventory_retry_attempts,
        deadline_s=settings.order_reserve_deadline_s,
        unavailable=InventoryUnavailable,
        hedge=hedge,
    )
    return ResilientInventory(http, policy)


def _policy(
    name: str,
    settings: Settings,
    metrics: ClientMetrics | None,
    *,
    attempts: int,
    deadline_s: float,
    unavailable: type[Unavailable],
    hedge: Hedge | None = None,
) -> Policy:
    """The resilience layer around one dependency: its own breaker (``BREAKER_*``), bulkhead
    and retry budget, with the backoff of the ``INVENTORY_*`` settings."""
    return Policy(
        breaker=_breaker(name, settings, metrics),
        bulkhead=Bulkhead(settings.inventory_max_concurrency),
        attempts=attempts,
        deadline_s=deadline_s,
        backoff_base_s=settings.inventory_backoff_base_s,
        backoff_max_s=settings.inventory_backoff_max_s,
        unavailable=unavailable,
        observer=metrics,
        hedge=hedge,
        budget=RetryBudget(
            settings.inventory_retry_budget,
            settings.inventory_retry_budget_min_per_s,
            settings.inventory_retry_budget_window_s,
        ),
    )


def _breaker(name: str, settings: Settings, metrics: ClientMetrics | None) -> Breaker:
    rate = FailureRate(
        settings.breaker_failure_rate, settings.breaker_window_size, settings.breaker_min_calls
    )
    on_change = metrics.shared_state_changed if metrics else lambda component, shared: None
    return Breaker(
        name,
        failure_rate=rate,
        fail_max=settings.breaker_fail_max or None,
        reset_timeout_s=settings.breaker_reset_timeout_s,
        storage=breaker_storage(settings.redis_url, name, on_change),
        listeners=[metrics.listener()] if metrics else [],
    )


def build_payments(settings: Settings, metrics: ClientMetrics | None = None) -> ResilientPayments:
    """The payment provider's client of one process: the same layers as inventory's (its own
    breaker, bulkhead and budget), from the ``PAYMENTS_*`` settings; no hedging, since a copy
    of a call that creates money would only be safe by its key, and buys little here."""
    http = HttpPayments(
        settings.payments_url,
        settings.payments_key(),
        connect_timeout_s=settings.payments_connect_timeout_s,
        read_timeout_s=settings.payments_read_timeout_s,
        pool_size=settings.layout("orders").threads,
    )
    policy = _policy(
        "payments",
        settings,
        metrics,
        attempts=settings.payments_retry_attempts,
        deadline_s=settings.payments_deadline_s,
        unavailable=PaymentsUnavailable,
    )
    return ResilientPayments(http, policy)


def build_payment_context(
    settings: Settings,
    ctx: OrderContext,
    on_event: Callable[[str, str], None] | None = None,
    on_refused: Callable[[str], None] | None = None,
) -> PaymentContext:
    """The payment use cases' context, on the order context (and its provider client)."""
    provider = ctx.deliverer.payments
    assert provider is not None
    hooks: dict[str, Any] = {}
    if on_event:
        hooks["on_event"] = on_event
    if on_refused:
        hooks["on_refused"] = on_refused
    return PaymentContext(
        orders=ctx,
        provider=provider,
        secrets=tuple(settings.webhook_secrets),
        tolerance_s=settings.payment_webhook_tolerance_s,
        attempts=settings.payment_event_attempts,
        retry_base_s=settings.payment_event_retry_base_s,
        call_timeout_s=settings.payments_deadline_s,
        **hooks,
    )


def _hedge(settings: Settings, threads: int) -> Hedge:
    return Hedge(
        settings.inventory_hedge_after_s,
        HedgeBudget(settings.inventory_hedge_budget),
        final=hedge_final,
        threads=threads,
        armed_s=settings.inventory_hedge_armed_s,
    )


def build_context(
    settings: Settings,
    inventory: InventoryPort,
    engine: Engine,
    payments: PaymentsPort | None = None,
) -> OrderContext:
    """The service-layer context shared by the web app and the reconciler."""
    deliverer = Deliverer(
        uow=partial(UnitOfWork, engine),
        inventory=inventory,
        clock=utcnow,
        retry_base_s=settings.outbox_retry_base_s,
        retry_max_s=settings.outbox_retry_max_s,
        payments=payments if payments is not None else build_payments(settings),
    )
    return OrderContext(
        uow=partial(UnitOfWork, engine),
        deliverer=deliverer,
        reserve_timeout_s=settings.order_reserve_deadline_s,
        key_lease_s=settings.idempotency_lease_s,
        key_ttl_s=settings.idempotency_ttl_s,
        # The count behind the cap reads up to that many index entries per order: none at all
        # when there is no cap.
        daily_order_cap=settings.orders_per_customer_per_day or None,
        holds=Holds(
            settings.unpaid_orders_per_customer or None,
            settings.unpaid_units_per_customer or None,
        )
        if settings.unpaid_orders_per_customer or settings.unpaid_units_per_customer
        else None,
    )


def build_issuer(settings: Settings) -> TokenIssuer:
    """Signs users' tokens and the order service's own token for inventory."""
    return TokenIssuer(settings.auth_signing_key, settings.auth_issuer)


def build_accounts(settings: Settings, engine: Engine | None = None) -> tuple[Accounts, Engine]:
    """The account use cases' context, and the engine it uses (a new one unless given)."""
    engine = engine or make_engine(
        settings.database_url("orders"), settings, application_name="accounts"
    )
    accounts = Accounts(
        uow=partial(UnitOfWork, engine),
        hasher=BoundedHasher(
            PasswordHasher(), limit=settings.auth_hash_concurrency, wait_s=settings.auth_hash_wait_s
        ),
        issuer=build_issuer(settings),
        audience=settings.auth_audience,
        token_ttl_s=settings.auth_token_ttl_s,
        min_password_score=settings.auth_password_min_score,
        delay=FailureDelay(
            settings.auth_failures_free,
            settings.auth_failure_delay_s,
            settings.auth_failure_delay_max_s,
            settings.auth_failure_window_s,
        ),
    )
    return accounts, engine
