"""Sign up and log in (``/api/v1/auth``): the only order routes open to anonymous callers."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from order_service import accounts
from order_service.accounts.identity import normal_email
from order_service.schemas import AccountSchema, LoginSchema, SignupSchema, TokenSchema
from shared import limits
from shared.api import Blueprint
from shared.schemas import ApiErrorSchema

blueprint = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Accounts")


def _accounts() -> accounts.Accounts:
    return current_app.extensions["accounts"]  # type: ignore[no-any-return]


def _limit_signup(email: str) -> None:
    # Per address and per email: a script minting accounts is slowed whichever it varies.
    settings = current_app.extensions["settings"]
    limits.check("signup-address", settings.rate_limit_auth_per_address, limits.address())
    limits.check("signup-email", settings.rate_limit_auth_per_email, normal_email(email))


def _limit_login() -> None:
    # Per address only: per email, failures delay the next attempt instead
    # (order_service.accounts.throttle), so nobody can lock an account by guessing wrong.
    settings = current_app.extensions["settings"]
    limits.check("login-address", settings.rate_limit_auth_per_address, limits.address())


@blueprint.route("/signup")
class Signup(MethodView):
    @blueprint.arguments(SignupSchema)
    @blueprint.response(201, AccountSchema)
    @blueprint.alt_response(409, schema=ApiErrorSchema, description="EMAIL_TAKEN")
    @blueprint.alt_response(
        422, schema=ApiErrorSchema, description="WEAK_PASSWORD, with advice per field"
    )
    @blueprint.alt_response(429, schema=ApiErrorSchema, description="RATE_LIMITED")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a customer account (signup never makes an admin). The password must be one a
        guesser would not try early (zxcvbn, ``AUTH_PASSWORD_MIN_SCORE``)."""
        _limit_signup(body["email"])
        user = accounts.signup(_accounts(), body["email"], body["password"])
        return {"id": str(user.id), "email": user.email, "role": user.role}


@blueprint.route("/login")
class Login(MethodView):
    @blueprint.arguments(LoginSchema)
    @blueprint.response(200, TokenSchema)
    @blueprint.alt_response(401, schema=ApiErrorSchema, description="INVALID_CREDENTIALS")
    @blueprint.alt_response(
        429, schema=ApiErrorSchema, description="RATE_LIMITED, or LOGIN_DELAYED after failures"
    )
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """A bearer token for ``Authorization: Bearer <access_token>``.

        Each failed login for an email past the first few delays the next attempt for it
        (doubling, up to ``AUTH_FAILURE_DELAY_MAX_S``); an attempt inside the delay is answered
        ``429 LOGIN_DELAYED`` with ``Retry-After`` and ``details.retry_after_ms``, unchecked."""
        _limit_login()
        login = accounts.login(_accounts(), body["email"], body["password"])
        return {
            "access_token": login.access_token,
            "token_type": "bearer",
            "expires_in": login.expires_in,
            "role": login.role,
        }
