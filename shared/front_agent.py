"""How many requests HAProxy may send this instance at once, told to it as that changes.

The front sends an instance a handful of requests at once (its layout's ``at_once``,
``lab/haproxy.py``): past that, on two cores, each request's own work only slows the others.
But a request waiting on a slow inventory uses no CPU while it waits, and counting it among the
handful turns a sick dependency into refusals (measured with every other reservation held a
second: 11 confirmed orders/s at six at once against 32 with a slot per thread). So each worker
notes, in memory it shares with the gunicorn master, when each of its threads began waiting on
a dependency, and the master answers HAProxy's agent check (``agent-check``, every 250 ms) with
``maxconn:`` the handful plus every request that has waited longer than ``STUCK_S``.

Only long waits count. A busy machine slows inventory too, and counting its ordinary few
milliseconds would let more in, which would slow inventory more: a loop that ends with every
thread busy. A wait past ``STUCK_S`` is the dependency being slow, not this machine.

The agent answers from the master, which serves no request, so it answers while every worker
is busy; when it cannot be reached HAProxy keeps the last figure (a failed agent check is not
a failed health check).
"""

from __future__ import annotations

import ctypes
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.sharedctypes import RawArray

# Longer than a healthy reservation takes on a busy machine (tens of milliseconds), shorter
# than the hedge (INVENTORY_HEDGE_AFTER_S, 0.5 s), which is the resilience layer's own sign of
# a slow answer.
STUCK_S = 0.25


class Waits:
    """When each thread of each worker began waiting on a dependency (0: it is not waiting),
    in memory created by the master before it forks, so every worker writes its own row and
    the master reads them all."""

    def __init__(self, rows: int, threads: int, clock: Callable[[], float] = time.monotonic):
        self.rows, self.threads, self._clock = rows, threads, clock
        self._started = RawArray(ctypes.c_double, rows * threads)
        self._free = list(range(rows))
        self._row: int | None = None  # this worker's row, once forked
        self._next_thread = 0
        self._mine = threading.local()
        self._lock = threading.Lock()

    # in the master -----------------------------------------------------------------------
    def claim(self) -> int | None:
        """A row for a worker about to be forked (None when every row is taken: that worker
        then reports nothing)."""
        return self._free.pop(0) if self._free else None

    def release(self, row: int | None) -> None:
        """A worker exited: whatever it was waiting on, it waits no longer."""
        if row is None:
            return
        for i in range(row * self.threads, (row + 1) * self.threads):
            self._started[i] = 0.0
        self._free.append(row)

    def stuck(self) -> int:
        """Requests of every worker waiting on a dependency for longer than ``STUCK_S``."""
        now = self._clock()
        return sum(1 for started in self._started if started and now - started > STUCK_S)

    # in a worker -------------------------------------------------------------------------
    def use_row(self, row: int | None) -> None:
        self._row, self._next_thread = row, 0

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """The block waits on a dependency."""
        index = self._index()
        if index is not None:
            self._started[index] = self._clock()
        try:
            yield
        finally:
            if index is not None:
                self._started[index] = 0.0

    def _index(self) -> int | None:
        if self._row is None:
            return None
        index: int | None = getattr(self._mine, "index", None)
        if index is None:
            with self._lock:
                if self._next_thread >= self.threads:
                    return None  # more threads than the layout said: not counted
                index = self._row * self.threads + self._next_thread
                self._next_thread += 1
            self._mine.index = index
        return index


_waits: Waits | None = None


def install(waits: Waits | None) -> None:
    """The waits this process records (``shared.gunicorn`` installs them in its master)."""
    global _waits
    _waits = waits


@contextmanager
def waiting() -> Iterator[None]:
    """The block waits on a dependency (recorded only under a master that runs the agent)."""
    if _waits is None:
        yield
        return
    with _waits.waiting():
        yield


class Agent:
    """HAProxy's agent check, answered from the master: ``maxconn:<at once + stuck>``, never
    more than the instance's threads."""

    def __init__(self, waits: Waits, at_once: int, most: int) -> None:
        self.waits, self.at_once, self.most = waits, at_once, most
        self._server: socketserver.ThreadingTCPServer | None = None

    def answer(self) -> str:
        return f"maxconn:{min(self.most, self.at_once + self.waits.stuck())}\n"

    def start(self, bind: str) -> None:
        host, _, port = bind.rpartition(":")
        agent = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.sendall(agent.answer().encode())

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer((host, int(port)), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="front-agent", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
