"""The provider's HTTP side: its API for merchants, its hosted pay page, its webhook faults."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, current_app, jsonify, redirect, render_template, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Engine, select, tuple_
from werkzeug.exceptions import HTTPException

import chaos
from payment_provider import faults, ledger
from payment_provider.sender import Sender, backlog
from payment_provider.tables import events, intents, metadata
from shared.api import init_api
from shared.config import Settings, load_settings
from shared.db import make_engine
from shared.errors import (
    DomainError,
    RequestInvalid,
    Unauthenticated,
)
from shared.health import health_blueprint
from shared.logs import configure_logging
from shared.metrics import init_metrics
from shared.money import currencies, shown
from shared.web import COMMON_ERRORS, error_response


class IntentSchema(Schema):
    amount_cents = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**15))
    currency = fields.String(required=True, validate=validate.OneOf(sorted(currencies())))
    reference = fields.String(required=True, validate=validate.Length(1, 64))
    return_url = fields.Url(
        load_default=None, require_tld=False, validate=validate.Length(max=2000)
    )


class RefundSchema(Schema):
    payment_intent = fields.String(required=True, validate=validate.Length(1, 40))


class FaultsSchema(Schema):
    copies = fields.Integer(
        load_default=1, strict=True, validate=validate.Range(1, faults.MAX_COPIES)
    )
    delay_ms = fields.Integer(
        load_default=0, strict=True, validate=validate.Range(0, faults.MAX_DELAY_MS)
    )
    spread_ms = fields.Integer(
        load_default=0, strict=True, validate=validate.Range(0, faults.MAX_DELAY_MS)
    )
    forged = fields.Float(load_default=0.0, validate=validate.Range(0, 1))
    seed = fields.Integer(load_default=0, strict=True, validate=validate.Range(-(2**31), 2**31 - 1))


def _engine() -> Engine:
    return current_app.extensions["provider_engine"]  # type: ignore[no-any-return]


def _now() -> datetime:
    return datetime.now(UTC)


def _body(schema: Schema) -> dict[str, Any]:
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        raise RequestInvalid("send a JSON object", {"fields": {"body": ["a JSON object"]}})
    try:
        loaded: dict[str, Any] = schema.load(raw)
    except ValidationError as exc:
        raise RequestInvalid("the body is invalid", {"fields": exc.messages}) from exc
    return loaded


def _key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 255:
        raise RequestInvalid(
            "Idempotency-Key: 1 to 255 characters",
            {"fields": {"Idempotency-Key": ["1 to 255 characters"]}},
        )
    return key


def _pay_url(intent_id: str) -> str:
    base = current_app.extensions["public_url"]
    return f"{base}/pay/{intent_id}"


def _merchant_only() -> None:
    """The API answers the merchant's secret key only (the pay page answers anyone who has the
    intent's unguessable id, as a hosted checkout link does)."""
    if not request.path.startswith("/v1/"):
        return
    given = request.headers.get("Authorization", "")
    wanted = "Bearer " + current_app.extensions["api_key"]
    if not hmac.compare_digest(given.encode(), wanted.encode()):
        raise Unauthenticated("send the merchant's key as 'Authorization: Bearer <key>'")


