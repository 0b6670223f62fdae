"""Run a service's Alembic migrations programmatically: ``python -m shared.migrate orders``."""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine
from sqlalchemy.pool import NullPool

from shared.config import load_settings

_SERVICES = {
    "orders": Path(__file__).resolve().parent.parent / "order_service" / "migrations",
    "inventory": Path(__file__).resolve().parent.parent / "inventory_service" / "migrations",
}


def run_env(metadata: MetaData | list[MetaData]) -> None:
    """The body of each service's ``env.py``: migrate online, in one transaction."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is set by alembic_config()"
    engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def alembic_config(service: str, url: str) -> Config:
    """An Alembic config for one service's migrations against ``url``."""
    config = Config()
    config.set_main_option("script_location", str(_SERVICES[service]))
    # ConfigParser interpolation would read a '%' in a password as a placeholder.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head(service: str) -> str:
    """The revision a database of ``service`` is at once fully migrated."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(alembic_config(service, "postgresql://")).get_current_head()
    assert found is not None
    return found


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Bring one service's database to ``revision``."""
    command.upgrade(alembic_config(service, url), revision)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", choices=sorted(_SERVICES))
    parser.add_argument("revision", nargs="?", default="head")
    args = parser.parse_args()
    settings = load_settings()
    # The owner role runs the DDL; the services' runtime role could not.
    upgrade(args.service, settings.owner_database_url(args.service), args.revision)


if __name__ == "__main__":
    main()
