"""Password hashing, bounded per process.

An argon2 hash costs about 100 ms of CPU. Unbounded, two logins a second with random emails
took other users' median latency from 9 ms to 688 ms: the hashes had every core. At most
``limit`` hashes run at once in a process; a caller that cannot get a slot within ``wait_s`` is
refused at once with ``Overloaded`` (503 and Retry-After), before anything is read or written.

Bounding how many is not enough: two hashes per worker still take both cores of a small
machine (20 logins a second cut confirmed orders from 94/s to 19/s). So hashes run on threads
of their own at the lowest CPU priority Linux has (``SCHED_IDLE``): the scheduler gives them
only what orders leave, a login waits instead of an order, and past ``wait_s`` the login is
the one refused.
The wait is not the process's own latency for admission control (``shared.admission``): it is
bounded here.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Protocol, TypeVar

from shared.admission import elsewhere
from shared.errors import Overloaded

T = TypeVar("T")
LOWEST_PRIORITY = 19


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, digest: str, password: str) -> bool: ...

    def __hash__(self) -> int: ...  # the decoy hash is cached per hasher


def _lowest_priority() -> None:
    # Linux sets a thread's policy and niceness by its own id, and anyone may lower their own
    # priority. SCHED_IDLE: the thread runs only on CPU nobody else wants, and any other
    # thread that wakes takes the CPU from it at once (nice 19 alone still let 20 logins a
    # second cost the orders' p99 up to 1.6x); where that fails, nice 19; where that fails,
    # normal priority, still bounded in number.
    tid = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, tid, LOWEST_PRIORITY)


class BoundedHasher:
    """``inner`` with at most ``limit`` calls at once, on low-priority threads."""

    def __init__(self, inner: Hasher, *, limit: int, wait_s: float) -> None:
        self.inner = inner
        self._limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._wait_s = wait_s
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    def hash(self, password: str) -> str:
        return self._run(self.inner.hash, password)

    def verify(self, digest: str, password: str) -> bool:
        return self._run(self.inner.verify, digest, password)

    def _run(self, call: Callable[..., T], *args: str) -> T:
        with elsewhere(), self._slot():
            return self._threads().submit(call, *args).result()

    def _threads(self) -> ThreadPoolExecutor:
        # Made in the process that uses it: a pool made before gunicorn forks has no threads in
        # the workers.
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(
                    self._limit, thread_name_prefix="hash", initializer=_lowest_priority
                )
                self._pool_pid = os.getpid()
            return self._pool

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._wait_s):
            raise Overloaded("too many logins at once; try again in a second", retry_after_s=1)
        try:
            yield
        finally:
            self._slots.release()
