"""Failed logins delay the next attempt for that email; they never lock its owner out.

On real PostgreSQL, with a fast hasher and a clock the test moves: only failures count, the
delay doubles up to its ceiling, an attempt inside it is refused unchecked, and after a storm of
wrong passwords the owner is in as soon as the ceiling has passed since the last failure.
"""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from order_service.accounts import Accounts, login, signup
from order_service.accounts.throttle import FailureDelay
from order_service.domain import InvalidCredentials, LoginDelayed
from order_service.repository import UnitOfWork
from order_service.tables import login_failures
from shared.auth.tokens import TokenIssuer
from shared.config import Settings

EMAIL, PASSWORD = "owner@example.com", "the-right-password"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class CountingHasher(PasswordHasher):
    """argon2 at its cheapest, counting the verifications (what a storm costs in CPU)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = 0

    def verify(self, hash, password):  # type: ignore[no-untyped-def]
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def accounts(orders_engine):
    clock = Clock()
    settings = Settings()
    made = Accounts(
        uow=partial(UnitOfWork, orders_engine),
        hasher=CountingHasher(),
        issuer=TokenIssuer(settings.auth_signing_key, settings.auth_issuer),
        audience="orders",
        token_ttl_s=60,
        clock=clock,
        delay=FailureDelay(free=3, base_s=0.5, max_s=4.0, window_s=900),
    )
    signup(made, EMAIL, PASSWORD)
    return made, clock


def wait_after_failing(made, clock):
    """Fail once, then how long the next attempt was told to wait (ms; 0 if not delayed)."""
    with pytest.raises(InvalidCredentials):
        login(made, EMAIL, "wrong-password-1")
    try:
        login(made, EMAIL, "wrong-password-2")
    except LoginDelayed as delayed:
        wait_ms = delayed.details["retry_after_ms"]
        clock.advance(wait_ms / 1000)
        return wait_ms
    except InvalidCredentials:
        pytest.fail("an attempt inside no delay was a second failure")
    return 0


def test_the_first_failures_are_free_then_each_doubles_the_wait(accounts):
    made, clock = accounts
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            login(made, EMAIL, "wrong-password-1")
    assert login(made, EMAIL, PASSWORD).role == "customer"  # three failures: no wait yet

    # The success cleared them: three free again, then 0.5 s doubling up to the 4 s ceiling.
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            login(made, EMAIL, "wrong-password-1")
    waits = [wait_after_failing(made, clock) for _ in range(6)]
    assert waits == [500, 1000, 2000, 4000, 4000, 4000]


def test_a_storm_of_wrong_passwords_costs_few_hashes_and_the_owner_gets_in_after_the_ceiling(
    accounts, orders_engine
):
    made, clock = accounts
    hashed_before = made.hasher.verified
    refused = 0
    for _ in range(1000):  # one wrong guess every 10 ms for 10 s
        try:
            login(made, EMAIL, "wrong-password-1")
        except LoginDelayed:
            refused += 1
        except InvalidCredentials:
            pass
        clock.advance(0.01)
    checked = made.hasher.verified - hashed_before
    assert refused + checked == 1000
    assert checked < 20  # 3 free, then one per delay: 0.5, 1, 2, 4, 4 s ...

    with pytest.raises(LoginDelayed) as delayed:
        login(made, EMAIL, PASSWORD)
    assert 0 < delayed.value.details["retry_after_ms"] <= 4000
    clock.advance(delayed.value.details["retry_after_ms"] / 1000)
    assert login(made, EMAIL, PASSWORD).role == "customer"
    with orders_engine.connect() as conn:  # the success cleared the failures
        assert conn.execute(select(func.count()).select_from(login_failures)).scalar_one() == 0


def test_unknown_emails_are_delayed_alike_and_old_failures_are_forgotten(accounts, orders_engine):
    made, clock = accounts
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            login(made, "nobody@example.com", "wrong-password-1")
    with pytest.raises(LoginDelayed):
        login(made, "nobody@example.com", "wrong-password-1")

    clock.advance(901)  # past the window: the count starts again
    with pytest.raises(InvalidCredentials):
        login(made, "nobody@example.com", "wrong-password-1")
    with UnitOfWork(orders_engine) as tx:
        assert tx.users.failures("nobody@example.com").failures == 1
        assert tx.users.purge_failures(clock.now - timedelta(seconds=900)) == 0
        assert tx.users.purge_failures(clock.now + timedelta(seconds=1)) == 1
        tx.commit()
