"""Health endpoints: ``/health/live``, ``/health/ready`` and ``/health`` with downstream checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine

from shared.db import ping

# A downstream check returns its report; "status" is "ok" or "degraded".
Check = Callable[[], dict[str, Any]]


def database_check(engine: Engine) -> dict[str, Any]:
    """Is our own database answering?"""
    try:
        ping(engine)
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        return {"status": "down", "error": exc.__class__.__name__}
    return {"status": "ok"}


def health_blueprint(engine: Engine, downstream: dict[str, Check] | None = None) -> Blueprint:
    """Liveness, readiness (own database) and the full report including downstream services."""
    bp = Blueprint("health", __name__)

    @bp.get("/health/live")
    def live() -> ResponseReturnValue:
        """The process is up and serving."""
        return jsonify(status="ok")

    @bp.get("/health/ready")
    def ready() -> ResponseReturnValue:
        """Ready when our own database answers; 503 with details when it does not."""
        db = database_check(engine)
        status = 200 if db["status"] == "ok" else 503
        return jsonify(status=db["status"], checks={"database": db}), status

    @bp.get("/health")
    def full() -> ResponseReturnValue:
        """Own database plus downstream checks; a downstream problem is "degraded", not down."""
        checks: dict[str, Any] = {"database": database_check(engine)}
        for name, check in (downstream or {}).items():
            checks[name] = check()
        if checks["database"]["status"] != "ok":
            return jsonify(status="down", checks=checks), 503
        degraded = any(c.get("status") != "ok" for c in checks.values())
        return jsonify(status="degraded" if degraded else "ok", checks=checks), 200

    return bp
