"""Admission control: work the process cannot serve in time is refused at once, not queued.

Past saturation a queue only grows, and every caller waits longer for the same goodput. Each
request's **queue wait** (from the worker's main loop handing it to the thread pool to a thread
taking it, ``shared.gunicorn_worker``) is judged by CoDel's rule (Nichols and Jacobson, 2012;
as Facebook's servers apply it to request queues, "Fail at scale", ACM Queue 2015): while some
request has found the queue short (waited at most ``target``) within the last ``interval``,
every request is served, however long it waited: a burst, or one unlucky request behind a slow
one, is no overload. Once no request has for a whole interval, the queue is standing and only
requests that waited at most ``target`` are served. The excess is answered ``503 OVERLOADED``
with ``Retry-After-Ms``, before Flask, authentication or the database see it, so a refusal
records nothing and costs about a millisecond of a thread, and the queue drains at once.

A caller's own deadline (``X-Request-Deadline-Ms``: how long it will still wait, as the order
service tells inventory) is a second budget: a request that waited longer than that is refused
too, since nobody is left to read its answer.

Threads are not the only thing that runs out: with more threads than two cores can keep busy,
every request in flight slows every other one, and no thread queue forms. So each process also
keeps an **adaptive concurrency limit** (``ConcurrencyLimit``): requests in flight past it are
refused at once. The limit follows the latency of the process's *own* work: it grows while
that latency stays within ``tolerance`` of the least seen lately, and shrinks as it rises.
Time a request spends waiting on another service or on an injected delay (``elsewhere``) is
not counted: a slow inventory holds a thread, but it is no sign that this process is
overloaded, and the resilience layer bounds that wait already.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

DEADLINE_HEADER = "X-Request-Deadline-Ms"
DEADLINE_ENVIRON = "HTTP_X_REQUEST_DEADLINE_MS"
# Cheap, and what tells HAProxy and Prometheus how the process is: never refused.
EXEMPT_PREFIXES = ("/health", "/metrics")

_current = threading.local()


def note_wait(wait_s: float | None) -> None:
    """Called by the worker thread before it serves a request: how long that request queued."""
    _current.wait_s = wait_s


def current_wait() -> float | None:
    """The queue wait of the request this thread serves (None outside our gunicorn worker)."""
    return getattr(_current, "wait_s", None)


@contextmanager
def elsewhere() -> Iterator[None]:
    """Time in this block is the request waiting on something bounded elsewhere (another
    service, a password hash's own slots, an injected delay): not counted as its own work by
    the concurrency limit, and the request steps out of the limit's count meanwhile."""
    limit: ConcurrencyLimit | None = getattr(_current, "limit", None)
    started = time.perf_counter()
    if limit is not None:
        limit.step_out()
    try:
        yield
    finally:
        if limit is not None:
            limit.step_in()
        _current.elsewhere_s = elsewhere_s() + time.perf_counter() - started


def elsewhere_s() -> float:
    return float(getattr(_current, "elsewhere_s", 0.0))


def start_request(limit: ConcurrencyLimit | None) -> None:
    """A request this thread serves was admitted (under ``limit``, if any)."""
    _current.elsewhere_s = 0.0
    _current.limit = limit


@dataclass(frozen=True)
class Verdict:
    admitted: bool
    reason: str = ""  # "queue", "deadline" or "concurrency" when refused
    retry_after_ms: int = 0


class Admission:
    """CoDel on queue waits; one per process, shared by its threads."""

    def __init__(
        self,
        target_s: float,
        interval_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target_s, self.interval_s = target_s, interval_s
        self._clock = clock
        # The last time a request found the queue (nearly) empty. Threads race on it harmlessly:
        # each writes a time at which the queue was short.
        self._last_short = clock()

    def overloaded(self) -> bool:
        """The queue has stood above ``target`` for longer than ``interval``."""
        return self._clock() - self._last_short > self.interval_s

    def judge(self, wait_s: float, deadline_ms: float | None = None) -> Verdict:
        if deadline_ms is not None and wait_s * 1000 >= deadline_ms:
            return Verdict(False, "deadline", self.retry_after_ms())
        if wait_s <= self.target_s:
            self._last_short = self._clock()
            return Verdict(True)
        if not self.overloaded():
            return Verdict(True)
        return Verdict(False, "queue", self.retry_after_ms())

    def retry_after_ms(self) -> int:
        # Spread the callers' return over two to four intervals, so they do not come back as one
        # and a refused caller's next try costs little while the overload lasts.
        return int(self.interval_s * 1000 * (2 + 2 * random.random())) + 1


def deadline_ms(raw: str | None) -> float | None:
    """The caller's ``X-Request-Deadline-Ms``; a value that is not a positive number is ignored."""
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 < value < 3_600_000 else None


class ConcurrencyLimit:
    """An adaptive bound on requests in flight: additive increase, multiplicative decrease,
    steered by latency against the least latency seen lately (TCP Vegas' idea, which Netflix's
    VegasLimit and Envoy's adaptive concurrency filter apply to requests).

    Every ``window`` finished requests, their mean own latency is compared with ``baseline``, the
    least such mean over the last ``horizon_s``: above ``tolerance`` times it the limit shrinks
    by a tenth; otherwise, if at least half the limit was in flight, it grows by one. A
    minimum, unlike an average, does not creep up while overload lasts, so the limit keeps
    pressing latency back towards what an unloaded process gives.
    """

    def __init__(
        self,
        *,
        initial: int,
        least: int,
        most: int,
        tolerance: float = 2.0,
        window: int = 25,
        horizon_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.least, self.most, self.tolerance = least, most, tolerance
        self.window, self.horizon_s, self._clock = window, horizon_s, clock
        self.estimate = float(min(most, max(least, initial)))
        self.in_flight = 0
        self._samples: list[float] = []
        self._lows: deque[tuple[float, float]] = deque()  # (time, mean), means increasing
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return int(self.estimate)

    @property
    def baseline(self) -> float:
        return self._lows[0][1] if self._lows else 0.0

    def try_acquire(self) -> bool:
        with self._lock:
            if self.in_flight >= int(self.estimate):
                return False
            self.in_flight += 1
            return True

    def step_out(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def step_in(self) -> None:
        # Back from waiting elsewhere: it was admitted already, so it is never refused here.
        with self._lock:
            self.in_flight += 1

    def release(self, own_s: float) -> None:
        """One admitted request finished, having used ``own_s`` of its own time."""
        with self._lock:
            in_flight = self.in_flight
            self.in_flight -= 1
            self._samples.append(max(own_s, 1e-6))
            if len(self._samples) >= self.window:
                self._update(sum(self._samples) / len(self._samples), in_flight)
                self._samples.clear()

    def _update(self, mean: float, in_flight: int) -> None:
        now = self._clock()
        while self._lows and self._lows[-1][1] >= mean:
            self._lows.pop()
        self._lows.append((now, mean))
        while self._lows[0][0] < now - self.horizon_s:
            self._lows.popleft()
        if mean > self.tolerance * self.baseline:
            self.estimate = max(float(self.least), self.estimate * 0.9)
        elif in_flight >= self.estimate / 2:
            self.estimate = min(float(self.most), self.estimate + 1)
