"""State shared by every process through Redis, kept per process while Redis is away.

The breaker and the rate limits share their state through Redis when ``REDIS_URL`` is set. Redis
going away must not fail a request: each process then keeps its own state, says so once (a
warning and a metric), tries Redis again after ``retry_after_s`` and shares again once it
answers. Without that, pybreaker's Redis storage would log a stack trace on every call and
answer "closed, no failures" whatever happened, and every rate-limit check would wait on a dead
connection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import pybreaker

log = logging.getLogger(__name__)
T = TypeVar("T")


class SharedStateDown(Exception):
    """Redis did not answer (raised instead of redis' own errors, which pybreaker swallows)."""


class SharedLink:
    """Whether one component uses Redis now; after a failure its own state for a while."""

    def __init__(
        self,
        component: str,
        *,
        retry_after_s: float = 5.0,
        on_change: Callable[[str, bool], None] = lambda component, shared: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.component, self.retry_after_s = component, retry_after_s
        self._on_change, self._clock = on_change, clock
        self._lock = threading.Lock()
        self._down_until: float | None = None  # None: shared

    @property
    def shared(self) -> bool:
        return self._down_until is None

    def run(self, shared: Callable[[], T], local: Callable[[], T]) -> T:
        """``shared()`` while Redis answers, else ``local()``; never raises for Redis."""
        down_until = self._down_until
        if down_until is not None and self._clock() < down_until:
            return local()
        try:
            result = shared()
        except SharedStateDown as exc:
            self._failed(exc)
            return local()
        if down_until is not None:
            self._back()
        return result

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            was_shared = self._down_until is None
            self._down_until = self._clock() + self.retry_after_s
        if was_shared:
            log.warning(
                "%s: Redis unavailable, keeping this process's own state",
                self.component,
                extra={"component": self.component, "error": str(exc)},
            )
            self._on_change(self.component, False)

    def _back(self) -> None:
        with self._lock:
            was_down = self._down_until is not None
            self._down_until = None
        if was_down:
            log.warning(
                "%s: Redis answers again, sharing state",
                self.component,
                extra={"component": self.component},
            )
            self._on_change(self.component, True)


class _Raising:
    """A Redis client whose errors are ``SharedStateDown``, so pybreaker cannot swallow them."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        import redis

        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except redis.RedisError as exc:
                raise SharedStateDown(str(exc)) from exc

        return call


class FallbackBreakerStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker's Redis storage while Redis answers, its memory storage while it does not."""

    def __init__(self, client: Any, namespace: str, link: SharedLink) -> None:
        super().__init__("redis-or-memory")
        self._client: Any = _Raising(client)
        self._namespace, self._link = namespace, link
        self._redis: pybreaker.CircuitRedisStorage | None = None
        self._memory = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)

    def _shared(self) -> pybreaker.CircuitRedisStorage:
        if self._redis is None:  # Redis may be away at start: connect on first use
            self._redis = pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED, self._client, namespace=self._namespace
            )
        return self._redis

    def _get(self, name: str) -> Any:
        return self._link.run(
            lambda: getattr(self._shared(), name), lambda: getattr(self._memory, name)
        )

    def _set(self, name: str, value: Any) -> None:
        self._link.run(
            lambda: setattr(self._shared(), name, value),
            lambda: setattr(self._memory, name, value),
        )

    def _do(self, name: str) -> None:
        self._link.run(
            lambda: getattr(self._shared(), name)(), lambda: getattr(self._memory, name)()
        )

    @property
    def state(self) -> str:
        return str(self._get("state"))

    @state.setter
    def state(self, state: str) -> None:
        self._set("state", state)

    def increment_counter(self) -> None:
        self._do("increment_counter")

    def reset_counter(self) -> None:
        self._do("reset_counter")

    def increment_success_counter(self) -> None:
        self._do("increment_success_counter")

    def reset_success_counter(self) -> None:
        self._do("reset_success_counter")

    @property
    def counter(self) -> int:
        return int(self._get("counter"))

    @property
    def success_counter(self) -> int:
        return int(self._get("success_counter"))

    @property
    def opened_at(self) -> datetime | None:
        found: datetime | None = self._get("opened_at")
        return found

    @opened_at.setter
    def opened_at(self, now: datetime) -> None:
        self._set("opened_at", now)
