"""App factory of the console: ``gunicorn 'console.app:create_app()'``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Flask, Response, has_request_context, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from console import session as who
from console.api import Api, ApiError
from console.status import StatusStrip
from console.views import admin, auth, orders
from shared.clients import CONSOLE_KEY, FORWARDED_CLIENT, ClientAddresses, networks
from shared.config import Settings, load_settings
from shared.logs import configure_logging
from shared.money import shown

log = logging.getLogger("console")

# Nothing from elsewhere: every script, style and image is the console's own, no inline script,
# and no other site may frame it (clickjacking). A form posts here, and its answer may send the
# browser on to the payment provider's pay page only (``security_headers``).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def security_headers(settings: Settings) -> dict[str, str]:
    """``SECURITY_HEADERS``, with the pay page's origin among the form targets: the Pay button
    posts here and is redirected there, and browsers hold a redirect to ``form-action`` too."""
    parts = urlsplit(settings.payments_public_url or settings.payments_url)
    policy = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
    )
    return {**SECURITY_HEADERS, "Content-Security-Policy": policy}


def _forwarding(settings: Settings) -> Callable[[], Mapping[str, str]]:
    """The headers that name the browser to the order service (``shared.clients``): none without
    ``CONSOLE_FORWARD_KEY``, or outside a request (the status strip's own reads)."""
    addresses = ClientAddresses(networks(settings.trusted_proxies))
    key = settings.console_forward_key

    def headers() -> Mapping[str, str]:
        if not key or not has_request_context():
            return {}
        return {FORWARDED_CLIENT: addresses.of(request.environ), CONSOLE_KEY: key}

    return headers


def create_app(settings: Settings | None = None, api: Api | None = None) -> Flask:
    """Wire the API client, the status strip, sessions, CSRF protection and the pages."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, service="console")
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.console_secret(),
        SESSION_COOKIE_NAME="console_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Production serves the console over HTTPS only (behind a TLS-terminating proxy).
        SESSION_COOKIE_SECURE=settings.is_production,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    CSRFProtect(app)
    api = api or Api(settings.order_url, settings.inventory_url, forwarded=_forwarding(settings))
    app.extensions["console_api"] = api
    app.extensions["console_strip"] = StatusStrip(api, settings.prometheus_url)
    for blueprint in (auth.blueprint, orders.blueprint, admin.blueprint):
        app.register_blueprint(blueprint)

    app.add_template_filter(when)
    app.add_template_filter(sentence)
    app.add_template_filter(money)
    app.jinja_env.tests["shown_beside"] = shown_beside

    @app.context_processor
    def page_globals() -> dict[str, object]:
        return {
            "user": who.user(),
            "refresh_ms": int(settings.console_refresh_s * 1000),
            "read_strip": app.extensions["console_strip"].read,  # called by admin pages only
        }

    headers = security_headers(settings)

    @app.after_request
    def secure(response: Response) -> Response:
        response.headers.update(headers)
        return response

    _errors(app)
    return app


def when(iso: str) -> str:
    """An API timestamp as a person reads it (UTC, to the second)."""
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError):
        return str(iso)


def money(minor_units: object, currency: object) -> str:
    """An amount in minor units as a person reads it (``€19.99``); a dash when there is none
    (an order not yet confirmed)."""
    if not isinstance(minor_units, int) or not isinstance(currency, str):
        return "-"
    return shown(minor_units, currency)


def sentence(text: object) -> str:
    """An API message as a sentence: a capital first, a full stop last (the rest untouched)."""
    words = str(text).strip()
    if not words:
        return words
    return words[0].upper() + words[1:] + ("" if words[-1] in ".!?" else ".")


def shown_beside(field: str, beside: list[str]) -> bool:
    """A message the page shows beside its field (an order line's, a named input's)."""
    return field in beside or field.startswith(("items.", "shipping_address."))


def _errors(app: Flask) -> None:
    """Every failure as a page in plain words; never a stack trace."""

    @app.errorhandler(CSRFError)
    def csrf(exc: CSRFError) -> ResponseReturnValue:
        message = (
            "This form is out of date or did not come from this console, so nothing was done. "
            "Reload the page and try again."
        )
        return render_template("error.html", title="Form refused", message=message), 400

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> ResponseReturnValue:
        if exc.status == 401:
            who.sign_out()
            return who.to_login()
        status = exc.status if 400 <= exc.status < 600 else 503
        title = "The service said no" if exc.status else "A service did not answer"
        page = render_template("error.html", title=title, message=exc.message, fields=exc.fields)
        return page, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        titles = {404: "Not found", 405: "Not allowed", 413: "Too large"}
        message = {404: f"There is no page at {request.path}."}.get(exc.code or 0, exc.description)
        title = titles.get(exc.code or 0, exc.name)
        return render_template("error.html", title=title, message=message), exc.code or 500

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unexpected error on %s", request.path)
        message = "Something went wrong in the console. It is in the console's log; try again."
        return render_template("error.html", title="Something went wrong", message=message), 500
