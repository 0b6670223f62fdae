"""Prometheus metrics: HTTP RED through prometheus-flask-exporter, and the inventory client's.

Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` is set before Python starts and every worker writes
its samples to files there; ``/metrics`` (served by whichever worker) adds them all up. Our own
metrics are then created unregistered (the files are the registry); in a single process they
are registered on the app's own registry, so several apps in one process (tests) never clash.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pybreaker
from flask import Flask, Request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

from shared.config import Settings
from shared.forks import renew_after_fork

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 6, 8, 15)


def route(request: Request) -> str:
    """The route template (``/api/v1/orders/<uuid:order_id>``), never the raw path."""
    return request.url_rule.rule if request.url_rule else "unmatched"


def init_metrics(app: Flask, settings: Settings) -> CollectorRegistry | None:
    """Serve ``/metrics`` with RED per route; returns where our own metrics must register."""
    options: dict[str, Any] = {
        "group_by": route,
        "excluded_paths": ["^/metrics", "^/health"],
        "buckets": LATENCY_BUCKETS,
    }
    if settings.prometheus_multiproc_dir:
        GunicornInternalPrometheusMetrics(app, **options)
        app.extensions["metrics_registry"] = None
        return None
    registry = CollectorRegistry()
    PrometheusMetrics(app, registry=registry, **options)
    app.extensions["metrics_registry"] = registry
    return registry


def mark_worker_dead(settings: Settings, pid: int) -> None:
    """gunicorn's ``child_exit``: drop a dead worker's live gauges."""
    if settings.prometheus_multiproc_dir:
        GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(pid)


@functools.cache
def shared_state_metrics(registry: CollectorRegistry | None) -> Callable[[str, bool], None]:
    """The observer of ``SharedLink``: when a component stops or starts sharing through Redis.

    One pair of metrics per registry, since the breaker and the rate limits both report here.
    """
    fallbacks = Counter(
        "shared_state_fallbacks_total",
        "Times a process stopped sharing state through Redis and kept its own",
        ["component"],
        registry=registry,
    )
    local = Gauge(
        "shared_state_local",
        "1 while some process keeps its own state because Redis does not answer",
        ["component"],
        multiprocess_mode="max",
        registry=registry,
    )

    def changed(component: str, shared: bool) -> None:
        local.labels(component).set(0 if shared else 1)
        if not shared:
            fallbacks.labels(component).inc()

    return changed


class ClientMetrics:
    """A client's resilience layer (``shared.resilience.policy``): calls by operation and
    outcome, retries, hedges, breaker state and transitions, named after the dependency."""

    def __init__(self, registry: CollectorRegistry | None, dependency: str = "inventory") -> None:
        def counter(name: str, description: str, labels: list[str]) -> Counter:
            return Counter(f"{dependency}_{name}", description, labels, registry=registry)

        self.calls = counter(
            "client_calls_total",
            f"Calls to {dependency} by operation and outcome",
            ["operation", "outcome"],
        )
        self.duration = Histogram(
            f"{dependency}_client_call_duration_seconds",
            f"Calls to {dependency}, retries included",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.retries = counter(
            "client_retries_total",
            "Attempts repeated, by the failure that caused it",
            ["operation", "reason"],
        )
        self.retries_refused = counter(
            "client_retries_refused_total", "Retries the retry budget did not allow", ["operation"]
        )
        self.hedges = counter(
            "client_hedges_total", "Second copies sent because the first was slow", ["operation"]
        )
        self.breaker_state = Gauge(
            f"{dependency}_circuit_breaker_state",
            "1 for the breaker state of some process",
            ["state"],
            multiprocess_mode="max",
            registry=registry,
        )
        self.breaker_transitions = counter(
            "circuit_breaker_transitions_total", "Breaker state changes", ["to_state"]
        )
        self.shared_state_changed = shared_state_metrics(registry)
        self.show_breaker(pybreaker.STATE_CLOSED)
        # In multiprocess mode a forked worker starts from empty per-pid files: show it again.
        renew_after_fork(self, lambda metrics: metrics.show_breaker(pybreaker.STATE_CLOSED))

    def show_breaker(self, current: str) -> None:
        for state in (pybreaker.STATE_CLOSED, pybreaker.STATE_OPEN, pybreaker.STATE_HALF_OPEN):
            self.breaker_state.labels(state).set(1 if state == current else 0)

    # the policy's observer ---------------------------------------------------------
    def call_finished(self, operation: str, outcome: str, seconds: float) -> None:
        self.calls.labels(operation, outcome).inc()
        self.duration.labels(operation).observe(seconds)

    def retried(self, operation: str, reason: str) -> None:
        self.retries.labels(operation, reason).inc()

    def hedged(self, operation: str) -> None:
        self.hedges.labels(operation).inc()

    def retry_refused(self, operation: str) -> None:
        self.retries_refused.labels(operation).inc()

    def listener(self) -> pybreaker.CircuitBreakerListener:
        """A pybreaker listener that keeps the breaker gauges current."""
        metrics = self

        class Listener(pybreaker.CircuitBreakerListener):
            def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
                metrics.show_breaker(new_state.name)
                metrics.breaker_transitions.labels(new_state.name).inc()

        return Listener()


QUEUE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


@functools.cache
def admission_metrics(
    registry: CollectorRegistry | None,
) -> Callable[[float, str, int | None], None]:
    """How long requests queued for a thread, how many admission control refused, by why, and
    the concurrency limit (summed over the live processes of a service)."""
    waits = Histogram(
        "http_queue_wait_seconds",
        "Time a request waited for a worker thread",
        buckets=QUEUE_BUCKETS,
        registry=registry,
    )
    refused = Counter(
        "admission_refused_total",
        "Requests answered 503 OVERLOADED before any work, by why (queue, deadline, concurrency)",
        ["reason"],
        registry=registry,
    )
    for reason in ("queue", "deadline", "concurrency"):
        refused.labels(reason)
    limit = Gauge(
        "admission_concurrency_limit",
        "Requests a process admits at once (adaptive), summed over live processes",
        multiprocess_mode="livesum",
        registry=registry,
    )

    def observe(wait_s: float, reason: str, current_limit: int | None) -> None:
        waits.observe(wait_s)
        if reason:
            refused.labels(reason).inc()
        if current_limit is not None:
            limit.set(current_limit)

    return observe
