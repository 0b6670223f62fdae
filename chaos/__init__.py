"""Fault injection ("gremlins") for the inventory service, toggled over HTTP or ``python -m chaos``.

``chaos.init_app(app, api, engine, settings)`` plugs it into a service: the stock logic never
imports it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Engine

from chaos.engine import Chaos
from chaos.store import GremlinStore

__all__ = ["Chaos", "init_app"]


def init_app(
    app: Flask,
    api: Any,
    engine: Engine,
    *,
    enabled: bool,
    admin_token: str,
    registry: CollectorRegistry | None = None,
) -> Chaos:
    """Install the gremlin engine, its ``/chaos`` API and its injection counter on ``app``."""
    from chaos.api import authenticate_changes, blueprint

    # First of the app's hooks: the services call init_app before installing their own.
    app.before_request(authenticate_changes)

    injections = Counter(
        "chaos_gremlin_injections_total",
        "Faults injected, by gremlin kind and phase",
        ["kind", "phase"],
        registry=registry,
    )
    chaos = Chaos()
    chaos.init_app(
        app,
        GremlinStore(engine),
        enabled=enabled,
        admin_token=admin_token,
        on_fire=lambda kind, phase: injections.labels(kind, phase).inc(),
    )
    api.register_blueprint(blueprint)
    return chaos