def create_app(settings: Settings | None = None, *, start_sender: bool = False) -> Flask:
    """The provider; tables are created here. The webhook sender is started in each worker
    (``gunicorn_conf.post_worker_init``) or, with ``start_sender``, right away."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, service="payments")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    engine = make_engine(
        settings.payments_provider_database_url, settings, application_name="payments"
    )
    with engine.begin() as conn:
        # Two workers starting at once would both try; the lock makes the second wait.
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242)")
        metadata.create_all(conn)
        chaos.store.metadata.create_all(conn)
    app.extensions.update(
        provider_engine=engine,
        api_key=settings.payments_key(),
        public_url=(settings.payments_public_url or settings.payments_url).rstrip("/"),
        sender=Sender(engine, settings.payment_webhook_url, settings.webhook_secrets),
    )
    app.jinja_env.globals["shown"] = shown
    registry = init_metrics(app, settings)
    app.before_request(_merchant_only)
    smorest = init_api(
        app,
        "Payment provider (stand-in)",
        "Payment intents, refunds, webhooks.",
        serve=settings.serves_docs,
    )
    chaos.init_app(
        app,
        smorest,
        engine,
        enabled=settings.chaos_enabled,
        admin_token=settings.admin_token,
        registry=registry,
    )
    app.register_blueprint(health_blueprint(engine))
    _routes(app)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    if start_sender:
        app.extensions["sender"].start()
    return app


def _domain_error(exc: DomainError) -> Response:
    status, code = next(
        (v for k, v in COMMON_ERRORS.items() if isinstance(exc, k)), (400, "BAD_REQUEST")
    )
    return error_response(status, code, exc.message, exc.details)


def _http_error(exc: HTTPException) -> Response:
    code = (exc.name or "error").upper().replace(" ", "_")
    return error_response(exc.code or 500, code, exc.description or "")


def _in_transaction(work: Callable[[Any], Any]) -> Any:
    with _engine().begin() as conn:
        return work(conn)


def _routes(app: Flask) -> None:
    @app.post("/v1/payment_intents")
    def create_intent() -> tuple[Response, int]:
        body, key = _body(IntentSchema()), _key()
        row, created = _in_transaction(
            lambda conn: ledger.create_intent(conn, key=key, now=_now(), **body)
        )
        return jsonify(ledger.intent_json(row, _pay_url(row.id))), 201 if created else 200

    @app.get("/v1/payment_intents")
    def list_intents() -> Response:
        """Every intent, oldest first, ``after`` an id's creation (for audits)."""
        limit = min(1000, max(1, request.args.get("limit", 100, type=int)))
        query = select(intents).order_by(intents.c.created_at, intents.c.id).limit(limit)
        after = request.args.get("after")
        with _engine().connect() as conn:
            if after:
                mark = ledger.get_intent(conn, after)
                position = tuple_(intents.c.created_at, intents.c.id)
                query = query.where(position > tuple_(mark.created_at, mark.id))
            rows = conn.execute(query).all()
            refunded = dict(
                conn.execute(
                    select(events.c.intent_id, events.c.id).where(
                        events.c.type == "charge.refunded",
                        events.c.intent_id.in_([r.id for r in rows]),
                    )
                ).all()
            )
        return jsonify(
            items=[
                {**ledger.intent_json(r, _pay_url(r.id)), "refunded": r.id in refunded}
                for r in rows
            ]
        )

    @app.get("/v1/payment_intents/<intent_id>")
    def read_intent(intent_id: str) -> Response:
        with _engine().connect() as conn:
            row = ledger.get_intent(conn, intent_id)
        return jsonify(ledger.intent_json(row, _pay_url(row.id)))

    @app.post("/v1/payment_intents/<intent_id>/capture")
    def capture(intent_id: str) -> Response:
        """The customer pays (what the pay page's button does), for scripts and tests."""
        row = _in_transaction(lambda conn: ledger.pay(conn, intent_id, _now()))
        return jsonify(ledger.intent_json(row, _pay_url(row.id)))

    @app.post("/v1/payment_intents/<intent_id>/decline")
    def decline(intent_id: str) -> Response:
        """The customer's card is declined, for scripts and tests."""
        row = _in_transaction(lambda conn: ledger.decline(conn, intent_id, _now()))
        return jsonify(ledger.intent_json(row, _pay_url(row.id)))

    @app.post("/v1/refunds")
    def refund() -> Response:
        body, key = _body(RefundSchema()), _key()
        return jsonify(
            _in_transaction(lambda conn: ledger.refund(conn, body["payment_intent"], key, _now()))
        )

    @app.get("/pay/<intent_id>")
    def pay_page(intent_id: str) -> str:
        with _engine().connect() as conn:
            row = ledger.get_intent(conn, intent_id)
        return render_template("pay.html", intent=row)

    @app.post("/pay/<intent_id>")
    def pay_form(intent_id: str) -> Any:
        action = request.form.get("action")
        if action not in ("pay", "decline"):
            raise RequestInvalid(
                "choose pay or decline", {"fields": {"action": ["pay or decline"]}}
            )
        step = ledger.pay if action == "pay" else ledger.decline
        row = _in_transaction(lambda conn: step(conn, intent_id, _now()))
        if row.return_url:
            return redirect(
                _with_query(row.return_url, {"payment": row.status, "intent": row.id}), 303
            )
        return render_template("pay.html", intent=row)

    @app.get("/chaos/webhooks")
    def get_faults() -> Response:
        with _engine().connect() as conn:
            current = faults.current(conn)
        return jsonify({**current.as_json(), **backlog(_engine())})

    @app.put("/chaos/webhooks")
    def put_faults() -> Response:
        wanted = faults.Faults(**_body(FaultsSchema()))
        _in_transaction(lambda conn: faults.put(conn, wanted))
        return jsonify(wanted.as_json())

    @app.delete("/chaos/webhooks")
    def clear_faults() -> Response:
        _in_transaction(faults.clear)
        return jsonify(faults.Faults().as_json())


def _with_query(url: str, params: dict[str, str]) -> str:
    joiner = "&" if urlsplit(url).query else "?"
    return url + joiner + urlencode(params)
