"""A bulkhead: at most ``limit`` calls in flight; past that, refuse at once instead of queueing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class BulkheadFull(Exception):
    """Every slot is taken; the call was not attempted."""


class Bulkhead:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the block, or raise ``BulkheadFull`` without waiting."""
        if not self._slots.acquire(blocking=False):
            raise BulkheadFull(f"{self.limit} calls already in flight")
        try:
            yield
        finally:
            self._slots.release()
