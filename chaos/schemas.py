"""What a gremlin definition may say; anything else is a 400 with per-field messages."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from chaos.model import Kind, Phase
from shared.schemas import StrictInteger

# gunicorn kills a worker silent for 30 s; a longer delay would be a crash, not latency.
MAX_DELAY_MS = 25_000


class GremlinSchema(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in Kind]))
    phase = fields.String(
        load_default=None,
        validate=validate.OneOf([p.value for p in Phase]),
        metadata={"description": "before the work, or after the commit (crash: always after)"},
    )
    delay_ms = StrictInteger(load_default=0, validate=validate.Range(0, MAX_DELAY_MS))
    jitter_ms = StrictInteger(load_default=0, validate=validate.Range(0, MAX_DELAY_MS))
    status = StrictInteger(load_default=503, validate=validate.Range(400, 599))
    every_nth = StrictInteger(load_default=None, validate=validate.Range(1, 1_000_000))
    probability = fields.Float(
        load_default=None, validate=validate.Range(0, 1, min_inclusive=False)
    )
    seed = StrictInteger(load_default=0)
    fail_next = StrictInteger(load_default=None, validate=validate.Range(1, 1_000_000))
    method = fields.String(
        load_default=None, validate=validate.OneOf(["GET", "PUT", "POST", "DELETE", "PATCH"])
    )
    path = fields.String(
        load_default="/api/v1/*", validate=validate.Regexp(r"^/[\w/*.\-{}?\[\]]*$")
    )
    ttl_s = StrictInteger(load_default=None, validate=validate.Range(1, 86_400))

    @ma.validates_schema
    def _coherent(self, data: dict[str, Any], **kwargs: Any) -> None:
        chosen = [k for k in ("every_nth", "probability", "fail_next") if data.get(k) is not None]
        if len(chosen) > 1:
            raise ma.ValidationError(f"choose one selector, not {chosen}", "selector")
        if data["kind"] == Kind.LATENCY and data["delay_ms"] + data["jitter_ms"] == 0:
            raise ma.ValidationError("a latency gremlin needs delay_ms or jitter_ms", "delay_ms")
        if data["kind"] == Kind.CRASH and data.get("phase") == Phase.BEFORE:
            raise ma.ValidationError("a crash happens after the commit", "phase")


class GremlinViewSchema(ma.Schema):
    name = fields.String()
    kind = fields.String()
    phase = fields.String()
    delay_ms = fields.Integer()
    jitter_ms = fields.Integer()
    status = fields.Integer()
    selector = fields.Dict()
    method = fields.String(allow_none=True)
    path = fields.String()
    expires_at = fields.String(allow_none=True)
    matched = fields.Integer(metadata={"description": "calls that matched, all processes"})
    fired = fields.Integer(metadata={"description": "times it fired"})


class ChaosStatusSchema(ma.Schema):
    enabled = fields.Boolean()
    gremlins = fields.List(fields.Nested(GremlinViewSchema))
