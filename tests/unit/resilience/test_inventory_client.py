"""The resilient inventory client against a local server that misbehaves on command.

Sleeps and clocks are injected: no test waits seconds, and none asserts on durations.
"""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from lab.postgres import free_port
from order_service.domain import OrderLine
from order_service.inventory import InventoryRefused, InventoryUnavailable
from order_service.inventory.http import HttpInventory
from order_service.inventory.resilient import ResilientInventory
from shared.resilience.breaker import Breaker
from shared.resilience.failures import Reason
from tests.fakes.flaky_server import FlakyServer
from tests.helpers import wait_until
from tests.unit.resilience.policies import policy

LINES = [OrderLine("A", 1)]


class BreakerClock:
    """Real time plus an offset the test moves, for the breaker's reset timeout."""

    def __init__(self):
        self.offset = timedelta()

    def __call__(self):
        return datetime.now(UTC) + self.offset

    def advance(self, seconds):
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def server():
    s = FlakyServer()
    yield s
    s.close()


def client(
    url,
    *,
    attempts=3,
    fail_max=5,
    concurrency=16,
    read_timeout=2.0,
    deadline=6.0,
    breaker_clock=None,
    sleeps=None,
):
    sleeps = sleeps if sleeps is not None else []
    return ResilientInventory(
        HttpInventory(url, connect_timeout_s=0.5, read_timeout_s=read_timeout, pool_size=16),
        policy(
            breaker=Breaker(
                "test",
                fail_max=fail_max,
                reset_timeout_s=10,
                clock=breaker_clock or (lambda: datetime.now(UTC)),
            ),
            bulkhead=concurrency,
            attempts=attempts,
            deadline_s=deadline,
            sleep=sleeps.append,
        ),
    )


def reason_of(call):
    with pytest.raises(InventoryUnavailable) as failed:
        call()
    return failed.value.reason


def test_a_healthy_call_is_one_request(server):
    assert client(server.url).reserve("r", LINES).state == "RESERVED"
    assert server.requests == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_a_transient_server_error_is_retried_until_it_passes(server, status):
    server.then("status", status)

    assert client(server.url).reserve("r", LINES).state == "RESERVED"
    assert server.requests == 2


def test_retry_after_is_honoured_instead_of_the_backoff(server):
    sleeps = []
    server.then("status", 503, {"Retry-After": "2"})

    client(server.url, sleeps=sleeps).reserve("r", LINES)

    assert sleeps == [2.0]


def test_backoff_is_full_jitter_within_the_exponential_bounds(server):
    sleeps = []
    server.then("status", 503, times=5)

    reason_of(lambda: client(server.url, attempts=5, sleeps=sleeps).reserve("r", LINES))

    assert len(sleeps) == 4
    for n, slept in enumerate(sleeps):
        assert 0 <= slept <= min(2.0, 0.1 * 2**n)


def test_a_server_that_keeps_failing_gives_up_after_three_attempts(server):
    server.then("status", 500, times=10)

    assert reason_of(lambda: client(server.url).reserve("r", LINES)) is Reason.SERVER_ERROR
    assert server.requests == 3


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_a_4xx_answer_is_a_refusal_never_retried(server, status):
    server.then("status", status)

    with pytest.raises(InventoryRefused) as refused:
        client(server.url).reserve("r", LINES)
    assert refused.value.status == status and server.requests == 1


def test_a_5xx_that_is_not_transient_is_not_retried(server):
    server.then("status", 501)

    assert reason_of(lambda: client(server.url).reserve("r", LINES)) is Reason.SERVER_ERROR
    assert server.requests == 1


def test_a_reset_connection_is_retried(server):
    server.then("reset")

    assert client(server.url).reserve("r", LINES).state == "RESERVED"
    assert server.requests == 2


def test_a_closed_port_is_a_connection_failure_after_the_retries():
    sleeps = []

    reason = reason_of(
        lambda: client(f"http://127.0.0.1:{free_port()}", sleeps=sleeps).reserve("r", LINES)
    )

    assert reason is Reason.CONNECTION and len(sleeps) == 2


def test_a_slow_answer_times_out_and_is_retried(server):
    never = threading.Event()
    server.then("hold", never, times=3)

    reason = reason_of(lambda: client(server.url, read_timeout=0.2).reserve("r", LINES))

    never.set()
    assert reason is Reason.TIMEOUT and server.requests == 3


class TimedInner:
    """Stands in for the HTTP adapter: every attempt uses its whole timeout, then times out."""

    def __init__(self, clock, read_timeout_s=5.0):
        self.clock, self.read_timeout_s, self.timeouts = clock, read_timeout_s, []

    def reserve(self, rid, lines, *, timeout_s):
        timeout = min(self.read_timeout_s, timeout_s)  # as the HTTP adapter does
        self.timeouts.append(timeout)
        self.clock.now += timeout
        raise InventoryUnavailable(Reason.TIMEOUT)


class FakeMonotonic:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def timed_client(inner, clock):
    """The resilient client on a fake clock: time passes only when the inner call says so."""
    return ResilientInventory(
        inner,
        policy(
            breaker=Breaker("t", fail_max=99, reset_timeout_s=10),
            bulkhead=1,
            clock=clock,
            sleep=clock.sleep,
        ),
    )


