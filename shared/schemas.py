"""Marshmallow pieces both services validate with."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class StrictInteger(fields.Integer):
    """An integer that refuses strings, floats and booleans (``true`` is not a quantity)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        result: int = super()._deserialize(value, attr, data, **kwargs)
        return result


def Sku(**kwargs: Any) -> fields.String:
    """A stock-keeping unit: 1..64 letters, digits, dot, dash or underscore."""
    return fields.String(
        validate=validate.Regexp(SKU_PATTERN, error="must be 1-64 letters, digits, '.', '-', '_'"),
        **kwargs,
    )


def unique_by(key: str) -> Callable[[Sequence[Mapping[str, Any]]], None]:
    """A list validator that refuses two items with the same ``key``."""

    def check(items: Sequence[Mapping[str, Any]]) -> None:
        seen = [item[key] for item in items]
        duplicates = sorted({v for v in seen if seen.count(v) > 1})
        if duplicates:
            raise ma.ValidationError(f"each {key} may appear once; repeated: {duplicates}")

    return check


class IdempotencyHeaderSchema(ma.Schema):
    """The optional ``Idempotency-Key`` header (IETF draft), 1..255 characters."""

    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = fields.String(
        data_key="Idempotency-Key", validate=validate.Length(1, 255), load_default=None
    )


class ErrorDetailSchema(ma.Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable"})
    message = fields.String(required=True)
    details = fields.Dict(metadata={"description": "per-field messages under 'fields'"})
    request_id = fields.String()


class ApiErrorSchema(ma.Schema):
    """The error body every endpoint uses."""

    error = fields.Nested(ErrorDetailSchema, required=True)
