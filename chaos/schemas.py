"""The gremlin API's schemas, derived from the ``Gremlin`` dataclass (``chaos.model``).

``PUT /chaos/{name}`` takes the settable fields; it also accepts, and ignores, the fields that
``GET /chaos`` shows but the system keeps (counters, expiry), so a document read back can be
sent again. Anything else is a 400 with per-field messages.
"""

from __future__ import annotations

from dataclasses import Field, fields
from typing import Any

import marshmallow as ma
from marshmallow import validate

from chaos.model import SETTABLE, Gremlin
from shared.schemas import FullMatch, StrictInteger, Text


def _input(f: Field[Any]) -> ma.fields.Field[Any]:
    meta, kind = f.metadata, str(f.type)
    rules: list[Any] = []
    if meta["choices"]:
        rules.append(validate.OneOf([str(c) for c in meta["choices"]]))
    if meta["low"] is not None:
        rules.append(validate.Range(meta["low"], meta["high"]))
    if meta["pattern"]:
        rules.append(FullMatch(meta["pattern"]))
    cls: type[ma.fields.Field[Any]] = Text
    if kind.startswith("int"):
        cls = StrictInteger
    elif kind.startswith("float"):
        cls = ma.fields.Float
    described = {"description": meta["help"]}
    if f.name == "kind":
        return cls(required=True, validate=rules, metadata=described)
    return cls(allow_none=True, load_default=None, validate=rules, metadata=described)


_KEPT = [f.name for f in fields(Gremlin) if f.name not in SETTABLE]


_INPUTS = ma.Schema.from_dict(
    {
        **{name: _input(f) for name, f in SETTABLE.items()},
        "ttl_s": StrictInteger(
            load_default=None,
            allow_none=True,
            validate=validate.Range(1, 86_400),
            metadata={"description": "remove the gremlin by itself after this many seconds"},
        ),
        **{
            name: ma.fields.Raw(
                load_default=None, metadata={"description": "shown by GET; ignored here"}
            )
            for name in _KEPT
        },
    },
    name="GremlinInputs",
)


class GremlinSchema(_INPUTS):  # type: ignore[misc,valid-type]
    """A gremlin as a user defines it; how its fields must fit together is ``problems``'s."""

    @ma.post_load
    def _drop_kept(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if k not in _KEPT}


GremlinViewSchema = ma.Schema.from_dict(
    {f.name: ma.fields.Raw() for f in fields(Gremlin)}, name="GremlinView"
)


class ChaosStatusSchema(ma.Schema):
    enabled = ma.fields.Boolean()
    gremlins = ma.fields.List(ma.fields.Nested(GremlinViewSchema))
