"""Hedged requests: when an idempotent request is slower than usual, send a second copy and
take whichever answers first ("The Tail at Scale", Dean and Barroso, 2013).

A stalled inventory worker (a latency spike, a long GC, a request stuck behind a dying
process) then costs the caller the hedge delay, not the whole read timeout. Safe only because
every inventory command is idempotent by reservation id: the copy that loses changes nothing
the winner did not. A budget caps hedges at a share of calls, so an inventory that is slow for
everyone gets at most that much extra load, never double.

Hedging has a price on every call, not only on the slow ones: the call runs on another thread
so that the caller can wait for it with a timeout, and that hand-off (wake a thread, wait, be
woken) was about 7% of the order service's CPU per order when nothing was wrong. So a hedge is
armed only by trouble: a call slower than the hedge delay, or one that failed, arms it for
``armed_s``; while it is disarmed, calls run straight on the caller's thread. It starts armed,
since a process that just started (a replaced worker, say) often starts in trouble. The price
of disarming: the first stall after a quiet spell is not hedged.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from shared.forks import renew_after_fork

T = TypeVar("T")


class HedgeBudget:
    """Each call earns ``ratio`` of a hedge, up to ``burst`` saved; a hedge spends one."""

    def __init__(self, ratio: float, burst: float = 10.0) -> None:
        if not 0 <= ratio <= 1:
            raise ValueError("the hedge budget is a share of calls, between 0 and 1")
        self._ratio, self._burst = ratio, burst
        self._tokens = burst if ratio else 0.0  # a budget of 0 means no hedging at all
        self._lock = threading.Lock()

    def earn(self) -> None:
        with self._lock:
            self._tokens = min(self._burst, self._tokens + self._ratio)

    def spend(self) -> bool:
        with self._lock:
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class Hedge:
    """Run ``call`` and, if it has not answered after ``after_s``, a second copy of it.

    The first result wins; so does the first exception that ``final`` calls an answer (a
    refusal). Other exceptions wait for the other copy; if both fail, the first failure is
    raised. A copy that lost keeps running until its own timeout, on the pool's threads.
    """

    def __init__(
        self,
        after_s: float,
        budget: HedgeBudget,
        *,
        final: Callable[[BaseException], bool],
        threads: int,
        armed_s: float = float("inf"),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.after_s, self.budget, self._final = after_s, budget, final
        self.threads = threads
        self.armed_s, self._clock = armed_s, clock
        self._armed_until = clock() + armed_s
        self._pool = self._new_pool()
        # Threads do not survive fork(); a worker forked from a preloaded master needs its own.
        renew_after_fork(self, lambda hedge: hedge._renew())

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(self.threads, thread_name_prefix="inventory-call")

    def _renew(self) -> None:
        self._pool = self._new_pool()
        self._arm()  # a new worker starts armed, not with its master's (long past) start

    def _submit(self, call: Callable[[], T]) -> Future[T]:
        # Each copy runs in a copy of the caller's context (as asyncio.to_thread does), so what
        # the call reads from it, such as the request id it forwards, is the caller's.
        return self._pool.submit(contextvars.copy_context().run, call)

    @property
    def armed(self) -> bool:
        return self._clock() < self._armed_until

    def _arm(self) -> None:
        # A plain store: two threads arming at once both leave it armed, whichever wins.
        self._armed_until = self._clock() + self.armed_s

    def _arm_on(self, failure: BaseException) -> None:
        """A failure is trouble unless it is an answer (a refusal)."""
        if not self._final(failure):
            self._arm()

    def run(self, call: Callable[[], T], on_hedge: Callable[[], None] = lambda: None) -> T:
        self.budget.earn()
        if not self.armed:
            return self._direct(call)
        first = self._submit(call)
        done, _ = wait([first], timeout=self.after_s)
        if done:
            failed = first.exception()
            if failed is not None:
                self._arm_on(failed)
            return first.result()
        self._arm()
        if not self.budget.spend():
            return first.result()
        on_hedge()
        pending: set[Future[T]] = {first, self._submit(call)}
        failure: BaseException | None = None
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                exc = future.exception()
                if exc is None or self._final(exc):
                    return future.result()
                failure = failure or exc
        assert failure is not None
        raise failure

    def _direct(self, call: Callable[[], T]) -> T:
        """The call on the caller's thread, arming the hedge if it was slow or failed."""
        started = self._clock()
        try:
            result = call()
        except BaseException as exc:
            self._arm_on(exc)
            raise
        if self._clock() - started >= self.after_s:
            self._arm()
        return result
