"""One SQLAlchemy engine per process, with explicit pool settings and no connection at import."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text

from shared.config import Settings
from shared.forks import renew_after_fork


def make_engine(url: str, settings: Settings, *, application_name: str) -> Engine:
    """An engine on psycopg 3; connections are checked before use so a DB restart is survived."""
    pool_size = settings.layout(application_name).pool_size
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=settings.db_pool_timeout_s,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Values never reach logs or error messages: they may be emails, tokens or passwords.
        hide_parameters=True,
        connect_args={
            "connect_timeout": 3,
            "application_name": application_name,
            # A stuck statement must not hold a worker thread forever.
            "options": "-c statement_timeout=10000 -c lock_timeout=5000",
        },
    )
    # A forked child starts with an empty pool; close=False leaves the parent's connections open
    # for the parent (SQLAlchemy's recipe for pools across fork).
    renew_after_fork(engine, lambda e: e.dispose(close=False))
    return engine


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
