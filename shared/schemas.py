"""Marshmallow pieces both services validate with."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from shared.errors import RequestInvalid

# Written with ^...$ for the OpenAPI document (JSON Schema patterns are ECMA-262); always applied
# as a full match, since Python's $ also matches before a trailing newline.
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# C0 and C1 controls (NUL included) and lone surrogates: PostgreSQL cannot store NUL, a lone
# surrogate cannot be encoded as UTF-8, and the others only ever corrupt logs and terminals.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
NO_CONTROL_CHARACTERS = "must not contain control characters"


class FullMatch(validate.Regexp):
    """``validate.Regexp`` that must match the whole value (``re.fullmatch``)."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


def full_match(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def _refuse_control_characters(value: str) -> None:
    if CONTROL_CHARACTERS.search(value):
        raise ma.ValidationError(NO_CONTROL_CHARACTERS)


class Text(fields.String):
    """Text that is stored or logged: refuses control characters and lone surrogates."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, _refuse_control_characters)


class Email(fields.Email):
    """An email address; control characters get their own message, not "not a valid email"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, _refuse_control_characters)


def path_value(field: str, value: str, pattern: str) -> str:
    """A value taken from the URL path, checked as the schemas check the same value in a body."""
    if not full_match(pattern, value):
        raise RequestInvalid(f"bad {field}", {"fields": {field: [f"must match {pattern}"]}})
    return value


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
        validate=FullMatch(SKU_PATTERN, error="must be 1-64 letters, digits, '.', '-', '_'"),
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

    idempotency_key = Text(
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
