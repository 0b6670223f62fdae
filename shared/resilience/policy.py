"""The one seam of the resilience library: every call to a dependency goes through a ``Policy``.

Order of the layers, outermost first:
- the **deadline**: the whole call, retries included, ends by ``deadline_s`` (or the caller's
  shorter ``timeout_s``); every attempt is given what is left of it;
- the **bulkhead**: at most so many calls in flight; past it, fail at once;
- **retries** (tenacity): only what ``Unavailable.retryable`` says may be gone in a moment, with
  full jitter or the server's ``Retry-After``; never a refusal, never when the breaker is open,
  and never past the **retry budget** (a share of the calls over a window, ``budget.py``);
- **hedging** (optional), inside each attempt: when it has not answered after a delay, a second
  copy goes out (within a budget) and the first answer wins; only for idempotent commands;
- the **breaker**, around the call: a call that got no answer after its retries is one failure
  (a refusal is an answer); it is checked again before every retry, so no attempt goes out once
  it is open. Counting calls, not attempts, keeps one crashed worker of the dependency (which
  resets every request it was serving, though retries succeed elsewhere) from opening it.

A client wraps its transport's attempts in ``Policy.call`` and raises its own subclasses of
``Unavailable`` and ``Refused``; the policy raises the client's ``unavailable`` type for what it
refuses itself (an open breaker, a full bulkhead, no time left), so callers catch one type.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

import pybreaker
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from shared import front_agent
from shared.admission import elsewhere
from shared.resilience.breaker import Breaker, BreakerOpen
from shared.resilience.budget import RetryBudget
from shared.resilience.bulkhead import Bulkhead, BulkheadFull
from shared.resilience.failures import Reason, Refused, Unavailable, retry_after, retryable
from shared.resilience.hedge import Hedge
from shared.resilience.retry import stop_at_deadline, wait_full_jitter_or_retry_after

log = logging.getLogger(__name__)
T = TypeVar("T")


class Observer(Protocol):
    """Told about every call and retry (metrics plug in here; the policy knows no Prometheus)."""

    def call_finished(self, operation: str, outcome: str, seconds: float) -> None: ...

    def retried(self, operation: str, reason: str) -> None: ...

    def hedged(self, operation: str) -> None: ...

    def retry_refused(self, operation: str) -> None:
        """A retry the budget did not allow: the call failed without it."""
        ...


class NoObserver:
    def call_finished(self, operation: str, outcome: str, seconds: float) -> None:
        pass

    def retried(self, operation: str, reason: str) -> None:
        pass

    def hedged(self, operation: str) -> None:
        pass

    def retry_refused(self, operation: str) -> None:
        pass


class Policy:
    """Deadline, bulkhead, retries, hedging and a breaker for one dependency of one process,
    safe to share between its threads."""

    def __init__(
        self,
        *,
        breaker: Breaker,
        bulkhead: Bulkhead,
        attempts: int,
        deadline_s: float,
        backoff_base_s: float,
        backoff_max_s: float,
        unavailable: type[Unavailable] = Unavailable,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        min_attempt_s: float = 0.05,
        observer: Observer | None = None,
        hedge: Hedge | None = None,
        budget: RetryBudget | None = None,
    ) -> None:
        self.breaker, self.bulkhead, self.hedge, self.budget = breaker, bulkhead, hedge, budget
        self.attempts, self.deadline_s = attempts, deadline_s
        self._wait = wait_full_jitter_or_retry_after(backoff_base_s, backoff_max_s, retry_after)
        self._unavailable = unavailable
        self._clock, self._sleep, self._min_attempt_s = clock, sleep, min_attempt_s
        self.observer = observer or NoObserver()

    def call(
        self, operation: str, attempt: Callable[[float], T], timeout_s: float | None = None
    ) -> T:
        """``attempt(seconds_left)`` under every layer; its result, a refusal, or unavailable."""
        started = self._clock()
        outcome = "ok"
        if self.budget is not None:
            self.budget.record_call()
        try:
            # Waiting on the dependency is not this process's own work (shared.admission), and
            # a long wait lets the front send the instance one more (shared.front_agent).
            with elsewhere(), front_agent.waiting():
                return self._bounded(operation, attempt, timeout_s)
        except Refused:
            outcome = "refused"
            raise
        except Unavailable as exc:
            outcome = exc.reason.value
            raise
        finally:
            self.observer.call_finished(operation, outcome, self._clock() - started)

    def available(self) -> bool:
        """False while the breaker would refuse a call without trying it."""
        return self.breaker.ready()

    def _bounded(self, operation: str, attempt: Callable[[float], T], timeout_s: float | None) -> T:
        budget = self.deadline_s if timeout_s is None else min(timeout_s, self.deadline_s)
        deadline = self._clock() + budget
        retrying = Retrying(
            before_sleep=lambda state: self._retrying(operation, state),
            # The budget is asked last, so a retry is withdrawn only when it would be made.
            stop=stop_after_attempt(self.attempts)
            | stop_at_deadline(deadline, self._clock, self._min_attempt_s)
            | _BudgetSpent(self, operation),
            wait=self._wait,
            retry=retry_if_exception(retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            with self.bulkhead.slot(), self.breaker.guard(_no_answer):
                result: T = retrying(self._attempt, operation, attempt, deadline)
                return result
        except BulkheadFull as exc:
            raise self._unavailable(Reason.BULKHEAD_FULL, str(exc)) from exc
        except BreakerOpen as exc:
            raise self._unavailable(Reason.BREAKER_OPEN, str(exc)) from exc

    def _attempt(self, operation: str, attempt: Callable[[float], T], deadline: float) -> T:
        remaining = deadline - self._clock()
        if remaining < self._min_attempt_s:
            raise self._unavailable(Reason.DEADLINE, "no time left for an attempt")
        self.breaker.check()
        if self.hedge is None:
            return attempt(remaining)
        # Each copy gets what is left of the deadline when it starts.
        return self.hedge.run(
            lambda: attempt(max(self._min_attempt_s, deadline - self._clock())),
            on_hedge=lambda: self.observer.hedged(operation),
        )

    def _retrying(self, operation: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = str(getattr(getattr(exc, "reason", None), "value", type(exc).__name__))
        log.info(
            "retrying %s call",  # "retrying inventory call": the chaos report counts these
            self.breaker.name,
            extra={
                "operation": operation,
                "attempt": state.attempt_number,
                "sleep_s": round(state.upcoming_sleep, 3),
                "reason": reason,
            },
        )
        self.observer.retried(operation, reason)


class _BudgetSpent(stop_base):
    """Stop when the retry budget has no retry left (tenacity asks it only before a retry)."""

    def __init__(self, policy: Policy, operation: str) -> None:
        self._policy, self._operation = policy, operation

    def __call__(self, state: RetryCallState) -> bool:
        budget = self._policy.budget
        if budget is None or budget.try_retry():
            return False
        self._policy.observer.retry_refused(self._operation)
        return True


def _no_answer(exc: BaseException) -> bool:
    """Only a missing answer counts against the breaker; a refusal is the dependency working."""
    return isinstance(exc, Unavailable)


def hedge_final(exc: BaseException) -> bool:
    """For ``Hedge(final=...)``: an exception that is an answer, not worth waiting out."""
    return not retryable(exc)


def breaker_storage(
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
