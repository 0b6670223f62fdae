"""Rate limits answer 429 with Retry-After, and two processes share one limit through Redis."""

import os
import uuid

import pytest
import requests

from lab import processes
from lab.postgres import free_port

EMAIL_LIMIT = "3/minute"


@pytest.fixture
def two_order_services(settings, redis_url, tmp_path):
    """Two order-service processes (one worker each) that share nothing but Redis."""
    started, urls = [], []
    for n in range(2):
        port = free_port()
        env = {
            **os.environ,
            "APP_ENV": "test",
            "ORDERS_DATABASE_URL": settings.orders_database_url,
            "INVENTORY_URL": f"http://127.0.0.1:{free_port()}",
            "ORDER_BIND": f"127.0.0.1:{port}",
            "WEB_WORKERS": "1",
            "WEB_THREADS": "2",
            "REDIS_URL": redis_url,
            "RATE_LIMIT_AUTH_PER_EMAIL": EMAIL_LIMIT,
            "RATE_LIMIT_AUTH_PER_ADDRESS": "1000/minute",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{n}"),
        }
        proc = processes.start(
            processes.gunicorn_command("orders"), tmp_path / f"orders-{n}.log", env
        )
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        processes.wait_ready(f"{url}/health/live", process=proc)
        urls.append(url)
    yield urls
    for proc in started:
        proc.terminate()
        proc.wait(timeout=30)


def test_login_attempts_for_one_email_are_limited_across_both_processes(two_order_services):
    first, second = two_order_services
    body = {"email": f"target-{uuid.uuid4().hex[:6]}@example.com", "password": "guess-000001"}
    answers = []
    for url in (first, second, first, second):  # 4 guesses, 2 per process, limit 3 per minute
        answers.append(requests.post(f"{url}/api/v1/auth/login", json=body, timeout=10))

    assert [r.status_code for r in answers[:3]] == [401, 401, 401]
    limited = answers[3]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) > 0
