"""Metrics, request ids and logs through real gunicorn processes with several workers."""

import json

import requests
from prometheus_client.parser import text_string_to_metric_families

from shared.auth import Role


def samples(url):
    """Every sample of a /metrics page, as (name, labels, value)."""
    text = requests.get(url, timeout=5).text
    return [
        (s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples
    ]


def value(all_samples, name, **labels):
    return sum(v for n, lab, v in all_samples if n == name and labels.items() <= lab.items())


def test_request_counts_add_up_across_workers(live):
    live.create_product("OBS-1", 5)
    root = live.inventory.removesuffix("/api/v1")
    labels = {"route": "/api/v1/products/<sku>", "method": "GET", "status": "200"}
    # The counters live as long as the processes, which other tests use too: count the change.
    before = value(
        samples(f"{root}/metrics"), "flask_http_request_duration_seconds_count", **labels
    )
    for _ in range(40):
        with requests.Session() as fresh:  # new connections spread over the workers
            assert fresh.get(f"{live.inventory}/products/OBS-1", timeout=5).status_code == 200

    after = value(samples(f"{root}/metrics"), "flask_http_request_duration_seconds_count", **labels)

    assert after - before == 40
    worker_files = list((live.logdir / "metrics-inventory").glob("histogram_*.db"))
    assert len(worker_files) >= 2  # the sum really came from more than one worker


def test_unmatched_paths_share_one_label(live):
    root = live.orders.removesuffix("/api/v1")
    live.http.get(f"{root}/no-such-page-4711")

    text = requests.get(f"{root}/metrics", timeout=5).text

    assert "no-such-page-4711" not in text
    assert 'route="unmatched"' in text


def test_an_order_moves_every_business_metric(live):
    live.create_product("OBS-2", 5)
    orders_root = live.orders.removesuffix("/api/v1")
    inventory_root = live.inventory.removesuffix("/api/v1")
    before = samples(f"{orders_root}/metrics")

    assert live.place("c", [("OBS-2", 2)]).status_code == 201

    after = samples(f"{orders_root}/metrics")
    stock = samples(f"{inventory_root}/metrics")
    assert (
        value(after, "orders_placed_total", outcome="confirmed")
        == value(before, "orders_placed_total", outcome="confirmed") + 1
    )
    assert value(after, "inventory_client_calls_total", operation="reserve", outcome="ok") >= 1
    assert (
        value(stock, "inventory_reservations_total", operation="reserve", outcome="reserved") >= 1
    )
    assert value(stock, "inventory_stock_units", sku="OBS-2", figure="reserved") == 2
    assert value(stock, "inventory_stock_units", sku="OBS-2", figure="available") == 3
    assert value(after, "orders_pending") == 0
    assert value(after, "inventory_circuit_breaker_state", state="closed") == 1


def test_the_reconciler_exports_its_metrics(live):
    text = requests.get(f"http://127.0.0.1:{live.reconciler_metrics_port}/metrics", timeout=5).text

    assert "inventory_circuit_breaker_state" in text
    assert "reconciler_deliveries_total" in text


def test_the_request_id_travels_to_inventory_and_back(live):
    live.create_product("OBS-3", 5)
    body = {"items": [{"sku": "OBS-3", "quantity": 1}]}
    headers = {**live.auth("c", Role.CUSTOMER), "X-Request-ID": "trace-me-4242"}

    response = live.http.post(f"{live.orders}/orders", json=body, headers=headers)

    assert response.headers["X-Request-ID"] == "trace-me-4242"
    lines = [
        json.loads(line)
        for line in (live.logdir / "inventory.log").read_text().splitlines()
        if line.startswith("{")
    ]
    reserve = [
        entry
        for entry in lines
        if entry.get("request_id") == "trace-me-4242" and entry.get("method") == "PUT"
    ]
    assert reserve and reserve[0]["route"] == "/api/v1/reservations/<reservation_id>"
    assert {"status", "duration_ms"} <= reserve[0].keys()


def test_an_error_body_carries_the_request_id(live):
    response = live.http.get(
        f"{live.orders}/orders/not-a-uuid", headers={"X-Request-ID": "err-id-77"}
    )

    assert response.json()["error"]["request_id"] == "err-id-77"
