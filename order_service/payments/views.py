"""HTTP API of payments: start one, read it, the provider's webhook, and the dead-letter queue."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from marshmallow import fields, validate

from order_service.payments import service
from order_service.payments.records import InboxEvent, Payment
from shared.api import Blueprint
from shared.auth import Role
from shared.auth.web import audit, current_principal, requires
from shared.errors import Unprocessable
from shared.schemas import ApiErrorSchema, FullMatch, IdempotencyHeaderSchema, Text

api = Blueprint("payments", __name__, url_prefix="/api/v1", description="Payments")
CUSTOMERS = (Role.CUSTOMER, Role.ADMIN)


def _pctx() -> service.PaymentContext:
    return current_app.extensions["payment_context"]  # type: ignore[no-any-return]


def _owner() -> str | None:
    caller = current_principal()
    return None if caller.is_admin or caller.role is Role.SERVICE else caller.subject


def _trusted(return_url: str | None) -> str | None:
    """Where the pay page sends the browser afterwards: only to an origin we trust (a well
    formed URL elsewhere is a 422: the request is valid, the destination is not allowed)."""
    if return_url is None:
        return None
    try:
        parts = urlsplit(return_url)
    except ValueError:  # a bracketed host that is no IPv6 address, say
        parts = urlsplit("invalid:")
    origins = current_app.extensions["settings"].return_origins
    if f"{parts.scheme}://{parts.netloc}" not in origins:
        message = "must be on an origin in PAYMENT_RETURN_ORIGINS"
        raise Unprocessable("return_url is not ours", {"fields": {"return_url": [message]}})
    return return_url


class StartSchema(ma.Schema):
    return_url = Text(
        load_default=None,
        # http(s), and no control characters, in the one pattern the document can state.
        validate=[
            validate.Length(1, 2000),
            FullMatch("^https?://[^\\u0000-\\u001f\\u007f-\\u009f]*$"),
        ],
        metadata={"description": "where the pay page sends the customer back (our console)"},
    )


class InitiateSchema(StartSchema):
    order_id = fields.UUID(required=True)


class PaymentSchema(ma.Schema):
    payment_id = fields.String(required=True)
    order_id = fields.String(required=True)
    amount_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open, captured or refunded"})
    redirect_url = fields.String(required=True, metadata={"description": "the pay page"})
    declines = fields.Integer(required=True)
    created_at = fields.String(required=True)
    captured_at = fields.String(allow_none=True)
    refunded_at = fields.String(allow_none=True)


class DeadEventSchema(ma.Schema):
    id = fields.String(required=True)
    type = fields.String(required=True)
    payment_id = fields.String(allow_none=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)
    received_at = fields.String(allow_none=True)
    dead_at = fields.String(allow_none=True)
    payload = fields.Dict(required=True)


class DeadEventPageSchema(ma.Schema):
    items = fields.List(fields.Nested(DeadEventSchema), required=True)


def payment_json(p: Payment) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "payment_id": p.id,
        "order_id": str(p.order_id),
        "amount_cents": p.amount_cents,
        "currency": p.currency,
        "status": p.status,
        "redirect_url": p.pay_url,
        "declines": p.declines,
        "created_at": p.created_at.isoformat(),
        "captured_at": when(p.captured_at),
        "refunded_at": when(p.refunded_at),
    }


def event_json(e: InboxEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "type": e.type,
        "payment_id": e.payment_id,
        "attempts": e.attempts,
        "last_error": e.last_error,
        "received_at": e.received_at.isoformat() if e.received_at else None,
        "dead_at": e.dead_at.isoformat() if e.dead_at else None,
        "payload": e.payload,
    }


def _started(order_id: uuid.UUID, return_url: str | None) -> tuple[dict[str, Any], int]:
    payment, made = service.initiate(_pctx(), order_id, _owner(), _trusted(return_url))
    return payment_json(payment), 201 if made else 200


@api.route("/orders/<uuid:order_id>/payments", endpoint="order_payment")
class OrderPayment(MethodView):
    @requires(*CUSTOMERS)
    @api.arguments(StartSchema)
    @api.arguments(IdempotencyHeaderSchema, location="headers")
    @api.response(201, PaymentSchema, description="made now: send the customer to redirect_url")
    @api.alt_response(200, schema=PaymentSchema, description="the order's payment, made before")
    @api.alt_response(404, schema=ApiErrorSchema)
    @api.alt_response(409, schema=ApiErrorSchema, description="NOT_PAYABLE")
    @api.alt_response(503, schema=ApiErrorSchema, description="PAYMENTS_UNAVAILABLE")
    def post(
        self, body: dict[str, Any], headers: dict[str, Any], order_id: uuid.UUID
    ) -> tuple[dict[str, Any], int]:
        """Start paying a CONFIRMED order (your own, or any as admin). Idempotent by order:
        every call for one order answers its one payment, so an Idempotency-Key is accepted
        but never needed."""
        return _started(order_id, body["return_url"])

    @requires(*CUSTOMERS, Role.SERVICE)
    @api.response(200, PaymentSchema)
    @api.alt_response(404, schema=ApiErrorSchema)
    def get(self, order_id: uuid.UUID) -> dict[str, Any]:
        """The order's payment and what the provider's events said of it."""
        return payment_json(service.payment_of(_pctx(), order_id, _owner()))


@api.route("/payments/initiate")
class Initiate(MethodView):
    @requires(*CUSTOMERS)
    @api.arguments(InitiateSchema)
    @api.arguments(IdempotencyHeaderSchema, location="headers")
    @api.response(201, PaymentSchema)
    @api.alt_response(200, schema=PaymentSchema)
    @api.alt_response(409, schema=ApiErrorSchema, description="NOT_PAYABLE")
    @api.alt_response(503, schema=ApiErrorSchema, description="PAYMENTS_UNAVAILABLE")
    def post(self, body: dict[str, Any], headers: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """``POST /orders/{id}/payments`` with the order in the body."""
        return _started(body["order_id"], body["return_url"])


@api.route("/payments/webhook")
class Webhook(MethodView):
    @api.response(200, description="kept (or a duplicate): the provider may stop sending it")
    @api.alt_response(401, schema=ApiErrorSchema, description="SIGNATURE_INVALID: nothing kept")
    @api.alt_response(400, schema=ApiErrorSchema, description="signed, but not an event")
    def post(self) -> Response:
        """The provider's events, signed (``X-Signature``); verified on the raw bytes, kept in
        the inbox and answered at once; the reconciler processes them."""
        body, signature = request.get_data(cache=True), request.headers.get("X-Signature")
        new = service.receive(_pctx(), body, signature)
        return jsonify(received=True, duplicate=not new)


@api.route("/payments/dead-letters")
class DeadLetters(MethodView):
    @requires(Role.ADMIN)
    @api.response(200, DeadEventPageSchema)
    def get(self) -> dict[str, Any]:
        """Events that failed every try, oldest first, with the last error (admin)."""
        return {"items": [event_json(e) for e in service.dead_letters(_pctx())]}


def _resolution(name: str, resolution: str, doc: str) -> None:
    @api.route(f"/payments/dead-letters/<event_id>/{name}", endpoint=f"dead_letter_{name}")
    class Resolve(MethodView):
        @requires(Role.ADMIN)
        @api.response(200, DeadEventPageSchema)
        @api.alt_response(404, schema=ApiErrorSchema)
        def post(self, event_id: str) -> dict[str, Any]:
            actor = current_principal().describe()
            service.resolve(_pctx(), event_id, resolution, actor)
            audit(f"dead payment event {resolution}", event=event_id)
            return {"items": [event_json(e) for e in service.dead_letters(_pctx())]}

    Resolve.post.__doc__ = doc


_resolution(
    "replay", "replayed", "Put a dead event back in the inbox, every try ahead of it (admin)."
)
_resolution("discard", "discarded", "Drop a dead event from the queue, kept on record (admin).")
