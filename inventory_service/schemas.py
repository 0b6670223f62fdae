"""Request and response schemas of the inventory API (also the source of its OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from inventory_service.domain import MAX_STOCK
from shared.schemas import ID_PATTERN, FullMatch, Sku, StrictInteger, Text


class ProductCreateSchema(ma.Schema):
    sku = Sku(required=True)
    name = Text(required=True, validate=validate.Length(1, 200))
    on_hand = StrictInteger(required=True, validate=validate.Range(0, MAX_STOCK))


class ProductSchema(ma.Schema):
    sku = fields.String()
    name = fields.String()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
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
    reason = fields.String(metadata={"description": "insufficient_stock or unknown_sku"})


class ReservationSchema(ma.Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "RESERVED, REJECTED, RELEASED or COMMITTED"})
    lines = fields.List(fields.Nested(LineSchema))
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
