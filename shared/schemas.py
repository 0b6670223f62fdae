"""Marshmallow pieces both services validate with."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from shared.errors import RequestInvalid
from shared.money import currencies

# Written with ^...$ for the OpenAPI document (JSON Schema patterns are ECMA-262); always applied
# as a full match, since Python's $ also matches before a trailing newline.
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# C0 and C1 controls (NUL included) and lone surrogates: PostgreSQL cannot store NUL, a lone
# surrogate cannot be encoded as UTF-8, and the others only ever corrupt logs and terminals.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
NO_CONTROL_CHARACTERS = "must not contain control characters"
# The same rule as the OpenAPI documents state it (an ECMA-262 pattern; JSON cannot carry a lone
# surrogate, so the document need not name them).
NO_CONTROL_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"


class FullMatch(validate.Regexp):
    """``validate.Regexp`` that must match the whole value (``re.fullmatch``).

    Its pattern is anchored (``^...$``) as the OpenAPI document shows it: a JSON Schema pattern
    that is not anchored matches anywhere in the value."""

    def __init__(self, regex: str, *args: Any, **kwargs: Any) -> None:
        if not (regex.startswith("^") and regex.endswith("$")):
            regex = f"^(?:{regex})$"
        super().__init__(regex, *args, **kwargs)

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
        if not any(isinstance(v, validate.Regexp) for v in self.validators):
            self.metadata = {"pattern": NO_CONTROL_PATTERN, **self.metadata}


# What this API takes for an email address, stated as the document states it: a local part of
# printable ASCII without spaces or "@", and a domain of dot-separated DNS labels (an
# internationalised domain in its ASCII form, xn--...). ASCII only, so that no address can hold
# an invisible character (U+200B ZERO WIDTH SPACE after "admin@example.com") or a look-alike
# letter and display as another's. (JSON Schema's "email" format and marshmallow's own check
# disagree on edge cases such as "a@b.c".)
EMAIL_RULE = "Not a valid email address (printable ASCII; a domain in its xn-- form)."
EMAIL_PATTERN = (
    "^[!-?A-~]{1,64}"
    "@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def Email(**kwargs: Any) -> Text:
    """An email address; control characters get their own message, not "not a valid email"."""
    validators = kwargs.pop("validate", [])
    validators = validators if isinstance(validators, list) else [validators]
    return Text(
        validate=[FullMatch(EMAIL_PATTERN, error=EMAIL_RULE), *validators],
        **kwargs,
    )


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


def Currency(**kwargs: Any) -> fields.String:
    """An ISO 4217 code of a currency in use today (``shared.money``): "EUR", "USD", "JPY".
    The document lists every one accepted (an ``enum``), so a client can tell before asking."""
    return fields.String(
        validate=validate.OneOf(
            sorted(currencies()), error="must be an ISO 4217 currency code in use, such as EUR"
        ),
        metadata={"description": "ISO 4217, such as EUR"},
        **kwargs,
    )


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
