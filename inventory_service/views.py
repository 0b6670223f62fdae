"""HTTP API of the inventory service: parse, call one service function, serialise."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from inventory_service import domain, services
from inventory_service.domain import Line
from inventory_service.schemas import (
    PriceSchema,
    ProductCreateSchema,
    ProductPageSchema,
    ProductQuerySchema,
    ProductSchema,
    ReservationPageSchema,
    ReservationQuerySchema,
    ReservationSchema,
    ReserveSchema,
    RestockSchema,
    StockCheckPageSchema,
)
from shared.api import Blueprint
from shared.auth import Role
from shared.auth.web import audit, requires
from shared.openapi import link, path_parameter, ref
from shared.schemas import (
    ID_PATTERN,
    SKU_PATTERN,
    ApiErrorSchema,
    IdempotencyHeaderSchema,
    path_value,
)
from shared.web import COMMON_ERRORS

api = Blueprint("inventory", __name__, url_prefix="/api/v1", description="Products and stock")

ERRORS = {
    **COMMON_ERRORS,
    domain.ProductExists: (409, "PRODUCT_EXISTS"),
    domain.StockLimit: (409, "STOCK_LIMIT"),
    domain.ReservationMismatch: (422, "RESERVATION_MISMATCH"),
    domain.IdempotencyKeyReused: (422, "IDEMPOTENCY_KEY_REUSED"),
}


# Only the order service's own token (audience "inventory") may move reserved stock.
ORDER_SERVICE = {"audience": "inventory"}


def _uow() -> services.UowFactory:
    return current_app.extensions["inventory_uow"]  # type: ignore[no-any-return]


def _reservation_id(value: str) -> str:
    return path_value("id", value, ID_PATTERN)


_PRODUCT = "/api/v1/products/{sku}"
_RESERVATION = "/api/v1/reservations/{reservation_id}"
_SAME_RESERVATION = {
    "GetReservation": link(ref(_RESERVATION, "get"), reservation_id="$request.path.reservation_id"),
    "ReleaseReservation": link(
        ref(f"{_RESERVATION}/release", "post"), reservation_id="$request.path.reservation_id"
    ),
    "CommitReservation": link(
        ref(f"{_RESERVATION}/commit", "post"), reservation_id="$request.path.reservation_id"
    ),
}
# What a client does next with what it created (OpenAPI links, by response).
LINKS = {
    ("/api/v1/products", "post", "201"): {
        "GetProduct": link(ref(_PRODUCT, "get"), sku="$response.body#/sku"),
        "RestockProduct": link(ref(f"{_PRODUCT}/restock", "post"), sku="$response.body#/sku"),
    },
    (_RESERVATION, "put", "201"): _SAME_RESERVATION,
    (_RESERVATION, "put", "200"): _SAME_RESERVATION,
}
SKU_PARAMETER = path_parameter("sku", SKU_PATTERN, "the product's stock-keeping unit")
RESERVATION_PARAMETER = path_parameter(
    "reservation_id", ID_PATTERN, "chosen by the caller: the order service uses the order id"
)


def _sku(value: str) -> str:
    return path_value("sku", value, SKU_PATTERN)


def _lines(payload: dict[str, Any]) -> list[Line]:
    return [Line(ln["sku"], ln["quantity"]) for ln in payload["lines"]]


@api.route("/products")
class Products(MethodView):
    @api.arguments(ProductQuerySchema, location="query")
    @api.response(200, ProductPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List products in sku order; pass ``after`` (the last sku seen) for the next page."""
        rows = services.list_products(_uow(), query["after"], query["limit"])
        after = rows[-1].sku if len(rows) == query["limit"] else None
        return {"items": rows, "next_after": after}

    @requires(Role.ADMIN)
    @api.arguments(ProductCreateSchema)
    @api.response(201, ProductSchema)
    @api.alt_response(409, schema=ApiErrorSchema, description="the sku exists already")
    def post(self, body: dict[str, Any]) -> Any:
        """Create a product with its initial stock and its price (admin)."""
        product = services.create_product(
            _uow(),
            body["sku"],
            body["name"],
            body["on_hand"],
            body["price_cents"],
            body["currency"],
        )
        audit(
            "product created",
            sku=body["sku"],
            on_hand=body["on_hand"],
            price_cents=body["price_cents"],
            currency=body["currency"],
        )
        return product


@api.route("/products/<sku>", parameters=[SKU_PARAMETER])
class Product(MethodView):
    @api.response(200, ProductSchema)
    @api.alt_response(404, schema=ApiErrorSchema)
    def get(self, sku: str) -> Any:
        """One product: ``on_hand``, ``reserved`` and ``available``."""
        return services.get_product(_uow(), _sku(sku))


