"""``/chaos``: list, add, replace and remove gremlins over HTTP (changes need the admin token)."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request
from flask.views import MethodView

from chaos.engine import Chaos
from chaos.model import NAME_PATTERN, Gremlin, problems
from chaos.schemas import ChaosStatusSchema, GremlinSchema, GremlinViewSchema
from shared.api import Blueprint
from shared.auth import Role
from shared.auth.web import audit, authorize, bearer_token
from shared.errors import Forbidden, NotFound, RequestInvalid, Unauthenticated, Unprocessable
from shared.openapi import document_security, path_parameter, security_for
from shared.schemas import ApiErrorSchema

blueprint = Blueprint(
    "chaos",
    __name__,
    url_prefix="/chaos",
    description="Fault injection (gremlins); changes need the admin token",
)
_NAME = re.compile(NAME_PATTERN)
F = TypeVar("F", bound=Callable[..., Any])


def _chaos() -> Chaos:
    return current_app.extensions["chaos"]  # type: ignore[no-any-return]


def _authorised() -> None:
    """Let the caller change gremlins only as an admin: the ``ADMIN_TOKEN`` or an admin's JWT."""
    chaos = _chaos()
    token = bearer_token()
    if token is None:
        raise Unauthenticated("send the admin token or an admin's JWT as 'Authorization: Bearer'")
    if hmac.compare_digest(token.encode(), chaos.admin_token.encode()):
        g.actor = "admin-token"
    elif "auth" in current_app.extensions:
        authorize((Role.ADMIN,))
    else:
        raise Unauthenticated("wrong admin token")
    if not chaos.enabled:
        raise Forbidden("chaos is disabled here (CHAOS_ENABLED is off)", {"enabled": False})


def authenticate_changes() -> None:
    """Installed app-wide by ``chaos.init_app`` ahead of every other check (media type, body
    parsing): an unauthenticated change is a 401 whatever it sends. The one gate for every
    change; the views below rely on it."""
    if request.path.startswith("/chaos") and request.method not in ("GET", "HEAD", "OPTIONS"):
        _authorised()


def admin_only(view: F) -> F:
    """Documents what ``authenticate_changes`` enforces: an admin's token (or ADMIN_TOKEN)."""
    return document_security(view, security_for((Role.ADMIN,)))


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

    @admin_only
    @blueprint.response(200, ChaosStatusSchema)
    def delete(self) -> dict[str, Any]:
        """Remove every gremlin."""
        chaos = _chaos()
        assert chaos.store is not None
        chaos.store.remove()
        audit("gremlins reset")
        chaos.forget()
        return _status(chaos)


@blueprint.route(
    "/<name>", parameters=[path_parameter("name", f"^{NAME_PATTERN}$", "the gremlin's name")]
)
class OneGremlin(MethodView):
    @admin_only
    @blueprint.arguments(GremlinSchema)
    @blueprint.response(200, GremlinViewSchema)
    @blueprint.alt_response(
        422,
        schema=ApiErrorSchema,
        description="UNPROCESSABLE: the fields do not fit together (more than one selector, a "
        "latency without a delay, a crash before the commit, a non-5xx error after it, delay "
        "plus jitter past 25 s, a probability of 0)",
    )
    def put(self, body: dict[str, Any], name: str) -> dict[str, Any]:
        """Add or replace the gremlin ``name``; every worker applies it within a second."""
        chaos = _chaos()
        assert chaos.store is not None
        if not _NAME.fullmatch(name):
            raise RequestInvalid(
                "bad gremlin name", {"fields": {"name": ["1-64 letters, digits, - or _"]}}
            )
        found = problems(body)
        if found:
            raise Unprocessable("the gremlin's fields do not fit together", {"fields": found})
        ttl_s = body.pop("ttl_s")
        stored = chaos.store.put(Gremlin.create(name, body, chaos.now(), ttl_s))
        audit("gremlin set", gremlin=name, kind=stored.kind.value)
        chaos.forget()
        return stored.as_json()

    @admin_only
    @blueprint.response(200, ChaosStatusSchema)
    def delete(self, name: str) -> dict[str, Any]:
        """Remove the gremlin ``name``."""
        chaos = _chaos()
        assert chaos.store is not None
        if not chaos.store.remove(name):
            raise NotFound(f"no gremlin {name!r}", {"name": name})
        audit("gremlin removed", gremlin=name)
        chaos.forget()
        return _status(chaos)
