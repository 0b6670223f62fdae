"""One SQLAlchemy engine per process, with explicit pool settings and no connection at import."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc, text

from shared.config import Settings
from shared.forks import renew_after_fork

# A connection idle for longer than this is pinged before it is handed out.
IDLE_PING_S = 1.0


def make_engine(url: str, settings: Settings, *, application_name: str) -> Engine:
    """An engine on psycopg 3; idle connections are checked before use (a DB restart)."""
    pool_size = settings.layout(application_name).pool_size
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=settings.db_pool_timeout_s,
        # Not pool_pre_ping: a round trip on every checkout was a fifth of an order's. See
        # _ping_if_idle.
        pool_pre_ping=False,
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
    _ping_if_idle(engine)
    return engine


def _ping_if_idle(engine: Engine) -> None:
    """Ping a connection on checkout only if it sat idle in the pool for over IDLE_PING_S.

    After a database restart the pool is full of dead connections; the first checkout of each
    pings it, finds it dead, and SQLAlchemy connects anew (``DisconnectionError`` in a
    checkout hook is its documented way to do that). A connection returned a moment ago is
    as alive as a ping would find it; if the database died in that moment, the statement
    fails instead, SQLAlchemy drops the whole pool, and the caller answers 503 as for any
    outage (the statement changed nothing).
    """

    @event.listens_for(engine, "checkin")
    def _idle(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since > IDLE_PING_S:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as error:  # whatever a dead socket raises
                raise exc.DisconnectionError(str(error)) from error


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
