"""Admission control on a real gunicorn: a request that queued too long is refused at once.

One inventory process with a single thread; a latency gremlin holds that thread for seconds,
and what queues behind it has waited far past ``ADMISSION_INTERVAL_MS`` (or the caller's own
deadline) by the time the thread takes it: ``503 OVERLOADED``, ``Retry-After-Ms``, and nothing
recorded. Health probes queue too but are never refused.
"""

import concurrent.futures
import uuid

import pytest
import requests
from sqlalchemy import text

from lab import processes
from lab.postgres import free_port
from tests.helpers import bearer, wait_until

pytestmark = pytest.mark.e2e
HOLD_MS = 3000


@pytest.fixture
def one_thread(system, tmp_path):
    port = free_port()
    env = {
        **system.process_env("inventory"),
        "INVENTORY_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "1",
        "WEB_THREADS": "1",
        "CHAOS_ENABLED": "true",
        "ADMISSION_INTERVAL_MS": "50",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    base = f"http://127.0.0.1:{port}"
    command = processes.gunicorn_command("inventory")
    with processes.running(command, tmp_path / "inv.log", env, f"{base}/health/ready"):
        yield base


def _hold_the_thread(base, pool, engine):
    """A request the gremlin keeps for HOLD_MS; returns once it holds the only thread."""
    admin = bearer("admin")
    requests.put(
        f"{base}/chaos/hold",
        headers=admin,
        timeout=5,
        json={
            "kind": "latency",
            "delay_ms": HOLD_MS,
            "method": "GET",
            "path": "/api/v1/products/*",
        },
    ).raise_for_status()
    slow = pool.submit(requests.get, f"{base}/api/v1/products/ANY", timeout=30)

    def holding():
        # The gremlin records its firing before it starts the delay; the service itself cannot
        # be asked, since the question would queue behind the hold.
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM gremlin_firings")).scalar_one() >= 1

    wait_until(holding, timeout_s=30)
    return slow


def test_what_queued_past_the_interval_is_refused_at_once_and_probes_are_not(
    one_thread, live, inventory_engine
):
    base = one_thread
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        slow = _hold_the_thread(base, pool, inventory_engine)
        queued = [
            pool.submit(requests.get, f"{base}/api/v1/products/X-{i}", timeout=30) for i in range(3)
        ]
        probe = pool.submit(requests.get, f"{base}/health/live", timeout=30)
        answers = [f.result() for f in queued]
        assert slow.result().status_code == 404  # served: the gremlin delayed it, nothing more
        assert probe.result().status_code == 200

    for answer in answers:
        assert answer.status_code == 503, answer.text
        error = answer.json()["error"]
        assert error["code"] == "OVERLOADED"
        assert error["details"]["reason"] == "queue"
        assert int(answer.headers["Retry-After-Ms"]) == error["details"]["retry_after_ms"] > 0
        assert answer.headers["Retry-After"] == "1"
    metrics = requests.get(f"{base}/metrics", timeout=5).text
    assert 'admission_refused_total{reason="queue"} 3.0' in metrics


def test_a_reservation_whose_caller_gave_up_is_refused_and_never_made(
    one_thread, live, inventory_engine
):
    live.create_product("ADMIT-1", 10)
    base = one_thread
    reservation = str(uuid.uuid4())
    service = bearer("service", subject="order-service")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        slow = _hold_the_thread(base, pool, inventory_engine)
        refused = pool.submit(
            requests.put,
            f"{base}/api/v1/reservations/{reservation}",
            headers={**service, "X-Request-Deadline-Ms": "1000"},
            json={"lines": [{"sku": "ADMIT-1", "quantity": 2}]},
            timeout=30,
        ).result()
        slow.result()

    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["details"]["reason"] == "deadline"
    gone = requests.get(f"{base}/api/v1/reservations/{reservation}", headers=service, timeout=5)
    assert gone.status_code == 404
    assert live.product("ADMIT-1")["reserved"] == 0
