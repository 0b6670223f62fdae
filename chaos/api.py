"""``/chaos``: list, add, replace and remove gremlins over HTTP (changes need the admin token)."""

from __future__ import annotations

import hmac
import re
from datetime import timedelta
from typing import Any

from flask import current_app, request
from flask.views import MethodView

from chaos.engine import Chaos
from chaos.model import Gremlin, Kind, Phase
from chaos.schemas import ChaosStatusSchema, GremlinSchema, GremlinViewSchema
from shared.api import Blueprint
from shared.errors import Forbidden, NotFound, RequestInvalid, Unauthenticated
from shared.schemas import ApiErrorSchema

blueprint = Blueprint(
    "chaos",
    __name__,
    url_prefix="/chaos",
    description="Fault injection (gremlins); changes need the admin token",
)
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _chaos() -> Chaos:
    return current_app.extensions["chaos"]  # type: ignore[no-any-return]


def _authorised() -> Chaos:
    chaos = _chaos()
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthenticated("send the admin token as 'Authorization: Bearer <token>'")
    if not hmac.compare_digest(header.removeprefix("Bearer ").encode(), chaos.admin_token.encode()):
        raise Forbidden("wrong admin token")
    if not chaos.enabled:
        raise Forbidden("chaos is disabled here (CHAOS_ENABLED is off)", {"enabled": False})
    return chaos


def _status(chaos: Chaos) -> dict[str, Any]:
    return {
        "enabled": chaos.enabled,
        "gremlins": [g.as_json() for g in chaos.active()] if chaos.enabled else [],
    }


@blueprint.route("")
class Gremlins(MethodView):
    @blueprint.response(200, ChaosStatusSchema)
    def get(self) -> dict[str, Any]:
        """The active gremlins and how often each matched and fired."""
        chaos = _chaos()
        chaos.forget()
        return _status(chaos)

    @blueprint.response(200, ChaosStatusSchema)
    @blueprint.alt_response(401, schema=ApiErrorSchema)
    @blueprint.alt_response(403, schema=ApiErrorSchema)
    def delete(self) -> dict[str, Any]:
        """Remove every gremlin."""
        chaos = _authorised()
        assert chaos.store is not None
        chaos.store.remove()
        chaos.forget()
        return _status(chaos)


@blueprint.route("/<name>")
class OneGremlin(MethodView):
    @blueprint.arguments(GremlinSchema)
    @blueprint.response(200, GremlinViewSchema)
    @blueprint.alt_response(401, schema=ApiErrorSchema)
    @blueprint.alt_response(403, schema=ApiErrorSchema)
    def put(self, body: dict[str, Any], name: str) -> dict[str, Any]:
        """Add or replace the gremlin ``name``; every worker applies it within a second."""
        chaos = _authorised()
        assert chaos.store is not None
        stored = chaos.store.put(_gremlin(name, body, chaos))
        chaos.forget()
        return stored.as_json()

    @blueprint.response(200, ChaosStatusSchema)
    @blueprint.alt_response(404, schema=ApiErrorSchema)
    def delete(self, name: str) -> dict[str, Any]:
        """Remove the gremlin ``name``."""
        chaos = _authorised()
        assert chaos.store is not None
        if not chaos.store.remove(name):
            raise NotFound(f"no gremlin {name!r}", {"name": name})
        chaos.forget()
        return _status(chaos)


def _gremlin(name: str, body: dict[str, Any], chaos: Chaos) -> Gremlin:
    if not _NAME.match(name):
        raise RequestInvalid(
            "bad gremlin name", {"fields": {"name": ["1-64 letters, digits, - or _"]}}
        )
    kind = Kind(body["kind"])
    phase = Phase(body["phase"] or (Phase.AFTER if kind is Kind.CRASH else Phase.BEFORE))
    ttl = body.pop("ttl_s")
    return Gremlin(
        name=name,
        kind=kind,
        phase=phase,
        delay_ms=body["delay_ms"],
        jitter_ms=body["jitter_ms"],
        status=body["status"],
        every_nth=body["every_nth"],
        probability=body["probability"],
        seed=body["seed"],
        fail_next=body["fail_next"],
        method=body["method"],
        path=body["path"],
        expires_at=chaos._clock() + timedelta(seconds=ttl) if ttl else None,
    )
