"""The unit of work both services use: one transaction, rolled back unless committed.

Each service subclasses it and binds its repositories to the connection in ``_bind``.
"""

from __future__ import annotations

from typing import Self

from sqlalchemy import Connection, Engine


class UnitOfWork:
    """One transaction: rolled back on leaving unless ``commit()`` was called.

    ``single_statement`` is for a body that runs one statement only: PostgreSQL makes a lone
    statement atomic by itself, so it runs in autocommit and the BEGIN and COMMIT round trips
    are saved (a third of the database round trips of an order). ``commit()`` is then a no-op.
    """

    def __init__(self, engine: Engine, *, single_statement: bool = False) -> None:
        self._engine = engine
        self._single = single_statement

    def __enter__(self) -> Self:
        self._conn = self._engine.connect()
        if self._single:
            # psycopg switches to autocommit without a round trip; the pool puts it back.
            self._conn = self._conn.execution_options(isolation_level="AUTOCOMMIT")
        self._tx = self._conn.begin()
        self._bind(self._conn)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tx.is_active:
            self._tx.rollback()
        self._conn.close()

    def _bind(self, conn: Connection) -> None:
        """Create this service's repositories on ``conn``."""
        raise NotImplementedError

    def commit(self) -> None:
        self._tx.commit()

    def rollback(self) -> None:
        self._tx.rollback()
