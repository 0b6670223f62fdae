"""Wiring of the inventory service's objects, shared by the app factory and the tools."""

from __future__ import annotations

from functools import partial

from sqlalchemy import Engine

from inventory_service.repository import UnitOfWork
from inventory_service.services import UowFactory
from shared.config import Settings
from shared.db import make_engine


def build_stock(settings: Settings, application_name: str) -> tuple[Engine, UowFactory]:
    """The engine of the inventory database and the unit-of-work factory on it."""
    engine = make_engine(
        settings.database_url("inventory"), settings, application_name=application_name
    )
    return engine, partial(UnitOfWork, engine)
