"""Web plumbing both services share: request ids, the unified error body, access logs.

Every error leaves as ``{"error": {"code", "message", "details", "request_id"}}``; the mapping from
exception class to status and code is given by each service, so it lives in one place per service.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, jsonify, request
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import ClientDisconnected, HTTPException
from werkzeug.wrappers import Response as WsgiResponse

from shared.admission import (
    DEADLINE_ENVIRON,
    EXEMPT_PREFIXES,
    Admission,
    ConcurrencyLimit,
    Verdict,
    current_wait,
    deadline_ms,
    elsewhere_s,
    start_request,
)
from shared.config import Settings
from shared.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidTransition,
    NotFound,
    Overloaded,
    RequestInvalid,
    Unauthenticated,
    Unprocessable,
    envelope,
)
from shared.gunicorn_worker import ClientTooSlow
from shared.metrics import admission_metrics

ErrorMap = Mapping[type[DomainError], tuple[int, str]]
# The typed errors both services raise, with their status and code: each service adds its own.
COMMON_ERRORS: ErrorMap = {
    RequestInvalid: (400, "VALIDATION_ERROR"),
    Unauthenticated: (401, "UNAUTHENTICATED"),
    Forbidden: (403, "FORBIDDEN"),
    NotFound: (404, "NOT_FOUND"),
    InvalidTransition: (409, "INVALID_TRANSITION"),
    Conflict: (409, "CONFLICT"),
    Unprocessable: (422, "UNPROCESSABLE"),
    Overloaded: (503, "OVERLOADED"),
}

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    413: "PAYLOAD_TOO_LARGE",
    406: "NOT_ACCEPTABLE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
# The paths whose every answer is JSON (not /metrics, /docs or the console's pages).
JSON_APIS = ("/api/", "/chaos", "/health")
# The methods the services know. Anything else is refused before Flask sees it, so a caller
# inventing methods cannot mint new metric series (the exporter labels by method).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Deeper than any document of these APIs (orders nest 3 levels), far below the parser's
# recursion limit: deeper JSON is refused before it is parsed.
MAX_JSON_DEPTH = 32
# What a PostgreSQL data error says, by SQLSTATE; never the value itself (it may be a secret).
_DATA_ERRORS = {
    "22001": "a value is longer than the database accepts",
    "22003": "a number is out of the range the database accepts",
    "22P02": "a value does not have the form the database expects",
    "22021": "a value holds characters the database cannot store",
}
access_log = logging.getLogger("access")
log = logging.getLogger(__name__)


def request_id() -> str:
    """The id of the current request: the caller's ``X-Request-ID`` when valid, else a new one."""
    rid: str | None = g.get("request_id")
    if rid is None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        rid = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_id = rid
    return rid


def propagated_headers() -> dict[str, str]:
    """What a call to another service carries of the request being served: its id."""
    return {REQUEST_ID_HEADER: request_id()} if has_request_context() else {}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The unified error body as a response."""
    response = jsonify(envelope(code, message, dict(details or {}), request_id()))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def json_depth(body: bytes, limit: int) -> int:
    """How deep ``body`` nests arrays and objects, counted up to ``limit + 1``.

    Brackets inside strings are text. Most bodies have fewer brackets than ``limit`` in all,
    which bounds their depth without a scan.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return 0
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


STARTED = "resilient_orders.started"


