"""Gremlins in plain Python: what each kind does and when a selector fires.

The ``Gremlin`` dataclass is the one definition of a gremlin: each field's metadata gives its
bounds, its help text and its command-line flag, and the table (``chaos.store``), the API schema
(``chaos.schemas``) and the command line (``chaos.cli``) are derived from it. The rules that tie
fields together (one selector, a crash is always after the commit, ...) live in ``problems``.

Selectors decide from a counter shared by every process (kept in the inventory database), so
"every 5th call" or "probability 0.2 with seed 7" picks the same calls whichever worker or
instance serves them, and a run can be repeated.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    LATENCY = "latency"  # delay the response
    ERROR = "error"  # answer an error status, before the work or after the commit
    CRASH = "crash"  # the worker dies after the commit, before the response


class Phase(StrEnum):
    BEFORE = "before"  # nothing is done: the request fails or waits before the work
    AFTER = "after"  # the work is committed; the caller does not learn it


# gunicorn kills a worker silent for 30 s; a longer delay would be a crash, not latency.
MAX_DELAY_MS = 25_000
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
SELECTORS = ("every_nth", "probability", "fail_next")
PATH_PATTERN = r"/[\w/*.\-{}?\[\]]{0,199}"
NAME_PATTERN = r"[A-Za-z0-9_-]{1,64}"


def setting(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
    pattern: str | None = None,
    length: int | None = None,
    kinds: tuple[str, ...] | None = None,
) -> Any:
    """A field a user sets (over HTTP or the command line), with everything said about it once."""
    meta = {
        "settable": True,
        "help": help,
        "flag": flag,
        "low": low,
        "high": high,
        "choices": choices,
        "pattern": pattern,
        "length": length,
        "kinds": kinds,  # the kinds it means something for (None: every kind)
    }
    return field(default=default, metadata=meta)


def state(default: Any = None, *, counter: bool = False) -> Any:
    """A field the system keeps (counters, expiry): shown by the API, never set by a user."""
    return field(default=default, compare=False, metadata={"settable": False, "counter": counter})


@dataclass(frozen=True)
class Gremlin:
    name: str = field(metadata={"settable": False, "length": 64})
    kind: Kind = setting(
        Kind.LATENCY, "latency, error or crash", choices=tuple(Kind), length=16, kinds=()
    )
    phase: Phase = setting(
        Phase.BEFORE,
        "before the work, or after the commit (a crash is always after)",
        choices=tuple(Phase),
        length=8,
        kinds=(Kind.LATENCY, Kind.ERROR),
    )
    delay_ms: int = setting(
        0, "delay in milliseconds", low=0, high=MAX_DELAY_MS, kinds=(Kind.LATENCY,)
    )
    jitter_ms: int = setting(
        0, "extra random delay, 0..J ms", low=0, high=MAX_DELAY_MS, kinds=(Kind.LATENCY,)
    )
    status: int = setting(
        503, "the HTTP status to answer (default 503)", low=400, high=599, kinds=(Kind.ERROR,)
    )
    every_nth: int | None = setting(
        None, "fire on every N-th matching call (counted across all workers)", flag="every",
        low=1, high=1_000_000,
    )  # fmt: skip
    probability: float | None = setting(
        None, "fire on a fraction P (0..1] of matching calls, reproducible by --seed",
        low=0, high=1,
    )  # fmt: skip
    seed: int = setting(0, "seed of --probability (default 0)", low=-(2**31), high=2**31 - 1)
    fail_next: int | None = setting(
        None, "fire on the next K matching calls, then stop", flag="next", low=1, high=1_000_000
    )
    method: str | None = setting(
        None, "only calls with this HTTP method, e.g. PUT", choices=METHODS, length=8
    )
    path: str = setting(
        "/api/v1/*",
        "only paths matching this glob (default /api/v1/*), e.g. '/api/v1/reservations/*'",
        pattern=PATH_PATTERN,
        length=200,
    )
    expires_at: datetime | None = state()
    matched: int = state(0, counter=True)  # calls that matched, all processes: selectors count
    fired: int = state(0, counter=True)
    created_at: datetime | None = state()

    @classmethod
    def create(
        cls, name: str, values: dict[str, Any], now: datetime, ttl_s: int | None = None
    ) -> Gremlin:
        """A gremlin from user input that ``problems`` accepted; the phase rule applied here."""
        settable = {k: v for k, v in values.items() if k in SETTABLE and v is not None}
        kind = Kind(settable.pop("kind"))
        settable["phase"] = Phase(effective_phase(kind, settable.get("phase")))
        expires = now + timedelta(seconds=ttl_s) if ttl_s else None
        return cls(name=name, kind=kind, expires_at=expires, **settable)

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
        """The API's view: every field, flat, so ``PUT`` accepts what ``GET`` returns."""
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("expires_at", "created_at"):
            doc[name] = doc[name].isoformat() if doc[name] else None
        return {k: (v.value if isinstance(v, StrEnum) else v) for k, v in doc.items()}


SETTABLE = {f.name: f for f in fields(Gremlin) if f.metadata.get("settable")}


def summary(gremlin: dict[str, Any]) -> str:
    """What a gremlin (as the API shows it) does, when and to which calls, in a few words."""
    effect = {
        "latency": f"delay {gremlin.get('delay_ms')} ms (+0..{gremlin.get('jitter_ms')} ms)",
        "error": f"answer {gremlin.get('status')}",
        "crash": "kill the worker",
    }[gremlin["kind"]]
    when = "after the commit" if gremlin["phase"] == "after" else "before the work"
    chosen = {k: gremlin.get(k) for k in SELECTORS if gremlin.get(k) is not None}
    if gremlin.get("probability") is not None:
        chosen["seed"] = gremlin.get("seed")
    selector = ", ".join(f"{k}={v}" for k, v in chosen.items()) or "always"
    scope = f"{gremlin.get('method') or 'any'} {gremlin['path']}"
    return f"{effect} {when}; {selector}; on {scope}"


def effective_phase(kind: str, phase: str | None) -> str:
    """A crash is always after the commit; other kinds default to before the work."""
    if kind == Kind.CRASH:
        return Phase.AFTER
    return phase or Phase.BEFORE


def problems(values: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with a gremlin's fields taken together, per field; empty when nothing."""
    found: dict[str, list[str]] = {}
    chosen = [k for k in SELECTORS if values.get(k) is not None]
    if len(chosen) > 1:
        found["selector"] = [f"choose one selector, not {chosen}"]
    kind = values.get("kind")
    if kind == Kind.LATENCY and not (values.get("delay_ms") or values.get("jitter_ms")):
        found["delay_ms"] = ["a latency gremlin needs delay_ms or jitter_ms"]
    if kind == Kind.CRASH and values.get("phase") == Phase.BEFORE:
        found["phase"] = ["a crash happens after the commit"]
    phase = effective_phase(str(kind), values.get("phase"))
    if kind == Kind.ERROR and phase == Phase.AFTER and (values.get("status") or 503) < 500:
        # A 4xx after a committed reserve would tell the caller "refused" while stock stays
        # reserved: after the commit, only a server error is honest.
        found["status"] = ["after the commit an error gremlin may only answer 5xx"]
    if (values.get("delay_ms") or 0) + (values.get("jitter_ms") or 0) > MAX_DELAY_MS:
        # gunicorn would kill the worker first: that is a crash, and the crash kind says so.
        found["jitter_ms"] = [f"delay_ms + jitter_ms must stay within {MAX_DELAY_MS} ms"]
    if values.get("probability") == 0:
        found["probability"] = ["must be above 0"]
    return found
