"""Who may do what: roles, the caller's identity, signed tokens (see docs/who-may-do-what.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"
    SERVICE = "service"  # the order service calling inventory


@dataclass(frozen=True)
class Principal:
    """The verified caller: the token's subject and role (and the audience it was meant for)."""

    subject: str
    role: Role
    audience: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def describe(self) -> str:
        """How a change records who made it."""
        return f"{self.role.value}:{self.subject}"