def front_door(
    app: Flask, admission: Admission | None = None, limit: ConcurrencyLimit | None = None
) -> None:
    """Note when each request arrived, before any hook (a gremlin's delay is part of the request's
    time); answer 405 to a method outside ``KNOWN_METHODS`` before Flask and its metrics see it;
    refuse what ``admission`` or ``limit`` will not take (``shared.admission``), before anything
    else runs."""
    inner = app.wsgi_app
    observe = admission_metrics(app.extensions.get("metrics_registry"))

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        environ[STARTED] = time.perf_counter()
        if environ.get("REQUEST_METHOD") not in KNOWN_METHODS:
            return _unknown_method()(environ, start_response)
        wait_s = current_wait()
        if admission is None or wait_s is None or environ["PATH_INFO"].startswith(EXEMPT_PREFIXES):
            return inner(environ, start_response)
        verdict = admission.judge(wait_s, deadline_ms(environ.get(DEADLINE_ENVIRON)))
        if verdict.admitted and limit is not None and not limit.try_acquire():
            verdict = Verdict(False, "concurrency", admission.retry_after_ms())
        observe(wait_s, verdict.reason, limit.limit if limit else None)
        if not verdict.admitted:
            return _refused(verdict)(environ, start_response)
        start_request(limit)
        try:
            return inner(environ, start_response)
        finally:
            own_s = time.perf_counter() - environ[STARTED] - elsewhere_s()
            start_request(None)
            if limit is not None:
                limit.release(own_s)

    app.wsgi_app = wsgi  # type: ignore[method-assign]


def _unknown_method() -> WsgiResponse:
    body = envelope(
        "METHOD_NOT_ALLOWED", "unknown HTTP method", {"allowed": sorted(KNOWN_METHODS)}, _new_id()
    )
    response = WsgiResponse(json.dumps(body), 405, mimetype="application/json")
    response.headers["Allow"] = ", ".join(sorted(KNOWN_METHODS))
    return response


def _refused(verdict: Verdict) -> WsgiResponse:
    """``503 OVERLOADED``: the request was not started; the caller may come back after the wait."""
    message = (
        "the caller's deadline passed while the request queued; nothing was done"
        if verdict.reason == "deadline"
        else "the service is at capacity; nothing was done, retry after Retry-After-Ms"
    )
    details = {"reason": verdict.reason, "retry_after_ms": verdict.retry_after_ms}
    body = envelope("OVERLOADED", message, details, _new_id())
    response = WsgiResponse(json.dumps(body), 503, mimetype="application/json")
    response.headers["Retry-After"] = "1"  # whole seconds only; the precise wait is below
    response.headers["Retry-After-Ms"] = str(verdict.retry_after_ms)
    response.headers["Cache-Control"] = "no-store"
    return response


def _new_id() -> str:
    return uuid.uuid4().hex


def init_web(
    app: Flask, errors: ErrorMap, settings: Settings | None = None, service: str = "orders"
) -> None:
    """Install admission control (with ``settings``: ``service``'s threads bound its limit),
    request ids, JSON-only bodies, the error handlers and the access log."""
    admission = limit = None
    if settings is not None:
        admission = Admission(
            settings.admission_target_ms / 1000, settings.admission_interval_ms / 1000
        )
        # No more at once than threads, nor than the database pool serves (pool + overflow).
        # (Keeping a quarter of the threads free for refusals was tried: with 16 clients on
        # 2 x 8 threads, the uneven share between workers then refused some at light load.)
        layout = settings.layout(service)
        most = min(layout.threads, 2 * layout.pool_size)
        limit = ConcurrencyLimit(
            initial=most,
            least=min(most, settings.admission_min_concurrency),
            most=most,
            tolerance=settings.admission_latency_tolerance,
        )
    front_door(app, admission, limit)
    app.before_request(_check_request)
    app.after_request(_access_log)
    app.register_error_handler(DomainError, _domain_errors(errors))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DataError, _data_error)
    app.register_error_handler(ClientTooSlow, _too_slow)
    app.register_error_handler(ClientDisconnected, _disconnected)
    app.register_error_handler(OperationalError, _database_down)
    app.register_error_handler(PoolTimeout, _database_down)
    app.register_error_handler(Exception, _unexpected)


