"""Request and response schemas of the order API (also the source of its OpenAPI document)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import marshmallow as ma
from babel import Locale
from marshmallow import fields, validate

from order_service.domain import MAX_ITEM_QUANTITY, MAX_ITEMS, OrderStatus
from shared.schemas import Email, FullMatch, Sku, StrictInteger, Text, full_match


class Cursor(fields.String):
    """A position in the newest-first listing: (created_at, id) of the last order seen.

    Written ``<microseconds since 1970>-<order id in hex>``, so that its pattern says all
    there is to check: any value of that shape is a position (perhaps past every order)."""

    PATTERN = "^[0-9]{1,16}-[0-9a-f]{32}$"
    EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata = {"pattern": self.PATTERN, **self.metadata}

    @classmethod
    def encode(cls, position: tuple[datetime, uuid.UUID]) -> str:
        micros = (position[0] - cls.EPOCH) // timedelta(microseconds=1)
        return f"{micros}-{position[1].hex}"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not full_match(self.PATTERN, text):
            raise ma.ValidationError("not a cursor returned by this API")
        micros, order_id = text.split("-")
        return self.EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=order_id)


class ItemSchema(ma.Schema):
    sku = Sku(required=True, metadata={"example": "WIDGET-1"})
    quantity = StrictInteger(required=True, validate=validate.Range(1, MAX_ITEM_QUANTITY))


# ISO 3166-1 alpha-2 codes from Babel's CLDR data, without its groupings, pseudo-regions and
# "unknown region".
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
COUNTRIES = sorted(
    code
    for code in map(str, Locale("en").territories)
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)


class AddressSchema(ma.Schema):
    name = Text(required=True, validate=validate.Length(1, 200))
    line1 = Text(required=True, validate=validate.Length(1, 200))
    line2 = Text(load_default=None, allow_none=True, validate=validate.Length(1, 200))
    city = Text(required=True, validate=validate.Length(1, 100))
    postal_code = Text(
        required=True,
        validate=FullMatch(
            r"[A-Za-z0-9][A-Za-z0-9 -]{0,19}", error="1-20 letters, digits, ' ', '-'"
        ),
    )
    country = fields.String(
        required=True,
        validate=validate.OneOf(COUNTRIES, error="must be an ISO 3166-1 alpha-2 code, such as DE"),
        metadata={"description": "ISO 3166-1 alpha-2, such as DE"},
    )


class OrderCreateSchema(ma.Schema):
    customer_id = Text(
        load_default=None,
        validate=validate.Length(1, 255),
        metadata={
            "description": "optional: the caller's own id (a customer) or anyone's (an admin); "
            "by default the token's subject"
        },
    )
    items = fields.List(
        fields.Nested(ItemSchema),
        required=True,
        validate=validate.Length(1, MAX_ITEMS),
        metadata={"description": "a sku named more than once is one line of both quantities"},
    )
    # Left out when there is none (never null): the document then says exactly what is taken.
    shipping_address = fields.Nested(
        AddressSchema, metadata={"description": "where the order goes; optional, kept as given"}
    )


class OrderQuerySchema(ma.Schema):
    status = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in OrderStatus])
    )
    customer_id = Text(load_default=None, validate=validate.Length(1, 255))
    limit = StrictInteger(load_default=20, validate=validate.Range(1, 100))
    cursor = Cursor(load_default=None)

    @ma.pre_load
    def _query_strings(self, data: Any, **kwargs: Any) -> Any:
        # Query values arrive as text; StrictInteger wants a real int.
        data = dict(data)
        raw = data.get("limit")
        if isinstance(raw, str) and raw.isascii() and raw.isdigit():
            data["limit"] = int(raw)
        return data


class HistorySchema(ma.Schema):
    status = fields.String()
    at = fields.String(metadata={"format": "date-time"})
    reason = fields.String(allow_none=True)
    actor = fields.String(allow_none=True, metadata={"description": "who asked for it"})


class OrderItemSchema(ma.Schema):
    sku = fields.String()
    quantity = fields.Integer()
    unit_price_cents = fields.Integer(
        allow_none=True,
        metadata={
            "description": "what inventory reserved one unit at, in the order's currency's minor "
            "units; null until confirmed"
        },
    )


class MoneySchema(ma.Schema):
    amount_cents = fields.Integer(metadata={"description": "minor units (cents; yen for JPY)"})
    currency = fields.String(metadata={"description": "ISO 4217"})


class OrderSchema(ma.Schema):
    id = fields.String(metadata={"format": "uuid"})
    customer_id = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in OrderStatus]})
    items = fields.List(fields.Nested(OrderItemSchema))
    shipping_address = fields.Nested(AddressSchema, allow_none=True)
    total = fields.Nested(
        MoneySchema,
        allow_none=True,
        metadata={
            "description": "the items at the prices they were reserved at, computed by the "
            "service; null until confirmed"
        },
    )
    version = fields.Integer()
    created_at = fields.String(metadata={"format": "date-time"})
    updated_at = fields.String(metadata={"format": "date-time"})
    rejection = fields.Dict(allow_none=True)
    attention = fields.Dict(
        allow_none=True,
        metadata={"description": "set when inventory refused a command; a person must look"},
    )
    links = fields.Dict()
    history = fields.List(fields.Nested(HistorySchema))
    message = fields.String(metadata={"description": "present on 202: what happens next"})


class OrderPageSchema(ma.Schema):
    items = fields.List(fields.Nested(OrderSchema))
    next_cursor = fields.String(allow_none=True)


# Long enough to resist guessing, short enough for argon2 to hash quickly.
PASSWORD_RULES = validate.Length(10, 128, error="must be 10 to 128 characters")


class SignupSchema(ma.Schema):
    email = Email(required=True, validate=validate.Length(3, 254))
    password = Text(required=True, validate=PASSWORD_RULES, load_only=True)

    @ma.validates_schema
    def _not_the_email(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["password"].lower() == data["email"].lower():
            raise ma.ValidationError("must not be your email", "password")


class LoginSchema(ma.Schema):
    email = Text(required=True, validate=validate.Length(1, 254))
    password = Text(required=True, validate=validate.Length(1, 128), load_only=True)


class AccountSchema(ma.Schema):
    id = fields.String(metadata={"format": "uuid"})
    email = fields.String()
    role = fields.String()


class TokenSchema(ma.Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer(metadata={"description": "seconds"})
    role = fields.String()
