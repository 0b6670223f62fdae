"""Rate limits answer 429 with Retry-After, and two processes share one limit through Redis;
failed logins delay the next attempt for that email across processes, through the database."""

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
            "AUTH_FAILURES_FREE": "2",
            "AUTH_FAILURE_DELAY_S": "30",
            "AUTH_FAILURE_DELAY_MAX_S": "60",
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


def test_signups_for_one_email_are_limited_across_both_processes(two_order_services):
    first, second = two_order_services
    email = f"minted-{uuid.uuid4().hex[:6]}@example.com"
    answers = [
        requests.post(
            f"{url}/api/v1/auth/signup",
            json={"email": email, "password": f"password-{n:06d}"},
            timeout=10,
        )
        for n, url in enumerate((first, second, first, second))  # limit 3 per minute
    ]

    assert [r.status_code for r in answers[:3]] == [201, 409, 409]
    limited = answers[3]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) > 0


def test_failed_logins_for_one_email_delay_the_next_on_both_processes(two_order_services):
    first, second = two_order_services
    body = {"email": f"target-{uuid.uuid4().hex[:6]}@example.com", "password": "guess-000001"}
    answers = [
        requests.post(f"{url}/api/v1/auth/login", json=body, timeout=10)
        for url in (first, second, first, second)  # two free failures, then a 30 s delay
    ]

    assert [r.status_code for r in answers[:3]] == [401, 401, 401]
    delayed = answers[3]
    assert delayed.status_code == 429
    error = delayed.json()["error"]
    assert error["code"] == "LOGIN_DELAYED"
    assert 29 <= int(delayed.headers["Retry-After"]) <= 30
    assert 0 < error["details"]["retry_after_ms"] <= 30000
