"""Rate limits (flask-limiter): in memory per process, or shared by every process through Redis.

Views call ``check(name, limit, key)`` where the key is known (the customer, the email in the
body), so one code path serves limits per customer, per address and per email alike. It counts
through flask-limiter's storage and strategy directly, with limits parsed once: the decorator
and context-manager paths parse the limit and walk the stack on every call, which cost more
than a confirmed order's token check (measured by ``make bench``).
"""

from __future__ import annotations

import functools
import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from shared.clients import ClientAddresses, networks
from shared.config import Settings
from shared.errors import RateLimited
from shared.metrics import shared_state_metrics
from shared.resilience.shared_state import SharedLink, SharedStateDown

# When the shared storage (Redis) fails, this process counts alone until it answers again.
_LOCAL = MovingWindowRateLimiter(MemoryStorage())


def init_limits(app: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        # A Redis that went away costs one request a second at most, then it is left alone
        # for a while (``SharedLink``).
        storage_options={"socket_timeout": 1, "socket_connect_timeout": 1},
        strategy="moving-window",
        key_prefix="rate",
    )
    app.extensions["rate_limits"] = limiter
    app.extensions["client_addresses"] = ClientAddresses(
        networks(settings.trusted_proxies), settings.console_forward_key
    )
    on_change = shared_state_metrics(app.extensions.get("metrics_registry"))
    app.extensions["rate_limits_link"] = SharedLink("rate-limits", on_change=on_change)
    return limiter


def _hit(
    strategy: RateLimiter, item: RateLimitItem, name: str, key: str
) -> tuple[bool, RateLimiter]:
    """One hit; and where it was counted, to read its window from the same place."""
    try:
        return strategy.hit(item, name, key), strategy
    except Exception as exc:  # the storage's own errors differ by backend; all mean "away"
        if strategy is _LOCAL:
            raise
        raise SharedStateDown(str(exc)) from exc


@functools.lru_cache(maxsize=64)
def _parsed(limit: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limit))


def check(name: str, limit: str, key: str) -> None:
    """Count one call against ``limit`` for ``key``; ``RateLimited`` when it is used up."""
    shared: RateLimiter = current_app.extensions["rate_limits"].limiter
    link: SharedLink = current_app.extensions["rate_limits_link"]
    for item in _parsed(limit):
        allowed, counted = link.run(
            functools.partial(_hit, shared, item, name, key),
            functools.partial(_hit, _LOCAL, item, name, key),
        )
        if not allowed:
            reset = counted.get_window_stats(item, name, key).reset_time
            raise RateLimited(
                f"too many requests ({item}); retry later",
                {"limit": str(item), "scope": name},
                retry_after_s=max(1, math.ceil(reset - time.time())),
            )


def address() -> str:
    """The caller's address as per-address limits count it (``shared.clients``)."""
    addresses: ClientAddresses = current_app.extensions["client_addresses"]
    return addresses.of(request.environ)
