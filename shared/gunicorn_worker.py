"""gunicorn's gthread worker with a bound on how long a client may take to send its request.

gthread hands a connection to a worker thread once its first bytes arrive; from then on the
thread reads the request line, the headers and the body with blocking reads and no deadline. A
client that sends one byte every few seconds (slowloris) holds that thread for as long as it
likes, and a few dozen such clients hold them all. Here every read of a request shares one
deadline (``REQUEST_READ_TIMEOUT_S``, from the moment the thread takes the request): a client
that has not sent its whole request by then is disconnected. Writes get a fresh bound each, so
a slow request handler never cuts its own response short.

A buffering proxy in front (HAProxy's ``timeout http-request``) is the other usual answer; this
bound holds whether or not one is there.

The worker also times how long each request waited for a thread (``shared.admission``): from
the main loop handing it to the pool to a thread taking it, when every thread was busy as it
arrived. A request that found a thread free has not queued, however long the operating system
took to run that thread (a starved machine is not a reason to refuse the work).
"""

from __future__ import annotations

import socket
import time
from typing import Any

from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker

from shared import admission


class ClientTooSlow(NoMoreData):  # type: ignore[misc]
    """The client did not send its whole request in time.

    While gunicorn reads the headers, it treats this as a client gone (the connection closes,
    a debug line, no traceback); while the application reads the body, the service answers 408.
    """

    def __init__(self) -> None:
        super().__init__(b"")

    def __str__(self) -> str:
        return "the client took too long to send its request"


class DeadlineSocket:
    """A socket whose reads all end by ``deadline`` (monotonic seconds)."""

    def __init__(self, sock: socket.socket, write_timeout_s: float) -> None:
        self._sock = sock
        self._write_timeout_s = write_timeout_s
        self.deadline = float("inf")

    def _read_timeout(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ClientTooSlow()
        return remaining

    def recv(self, size: int, *flags: int) -> bytes:
        self._sock.settimeout(self._read_timeout())
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError as exc:
            raise ClientTooSlow() from exc

    def recv_into(self, buffer: Any, *args: int) -> int:
        self._sock.settimeout(self._read_timeout())
        try:
            return self._sock.recv_into(buffer, *args)
        except TimeoutError as exc:
            raise ClientTooSlow() from exc

    def send(self, data: Any, *flags: int) -> int:
        self._sock.settimeout(self._write_timeout_s)
        return self._sock.send(data, *flags)

    def sendall(self, data: Any, *flags: int) -> None:
        self._sock.settimeout(self._write_timeout_s)
        self._sock.sendall(data, *flags)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        self._sock.settimeout(self._write_timeout_s)
        return self._sock.sendfile(file, offset, count)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BoundedReadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, with each request's reads bounded by ``read_timeout_s`` in all."""

    read_timeout_s = 10.0  # set from the settings by shared.gunicorn
    _in_pool = 0  # handed to the pool and not finished; only the main loop's thread counts

    def enqueue_req(self, conn: Any) -> None:
        conn.queued = self._in_pool >= self.cfg.threads
        conn.enqueued_at = time.monotonic()
        self._in_pool += 1
        super().enqueue_req(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        self._in_pool -= 1
        super().finish_request(conn, fs)

    def handle(self, conn: Any) -> Any:
        admission.note_wait(time.monotonic() - conn.enqueued_at if conn.queued else 0.0)
        if not isinstance(conn.sock, DeadlineSocket):
            # Before the connection builds its parser, which keeps the socket it is given.
            conn.sock = DeadlineSocket(conn.sock, self.read_timeout_s)
        conn.sock.deadline = time.monotonic() + self.read_timeout_s
        try:
            return super().handle(conn)
        finally:
            conn.sock.deadline = float("inf")  # waiting in the poller for the next request
            admission.note_wait(None)
