"""Fault injection ("gremlins") for the inventory service, toggled over HTTP or ``python -m chaos``.

``chaos.init_app(app, api, engine, settings)`` plugs it into a service: the stock logic never
imports it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine

from chaos.engine import Chaos
from chaos.store import GremlinStore

__all__ = ["Chaos", "init_app"]


def init_app(app: Flask, api: Any, engine: Engine, *, enabled: bool, admin_token: str) -> Chaos:
    """Install the gremlin engine and the ``/chaos`` API on ``app``."""
    from chaos.api import blueprint

    chaos = Chaos()
    chaos.init_app(app, GremlinStore(engine), enabled=enabled, admin_token=admin_token)
    api.register_blueprint(blueprint)
    return chaos
