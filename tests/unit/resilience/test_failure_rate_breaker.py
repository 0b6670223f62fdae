"""The breaker opens on a failure rate over a sliding window of calls (clock injected)."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.resilience.breaker import Breaker, BreakerOpen, FailureRate


class Clock:
    def __init__(self):
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


def breaker(clock=None, *, rate=0.5, window=20, min_calls=10, fail_max=None):
    return Breaker(
        "test",
        reset_timeout_s=10,
        failure_rate=FailureRate(rate, window, min_calls),
        fail_max=fail_max,
        clock=clock or Clock(),
    )


def call(b, fails):
    """One call through the breaker; False when it was refused without being tried."""
    try:
        with b.guard(lambda exc: True):
            if fails:
                raise ConnectionError("inventory did not answer")
    except ConnectionError:
        pass
    except BreakerOpen:
        return False
    return True


def test_one_failure_in_ten_never_opens_it():
    b = breaker()

    tried = [call(b, fails=i % 10 == 0) for i in range(1000)]

    assert all(tried)
    assert b.state == "closed"


def test_six_failures_in_ten_open_it_once_enough_calls_were_seen():
    b = breaker()
    pattern = [True, False, True, True, False, True, True, False, True, False]  # 60%

    for fails in pattern[:9]:
        call(b, fails)
    assert b.state == "closed"  # nine calls: below the minimum, whatever the rate

    call(b, pattern[9])

    assert b.state == "open"
    assert call(b, fails=False) is False  # and it fails fast


def test_a_burst_of_failures_below_the_minimum_does_not_open_it():
    b = breaker(min_calls=10)

    for _ in range(9):
        call(b, fails=True)

    assert b.state == "closed"


def test_old_failures_slide_out_of_the_window():
    b = breaker(window=20, min_calls=10, rate=0.65)
    for fails in [True, True, False] * 3:  # 6 of 9 failed, still under the minimum
        call(b, fails)
    for _ in range(20):
        call(b, fails=False)  # 6 of 10 would trip, but successes keep it closed and push them out

    for _ in range(12):  # 12 of the last 20 failed: 60%
        call(b, fails=True)

    assert b.state == "closed"
    call(b, fails=True)  # 13 of 20: 65%
    assert b.state == "open"


def test_after_the_reset_timeout_one_probe_closes_it_with_an_empty_window():
    clock = Clock()
    b = breaker(clock)
    for _ in range(10):
        call(b, fails=True)
    assert b.state == "open"

    clock.advance(10)
    assert call(b, fails=False)  # the half-open probe

    assert b.state == "closed"
    for _ in range(9):  # the failures from before the opening no longer count
        call(b, fails=True)
    assert b.state == "closed"


def test_a_failed_probe_opens_it_again():
    clock = Clock()
    b = breaker(clock)
    for _ in range(10):
        call(b, fails=True)
    clock.advance(10)

    call(b, fails=True)

    assert b.state == "open"
    assert call(b, fails=False) is False


def test_consecutive_failures_can_open_it_too_when_asked():
    b = breaker(fail_max=3)

    for _ in range(3):
        call(b, fails=True)

    assert b.state == "open"  # three in a row, though below the rate's minimum of ten calls


@pytest.mark.parametrize(
    ("rate", "window", "min_calls"), [(0, 20, 10), (1.5, 20, 10), (0.5, 5, 6), (0.5, 5, 0)]
)
def test_nonsense_windows_are_refused(rate, window, min_calls):
    with pytest.raises(ValueError):
        FailureRate(rate, window, min_calls)


def test_a_breaker_without_any_rule_is_refused():
    with pytest.raises(ValueError):
        Breaker("test", reset_timeout_s=10)
