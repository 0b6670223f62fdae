"""CoDel's rule on queue waits (shared.admission), on a clock the test moves."""

from shared.admission import Admission, deadline_ms


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
    assert 50 < refused.retry_after_ms <= 101


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
