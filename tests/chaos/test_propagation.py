"""A gremlin set through one request reaches every gunicorn worker (state is in the database)."""

import time

import requests

from lab.chaos import ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def fresh_get(url):
    # A new connection each time, so the kernel spreads requests over the workers.
    with requests.Session() as session:
        return session.get(url, timeout=5).status_code


def consecutive(url, status, times=10, budget_s=10.0):
    """Poll until ``times`` fresh requests in a row answer ``status``."""
    deadline, streak = time.monotonic() + budget_s, 0
    while time.monotonic() < deadline and streak < times:
        streak = streak + 1 if fresh_get(url) == status else 0
    return streak == times


def test_every_worker_applies_a_gremlin_and_its_removal(chaos_system, inventory_engine):
    chaos_system.create_product("PROP-1", 5)
    base = chaos_system.inventory.removesuffix("/api/v1")
    product = f"{chaos_system.inventory}/products/PROP-1"
    assert consecutive(product, 200)

    put = requests.put(
        f"{base}/chaos/everyone",
        headers=AUTH,
        timeout=5,
        json={"kind": "error", "status": 503, "method": "GET"},
    )
    assert put.status_code == 200
    assert consecutive(product, 503)

    assert requests.delete(f"{base}/chaos", headers=AUTH, timeout=5).status_code == 200
    assert consecutive(product, 200)
