"""Rate limits (flask-limiter): in memory per process, or shared by every process through Redis.

Views call ``check(name, limit, key)`` where the key is known (the customer, the email in the
body), so one code path serves limits per customer, per address and per email alike.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from shared.config import Settings
from shared.errors import RateLimited


def init_limits(app: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        strategy="moving-window",
        key_prefix="rate",
        # Redis away: count in this process instead of failing the request.
        in_memory_fallback_enabled=bool(settings.redis_url),
        swallow_errors=True,
    )
    app.extensions["rate_limits"] = limiter
    return limiter


def check(name: str, limit: str, key: str) -> None:
    """Count one call against ``limit`` for ``key``; ``RateLimited`` when it is used up."""
    limiter: Limiter = current_app.extensions["rate_limits"]
    try:
        with limiter.limit(limit, key_func=lambda: f"{name}:{key}"):
            pass
    except RateLimitExceeded as exc:
        window = exc.limit.limit.get_expiry()
        raise RateLimited(
            f"too many requests ({exc.limit.limit}); retry in {window} s",
            {"limit": str(exc.limit.limit), "scope": name},
            retry_after_s=window,
        ) from None


def address() -> str:
    return get_remote_address()
