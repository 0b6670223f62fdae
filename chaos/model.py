"""Gremlins in plain Python: what each kind does and when a selector fires.

Selectors decide from a counter shared by every process (kept in the inventory database), so
"every 5th call" or "probability 0.2 with seed 7" picks the same calls whichever worker or
instance serves them, and a run can be repeated.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    LATENCY = "latency"  # delay the response
    ERROR = "error"  # answer an error status, before the work or after the commit
    CRASH = "crash"  # the worker dies after the commit, before the response


class Phase(StrEnum):
    BEFORE = "before"  # nothing is done: the request fails or waits before the work
    AFTER = "after"  # the work is committed; the caller does not learn it


@dataclass(frozen=True)
class Gremlin:
    name: str
    kind: Kind
    phase: Phase = Phase.BEFORE
    delay_ms: int = 0
    jitter_ms: int = 0
    status: int = 503
    every_nth: int | None = None
    probability: float | None = None
    seed: int = 0
    fail_next: int | None = None
    method: str | None = None
    path: str = "/api/v1/*"
    expires_at: datetime | None = None
    matched: int = 0
    fired: int = 0
    created_at: datetime | None = field(default=None, compare=False)

    def applies_to(self, method: str, path: str) -> bool:
        """Does this gremlin watch a request with this method and path?"""
        if self.method and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def fires_on(self, n: int) -> bool:
        """Does it fire on the n-th matching call (counting from 1, across all processes)?"""
        if self.fail_next is not None:
            return n <= self.fail_next
        if self.every_nth is not None:
            return n % self.every_nth == 0
        if self.probability is not None:
            return random.Random(f"{self.seed}:{n}").random() < self.probability
        return True

    def exhausted(self) -> bool:
        """A ``fail_next`` gremlin that has used up its calls."""
        return self.fail_next is not None and self.matched >= self.fail_next

    def delay_s(self, n: int) -> float:
        """The delay for the n-th call; jitter is reproducible from the seed too."""
        jitter = random.Random(f"jitter:{self.seed}:{n}").uniform(0, self.jitter_ms)
        return (self.delay_ms + jitter) / 1000

    def as_json(self) -> dict[str, Any]:
        selector: dict[str, Any] = {}
        if self.every_nth is not None:
            selector["every_nth"] = self.every_nth
        if self.probability is not None:
            selector.update(probability=self.probability, seed=self.seed)
        if self.fail_next is not None:
            selector["fail_next"] = self.fail_next
        effect: dict[str, Any] = {"phase": self.phase.value}
        if self.kind is Kind.LATENCY:
            effect.update(delay_ms=self.delay_ms, jitter_ms=self.jitter_ms)
        if self.kind is Kind.ERROR:
            effect["status"] = self.status
        return {
            "name": self.name,
            "kind": self.kind.value,
            **effect,
            "selector": selector or {"always": True},
            "method": self.method,
            "path": self.path,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "matched": self.matched,
            "fired": self.fired,
        }
