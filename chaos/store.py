"""Gremlins live in the inventory database, so every worker and instance sees the same ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import Field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from chaos.model import SETTABLE, Gremlin, Kind, Phase

metadata = MetaData()


def _column(f: Field[Any]) -> Column[Any]:
    """The column of one ``Gremlin`` field, from its type and metadata."""
    kind = str(f.type)
    meta = f.metadata
    server_default: Any = None
    column_type: Any
    if kind.startswith("datetime"):
        column_type = DateTime(timezone=True)
        server_default = func.now() if f.name == "created_at" else None
    elif kind.startswith("int"):
        column_type = BigInteger if meta.get("counter") else Integer
        server_default = None if f.default is None else str(f.default)
    elif kind.startswith("float"):
        column_type = Float
    else:
        column_type = String(meta["length"])
    return Column(
        f.name,
        column_type,
        primary_key=f.name == "name",
        # A column the database fills in is never empty, even if the model has no value yet.
        nullable="None" in kind and server_default is None,
        server_default=server_default,
    )


gremlins = Table("gremlins", metadata, *(_column(f) for f in fields(Gremlin)))

# Which request met which gremlin: the chaos report follows each affected order to its end.
gremlin_firings = Table(
    "gremlin_firings",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("gremlin", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reservation_id", String(64), nullable=True, index=True),
    Column("method", String(8), nullable=False),
    Column("path", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now(), index=True),
)


def _gremlin(row: Any) -> Gremlin:
    values = dict(row._mapping)
    return Gremlin(**{**values, "kind": Kind(values["kind"]), "phase": Phase(values["phase"])})


# How long a firing is kept: long enough to follow a chaos run's orders to their end, short
# enough that a gremlin left on for weeks cannot fill the disk.
FIRINGS_RETENTION = timedelta(days=1)


class GremlinStore:
    def __init__(self, engine: Engine, firings_retention: timedelta = FIRINGS_RETENTION) -> None:
        self.engine = engine
        self.firings_retention = firings_retention

    def active(self, now: datetime) -> list[Gremlin]:
        """Gremlins in force now (expired ones, and firings past retention, dropped on the way)."""
        with self.engine.begin() as conn:
            conn.execute(delete(gremlins).where(gremlins.c.expires_at <= now))
            conn.execute(
                delete(gremlin_firings).where(gremlin_firings.c.at < now - self.firings_retention)
            )
            rows = conn.execute(select(gremlins).order_by(gremlins.c.created_at)).all()
        return [_gremlin(r) for r in rows]

    def put(self, gremlin: Gremlin) -> Gremlin:
        """Create or replace a gremlin by name; its counters start again."""
        values = {name: getattr(gremlin, name) for name in (*SETTABLE, "expires_at")}
        values = {k: (v.value if isinstance(v, StrEnum) else v) for k, v in values.items()}
        with self.engine.begin() as conn:
            statement = insert(gremlins).values(name=gremlin.name, **values)
            row = conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[gremlins.c.name],
                    set_={**values, "matched": 0, "fired": 0, "created_at": func.now()},
                ).returning(*gremlins.c)
            ).one()
        return _gremlin(row)

    def remove(self, name: str | None = None) -> int:
        """Remove one gremlin, or all of them when ``name`` is None."""
        statement = delete(gremlins)
        if name is not None:
            statement = statement.where(gremlins.c.name == name)
        with self.engine.begin() as conn:
            return conn.execute(statement).rowcount

    def count_match(self, name: str) -> int | None:
        """Count one more matching call; the new count, or None if the gremlin is gone."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(gremlins)
                .where(gremlins.c.name == name)
                .values(matched=gremlins.c.matched + 1)
                .returning(gremlins.c.matched)
            ).scalar_one_or_none()

    def record_firing(
        self, gremlin: Gremlin, reservation_id: str | None, method: str, path: str
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(gremlins)
                .where(gremlins.c.name == gremlin.name)
                .values(fired=gremlins.c.fired + 1)
            )
            conn.execute(
                gremlin_firings.insert().values(
                    gremlin=gremlin.name,
                    kind=gremlin.kind.value,
                    reservation_id=reservation_id,
                    method=method,
                    path=path[:200],
                )
            )

    def firings(self, since_id: int = 0) -> Sequence[Any]:
        with self.engine.connect() as conn:
            return conn.execute(
                select(gremlin_firings)
                .where(gremlin_firings.c.id > since_id)
                .order_by(gremlin_firings.c.id)
            ).all()
