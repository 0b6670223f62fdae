"""The gremlin engine as a Flask extension: ``Chaos().init_app(app, engine, ...)``.

Hooks, when chaos is enabled: ``before_request`` applies latency and errors of phase "before"
(nothing is done); ``after_request`` applies those of phase "after" and crashes, only to requests
that succeeded, so the work is committed and the caller does not learn it. Each worker reads the
active gremlins at most ``refresh_s`` old, so a change reaches every worker within a second.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, Response, g, request

from chaos.model import Gremlin, Kind, Phase
from chaos.store import GremlinStore
from shared.admission import elsewhere
from shared.web import error_response

log = logging.getLogger("chaos")

# Never touched, whatever a gremlin's path says: otherwise a gremlin on "/*" could block its own
# removal, fail health checks meant to watch the real service, or hide the metrics.
EXEMPT = ("/chaos", "/health", "/metrics", "/openapi.json", "/docs")


def _die() -> None:
    # SIGKILL, like the OOM killer or a segfault: no cleanup, no response. gunicorn's arbiter
    # sees the worker gone and starts a new one.
    os.kill(os.getpid(), signal.SIGKILL)


class Chaos:
    def __init__(self) -> None:
        self.enabled = False
        self.store: GremlinStore | None = None

    def init_app(
        self,
        app: Flask,
        store: GremlinStore,
        *,
        enabled: bool,
        admin_token: str,
        refresh_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        die: Callable[[], None] = _die,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_fire: Callable[[str, str], None] = lambda kind, phase: None,
    ) -> None:
        self.store, self.enabled, self.admin_token = store, enabled, admin_token
        self._on_fire = on_fire
        self._refresh_s, self._sleep, self._die, self._clock = refresh_s, sleep, die, clock
        self._cache: list[Gremlin] = []
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        app.extensions["chaos"] = self
        if enabled:
            app.before_request(self._before)
            app.after_request(self._after)

    def use(
        self,
        *,
        refresh_s: float | None = None,
        sleep: Callable[[float], None] | None = None,
        die: Callable[[], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Swap how effects happen (tests record a crash instead of dying)."""
        self._refresh_s = self._refresh_s if refresh_s is None else refresh_s
        self._sleep, self._die = sleep or self._sleep, die or self._die
        self._clock = clock or self._clock

    def active(self) -> list[Gremlin]:
        """The gremlins in force, as this worker last read them (at most ``refresh_s`` old)."""
        assert self.store is not None
        with self._lock:
            if time.monotonic() - self._loaded_at >= self._refresh_s:
                try:
                    self._cache = self.store.active(self._clock())
                except Exception:  # a database blip must not turn chaos into an outage
                    log.exception("could not read gremlins; keeping the last ones")
                self._loaded_at = time.monotonic()
            return list(self._cache)

    def now(self) -> datetime:
        return self._clock()

    def forget(self) -> None:
        """Read the gremlins again on the next request (after a change through this worker)."""
        with self._lock:
            self._loaded_at = float("-inf")

    def _matching(self, phase: Phase) -> list[Gremlin]:
        if request.path.startswith(EXEMPT):
            return []
        return [
            gremlin
            for gremlin in self.active()
            if gremlin.phase is phase and gremlin.applies_to(request.method, request.path)
        ]

    def _fires(self, gremlin: Gremlin) -> int | None:
        """Count the call against the gremlin; the call number if it fires, else None."""
        assert self.store is not None
        n = self.store.count_match(gremlin.name)
        if n is None or not gremlin.fires_on(n):
            return None
        reservation = (request.view_args or {}).get("reservation_id")
        self.store.record_firing(gremlin, reservation, request.method, request.path)
        self._on_fire(gremlin.kind.value, gremlin.phase.value)
        log.warning(
            "gremlin fired",
            extra={
                "gremlin": gremlin.name,
                "kind": gremlin.kind.value,
                "phase": gremlin.phase.value,
                "reservation_id": reservation,
                "path": request.path,
                "call": n,
            },
        )
        return n

    def _before(self) -> Response | None:
        for gremlin in self._matching(Phase.BEFORE):
            injected = self._apply(gremlin)
            if injected is not None:
                return injected
        return None

    def _after(self, response: Response) -> Response:
        if response.status_code >= 400 or g.get("chaos_after_done"):
            return response  # nothing was committed: an "after" fault would say nothing new
        g.chaos_after_done = True
        for gremlin in self._matching(Phase.AFTER):
            injected = self._apply(gremlin)
            if injected is not None:
                return injected
        return response

    def _apply(self, gremlin: Gremlin) -> Response | None:
        """Count the call and, if the gremlin fires, apply it; an error replaces the answer."""
        n = self._fires(gremlin)
        if n is None:
            return None
        if gremlin.kind is Kind.LATENCY:
            with elsewhere():  # an injected delay, not the process being slow
                self._sleep(gremlin.delay_s(n))
        elif gremlin.kind is Kind.ERROR:
            return _injected(gremlin)
        elif gremlin.kind is Kind.CRASH:  # always phase "after" (the model's rule): committed
            log.warning(
                "gremlin crashes this worker", extra={"gremlin": gremlin.name, "pid": os.getpid()}
            )
            for handler in logging.getLogger().handlers:
                handler.flush()
            self._die()
        return None


def _injected(gremlin: Gremlin) -> Response:
    return error_response(
        gremlin.status,
        "INJECTED_FAULT",
        f"gremlin {gremlin.name!r} answered {gremlin.status}",
        {"gremlin": gremlin.name, "phase": gremlin.phase.value},
    )
