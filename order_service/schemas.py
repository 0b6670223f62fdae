"""Request and response schemas of the order API (also the source of its OpenAPI document)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from order_service.domain import OrderStatus
from shared.schemas import Email, Sku, StrictInteger, Text, unique_by


class Cursor(fields.String):
    """An opaque position in the newest-first listing: (created_at, id) of the last order seen."""

    @staticmethod
    def encode(position: tuple[datetime, uuid.UUID]) -> str:
        raw = f"{position[0].isoformat()}|{position[1]}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            created, order_id = raw.split("|")
            return datetime.fromisoformat(created), uuid.UUID(order_id)
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise ma.ValidationError("not a cursor returned by this API") from exc


class ItemSchema(ma.Schema):
    sku = Sku(required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(1, 1000))


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
        validate=[validate.Length(1, 50), unique_by("sku")],
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
        if isinstance(raw, str) and raw.isdigit():
            data["limit"] = int(raw)
        return data


class HistorySchema(ma.Schema):
    status = fields.String()
    at = fields.String(metadata={"format": "date-time"})
    reason = fields.String(allow_none=True)
    actor = fields.String(allow_none=True, metadata={"description": "who asked for it"})


class OrderSchema(ma.Schema):
    id = fields.String(metadata={"format": "uuid"})
    customer_id = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in OrderStatus]})
    items = fields.List(fields.Nested(ItemSchema))
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
