"""Retries draw on a budget (a share of the calls over a window, with a floor), so a sick
dependency is not hit with several times the load: on a fake clock, nothing sleeps."""

import contextlib

from order_service.inventory import InventoryUnavailable
from shared.resilience.breaker import Breaker
from shared.resilience.budget import RetryBudget
from shared.resilience.failures import Reason
from tests.unit.resilience.policies import policy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _always_503(attempts: list[float]):
    def attempt(seconds_left: float) -> None:
        attempts.append(seconds_left)
        raise InventoryUnavailable(Reason.SERVER_ERROR, "HTTP 503", status=503)

    return attempt


def _calls(n: int, budget: RetryBudget, clock: Clock, step_s: float) -> int:
    attempts: list[float] = []
    sick = policy(
        breaker=Breaker("t", fail_max=10**6, reset_timeout_s=10),
        attempts=5,
        budget=budget,
        clock=clock,
        sleep=lambda s: None,
    )
    for _ in range(n):
        with contextlib.suppress(InventoryUnavailable):
            sick.call("reserve", _always_503(attempts))
        clock.now += step_s
    return len(attempts)


def test_with_every_call_failing_attempts_stay_within_the_share_plus_the_floor():
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_per_s=1, window_s=10, clock=clock)

    attempts = _calls(1000, budget, clock, step_s=0.005)  # 1,000 calls in 5 s, one window

    assert attempts <= 1000 * 1.2 + 1 * 10
    assert attempts > 1000  # the budget was spent, not refused outright


def test_the_budget_refills_as_old_calls_leave_the_window():
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_per_s=0, window_s=10, clock=clock)
    _calls(100, budget, clock, step_s=0.01)  # spends what 100 calls earned

    clock.now += 11  # the window has moved past all of them
    assert budget.try_retry() is False  # no calls in the window: nothing earned
    for _ in range(5):
        budget.record_call()
    assert budget.try_retry() is True  # 5 calls earn one retry
    assert budget.try_retry() is False


def test_a_healthy_share_of_retries_is_never_refused():
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_per_s=10, window_s=10, clock=clock)
    for i in range(1000):
        budget.record_call()
        if i % 10 == 0:  # one call in ten needs a retry: half the budget
            assert budget.try_retry()
        clock.now += 0.01


def test_a_healthy_process_keeps_only_the_calls_of_one_window():
    # No retry is ever asked for, so nothing but the calls themselves may forget old ones.
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_per_s=10, window_s=10, clock=clock)
    for _ in range(100_000):  # 1,000 s of calls at 100 a second
        budget.record_call()
        clock.now += 0.01

    assert budget.in_window() == (1000, 0)
