"""Alembic environment of the order service: the schema is order_service.tables.metadata."""

from order_service.tables import metadata
from shared.migrate import run_env

run_env(metadata)