def test_no_attempt_outlives_the_deadline():
    clock = FakeMonotonic()
    inner = TimedInner(clock)
    resilient = timed_client(inner, clock)
    reason_of(lambda: resilient.reserve("r", LINES))

    # The first attempt gets the adapter's full 5 s read timeout, later ones what is left.
    assert clock.now - 100.0 <= 6.0
    assert inner.timeouts[0] == 5.0 and all(t <= 1.0 for t in inner.timeouts[1:])


def test_the_caller_can_shorten_the_deadline():
    clock = FakeMonotonic()
    inner = TimedInner(clock)
    resilient = timed_client(inner, clock)

    reason_of(lambda: resilient.reserve("r", LINES, timeout_s=1.0))

    assert clock.now - 100.0 <= 1.0


def test_the_breaker_opens_after_five_failed_calls_and_then_fails_fast(server):
    server.then("status", 500, times=5)
    inventory = client(server.url, attempts=1)
    for _ in range(5):
        reason_of(lambda: inventory.reserve("r", LINES))

    reason = reason_of(lambda: inventory.reserve("r", LINES))

    assert reason is Reason.BREAKER_OPEN
    assert server.requests == 5 and inventory.policy.breaker.state == "open"


def test_a_call_counts_once_against_the_breaker_however_many_attempts_it_made(server):
    server.then("status", 503, times=6)
    inventory = client(server.url, attempts=3, fail_max=2)

    reason_of(lambda: inventory.reserve("r", LINES))

    assert server.requests == 3 and inventory.policy.breaker.state == "closed"


def test_no_retry_goes_out_once_the_breaker_is_open(server):
    server.then("status", 503, times=10)
    inventory = client(server.url, attempts=3, sleeps=[])
    # Another thread trips the breaker while this call waits to retry.
    inventory.policy._sleep = lambda seconds: inventory.policy.breaker.trip()

    reason = reason_of(lambda: inventory.reserve("r", LINES))

    assert reason is Reason.BREAKER_OPEN and server.requests == 1


def test_the_breaker_probes_after_the_reset_timeout_and_closes_on_success(server):
    clock = BreakerClock()
    server.then("status", 500, times=5)
    inventory = client(server.url, attempts=1, breaker_clock=clock)
    for _ in range(5):
        reason_of(lambda: inventory.reserve("r", LINES))
    clock.advance(9)
    assert reason_of(lambda: inventory.reserve("r", LINES)) is Reason.BREAKER_OPEN

    clock.advance(2)

    assert inventory.reserve("r", LINES).state == "RESERVED"
    assert inventory.policy.breaker.state == "closed"


def test_a_failed_probe_opens_the_breaker_again(server):
    clock = BreakerClock()
    server.then("status", 500, times=6)
    inventory = client(server.url, attempts=1, breaker_clock=clock)
    for _ in range(5):
        reason_of(lambda: inventory.reserve("r", LINES))
    clock.advance(11)

    assert reason_of(lambda: inventory.reserve("r", LINES)) is Reason.SERVER_ERROR
    assert inventory.policy.breaker.state == "open"
    assert reason_of(lambda: inventory.reserve("r", LINES)) is Reason.BREAKER_OPEN


def test_half_open_lets_exactly_one_probe_through(server):
    clock = BreakerClock()
    server.then("status", 500, times=5)
    inventory = client(server.url, attempts=1, breaker_clock=clock)
    for _ in range(5):
        reason_of(lambda: inventory.reserve("r", LINES))
    clock.advance(11)
    release = threading.Event()
    server.then("hold", release)
    probe = threading.Thread(target=inventory.reserve, args=("r", LINES))
    probe.start()
    wait_until(lambda: server.requests >= 6)  # the probe has reached the server

    second = reason_of(lambda: inventory.reserve("r", LINES))

    release.set()
    probe.join()
    assert second is Reason.BREAKER_OPEN and server.requests == 6
    assert inventory.policy.breaker.state == "closed"


def test_refusals_do_not_open_the_breaker(server):
    server.then("status", 422, times=20)
    inventory = client(server.url, fail_max=5)

    for _ in range(20):
        with pytest.raises(InventoryRefused):
            inventory.reserve("r", LINES)

    assert inventory.policy.breaker.state == "closed"


def test_the_bulkhead_refuses_at_once_when_every_slot_is_taken(server):
    release = threading.Event()
    server.then("hold", release, times=2)
    inventory = client(server.url, concurrency=2)
    holders = [threading.Thread(target=inventory.reserve, args=(f"r{i}", LINES)) for i in range(2)]
    for t in holders:
        t.start()
    wait_until(lambda: server.requests >= 2)

    reason = reason_of(lambda: inventory.reserve("r3", LINES))

    release.set()
    for t in holders:
        t.join()
    assert reason is Reason.BULKHEAD_FULL and server.requests == 2


def test_eight_slow_calls_in_one_process_run_in_parallel_through_the_breaker(server):
    # Each request waits at the server until all eight are there at once. A breaker (or
    # anything else) that ran calls one at a time would never fill the barrier: they would
    # all fail with 500 after the barrier gives up.
    everyone = threading.Barrier(8)
    server.then("barrier", everyone, times=8)
    inventory = client(server.url, attempts=1)
    results = []

    threads = [
        threading.Thread(target=lambda i=i: results.append(inventory.reserve(f"r{i}", LINES)))
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(results) == 8 and all(r.state == "RESERVED" for r in results)
    assert server.requests == 8
