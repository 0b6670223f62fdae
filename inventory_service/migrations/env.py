"""Alembic environment of the inventory service: the schema is inventory_service.tables.metadata."""

from chaos.store import metadata as chaos_metadata
from inventory_service.tables import metadata
from shared.migrate import run_env

# The gremlins live in the inventory database: the inventory service owns their tables too.
run_env([metadata, chaos_metadata])