def _check_request() -> Response | None:
    request_id()
    # Every API answer is JSON: a client that will not take JSON is told so before any work.
    accept = request.accept_mimetypes
    if accept and not accept.quality("application/json") and request.path.startswith(JSON_APIS):
        return error_response(406, "NOT_ACCEPTABLE", "this API answers application/json only")
    # A body that is not JSON would otherwise look like "every field is missing". A chunked body
    # has no Content-Length and is a body all the same: it gets every check a sized one gets.
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    has_body = request.method in {"POST", "PUT", "PATCH"} and (request.content_length or chunked)
    if has_body and not request.is_json:
        return error_response(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json")
    if chunked and _over_the_limit():
        return error_response(413, "PAYLOAD_TOO_LARGE", "the body is larger than the service takes")
    if has_body and json_depth(request.get_data(cache=True), MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        message = f"nested deeper than {MAX_JSON_DEPTH} levels"
        return error_response(
            400, "VALIDATION_ERROR", "the body is invalid", {"fields": {"body": [message]}}
        )
    return None


def _over_the_limit() -> bool:
    """Werkzeug stops reading a chunked body at MAX_CONTENT_LENGTH without saying so (a sized one
    is refused by its header): read up to it, and one byte more means the body was larger."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is None or len(request.get_data(cache=True)) < limit:
        return False
    return bool(request.environ["wsgi.input"].read(1))


def _access_log(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    rule = request.url_rule.rule if request.url_rule else "<unmatched>"
    access_log.info(
        "request",
        extra={
            "method": request.method,
            "route": rule,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - request.environ[STARTED]) * 1000, 2),
            "request_id": request_id(),
            "agent": request.headers.get("User-Agent", ""),
        },
    )
    return response


def _domain_errors(errors: ErrorMap) -> Callable[[DomainError], Response]:
    """The handler of typed errors: the nearest class in ``errors`` gives status and code."""

    def handle(exc: DomainError) -> Response:
        for cls in type(exc).__mro__:
            if cls in errors:
                status, code = errors[cls]
                retry_after = getattr(exc, "retry_after_s", None)
                headers = {"Retry-After": str(retry_after)} if retry_after else {}
                if status == 401:  # RFC 6750: say how to authenticate
                    headers["WWW-Authenticate"] = 'Bearer realm="api"'
                return error_response(status, code, exc.message, exc.details, headers)
        log.exception("unmapped domain error", exc_info=exc)
        return error_response(500, "INTERNAL_ERROR", "unexpected error")

    return handle


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_CODES.get(status, f"HTTP_{status}")
    # Werkzeug's own headers stay: a 405 must say what is allowed (RFC 9110, "Allow").
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return error_response(status, code, exc.description or code.lower(), headers=headers)


def _database_down(exc: Exception) -> Response:
    log.error("database unavailable: %s", exc.__class__.__name__)
    return error_response(
        503,
        "DATABASE_UNAVAILABLE",
        "the database is unreachable; retry shortly",
        headers={"Retry-After": "1"},
    )


def _data_error(exc: DataError) -> Response:
    # The schemas should have refused the value; this is the last line, and still a 400.
    # The transaction was rolled back by the unit of work, so nothing was written.
    diag = getattr(exc.orig, "diag", None)
    state = getattr(exc.orig, "sqlstate", None) or ""
    column = getattr(diag, "column_name", None) or "body"
    message = _DATA_ERRORS.get(state, "a value cannot be stored by the database")
    log.warning("database refused a value: sqlstate %s", state or "-")
    return error_response(400, "INVALID_VALUE", message, {"fields": {column: [message]}})


def _too_slow(exc: ClientTooSlow) -> Response:
    return error_response(408, "REQUEST_TIMEOUT", str(exc), headers={"Connection": "close"})


def _disconnected(exc: ClientDisconnected) -> Response:
    # werkzeug turns any failed body read into "client disconnected" (400); a body that did not
    # arrive in time (shared.gunicorn_worker) is a 408.
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ClientTooSlow):
        return _too_slow(cause)
    return _http_error(exc)


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "INTERNAL_ERROR", "unexpected error")
