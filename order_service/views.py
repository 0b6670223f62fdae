"""HTTP API of the order service: parse, call one service function, serialise."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, current_app
from flask.views import MethodView

from order_service import domain, presenters, services
from order_service.accounts.identity import WeakPassword
from order_service.payments.service import ProviderUnavailable, SignatureRefused
from order_service.schemas import (
    Cursor,
    OrderCreateSchema,
    OrderPageSchema,
    OrderQuerySchema,
    OrderSchema,
)
from shared import limits
from shared.api import Blueprint
from shared.auth import Principal, Role
from shared.auth.web import current_principal, requires
from shared.errors import (
    Forbidden,
    RateLimited,
    RequestInvalid,
)
from shared.openapi import link, ref
from shared.schemas import ApiErrorSchema, IdempotencyHeaderSchema
from shared.web import COMMON_ERRORS, request_id

api = Blueprint("orders", __name__, url_prefix="/api/v1", description="Orders")

ERRORS = {
    **COMMON_ERRORS,
    domain.InvalidCredentials: (401, "INVALID_CREDENTIALS"),
    domain.EmailTaken: (409, "EMAIL_TAKEN"),
    WeakPassword: (422, "WEAK_PASSWORD"),
    domain.RequestInProgress: (409, "REQUEST_IN_PROGRESS"),
    domain.IdempotencyKeyReused: (422, "IDEMPOTENCY_KEY_REUSED"),
    domain.LoginDelayed: (429, "LOGIN_DELAYED"),
    domain.DailyOrderCapReached: (429, "ORDER_LIMIT_REACHED"),
    domain.TooManyUnpaidOrders: (429, "TOO_MANY_UNPAID_ORDERS"),
    domain.TooManyUnpaidUnits: (422, "TOO_MANY_UNPAID_UNITS"),
    domain.PaymentRequired: (409, "PAYMENT_REQUIRED"),
    domain.NotPayable: (409, "NOT_PAYABLE"),
    SignatureRefused: (401, "SIGNATURE_INVALID"),
    ProviderUnavailable: (503, "PAYMENTS_UNAVAILABLE"),
    RateLimited: (429, "RATE_LIMITED"),
}
_ORDER = "/api/v1/orders/{order_id}"
_FOLLOWS = {
    "GetOrder": link(ref(_ORDER, "get"), order_id="$response.body#/id"),
    "CancelOrder": link(ref(f"{_ORDER}/cancel", "post"), order_id="$response.body#/id"),
    "ShipOrder": link(ref(f"{_ORDER}/ship", "post"), order_id="$response.body#/id"),
    "DeliverOrder": link(ref(f"{_ORDER}/deliver", "post"), order_id="$response.body#/id"),
    "PayOrder": link(ref(f"{_ORDER}/payments", "post"), order_id="$response.body#/id"),
    "GetPayment": link(ref(f"{_ORDER}/payments", "get"), order_id="$response.body#/id"),
}
# What a client does next with an order it placed or read (OpenAPI links, by response).
LINKS = {
    ("/api/v1/orders", "post", "201"): _FOLLOWS,
    ("/api/v1/orders", "post", "202"): _FOLLOWS,
    (_ORDER, "get", "200"): {k: v for k, v in _FOLLOWS.items() if k != "GetOrder"},
}
CUSTOMERS = (Role.CUSTOMER, Role.ADMIN)
# The service identity (the order service's own audit) reads every order and changes none.
READERS = (*CUSTOMERS, Role.SERVICE)


def _ctx() -> services.OrderContext:
    return current_app.extensions["order_context"]  # type: ignore[no-any-return]


def _owner(caller: Principal) -> str | None:
    """Whose orders the caller may see and cancel: its own, or (an admin) everyone's."""
    return None if _sees_all(caller) else caller.subject


def _sees_all(caller: Principal) -> bool:
    return caller.is_admin or caller.role is Role.SERVICE


def _customer_for_new_order(caller: Principal, requested: str | None) -> str:
    if requested is None or requested == caller.subject or caller.is_admin:
        return requested or caller.subject
    raise RequestInvalid(
        "a customer places orders for itself",
        {"fields": {"customer_id": ["must be your own customer id (or left out)"]}},
    )


def _limit_orders(caller: Principal) -> None:
    settings = current_app.extensions["settings"]
    limits.check("orders-customer", settings.rate_limit_orders_per_customer, caller.subject)
    limits.check("orders-address", settings.rate_limit_orders_per_address, limits.address())


