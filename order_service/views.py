"""HTTP API of the order service: parse, call one service function, serialise."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, current_app
from flask.views import MethodView

from order_service import domain, presenters, services
from order_service.schemas import (
    Cursor,
    OrderCreateSchema,
    OrderPageSchema,
    OrderQuerySchema,
    OrderSchema,
)
from shared.api import Blueprint
from shared.errors import Conflict, InvalidTransition, NotFound, RequestInvalid
from shared.schemas import ApiErrorSchema, IdempotencyHeaderSchema
from shared.web import request_id

api = Blueprint("orders", __name__, url_prefix="/api/v1", description="Orders")

ERRORS = {
    RequestInvalid: (400, "VALIDATION_ERROR"),
    NotFound: (404, "NOT_FOUND"),
    domain.RequestInProgress: (409, "REQUEST_IN_PROGRESS"),
    InvalidTransition: (409, "INVALID_TRANSITION"),
    Conflict: (409, "CONFLICT"),
    domain.IdempotencyKeyReused: (422, "IDEMPOTENCY_KEY_REUSED"),
}


def _ctx() -> services.OrderContext:
    return current_app.extensions["order_context"]  # type: ignore[no-any-return]


@api.route("/orders")
class Orders(MethodView):
    @api.arguments(OrderCreateSchema)
    @api.arguments(IdempotencyHeaderSchema, location="headers")
    @api.response(201, OrderSchema, description="CONFIRMED: every item is reserved")
    @api.alt_response(202, schema=OrderSchema, description="PENDING: resolved automatically")
    @api.alt_response(400, schema=ApiErrorSchema, description="VALIDATION_ERROR")
    @api.alt_response(409, schema=ApiErrorSchema, description="REQUEST_IN_PROGRESS (same key)")
    @api.alt_response(
        422,
        schema=ApiErrorSchema,
        description="INSUFFICIENT_STOCK, UNKNOWN_SKU or IDEMPOTENCY_KEY_REUSED",
    )
    def post(self, body: dict[str, Any], headers: dict[str, Any]) -> Response:
        """Place an order; send an ``Idempotency-Key`` to make retrying the request safe."""
        lines = [(item["sku"], item["quantity"]) for item in body["items"]]
        rid = request_id()
        placed = services.place_order(
            _ctx(),
            body["customer_id"],
            lines,
            headers["idempotency_key"],
            lambda order: presenters.placement(order, rid),
        )
        status, text = placed.answer
        response = Response(text, status=status, mimetype="application/json")
        response.headers["Location"] = presenters.order_url(placed.order_id)
        if placed.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    @api.arguments(OrderQuerySchema, location="query")
    @api.response(200, OrderPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Orders newest first, filtered by status and customer; follow ``next_cursor``."""
        page, position = services.list_orders(
            _ctx(),
            status=query["status"],
            customer_id=query["customer_id"],
            before=query["cursor"],
            limit=query["limit"],
        )
        return {
            "items": [presenters.order_json(o, with_history=False) for o in page],
            "next_cursor": Cursor.encode(position) if position else None,
        }


@api.route("/orders/<uuid:order_id>")
class OrderItem(MethodView):
    @api.response(200, OrderSchema)
    @api.alt_response(404, schema=ApiErrorSchema)
    def get(self, order_id: uuid.UUID) -> dict[str, Any]:
        """One order with items, status, timestamps and status history."""
        return presenters.order_json(services.get_order(_ctx(), order_id))


def _transition(name: str, action: Any, doc: str) -> None:
    @api.route(f"/orders/<uuid:order_id>/{name}", endpoint=f"order_{name}")
    class Transition(MethodView):
        @api.response(200, OrderSchema)
        @api.alt_response(404, schema=ApiErrorSchema)
        @api.alt_response(409, schema=ApiErrorSchema, description="INVALID_TRANSITION")
        def post(self, order_id: uuid.UUID) -> dict[str, Any]:
            return presenters.order_json(action(_ctx(), order_id))

    Transition.post.__doc__ = doc


_transition(
    "cancel", services.cancel_order, "Cancel a PENDING or CONFIRMED order; stock is released."
)
_transition("ship", services.ship_order, "Ship a CONFIRMED order; reserved stock is deducted.")
_transition("deliver", services.deliver_order, "Mark a SHIPPED order as DELIVERED.")
