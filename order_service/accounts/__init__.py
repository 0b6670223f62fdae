"""Accounts: sign up (always a customer), log in for a token, and the admin made by a command
(``python -m order_service.accounts``, in ``__main__``); signup never makes an admin.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from argon2.exceptions import InvalidHashError, VerifyMismatchError

from order_service.accounts.hashing import Hasher
from order_service.accounts.identity import check_password, normal_email
from order_service.accounts.throttle import FailureDelay
from order_service.domain import EmailTaken, InvalidCredentials, LoginDelayed
from order_service.ports import OrderUnitOfWork, User
from shared.auth import Role
from shared.auth.tokens import TokenIssuer


@functools.cache
def _decoy(hasher: Hasher) -> str:
    """A hash to check against when the email is unknown, so timing does not tell who has an
    account. Made on first use: an argon2 hash costs ~200 ms of CPU, which every worker and the
    reconciler paid at import before."""
    return hasher.hash("decoy password for unknown emails")


@dataclass(frozen=True)
class Accounts:
    """What the account use cases need, built once by the bootstrap."""

    uow: Callable[[], OrderUnitOfWork]
    hasher: Hasher
    issuer: TokenIssuer
    audience: str
    token_ttl_s: int
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    delay: FailureDelay = field(default_factory=FailureDelay)
    min_password_score: int = 3  # zxcvbn's 0..4 (order_service.accounts.identity)


@dataclass(frozen=True)
class Login:
    access_token: str
    expires_in: int
    role: str


def signup(accounts: Accounts, email: str, password: str) -> User:
    """A new customer account; ``EmailTaken`` if the email (in its normal form) has one,
    ``WeakPassword`` if the password is one a guesser would try early."""
    email = normal_email(email)
    check_password(password, email, accounts.min_password_score)
    user = User(
        uuid.uuid4(), email, accounts.hasher.hash(password), Role.CUSTOMER, accounts.clock()
    )
    with accounts.uow() as tx:
        if not tx.users.add(user):
            raise EmailTaken("an account with this email exists", {"email": user.email})
        tx.commit()
    return user


def login(accounts: Accounts, email: str, password: str) -> Login:
    """A token for the account, or ``InvalidCredentials`` (never which part was wrong), or
    ``LoginDelayed`` while this email's last failures still hold the next attempt back."""
    email = normal_email(email)
    with accounts.uow() as tx:
        user = tx.users.by_email(email)
        failures = tx.users.failures(email)
    wait_s = accounts.delay.wait_s(failures, accounts.clock())
    if wait_s > 0:
        raise LoginDelayed(wait_s)
    try:
        accounts.hasher.verify(user.password_hash if user else _decoy(accounts.hasher), password)
    except (VerifyMismatchError, InvalidHashError):
        user = None
    if user is None:
        _failed(accounts, email)
        raise InvalidCredentials("wrong email or password")
    if failures is not None:
        with accounts.uow() as tx:
            tx.users.clear_failures(email)
            tx.commit()
    token = accounts.issuer.issue(
        str(user.id), Role(user.role), accounts.audience, accounts.token_ttl_s
    )
    return Login(token, accounts.token_ttl_s, user.role)


def _failed(accounts: Accounts, email: str) -> None:
    now = accounts.clock()
    with accounts.uow() as tx:
        tx.users.record_failure(email, now, accounts.delay.forget_before(now))
        tx.commit()


def ensure_admin(accounts: Accounts, email: str, password: str) -> User:
    """Create the admin account, or make the existing account an admin with this password."""
    digest = accounts.hasher.hash(password)
    user = User(uuid.uuid4(), normal_email(email), digest, Role.ADMIN, accounts.clock())
    with accounts.uow() as tx:
        if not tx.users.add(user):
            tx.users.set_password(user.email, digest, Role.ADMIN)
        stored = tx.users.by_email(user.email)
        tx.commit()
    assert stored is not None
    return stored
