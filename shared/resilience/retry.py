"""Retry pieces for tenacity: full-jitter backoff that honours Retry-After, and a deadline."""

from __future__ import annotations

from collections.abc import Callable

from tenacity import RetryCallState
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_random_exponential


class wait_full_jitter_or_retry_after(wait_base):  # lower case, like tenacity's strategies
    """Full-jitter exponential backoff, unless the server said when to come back."""

    def __init__(
        self, base_s: float, max_s: float, retry_after: Callable[[BaseException], float | None]
    ) -> None:
        self._jitter = wait_random_exponential(multiplier=base_s, max=max_s)
        self._retry_after = retry_after

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = self._retry_after(exc) if exc is not None else None
        return hinted if hinted is not None else float(self._jitter(state))


class stop_at_deadline(stop_base):
    """Stop when the next attempt could not start, after its backoff, before the deadline."""

    def __init__(self, deadline: float, clock: Callable[[], float], min_attempt_s: float) -> None:
        self._deadline = deadline
        self._clock = clock
        self._min_attempt_s = min_attempt_s

    def __call__(self, state: RetryCallState) -> bool:
        starts_at = self._clock() + state.upcoming_sleep
        return starts_at + self._min_attempt_s > self._deadline
