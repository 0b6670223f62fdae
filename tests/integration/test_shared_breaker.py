"""With REDIS_URL set, every process shares one breaker (pybreaker's Redis storage), and each
keeps its own while Redis is away."""

import shutil

import pytest
import redis

from shared.resilience.breaker import Breaker, BreakerOpen
from shared.resilience.policy import breaker_storage as build_breaker_storage
from shared.resilience.shared_state import FallbackBreakerStorage, SharedLink

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server not installed (apt-get install redis-server)",
)


def process_breaker(url, on_change=lambda component, shared: None):
    """What each worker process builds when REDIS_URL is set."""
    storage = build_breaker_storage(url, "inventory", on_change)
    return Breaker("inventory", fail_max=3, reset_timeout_s=60, storage=storage)


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


def test_with_redis_away_each_process_keeps_its_own_breaker_and_says_so_once(redis_server):
    changes = []
    first = process_breaker(redis_server.url, lambda c, shared: changes.append((c, shared)))
    second = process_breaker(redis_server.url)
    redis_server.stop()

    for _ in range(3):
        fail(first)  # nothing raised but the call's own error: no Redis error reaches a caller

    assert first.state == "open"
    assert second.state == "closed"  # nothing is shared now
    assert changes == [("breaker:inventory", False)]


def test_once_redis_is_back_the_breaker_is_shared_again(redis_server):
    changes, now = [], [0.0]
    link = SharedLink(
        "breaker:inventory",
        on_change=lambda c, shared: changes.append(shared),
        clock=lambda: now[0],
    )
    client = redis.Redis.from_url(redis_server.url, socket_timeout=0.5)
    first = Breaker(
        "inventory",
        fail_max=3,
        reset_timeout_s=60,
        storage=FallbackBreakerStorage(client, "inventory", link),
    )
    redis_server.stop()
    fail(first)
    redis_server.start()
    now[0] += link.retry_after_s  # the pause before Redis is tried again is over

    for _ in range(3):
        fail(first)

    assert changes == [False, True]
    assert process_breaker(redis_server.url).state == "open"  # what a fresh process sees


def test_with_redis_away_rate_limits_count_in_the_process_and_the_metric_says_so(redis_server):
    from prometheus_client import generate_latest

    from order_service.app import create_app
    from shared.config import Settings
    from tests.fakes.inventory import FakeInventory
    from tests.helpers import bearer

    settings = Settings(
        orders_database_url="postgresql+psycopg://x:y@127.0.0.1:9/none",
        rate_limit_orders_per_customer="2/minute",
        redis_url=redis_server.url,
        log_level="WARNING",
    )
    app = create_app(settings, inventory=FakeInventory())
    client = app.test_client()
    redis_server.stop()
    body, alice = {"items": [{"sku": "A-1", "quantity": 1}]}, bearer("customer", "alice")

    statuses = [client.post("/api/v1/orders", json=body, headers=alice).status_code for _ in "xyz"]
    metrics = generate_latest(app.extensions["metrics_registry"]).decode()

    assert statuses[0] != 500 and statuses[2] == 429  # still limited, never a 5xx of Redis
    assert 'shared_state_fallbacks_total{component="rate-limits"} 1.0' in metrics
    assert 'shared_state_local{component="rate-limits"} 1.0' in metrics
