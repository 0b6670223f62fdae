"""Password hashing, bounded per process.

An argon2 hash costs about 100 ms of CPU. Unbounded, two logins a second with random emails
took other users' median latency from 9 ms to 688 ms: the hashes had every core. At most
``limit`` hashes run at once in a process; a caller that cannot get a slot within ``wait_s`` is
refused at once with ``Overloaded`` (503 and Retry-After), before anything is read or written.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from shared.errors import Overloaded


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, digest: str, password: str) -> bool: ...

    def __hash__(self) -> int: ...  # the decoy hash is cached per hasher


class BoundedHasher:
    """``inner`` with at most ``limit`` calls at once."""

    def __init__(self, inner: Hasher, *, limit: int, wait_s: float) -> None:
        self.inner = inner
        self._slots = threading.BoundedSemaphore(limit)
        self._wait_s = wait_s

    def hash(self, password: str) -> str:
        with self._slot():
            return self.inner.hash(password)

    def verify(self, digest: str, password: str) -> bool:
        with self._slot():
            return self.inner.verify(digest, password)

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._wait_s):
            raise Overloaded("too many logins at once; try again in a second", retry_after_s=1)
        try:
            yield
        finally:
            self._slots.release()
