"""Persistence of accounts (SQLAlchemy Core on PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, case, delete, select
from sqlalchemy.dialects.postgresql import insert

from order_service.ports import LoginFailures, User
from order_service.tables import login_failures, users


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, user: User) -> bool:
        """Store a new account; False when the email is taken."""
        row = self.conn.execute(
            insert(users)
            .values(
                id=user.id,
                email=user.email,
                password_hash=user.password_hash,
                role=user.role,
                created_at=user.created_at,
            )
            .on_conflict_do_nothing(index_elements=[users.c.email])
            .returning(users.c.id)
        ).first()
        return row is not None

    def by_email(self, email: str) -> User | None:
        row = self.conn.execute(select(users).where(users.c.email == email)).mappings().first()
        if row is None:
            return None
        return User(row["id"], row["email"], row["password_hash"], row["role"], row["created_at"])

    def set_password(self, email: str, password_hash: str, role: str) -> None:
        self.conn.execute(
            users.update()
            .where(users.c.email == email)
            .values(password_hash=password_hash, role=role)
        )

    def failures(self, email: str) -> LoginFailures | None:
        row = self.conn.execute(
            select(login_failures.c.failures, login_failures.c.last_failed_at).where(
                login_failures.c.email == email
            )
        ).first()
        return LoginFailures(row.failures, row.last_failed_at) if row else None

    def record_failure(self, email: str, now: datetime, forget_before: datetime) -> None:
        # One statement, so concurrent failures for one email all count.
        stale = login_failures.c.last_failed_at < forget_before
        self.conn.execute(
            insert(login_failures)
            .values(email=email, failures=1, last_failed_at=now)
            .on_conflict_do_update(
                index_elements=[login_failures.c.email],
                set_={
                    "failures": case((stale, 1), else_=login_failures.c.failures + 1),
                    "last_failed_at": now,
                },
            )
        )

    def clear_failures(self, email: str) -> None:
        self.conn.execute(delete(login_failures).where(login_failures.c.email == email))

    def purge_failures(self, before: datetime) -> int:
        result = self.conn.execute(
            delete(login_failures).where(login_failures.c.last_failed_at < before)
        )
        return result.rowcount
