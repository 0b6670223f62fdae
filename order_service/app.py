"""App factory of the order service: ``gunicorn 'order_service.app:create_app()'``."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from flask import Flask
from sqlalchemy import Engine

from order_service import metrics as order_metrics
from order_service.delivery import Deliverer
from order_service.metrics import OrderMetrics
from order_service.repository import UnitOfWork
from order_service.services import OrderContext
from order_service.views import ERRORS, api
from shared.api import init_api
from shared.config import Settings, load_settings
from shared.db import make_engine
from shared.health import health_blueprint
from shared.inventory import InventoryPort
from shared.inventory.http import HttpInventory
from shared.inventory.resilient import ResilientInventory, build_breaker_storage
from shared.logs import configure_logging
from shared.metrics import ClientMetrics, init_metrics
from shared.resilience.breaker import Breaker
from shared.resilience.bulkhead import Bulkhead
from shared.web import init_web


def utcnow() -> datetime:
    return datetime.now(UTC)


def build_inventory(
    settings: Settings, metrics: ClientMetrics | None = None
) -> ResilientInventory | HttpInventory:
    """The inventory client of one process: timeouts, retries, breaker and bulkhead."""
    http = HttpInventory(
        settings.inventory_url,
        connect_timeout_s=settings.inventory_connect_timeout_s,
        read_timeout_s=settings.inventory_read_timeout_s,
        pool_size=max(settings.inventory_max_concurrency, settings.web_threads),
    )
    if settings.inventory_client == "bare":
        return http
    breaker = Breaker(
        "inventory",
        fail_max=settings.breaker_fail_max,
        reset_timeout_s=settings.breaker_reset_timeout_s,
        storage=build_breaker_storage(settings.redis_url, "inventory"),  # type: ignore[arg-type]
        listeners=[metrics.listener()] if metrics else [],
    )
    return ResilientInventory(
        http,
        breaker=breaker,
        bulkhead=Bulkhead(settings.inventory_max_concurrency),
        attempts=settings.inventory_retry_attempts,
        deadline_s=settings.order_reserve_deadline_s,
        backoff_base_s=settings.inventory_backoff_base_s,
        backoff_max_s=settings.inventory_backoff_max_s,
        observer=metrics,
    )


def build_context(settings: Settings, inventory: InventoryPort, engine: Engine) -> OrderContext:
    """The service-layer context shared by the web app and the reconciler."""
    deliverer = Deliverer(
        uow=partial(UnitOfWork, engine),
        inventory=inventory,
        clock=utcnow,
        retry_base_s=settings.outbox_retry_base_s,
        retry_max_s=settings.outbox_retry_max_s,
    )
    return OrderContext(
        uow=partial(UnitOfWork, engine),
        deliverer=deliverer,
        reserve_timeout_s=settings.order_reserve_deadline_s,
        key_lease_s=settings.idempotency_lease_s,
        key_ttl_s=settings.idempotency_ttl_s,
    )


def create_app(settings: Settings | None = None, inventory: InventoryPort | None = None) -> Flask:
    """Wire engine, unit of work, inventory client, API, health and errors; nothing connects yet."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, service="orders")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    engine = make_engine(settings.orders_database_url, settings, application_name="orders")
    registry = init_metrics(app, settings)
    inventory = inventory or build_inventory(settings, ClientMetrics(registry))
    app.extensions["settings"] = settings
    app.extensions["engine"] = engine
    app.extensions["order_context"] = build_context(settings, inventory, engine)
    order_metrics.init_app(app, partial(UnitOfWork, engine), OrderMetrics(registry))

    smorest = init_api(app, "Order service", "Place, list, cancel and ship orders.")
    smorest.register_blueprint(api)
    downstream = {"inventory": inventory.health} if hasattr(inventory, "health") else {}
    app.register_blueprint(health_blueprint(engine, downstream))
    init_web(app, ERRORS)  # after flask-smorest, so our error handlers are the ones used
    return app
