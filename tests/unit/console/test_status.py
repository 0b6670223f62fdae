from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest

from console.api import Api
from console.status import (
    LATENCY_QUERY,
    LatencyWindow,
    StatusStrip,
    api_counters,
    families,
    gauge,
    light_for,
)

ROOT = Path(__file__).resolve().parents[3]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_average_is_over_the_requests_made_since_the_start_of_the_window():
    clock = Clock()
    window = LatencyWindow(30, clock)
    window.add(10.0, 100)
    clock.now += 10
    assert window.add(16.0, 103) == pytest.approx(2.0)  # three requests took 6 s


def test_requests_older_than_the_window_no_longer_count():
    clock = Clock()
    window = LatencyWindow(30, clock)
    window.add(0.0, 0)
    clock.now += 5
    window.add(20.0, 10)  # ten slow requests: 2 s each
    clock.now += 30
    window.add(20.5, 20)  # ten fast ones: 50 ms each
    clock.now += 1
    assert window.add(20.5, 20) == pytest.approx(0.05)


def test_no_request_in_the_window_has_no_average():
    clock = Clock()
    window = LatencyWindow(30, clock)
    window.add(5.0, 10)
    clock.now += 3
    assert window.add(5.0, 10) is None


def test_counters_that_start_again_after_a_restart_start_a_new_window():
    clock = Clock()
    window = LatencyWindow(30, clock)
    window.add(500.0, 1000)
    clock.now += 2
    assert window.add(0.1, 1) is None
    clock.now += 2
    assert window.add(0.3, 3) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("average", "known", "light"),
    [(0.2, True, "green"), (1.5, True, "red"), (None, True, "green"), (0.2, False, "unknown")],
)
def test_the_light_is_red_only_above_one_second(average, known, light):
    assert light_for(average, known) == light


def _metrics() -> str:
    registry = CollectorRegistry()
    duration = Histogram(
        "flask_http_request_duration_seconds",
        "",
        ["method", "route", "status"],
        registry=registry,
    )
    duration.labels("POST", "/api/v1/orders", "202").observe(2.0)
    duration.labels("GET", "/api/v1/orders/<uuid:order_id>", "200").observe(0.5)
    duration.labels("GET", "/metrics", "200").observe(9.0)  # not the API: left out
    Gauge("orders_pending", "", registry=registry).set(4)
    return generate_latest(registry).decode()


def test_the_api_counters_add_up_the_api_routes_only():
    assert api_counters(families(_metrics())) == (pytest.approx(2.5), 2)


def test_a_gauge_is_read_from_the_metrics_text():
    metrics = families(_metrics())
    assert gauge(metrics, "orders_pending") == 4
    assert gauge(metrics, "no_such_metric") is None


def test_the_light_asks_prometheus_what_the_dashboard_and_the_alert_ask():
    rules = yaml.safe_load((ROOT / "monitoring/prometheus/alerts.yml").read_text())
    alerts = {r["alert"]: r for group in rules["groups"] for r in group["rules"] if "alert" in r}
    expression = alerts["OrderServiceSlow"]["expr"].split()
    assert expression == f"{LATENCY_QUERY} > 1".split()


class CountingApi(Api):
    """The real client with its two reads answered here, counted."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", "http://127.0.0.1:9")
        self.reads = 0

    def health(self):
        self.reads += 1
        return {"checks": {"inventory": {"breaker": "open"}}}

    def metrics_text(self):
        return _metrics()


def test_readings_within_a_second_share_one_and_a_later_one_reads_again():
    clock, api = Clock(), CountingApi()
    strip = StatusStrip(api, None, max_age_s=1.0, clock=clock)
    first = strip.read()
    clock.now += 0.5
    assert strip.read() is first and api.reads == 1
    clock.now += 0.6
    assert strip.read().breaker == "open" and api.reads == 2
    assert first.pending == 4
