"""Request and response schemas of the inventory API (also the source of its OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from inventory_service import domain
from inventory_service.domain import MAX_STOCK
from shared.money import DEFAULT_CURRENCY, MAX_MINOR_UNITS
from shared.schemas import ID_PATTERN, Currency, FullMatch, Sku, StrictInteger, Text

_PRICE = "the price of one unit in the currency's minor units (cents; yen for JPY), never a float"


class PriceSchema(ma.Schema):
    price_cents = StrictInteger(
        required=True, validate=validate.Range(0, MAX_MINOR_UNITS), metadata={"description": _PRICE}
    )
    currency = Currency(required=True)


class ProductCreateSchema(ma.Schema):
    sku = Sku(required=True)
    name = Text(required=True, validate=validate.Length(1, 200))
    on_hand = StrictInteger(required=True, validate=validate.Range(0, MAX_STOCK))
    price_cents = StrictInteger(
        load_default=0,
        validate=validate.Range(0, MAX_MINOR_UNITS),
        metadata={"description": f"{_PRICE}; 0 when left out"},
    )
    currency = Currency(load_default=DEFAULT_CURRENCY)


class ProductSchema(ma.Schema):
    sku = fields.String()
    name = fields.String()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
    price_cents = fields.Integer(metadata={"description": _PRICE})
    currency = fields.String(metadata={"description": "ISO 4217"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ProductPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ProductSchema))
    next_after = fields.String(allow_none=True)


class _Query(ma.Schema):
    @ma.pre_load
    def _query_strings(self, data: dict[str, object], **kwargs: object) -> dict[str, object]:
        # Query values arrive as text; StrictInteger wants a real int.
        data = dict(data)
        raw = data.get("limit")
        if isinstance(raw, str) and raw.isascii() and raw.isdigit():
            data["limit"] = int(raw)
        return data


class ProductQuerySchema(_Query):
    limit = StrictInteger(load_default=20, validate=validate.Range(1, 100))
    after = Sku(load_default=None)


RESERVATION_STATUSES = ("RESERVED", "REJECTED", "RELEASED", "COMMITTED")


class ReservationQuerySchema(_Query):
    status = fields.String(load_default=None, validate=validate.OneOf(RESERVATION_STATUSES))
    updated_since = fields.AwareDateTime(
        load_default=None, metadata={"description": "only those changed at or after this time"}
    )
    after = fields.String(
        load_default=None,
        validate=FullMatch(ID_PATTERN, error="must be 1-64 letters, digits, '-', '_'"),
        metadata={"description": "the last id of the page before"},
    )
    limit = StrictInteger(load_default=100, validate=validate.Range(1, 500))


class RestockSchema(ma.Schema):
    quantity = StrictInteger(required=True, validate=validate.Range(1, MAX_STOCK))


MAX_LINES = 50
# A sku named on every line still adds up to no more than a product can hold.
MAX_LINE_QUANTITY = MAX_STOCK // MAX_LINES


class LineSchema(ma.Schema):
    sku = Sku(required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(1, MAX_LINE_QUANTITY))


class ReserveSchema(ma.Schema):
    lines = fields.List(
        fields.Nested(LineSchema),
        required=True,
        validate=validate.Length(1, MAX_LINES),
        metadata={"description": "a sku named more than once is one line of both quantities"},
    )


class ShortageSchema(ma.Schema):
    sku = fields.String()
    requested = fields.Integer()
    available = fields.Integer()
    reason = fields.String(
        metadata={"description": "insufficient_stock, unknown_sku or other_currency"}
    )


class ReservedLineSchema(ma.Schema):
    sku = fields.String()
    quantity = fields.Integer()
    unit_price_cents = fields.Integer(
        allow_none=True, metadata={"description": "the price when reserved, kept; null if none"}
    )
    currency = fields.String(allow_none=True)


def _total(reservation: object) -> dict[str, object] | None:
    found = domain.total(getattr(reservation, "lines", ()))
    return {"amount_cents": found[0], "currency": found[1]} if found else None


class ReservationSchema(ma.Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "RESERVED, REJECTED, RELEASED or COMMITTED"})
    lines = fields.List(fields.Nested(ReservedLineSchema))
    total = fields.Function(
        _total,
        metadata={
            "description": "what the lines come to at the prices they were reserved at "
            "(amount_cents, currency); null when not priced"
        },
    )
    shortages = fields.Function(
        lambda r: (r.rejection or {}).get("shortages", []),
        metadata={"description": "why a REJECTED reservation was refused"},
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ReservationPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ReservationSchema))
    next_after = fields.String(allow_none=True)


class StockCheckSchema(ma.Schema):
    sku = fields.String()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    ledger_on_hand = fields.Integer(metadata={"description": "the ledger's on-hand movements"})
    ledger_reserved = fields.Integer(metadata={"description": "the ledger's reserved movements"})
    ledger_received = fields.Integer(
        metadata={"description": "the ledger's initial stock and restocks"}
    )
    held_by_reservations = fields.Integer(
        metadata={"description": "what RESERVED reservations hold of this sku"}
    )
    shipped_by_reservations = fields.Integer(
        metadata={"description": "what COMMITTED reservations shipped of this sku"}
    )


class StockCheckPageSchema(ma.Schema):
    items = fields.List(fields.Nested(StockCheckSchema))
