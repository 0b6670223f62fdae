"""With REDIS_URL set, every process shares one breaker (pybreaker's Redis storage)."""

import shutil

import pytest

from shared.inventory.resilient import build_breaker_storage
from shared.resilience.breaker import Breaker, BreakerOpen

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server not installed (apt-get install redis-server)",
)


def process_breaker(url):
    """What each worker process builds when REDIS_URL is set."""
    return Breaker(
        "inventory", fail_max=3, reset_timeout_s=60, storage=build_breaker_storage(url, "inventory")
    )


def fail(breaker):
    with pytest.raises(ConnectionError), breaker.guard(lambda exc: True):
        raise ConnectionError("inventory down")


def test_a_breaker_opened_in_one_process_is_open_in_the_others(redis_url):
    first, second = process_breaker(redis_url), process_breaker(redis_url)

    for _ in range(3):
        fail(first)

    assert second.state == "open"
    with pytest.raises(BreakerOpen), second.guard(lambda exc: True):
        pytest.fail("the call must not run while the shared breaker is open")


def test_failures_from_several_processes_add_up(redis_url):
    first, second = process_breaker(redis_url), process_breaker(redis_url)

    fail(first)
    fail(second)
    fail(first)

    assert first.state == second.state == "open"
