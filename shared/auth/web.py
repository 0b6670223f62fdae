"""Authentication in the web layer: ``@requires(Role.ADMIN)`` on a view, outermost.

Outermost matters: the check runs before flask-smorest parses the body, so a caller without the
right token gets 401/403 whatever it sent, and learns nothing about what a valid body is.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from shared.auth import Principal, Role
from shared.auth.tokens import TokenVerifier
from shared.errors import Forbidden, Unauthenticated
from shared.openapi import document_security, security_for

F = TypeVar("F", bound=Callable[..., Any])
audit_log = logging.getLogger("audit")


def init_auth(app: Flask, verifier: TokenVerifier) -> None:
    app.extensions["auth"] = verifier


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate() -> Principal:
    """The verified caller of this request, or ``Unauthenticated``."""
    found: Principal | None = g.get("principal")
    if found is None:
        token = bearer_token()
        if token is None:
            raise Unauthenticated("send a token as 'Authorization: Bearer <token>' (log in first)")
        verifier: TokenVerifier = current_app.extensions["auth"]
        found = g.principal = verifier.verify(token)
    return found


def authorize(roles: tuple[Role, ...], audience: str | None = None) -> Principal:
    """The caller, if its role (and audience) may do this; else 401 or 403."""
    principal = authenticate()
    if principal.role not in roles or (audience and principal.audience != audience):
        raise Forbidden(
            f"this needs the role {' or '.join(r.value for r in roles)}",
            {"role": principal.role.value},
        )
    return principal


def requires(*roles: Role, audience: str | None = None) -> Callable[[F], F]:
    """Let only these roles (with a token meant for ``audience``, if given) call the view."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            authorize(roles, audience)
            return view(*args, **kwargs)

        # The operation's OpenAPI document names the token it takes, from the same roles.
        return document_security(guarded, security_for(roles))  # type: ignore[return-value]

    return decorate


def audit(action: str, **fields: Any) -> None:
    """One log line saying who changed what (the order history records order changes)."""
    principal: Principal | None = g.get("principal")
    who = principal.describe() if principal else g.get("actor", "unknown")
    audit_log.info(action, extra={"actor": who, **fields})


def current_principal() -> Principal:
    """The caller a ``@requires`` view was let in for."""
    return authenticate()
