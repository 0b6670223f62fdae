"""Orders as JSON, and the answer to ``POST /orders`` for each outcome.

Plain functions, and the one place that decides the status and body of a placement: the view
sends the answer, and the idempotency record stores the very same text, so that a replay is
byte-for-byte the first answer.
"""

from __future__ import annotations

import json
from typing import Any

from order_service.domain import Order, OrderStatus, address_json
from order_service.ports import Answer
from shared.errors import envelope

PENDING_MESSAGE = (
    "The inventory service did not confirm this order in time. The order is recorded as PENDING "
    "and will be confirmed or rejected automatically; check its status at {url}."
)


def order_url(order_id: object) -> str:
    return f"/api/v1/orders/{order_id}"


def order_json(order: Order, *, with_history: bool = True) -> dict[str, Any]:
    """The public representation of an order."""
    body: dict[str, Any] = {
        "id": str(order.id),
        "customer_id": order.customer_id,
        "status": order.status.value,
        "items": [
            {"sku": ln.sku, "quantity": ln.quantity, "unit_price_cents": ln.unit_price_cents}
            for ln in order.lines
        ],
        "total": (
            {"amount_cents": order.total_cents, "currency": order.currency}
            if order.total_cents is not None
            else None
        ),
        "shipping_address": address_json(order.shipping_address),
        "version": order.version,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "rejection": order.rejection,
        "attention": order.attention,
        "links": {"self": order_url(order.id)},
    }
    if with_history:
        body["history"] = [
            {"status": c.status.value, "at": c.at.isoformat(), "reason": c.reason, "actor": c.actor}
            for c in order.history
        ]
    return body


def placement(order: Order, request_id: str) -> Answer:
    """Status and JSON text of the answer to ``POST /orders`` for the order as it stands."""
    status, body = _placement(order, request_id)
    return status, json.dumps(body, separators=(",", ":"))


def _placement(order: Order, request_id: str) -> tuple[int, dict[str, Any]]:
    if order.status is OrderStatus.PENDING:
        url = order_url(order.id)
        return 202, {**order_json(order), "message": PENDING_MESSAGE.format(url=url)}
    if order.status is OrderStatus.REJECTED:
        shortages = (order.rejection or {}).get("shortages", [])
        code, message = _rejection(order.rejection or {})
        details = {
            "order_id": str(order.id),
            "status": order.status.value,
            "order_url": order_url(order.id),
            "shortages": shortages,
        }
        return 422, envelope(code, message, details, request_id)
    return 201, order_json(order)


def _rejection(rejection: dict[str, Any]) -> tuple[str, str]:
    """The code and message of a rejection, from why its lines were refused."""
    shortages = rejection.get("shortages", [])
    if not shortages:
        return "ORDER_REJECTED", rejection.get("reason", "rejected")
    by_reason: dict[str, list[str]] = {}
    for s in shortages:
        by_reason.setdefault(s.get("reason", ""), []).append(s["sku"])
    if "unknown_sku" in by_reason:
        return "UNKNOWN_SKU", f"no such product: {', '.join(by_reason['unknown_sku'])}"
    if "other_currency" in by_reason:
        return "MIXED_CURRENCIES", (
            f"{', '.join(by_reason['other_currency'])} priced in another currency than the "
            "other items; one order is paid in one currency, nothing was reserved"
        )
    return "INSUFFICIENT_STOCK", "not enough stock for every item; nothing was reserved"
