"""The admin's status strip: the latency light, the breaker, the PENDING backlog.

The light is the dashboard's status panel (and the ``OrderServiceSlow`` alert): the order API's
average response time over the last 30 s, green under 1 s, red above. With Prometheus configured
the console asks it (every instance counted); without, it keeps its own 30 s window of the order
service's ``/metrics`` counters, which is right for one order instance.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import requests
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from console.api import Api, ApiError

WINDOW_S = 30.0
SLOW_S = 1.0
# The same expression as monitoring/prometheus/alerts.yml's OrderServiceSlow, without "> 1"
# (a test keeps the two equal).
LATENCY_QUERY = (
    'sum(rate(flask_http_request_duration_seconds_sum{job="orders", route=~"/api/.*"}[30s]))\n'
    '  / sum(rate(flask_http_request_duration_seconds_count{job="orders", route=~"/api/.*"}[30s]))'
)
_DURATION = "flask_http_request_duration_seconds"


@dataclass(frozen=True)
class Strip:
    """What the strip shows; ``None`` where the source did not answer."""

    average_s: float | None  # None: no API request in the window (or no source)
    light: str  # "green", "red" or "unknown"
    breaker: str | None
    pending: int | None
    oldest_undelivered_s: float | None
    problems: tuple[str, ...] = ()


def light_for(average_s: float | None, known: bool = True) -> str:
    """Red above 1 s; green below, and when nobody waited at all (no request in the window)."""
    if not known:
        return "unknown"
    return "red" if average_s is not None and average_s > SLOW_S else "green"


class LatencyWindow:
    """Average response time over the last ``window_s`` from cumulative (sum, count) samples."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.window_s = window_s
        self.clock = clock
        self.samples: deque[tuple[float, float, float]] = deque()
        self.lock = threading.Lock()

    def add(self, total_s: float, count: float) -> float | None:
        """Record the counters now; the average since the oldest sample in the window."""
        now = self.clock()
        with self.lock:
            if self.samples and count < self.samples[-1][2]:
                self.samples.clear()  # the service restarted: its counters began again
            self.samples.append((now, total_s, count))
            # Keep one sample at or past the window's start, as the base of the difference.
            while len(self.samples) > 1 and self.samples[1][0] <= now - self.window_s:
                self.samples.popleft()
            _, base_total, base_count = self.samples[0]
        if count <= base_count:
            return None
        return (total_s - base_total) / (count - base_count)


def families(metrics_text: str) -> dict[str, Metric]:
    """A ``/metrics`` page parsed once, by metric name."""
    return {f.name: f for f in text_string_to_metric_families(metrics_text)}


def api_counters(metrics: dict[str, Metric]) -> tuple[float, float]:
    """The order API's cumulative request time and count, summed over its ``/api`` routes."""
    total = count = 0.0
    family = metrics.get(_DURATION)
    for sample in family.samples if family else ():
        if not sample.labels.get("route", "").startswith("/api/"):
            continue
        if sample.name == f"{_DURATION}_sum":
            total += sample.value
        elif sample.name == f"{_DURATION}_count":
            count += sample.value
    return total, count


def gauge(metrics: dict[str, Metric], name: str) -> float | None:
    family = metrics.get(name)
    return max(s.value for s in family.samples) if family and family.samples else None


def prometheus_average(url: str, http: requests.Session) -> float | None:
    """The light's value from Prometheus; None when there was no request in the window."""
    response = http.get(f"{url.rstrip('/')}/api/v1/query", params={"query": LATENCY_QUERY},
                        timeout=3)  # fmt: skip
    response.raise_for_status()
    result = response.json()["data"]["result"]
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if math.isnan(value) else value


class StatusStrip:
    """Builds a ``Strip`` from the order service's public ``/health`` and ``/metrics``.

    Every admin page and each open tab's refresh asks for it; within ``max_age_s`` they share one
    reading, so ten open tabs still cost the order service one pair of requests a second.
    """

    def __init__(
        self,
        api: Api,
        prometheus_url: str | None,
        window: LatencyWindow | None = None,
        max_age_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.api = api
        self.prometheus_url = prometheus_url
        self.window = window or LatencyWindow(clock=clock)
        self.max_age_s = max_age_s
        self.clock = clock
        self.lock = threading.Lock()
        self.last: tuple[float, Strip] | None = None

    def read(self) -> Strip:
        with self.lock:  # one reading at a time; the others wait for it and share it
            if self.last is None or self.clock() - self.last[0] >= self.max_age_s:
                self.last = (self.clock(), self._read())
            return self.last[1]

    def _read(self) -> Strip:
        problems: list[str] = []
        breaker = pending = oldest = None
        average: float | None = None
        known = True
        try:
            health = self.api.health()
            breaker = health.get("checks", {}).get("inventory", {}).get("breaker")
        except ApiError as exc:
            problems.append(exc.message)
        try:
            metrics = families(self.api.metrics_text())
            raw_pending = gauge(metrics, "orders_pending")
            pending = None if raw_pending is None else int(raw_pending)
            oldest = gauge(metrics, "orders_outbox_oldest_undelivered_age_seconds")
            if not self.prometheus_url:
                average = self.window.add(*api_counters(metrics))
        except ApiError as exc:
            problems.append(exc.message)
            known = bool(self.prometheus_url)
        if self.prometheus_url:
            try:
                average = prometheus_average(self.prometheus_url, self.api.http)
            except (requests.RequestException, ValueError, KeyError, IndexError):
                problems.append("Prometheus did not answer")
                known = False
        return Strip(average, light_for(average, known), breaker, pending, oldest, tuple(problems))
