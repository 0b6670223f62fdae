"""Inventory metrics as an extension: reservation commands by outcome, stock per sku.

Stock levels come from the database when ``/metrics`` is scraped ("mostrecent" in multiprocess
mode). One series per sku and figure: fine for a catalogue of hundreds, not of millions.
"""

from __future__ import annotations

from flask import Flask, Response, request
from prometheus_client import CollectorRegistry, Counter, Gauge

from inventory_service import services

OPERATIONS = {
    ("PUT", "/api/v1/reservations/<reservation_id>"): "reserve",
    ("POST", "/api/v1/reservations/<reservation_id>/release"): "release",
    ("POST", "/api/v1/reservations/<reservation_id>/commit"): "commit",
}


class InventoryMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.reservations = Counter(
            "inventory_reservations_total",
            "Reservation commands by operation and outcome",
            ["operation", "outcome"],
            registry=registry,
        )
        self.stock = Gauge(
            "inventory_stock_units",
            "Units per sku: on_hand, reserved and available",
            ["sku", "figure"],
            multiprocess_mode="mostrecent",
            registry=registry,
        )


def init_app(app: Flask, uow: services.UowFactory, metrics: InventoryMetrics) -> None:
    @app.after_request
    def _count(response: Response) -> Response:
        rule = request.url_rule.rule if request.url_rule else None
        operation = OPERATIONS.get((request.method, rule or ""))
        if operation:
            body = response.get_json(silent=True) or {}
            state = body.get("status") if response.status_code < 400 else None
            label = str(state).lower() if state else f"http_{response.status_code}"
            if state and response.status_code == 200 and operation == "reserve":
                label += "_replayed"
            metrics.reservations.labels(operation, label).inc()
        return response

    @app.before_request
    def _stock() -> None:
        if request.path != "/metrics":
            return
        for product in services.list_products(uow, None, 1000):
            for figure in ("on_hand", "reserved", "available"):
                metrics.stock.labels(product.sku, figure).set(getattr(product, figure))
