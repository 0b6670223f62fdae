"""App factory of the inventory service: ``gunicorn 'inventory_service.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

import chaos
from inventory_service import metrics as inventory_metrics
from inventory_service.bootstrap import build_stock
from inventory_service.metrics import InventoryMetrics
from inventory_service.views import ERRORS, LINKS, api
from shared.api import init_api
from shared.auth.tokens import verifier_from
from shared.auth.web import init_auth
from shared.browsers import init_browser_policy
from shared.config import Settings, load_settings
from shared.health import health_blueprint
from shared.logs import configure_logging
from shared.metrics import init_metrics
from shared.web import init_web


def create_app(settings: Settings | None = None) -> Flask:
    """Wire engine, unit of work, API, health and error handling; nothing connects yet."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, service="inventory")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    engine, uow = build_stock(settings, "inventory")
    app.extensions["settings"] = settings
    app.extensions["engine"] = engine
    app.extensions["inventory_uow"] = uow
    registry = init_metrics(app, settings)
    inventory_metrics.init_app(app, uow, InventoryMetrics(registry))

    # Admins' tokens are meant for the public API; the order service's for inventory alone.
    verifier = verifier_from(settings, [settings.auth_audience, "inventory"])
    init_auth(app, verifier)

    smorest = init_api(
        app,
        "Inventory service",
        "Products, stock reservations and the ledger.",
        LINKS,
        serve=settings.serves_docs,
    )
    smorest.register_blueprint(api)
    app.register_blueprint(health_blueprint(engine))
    chaos.init_app(
        app,
        smorest,
        engine,
        enabled=settings.chaos_enabled,
        admin_token=settings.admin_token,
        registry=registry,
    )
    # After flask-smorest, so our error handlers are the ones used.
    init_web(app, ERRORS, settings, "inventory")
    init_browser_policy(app, settings)
    return app
