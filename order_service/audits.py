"""Persistence of the audit's runs (SQLAlchemy Core on PostgreSQL)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Connection, select

from order_service.ports import AuditRun
from order_service.tables import audit_runs

_FIELDS = [f.name for f in dataclasses.fields(AuditRun)]


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, run: AuditRun) -> None:
        self.conn.execute(audit_runs.insert(), dataclasses.asdict(run))

    def last(self) -> AuditRun | None:
        query = select(*(audit_runs.c[name] for name in _FIELDS))
        row = self.conn.execute(query.order_by(audit_runs.c.started_at.desc()).limit(1)).first()
        return AuditRun(*row) if row else None
