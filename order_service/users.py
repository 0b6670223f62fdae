"""Persistence of accounts (SQLAlchemy Core on PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert

from order_service.ports import User
from order_service.tables import users


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
