"""Gremlins live in the inventory database, so every worker and instance sees the same ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
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

from chaos.model import Gremlin, Kind, Phase

metadata = MetaData()

gremlins = Table(
    "gremlins",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("phase", String(8), nullable=False),
    Column("delay_ms", Integer, nullable=False, server_default="0"),
    Column("jitter_ms", Integer, nullable=False, server_default="0"),
    Column("status", Integer, nullable=False, server_default="503"),
    Column("every_nth", Integer, nullable=True),
    Column("probability", Float, nullable=True),
    Column("seed", Integer, nullable=False, server_default="0"),
    Column("fail_next", Integer, nullable=True),
    Column("method", String(8), nullable=True),
    Column("path", String(200), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    # Calls that matched so far, across every process: the selectors count on it.
    Column("matched", BigInteger, nullable=False, server_default="0"),
    Column("fired", BigInteger, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

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
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

_FIELDS = (
    "kind",
    "phase",
    "delay_ms",
    "jitter_ms",
    "status",
    "every_nth",
    "probability",
    "seed",
    "fail_next",
    "method",
    "path",
    "expires_at",
)


def _gremlin(row: Any) -> Gremlin:
    return Gremlin(
        name=row.name,
        kind=Kind(row.kind),
        phase=Phase(row.phase),
        delay_ms=row.delay_ms,
        jitter_ms=row.jitter_ms,
        status=row.status,
        every_nth=row.every_nth,
        probability=row.probability,
        seed=row.seed,
        fail_next=row.fail_next,
        method=row.method,
        path=row.path,
        expires_at=row.expires_at,
        matched=row.matched,
        fired=row.fired,
        created_at=row.created_at,
    )


class GremlinStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def active(self, now: datetime) -> list[Gremlin]:
        """Gremlins in force now (expired ones are dropped on the way)."""
        with self.engine.begin() as conn:
            conn.execute(delete(gremlins).where(gremlins.c.expires_at <= now))
            rows = conn.execute(select(gremlins).order_by(gremlins.c.created_at)).all()
        return [_gremlin(r) for r in rows]

    def put(self, gremlin: Gremlin) -> Gremlin:
        """Create or replace a gremlin by name; its counters start again."""
        values = {f: getattr(gremlin, f) for f in _FIELDS}
        values = {k: (v.value if hasattr(v, "value") else v) for k, v in values.items()}
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
