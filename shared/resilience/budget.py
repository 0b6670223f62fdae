"""A retry budget: retries at most a share of the calls over a sliding window, plus a floor.

Per-call retry limits multiply the load on a dependency that fails every call: five attempts
is five times the traffic just when it is sick. A budget caps retries at ``ratio`` of the calls
made in the last ``window_s`` (Finagle's RetryBudget, Envoy's retry_budget, .NET's), plus
``min_per_s`` so that a quiet process can still retry the odd failure.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RetryBudget:
    """Deposit one call per ``record_call``; ``try_retry`` withdraws one retry, if any is left."""

    def __init__(
        self,
        ratio: float,
        min_per_s: float,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio, self.min_per_s, self.window_s = ratio, min_per_s, window_s
        self._clock = clock
        self._calls: deque[float] = deque()
        self._retries: deque[float] = deque()
        self._lock = threading.Lock()

    def record_call(self) -> None:
        with self._lock:
            now = self._clock()
            self._forget(now)
            self._calls.append(now)

    def try_retry(self) -> bool:
        """True, and the retry counted, while retries stay within the budget."""
        with self._lock:
            now = self._clock()
            self._forget(now)
            allowed = self.ratio * len(self._calls) + self.min_per_s * self.window_s
            if len(self._retries) + 1 > allowed:
                return False
            self._retries.append(now)
            return True

    def in_window(self) -> tuple[int, int]:
        """The calls and retries the budget counts now."""
        with self._lock:
            self._forget(self._clock())
            return len(self._calls), len(self._retries)

    def _forget(self, now: float) -> None:
        # Both ends prune: a healthy process never asks for a retry, and its calls must not
        # pile up for ever.
        for kept in (self._calls, self._retries):
            while kept and kept[0] <= now - self.window_s:
                kept.popleft()