@api.route("/orders")
class Orders(MethodView):
    @requires(*CUSTOMERS)
    @api.arguments(OrderCreateSchema)
    @api.arguments(IdempotencyHeaderSchema, location="headers")
    @api.response(201, OrderSchema, description="CONFIRMED: every item is reserved")
    @api.alt_response(202, schema=OrderSchema, description="PENDING: resolved automatically")
    @api.alt_response(400, schema=ApiErrorSchema, description="VALIDATION_ERROR")
    @api.alt_response(401, schema=ApiErrorSchema, description="no valid token")
    @api.alt_response(409, schema=ApiErrorSchema, description="REQUEST_IN_PROGRESS (same key)")
    @api.alt_response(
        422,
        schema=ApiErrorSchema,
        description="INSUFFICIENT_STOCK, UNKNOWN_SKU or IDEMPOTENCY_KEY_REUSED",
    )
    @api.alt_response(
        429,
        schema=ApiErrorSchema,
        description="RATE_LIMITED, or ORDER_LIMIT_REACHED (the daily cap; nothing stored)",
    )
    def post(self, body: dict[str, Any], headers: dict[str, Any]) -> Response:
        """Place an order; send an ``Idempotency-Key`` to make retrying the request safe."""
        caller = current_principal()
        customer = _customer_for_new_order(caller, body["customer_id"])
        _limit_orders(caller)
        lines = [(item["sku"], item["quantity"]) for item in body["items"]]
        rid = request_id()
        placed = services.place_order(
            _ctx(),
            customer,
            lines,
            headers["idempotency_key"],
            lambda order: presenters.placement(order, rid),
            domain.address_from(body.get("shipping_address")),
        )
        status, text = placed.answer
        response = Response(text, status=status, mimetype="application/json")
        response.headers["Location"] = presenters.order_url(placed.order_id)
        if placed.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    @requires(*READERS)
    @api.arguments(OrderQuerySchema, location="query")
    @api.response(200, OrderPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Orders newest first, filtered by status and customer; follow ``next_cursor``.

        A customer sees only its own orders (``customer_id`` may only name itself)."""
        caller = current_principal()
        customer = query["customer_id"] if _sees_all(caller) else caller.subject
        if query["customer_id"] not in (None, customer):
            raise Forbidden("a customer lists only its own orders")
        page, position = services.list_orders(
            _ctx(),
            status=query["status"],
            customer_id=customer,
            before=query["cursor"],
            limit=query["limit"],
        )
        return {
            "items": [presenters.order_json(o, with_history=False) for o in page],
            "next_cursor": Cursor.encode(position) if position else None,
        }


@api.route("/orders/<uuid:order_id>")
class OrderItem(MethodView):
    @requires(*READERS)
    @api.response(200, OrderSchema)
    @api.alt_response(404, schema=ApiErrorSchema)
    def get(self, order_id: uuid.UUID) -> dict[str, Any]:
        """One order with items, status, timestamps and status history."""
        order = services.get_order(_ctx(), order_id, owner=_owner(current_principal()))
        return presenters.order_json(order)


@api.route("/orders/<uuid:order_id>/cancel", endpoint="order_cancel")
class Cancel(MethodView):
    @requires(*CUSTOMERS)
    @api.response(200, OrderSchema)
    @api.alt_response(404, schema=ApiErrorSchema)
    @api.alt_response(409, schema=ApiErrorSchema, description="INVALID_TRANSITION")
    def post(self, order_id: uuid.UUID) -> dict[str, Any]:
        """Cancel a PENDING or CONFIRMED order (your own, or any as admin); stock is released."""
        caller = current_principal()
        order = services.cancel_order(
            _ctx(), order_id, owner=_owner(caller), actor=caller.describe()
        )
        return presenters.order_json(order)


def _admin_transition(name: str, action: Any, doc: str) -> None:
    @api.route(f"/orders/<uuid:order_id>/{name}", endpoint=f"order_{name}")
    class Transition(MethodView):
        @requires(Role.ADMIN)
        @api.response(200, OrderSchema)
        @api.alt_response(404, schema=ApiErrorSchema)
        @api.alt_response(409, schema=ApiErrorSchema, description="INVALID_TRANSITION")
        def post(self, order_id: uuid.UUID) -> dict[str, Any]:
            actor = current_principal().describe()
            return presenters.order_json(action(_ctx(), order_id, actor=actor))

    Transition.post.__doc__ = doc


_admin_transition(
    "ship", services.ship_order, "Ship a CONFIRMED order (admin); reserved stock is deducted."
)
_admin_transition("deliver", services.deliver_order, "Mark a SHIPPED order as DELIVERED (admin).")
