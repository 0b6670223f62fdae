"""Alembic environment of the inventory service: the schema is inventory_service.tables.metadata."""

from inventory_service.tables import metadata
from shared.migrate import run_env

run_env(metadata)
