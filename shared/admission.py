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
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
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


@dataclass(frozen=True)
class Verdict:
    admitted: bool
    reason: str = ""  # "queue" or "deadline" when refused
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
            return Verdict(False, "deadline", self._retry_after_ms())
        if wait_s <= self.target_s:
            self._last_short = self._clock()
            return Verdict(True)
        if not self.overloaded():
            return Verdict(True)
        return Verdict(False, "queue", self._retry_after_ms())

    def _retry_after_ms(self) -> int:
        # Spread the callers' return over one to two intervals, so they do not come back as one.
        return int(self.interval_s * 1000 * (1 + random.random())) + 1


def deadline_ms(raw: str | None) -> float | None:
    """The caller's ``X-Request-Deadline-Ms``; a value that is not a positive number is ignored."""
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 < value < 3_600_000 else None