@api.route("/products/<sku>/price", parameters=[SKU_PARAMETER])
class Price(MethodView):
    @requires(Role.ADMIN)
    @api.arguments(PriceSchema)
    @api.response(200, ProductSchema)
    @api.alt_response(404, schema=ApiErrorSchema)
    def put(self, body: dict[str, Any], sku: str) -> Any:
        """Set a product's price (admin); reservations already made keep the price they were
        made at."""
        product = services.set_price(_uow(), _sku(sku), body["price_cents"], body["currency"])
        audit("price set", sku=sku, price_cents=body["price_cents"], currency=body["currency"])
        return product


@api.route("/products/<sku>/restock", parameters=[SKU_PARAMETER])
class Restock(MethodView):
    @requires(Role.ADMIN)
    @api.arguments(RestockSchema)
    @api.arguments(IdempotencyHeaderSchema, location="headers")
    @api.response(200, ProductSchema)
    def post(self, body: dict[str, Any], headers: dict[str, Any], sku: str) -> Any:
        """Add stock (admin); with an ``Idempotency-Key`` a repeated call adds nothing."""
        product, replayed = services.restock(
            _uow(), _sku(sku), body["quantity"], headers["idempotency_key"]
        )
        audit("restocked", sku=sku, quantity=body["quantity"], replayed=replayed)
        return product, 200, {"Idempotent-Replayed": str(replayed).lower()}


@api.route("/reservations")
class Reservations(MethodView):
    @requires(Role.SERVICE, Role.ADMIN)
    @api.arguments(ReservationQuerySchema, location="query")
    @api.response(200, ReservationPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Reservations in id order, by status and last change; pass ``after`` for the next
        page. The order service's audit compares them with its orders."""
        found = services.list_reservations(
            _uow(), query["status"], query["updated_since"], query["after"], query["limit"]
        )
        after = found[-1].id if len(found) == query["limit"] else None
        return {"items": found, "next_after": after}


@api.route("/stock/check")
class StockCheck(MethodView):
    @requires(Role.SERVICE, Role.ADMIN)
    @api.response(200, StockCheckPageSchema)
    def get(self) -> dict[str, Any]:
        """Per product: on hand and reserved beside the ledger's sums and what RESERVED
        reservations hold; the three agree unless something went wrong."""
        return {"items": services.stock_check(_uow())}


@api.route("/reservations/<reservation_id>", parameters=[RESERVATION_PARAMETER])
class Reservation(MethodView):
    @requires(Role.SERVICE, **ORDER_SERVICE)
    @api.arguments(ReserveSchema)
    @api.response(200, ReservationSchema, description="stored outcome of an earlier call")
    @api.alt_response(201, schema=ReservationSchema, description="reserved or rejected now")
    @api.alt_response(422, schema=ApiErrorSchema, description="the id exists with other lines")
    def put(self, body: dict[str, Any], reservation_id: str) -> Any:
        """Reserve all lines or none; the caller picks the id, so repeating the call is safe."""
        outcome = services.reserve(_uow(), _reservation_id(reservation_id), _lines(body))
        return outcome.reservation, 201 if outcome.created else 200

    @requires(Role.SERVICE, Role.ADMIN)
    @api.response(200, ReservationSchema)
    @api.alt_response(404, schema=ApiErrorSchema)
    def get(self, reservation_id: str) -> Any:
        """The outcome: RESERVED, REJECTED, RELEASED or COMMITTED."""
        return services.get_reservation(_uow(), _reservation_id(reservation_id))


@api.route("/reservations/<reservation_id>/release", parameters=[RESERVATION_PARAMETER])
class Release(MethodView):
    @requires(Role.SERVICE, **ORDER_SERVICE)
    @api.response(200, ReservationSchema)
    @api.alt_response(409, schema=ApiErrorSchema, description="already committed")
    def post(self, reservation_id: str) -> Any:
        """Give reserved stock back; idempotent, and safe before the reserve arrives."""
        return services.release(_uow(), _reservation_id(reservation_id)).reservation


@api.route("/reservations/<reservation_id>/commit", parameters=[RESERVATION_PARAMETER])
class Commit(MethodView):
    @requires(Role.SERVICE, **ORDER_SERVICE)
    @api.response(200, ReservationSchema)
    @api.alt_response(409, schema=ApiErrorSchema, description="released or rejected")
    def post(self, reservation_id: str) -> Any:
        """Deduct reserved stock for good (the goods shipped); idempotent."""
        return services.commit(_uow(), _reservation_id(reservation_id)).reservation
