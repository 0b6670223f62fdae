"""A circuit breaker on pybreaker's state machine that never holds a lock during the call.

``pybreaker.CircuitBreaker.call`` holds the breaker's lock for the whole wrapped call, so every
call through one breaker runs one at a time (pybreaker issue #55). Here the I/O runs outside any
lock: ``admit()`` decides under a short lock whether a call may go (and lets exactly one probe
through when half-open), and the outcome is then replayed through ``CircuitBreaker.call`` with a
function that returns or raises at once, so pybreaker's own counting, transitions, listeners and
storage (in memory or Redis) stay the source of truth while its lock is held for microseconds.

A closed breaker opens on a **failure rate** (``FailureRate``: at least half of the last N calls
failed, once enough calls were seen), on pybreaker's **consecutive failures** (``fail_max``), or
on either. pybreaker has only the second rule, so the rate is kept here and opens pybreaker's
state machine through ``CircuitBreaker.open()``; half-open probes and closing stay pybreaker's.
The window is per process: with Redis storage the open state is shared, each process judges its
own calls.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pybreaker

log = logging.getLogger(__name__)


class BreakerOpen(Exception):
    """The breaker refused the call without trying it."""


class _Failure(Exception):
    """Carries a counted failure into pybreaker's bookkeeping."""


def _succeed() -> None:
    return None


def _fail(exc: BaseException) -> None:
    raise _Failure() from exc


class StateLogger(pybreaker.CircuitBreakerListener):
    """Log every transition; the breaker opening is what an operator most wants to know."""

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        old = old_state.name if old_state else None
        log.warning(
            "breaker %s: %s -> %s",
            cb.name,
            old,
            new_state.name,
            extra={"breaker": cb.name, "from": old, "to": new_state.name},
        )


class _StampOpenedAt(pybreaker.CircuitBreakerListener):
    """pybreaker stamps ``opened_at`` with the wall clock; use the breaker's (injectable) clock."""

    def __init__(self, storage: pybreaker.CircuitBreakerStorage, clock: Callable[[], datetime]):
        self._storage, self._clock = storage, clock

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        if new_state.name == pybreaker.STATE_OPEN:
            self._storage.opened_at = self._clock()


class FailureRate:
    """Trip when at least ``rate`` of the last ``window_size`` calls failed, once ``min_calls``
    calls are in the window: a few unlucky calls in a quiet minute do not open the breaker, and a
    dependency failing one call in ten never does.
    """

    def __init__(self, rate: float, window_size: int, min_calls: int) -> None:
        if not 0 < rate <= 1:
            raise ValueError("the failure rate must be above 0 and at most 1")
        if not 0 < min_calls <= window_size:
            raise ValueError("min_calls must be between 1 and the window size")
        self.rate, self.min_calls = rate, min_calls
        self._outcomes: deque[bool] = deque(maxlen=window_size)
        self._failures = 0

    def record(self, failed: bool) -> bool:
        """Add one call's outcome; True when the breaker should open."""
        if len(self._outcomes) == self._outcomes.maxlen and self._outcomes[0]:
            self._failures -= 1
        self._outcomes.append(failed)
        self._failures += failed
        calls = len(self._outcomes)
        return calls >= self.min_calls and self._failures >= self.rate * calls

    def clear(self) -> None:
        self._outcomes.clear()
        self._failures = 0


class Breaker:
    """Closed; open on a failure rate and/or ``fail_max`` consecutive failures; after
    ``reset_timeout_s`` one probe, which closes it on success and opens it again on failure.
    """

    def __init__(
        self,
        name: str,
        *,
        reset_timeout_s: float,
        fail_max: int | None = None,
        failure_rate: FailureRate | None = None,
        storage: pybreaker.CircuitBreakerStorage | None = None,
        listeners: list[pybreaker.CircuitBreakerListener] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if fail_max is None and failure_rate is None:
            raise ValueError("a breaker needs a failure rate, a fail_max, or both")
        self._storage = storage or pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        self._rate = failure_rate
        self._cb = pybreaker.CircuitBreaker(
            # Without the consecutive rule, pybreaker never opens by itself; the rate opens it.
            fail_max=fail_max or sys.maxsize,
            reset_timeout=reset_timeout_s,
            state_storage=self._storage,
            listeners=[_StampOpenedAt(self._storage, clock), StateLogger(), *(listeners or [])],
            name=name,
        )
        self._reset = timedelta(seconds=reset_timeout_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._probing = False

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        return str(self._storage.state)

    @property
    def name(self) -> str:
        return str(self._cb.name)

    @contextmanager
    def guard(self, counts: Callable[[BaseException], bool]) -> Iterator[None]:
        """Run the block if admitted; exceptions for which ``counts`` is true are failures."""
        probe = self.admit()
        try:
            yield
        except BreakerOpen:
            raise  # refused inside the block (``check``): nothing was tried, nothing to count
        except BaseException as exc:
            self._record(exc if counts(exc) else None)
            raise
        else:
            self._record(None)
        finally:
            if probe:
                with self._lock:
                    self._probing = False

    def ready(self) -> bool:
        """Would a call be admitted now? (Does not take the half-open probe.)"""
        with self._lock:
            if self._storage.state == pybreaker.STATE_OPEN:
                opened_at = self._storage.opened_at
                return opened_at is None or self._clock() >= opened_at + self._reset
            return not (self._storage.state == pybreaker.STATE_HALF_OPEN and self._probing)

    def check(self) -> None:
        """Raise ``BreakerOpen`` if the breaker is open now (before each retry of a call)."""
        if self._storage.state == pybreaker.STATE_OPEN:
            raise BreakerOpen(f"breaker {self.name} is open")

    def trip(self) -> None:
        """Open the breaker now (an operator's switch, and a test's)."""
        self._cb.open()

    def admit(self) -> bool:
        """Raise ``BreakerOpen`` unless a call may go now; True when it is the half-open probe."""
        with self._lock:
            state = self._storage.state
            if state == pybreaker.STATE_CLOSED:
                return False
            if state == pybreaker.STATE_OPEN:
                opened_at = self._storage.opened_at
                if opened_at is not None and self._clock() < opened_at + self._reset:
                    raise BreakerOpen(f"breaker {self.name} is open")
                self._cb.half_open()
            if self._probing:
                raise BreakerOpen(f"breaker {self.name} is half-open and already probing")
            self._probing = True
            return True

    def _record(self, failure: BaseException | None) -> None:
        was_closed = self._storage.state == pybreaker.STATE_CLOSED
        try:
            if failure is None:
                self._cb.call(_succeed)
            else:
                self._cb.call(_fail, failure)
        except (_Failure, pybreaker.CircuitBreakerError):
            pass  # the bookkeeping is done; the caller re-raises the real exception
        if self._rate is None:
            return
        with self._lock:
            if not was_closed or self._storage.state != pybreaker.STATE_CLOSED:
                # Outcomes from before an opening say nothing about the dependency after it: a
                # breaker that closes again starts from an empty window.
                self._rate.clear()
                return
            trip = self._rate.record(failure is not None)
        if trip:
            self._cb.open()
