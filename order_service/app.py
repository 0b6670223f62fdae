"""App factory of the order service: ``gunicorn 'order_service.app:create_app()'``."""

from __future__ import annotations

from functools import partial

from flask import Flask

from order_service import auth_views
from order_service import metrics as order_metrics
from order_service.bootstrap import (
    build_accounts,
    build_context,
    build_inventory,
    build_payment_context,
    build_payments,
)
from order_service.inventory import InventoryPort
from order_service.metrics import OrderMetrics
from order_service.payments import views as payment_views
from order_service.repository import UnitOfWork
from order_service.views import ERRORS, LINKS, api
from shared.api import init_api
from shared.auth.tokens import verifier_from
from shared.auth.web import init_auth
from shared.browsers import init_browser_policy
from shared.config import Settings, load_settings
from shared.db import make_engine
from shared.health import health_blueprint
from shared.limits import init_limits
from shared.logs import configure_logging
from shared.metrics import ClientMetrics, init_metrics
from shared.web import init_web, propagated_headers


def create_app(settings: Settings | None = None, inventory: InventoryPort | None = None) -> Flask:
    """Wire engine, unit of work, inventory client, API, health and errors; nothing connects yet."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, service="orders")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    engine = make_engine(settings.database_url("orders"), settings, application_name="orders")
    registry = init_metrics(app, settings)
    client_metrics = ClientMetrics(registry)
    inventory = inventory or build_inventory(settings, client_metrics, context=propagated_headers)
    app.extensions["settings"] = settings
    app.extensions["engine"] = engine
    payments = build_payments(settings, ClientMetrics(registry, "payments"))
    ctx = build_context(settings, inventory, engine, payments)
    app.extensions["order_context"] = ctx
    metrics = OrderMetrics(registry)
    app.extensions["payment_context"] = build_payment_context(
        settings, ctx, on_refused=metrics.webhook_refused
    )
    order_metrics.init_app(app, partial(UnitOfWork, engine), metrics)

    accounts, _ = build_accounts(settings, engine)
    app.extensions["accounts"] = accounts
    init_auth(app, verifier_from(settings, [settings.auth_audience]))
    init_limits(app, settings)

    smorest = init_api(
        app,
        "Order service",
        "Place, list, cancel and ship orders.",
        LINKS,
        serve=settings.serves_docs,
    )
    smorest.register_blueprint(auth_views.blueprint)
    smorest.register_blueprint(api)
    smorest.register_blueprint(payment_views.api)
    downstream = {"inventory": inventory.health} if hasattr(inventory, "health") else {}
    app.register_blueprint(health_blueprint(engine, downstream))
    init_web(app, ERRORS, settings)  # after flask-smorest, so our error handlers are the ones used
    init_browser_policy(app, settings)
    return app
