"""CoDel's rule on queue waits (shared.admission), on a clock the test moves."""

import pytest

from shared.admission import (
    Admission,
    ConcurrencyLimit,
    deadline_ms,
    elsewhere,
    elsewhere_s,
    start_request,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_while_the_queue_keeps_emptying_every_request_is_served_however_long_it_waited():
    clock = Clock()
    gate = Admission(0.005, 0.050, clock=clock)
    assert gate.judge(0.001).admitted  # the queue was short just now
    clock.now += 0.030
    assert gate.judge(0.045).admitted  # a burst: longer than the target
    assert gate.judge(2.0).admitted  # one request behind a slow one: no overload either
    clock.now += 0.021  # no short wait for a whole interval: the queue stands
    refused = gate.judge(0.006)
    assert not refused.admitted and refused.reason == "queue"
    assert 100 < refused.retry_after_ms <= 201


def test_a_queue_that_stood_for_a_whole_interval_admits_only_the_target():
    clock = Clock()
    gate = Admission(0.005, 0.050, clock=clock)
    gate.judge(0.001)
    clock.now += 0.051  # no short wait since: the queue has stood
    assert gate.overloaded()
    assert not gate.judge(0.010).admitted
    assert gate.judge(0.004).admitted  # a short wait again: the queue emptied
    assert not gate.overloaded()
    assert gate.judge(0.040).admitted


def test_a_request_whose_caller_gave_up_while_it_queued_is_refused_whatever_the_queue():
    gate = Admission(0.005, 0.050, clock=Clock())
    verdict = gate.judge(0.002, deadline_ms=1.5)
    assert not verdict.admitted and verdict.reason == "deadline"
    assert gate.judge(0.002, deadline_ms=3).admitted


def test_only_a_positive_number_is_a_deadline():
    assert deadline_ms("250") == 250
    assert deadline_ms("12.5") == 12.5
    for raw in (None, "", "0", "-5", "soon", "nan", "1e12"):
        assert deadline_ms(raw) is None


def fill(limit):
    """Admit as many as the limit takes; how many that was."""
    taken = 0
    while limit.try_acquire():
        taken += 1
    return taken


def test_requests_past_the_limit_are_refused_until_one_finishes():
    limit = ConcurrencyLimit(initial=3, least=1, most=8)
    assert fill(limit) == 3
    assert not limit.try_acquire()
    limit.release(0.01)
    assert limit.try_acquire()


def run_windows(limit, latency_s, windows):
    """Keep the limit full and finish ``windows`` windows of requests at ``latency_s`` each."""
    for _ in range(windows):
        for _ in range(limit.window):
            fill(limit)
            limit.release(latency_s)


def test_steady_latency_grows_the_limit_to_the_threads_and_rising_latency_shrinks_it():
    clock = Clock()
    limit = ConcurrencyLimit(initial=4, least=2, most=32, tolerance=2.0, clock=clock)
    run_windows(limit, 0.010, 40)
    assert limit.limit == 32  # latency never rose: one more per window, up to the ceiling
    assert limit.baseline == pytest.approx(0.010)

    run_windows(limit, 0.015, 5)  # within the tolerance: no change
    assert limit.limit == 32
    run_windows(limit, 0.030, 5)  # three times the least seen: a tenth less per window
    assert limit.limit == int(32 * 0.9**5)
    run_windows(limit, 0.030, 100)
    assert limit.limit == 2  # never below the floor


def test_the_baseline_forgets_what_is_older_than_its_horizon():
    clock = Clock()
    limit = ConcurrencyLimit(initial=8, least=2, most=8, horizon_s=60, clock=clock)
    run_windows(limit, 0.010, 1)
    clock.now += 30
    run_windows(limit, 0.050, 1)
    assert limit.baseline == pytest.approx(0.010)
    clock.now += 31  # the fast window is now past the horizon
    run_windows(limit, 0.050, 1)
    assert limit.baseline == pytest.approx(0.050)


def test_a_lightly_loaded_process_does_not_grow_its_limit():
    limit = ConcurrencyLimit(initial=8, least=2, most=32)
    for _ in range(500):
        assert limit.try_acquire()  # one at a time: far below half the limit
        limit.release(0.010)
    assert limit.limit == 8


def test_a_request_waiting_elsewhere_steps_out_of_the_count_and_its_wait_is_not_its_own():
    limit = ConcurrencyLimit(initial=1, least=1, most=1)
    assert limit.try_acquire()
    start_request(limit)
    try:
        with elsewhere():
            assert limit.in_flight == 0
            assert limit.try_acquire()  # another request may do its own work meanwhile
            limit.release(0.01)
        assert limit.in_flight == 1  # back, though the limit is full: it was admitted
        assert elsewhere_s() > 0
    finally:
        start_request(None)
    assert elsewhere_s() == 0
