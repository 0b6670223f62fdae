"""Rate limits (flask-limiter): in memory per process, or shared by every process through Redis.

Views call ``check(name, limit, key)`` where the key is known (the customer, the email in the
body), so one code path serves limits per customer, per address and per email alike. It counts
through flask-limiter's storage and strategy directly, with limits parsed once: the decorator
and context-manager paths parse the limit and walk the stack on every call, which cost more
than a confirmed order's token check (measured by ``make bench``).
"""

from __future__ import annotations

import functools
import logging
import math
import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from shared.config import Settings
from shared.errors import RateLimited

log = logging.getLogger(__name__)
# When the shared storage (Redis) fails, this process counts alone until it answers again.
_LOCAL = MovingWindowRateLimiter(MemoryStorage())


def init_limits(app: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        strategy="moving-window",
        key_prefix="rate",
    )
    app.extensions["rate_limits"] = limiter
    return limiter


@functools.lru_cache(maxsize=64)
def _parsed(limit: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limit))


def check(name: str, limit: str, key: str) -> None:
    """Count one call against ``limit`` for ``key``; ``RateLimited`` when it is used up."""
    shared: RateLimiter = current_app.extensions["rate_limits"].limiter
    for item in _parsed(limit):
        strategy = shared
        try:
            allowed = strategy.hit(item, name, key)
        except Exception:
            log.warning("rate-limit storage unavailable; counting in this process")
            strategy = _LOCAL
            allowed = strategy.hit(item, name, key)
        if not allowed:
            reset = strategy.get_window_stats(item, name, key).reset_time
            raise RateLimited(
                f"too many requests ({item}); retry later",
                {"limit": str(item), "scope": name},
                retry_after_s=max(1, math.ceil(reset - time.time())),
            )


def address() -> str:
    return get_remote_address()
