"""The inventory port with timeouts, retries, a circuit breaker and a bulkhead.

Order of the layers, outermost first:
- the **deadline**: the whole call, retries included, ends by ``deadline_s`` (or the caller's
  shorter ``timeout_s``); every attempt's read timeout is cut to what is left of it;
- the **bulkhead**: at most ``INVENTORY_MAX_CONCURRENCY`` calls in flight; past it, fail at once;
- **retries** (tenacity): only connection errors, timeouts, 500/502/503/504 and 429, with full
  jitter or the server's ``Retry-After``; never a 4xx answer, never when the breaker is open;
- **hedging** (optional), inside each attempt: when the request has not answered after
  ``hedge_after_s``, a second copy goes out (within a budget) and the first answer wins; every
  inventory command is idempotent by reservation id, so the losing copy changes nothing;
- the **breaker**, around the call: a call that got no answer after its retries is one failure
  (a refusal, 4xx, is an answer); it is checked again before every retry, so no attempt goes out
  once it is open. Counting calls, not attempts, keeps one crashed inventory worker (which resets
  every request it was serving, though the retries succeed elsewhere) from opening it.

Whatever happens, the caller sees an ``InventoryReply``, an ``InventoryRefused`` (a business
answer) or an ``InventoryUnavailable`` with its reason, never a ``requests`` exception.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import pybreaker
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from shared.inventory.http import HttpInventory, ServerError
from shared.inventory.port import (
    InventoryRefused,
    InventoryReply,
    InventoryUnavailable,
    Line,
    UnavailableReason,
)
from shared.resilience.breaker import Breaker, BreakerOpen
from shared.resilience.bulkhead import Bulkhead, BulkheadFull
from shared.resilience.hedge import Hedge
from shared.resilience.retry import stop_at_deadline, wait_full_jitter_or_retry_after

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({500, 502, 503, 504, 429})
_TRANSIENT = frozenset({UnavailableReason.TIMEOUT, UnavailableReason.CONNECTION})

Attempt = Callable[[float], InventoryReply]


class Observer(Protocol):
    """Told about every call and retry (metrics plug in here; the client knows no Prometheus)."""

    def call_finished(self, operation: str, outcome: str, seconds: float) -> None: ...

    def retried(self, operation: str, reason: str) -> None: ...

    def hedged(self, operation: str) -> None: ...


class NoObserver:
    def call_finished(self, operation: str, outcome: str, seconds: float) -> None:
        pass

    def retried(self, operation: str, reason: str) -> None:
        pass

    def hedged(self, operation: str) -> None:
        pass


def retryable(exc: BaseException) -> bool:
    """Worth another attempt: the failure may be gone in a moment."""
    if isinstance(exc, ServerError):
        return exc.status in RETRYABLE_STATUS
    return isinstance(exc, InventoryUnavailable) and exc.reason in _TRANSIENT


def counts_against_breaker(exc: BaseException) -> bool:
    """Only a missing answer is a failure; a refusal is inventory working as designed."""
    return isinstance(exc, InventoryUnavailable)


def _retry_after(exc: BaseException) -> float | None:
    return exc.retry_after_s if isinstance(exc, ServerError) else None


class ResilientInventory:
    """The inventory port for one process, safe to share between its threads."""

    def __init__(
        self,
        inner: HttpInventory,
        *,
        breaker: Breaker,
        bulkhead: Bulkhead,
        attempts: int,
        deadline_s: float,
        backoff_base_s: float,
        backoff_max_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        min_attempt_s: float = 0.05,
        observer: Observer | None = None,
        hedge: Hedge | None = None,
    ) -> None:
        self.inner = inner
        self.breaker = breaker
        self.bulkhead = bulkhead
        self.attempts = attempts
        self.deadline_s = deadline_s
        self._wait = wait_full_jitter_or_retry_after(backoff_base_s, backoff_max_s, _retry_after)
        self._clock = clock
        self._sleep = sleep
        self._min_attempt_s = min_attempt_s
        self.observer = observer or NoObserver()
        self.hedge = hedge

    def reserve(
        self, reservation_id: str, lines: Sequence[Line], *, timeout_s: float | None = None
    ) -> InventoryReply:
        return self._call(
            "reserve", lambda t: self.inner.reserve(reservation_id, lines, timeout_s=t), timeout_s
        )

    def release(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply:
        return self._call(
            "release", lambda t: self.inner.release(reservation_id, timeout_s=t), timeout_s
        )

    def commit(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply:
        return self._call(
            "commit", lambda t: self.inner.commit(reservation_id, timeout_s=t), timeout_s
        )

    def _call(self, operation: str, attempt: Attempt, timeout_s: float | None) -> InventoryReply:
        started = self._clock()
        outcome = "ok"
        try:
            return self._bounded(operation, attempt, timeout_s)
        except InventoryRefused:
            outcome = "refused"
            raise
        except InventoryUnavailable as exc:
            outcome = exc.reason.value
            raise
        finally:
            self.observer.call_finished(operation, outcome, self._clock() - started)

    def _bounded(self, operation: str, attempt: Attempt, timeout_s: float | None) -> InventoryReply:
        budget = self.deadline_s if timeout_s is None else min(timeout_s, self.deadline_s)
        deadline = self._clock() + budget
        retrying = Retrying(
            before_sleep=lambda state: self._retrying(operation, state),
            stop=stop_after_attempt(self.attempts)
            | stop_at_deadline(deadline, self._clock, self._min_attempt_s),
            wait=self._wait,
            retry=retry_if_exception(retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            with self.bulkhead.slot(), self.breaker.guard(counts_against_breaker):
                return retrying(self._attempt, operation, attempt, deadline)
        except BulkheadFull as exc:
            raise InventoryUnavailable(UnavailableReason.BULKHEAD_FULL, str(exc)) from exc
        except BreakerOpen as exc:
            raise InventoryUnavailable(UnavailableReason.BREAKER_OPEN, str(exc)) from exc

    def _attempt(self, operation: str, attempt: Attempt, deadline: float) -> InventoryReply:
        remaining = deadline - self._clock()
        if remaining < self._min_attempt_s:
            raise InventoryUnavailable(UnavailableReason.DEADLINE, "no time left for an attempt")
        self.breaker.check()
        if self.hedge is None:
            return attempt(remaining)
        # Each copy gets what is left of the deadline when it starts.
        return self.hedge.run(
            lambda: attempt(max(self._min_attempt_s, deadline - self._clock())),
            on_hedge=lambda: self.observer.hedged(operation),
        )

    def available(self) -> bool:
        """False while the breaker would refuse a call without trying it."""
        return self.breaker.ready()

    def _retrying(self, operation: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = str(getattr(getattr(exc, "reason", None), "value", type(exc).__name__))
        log.info(
            "retrying inventory call",
            extra={
                "operation": operation,
                "attempt": state.attempt_number,
                "sleep_s": round(state.upcoming_sleep, 3),
                "reason": reason,
            },
        )
        self.observer.retried(operation, reason)

    def health(self) -> dict[str, object]:
        """Reachability and breaker state, for ``/health``: trouble here is "degraded"."""
        reachable = self.inner.ping()
        ok = reachable and self.breaker.state == "closed"
        return {
            "status": "ok" if ok else "degraded",
            "reachable": reachable,
            "breaker": self.breaker.state,
        }


def build_breaker_storage(
    redis_url: str | None, name: str, on_change: Callable[[str, bool], None]
) -> pybreaker.CircuitBreakerStorage | None:
    """Shared through Redis when ``REDIS_URL`` is set, so all processes share one breaker; each
    process keeps its own while Redis is away (``shared.resilience.shared_state``)."""
    if not redis_url:
        return None
    import redis

    from shared.resilience.shared_state import FallbackBreakerStorage, SharedLink

    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    link = SharedLink(f"breaker:{name}", on_change=on_change)
    return FallbackBreakerStorage(client, name, link)
