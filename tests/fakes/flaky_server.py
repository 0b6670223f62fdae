"""A local HTTP server that answers each request with the next behaviour from a script."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK_BODY = {"id": "r", "status": "RESERVED", "lines": [], "shortages": []}


class _Server(ThreadingHTTPServer):
    # More than the default backlog of 5: simultaneous connects must not wait for a SYN retry.
    request_queue_size = 64
    daemon_threads = True


class FlakyServer:
    """Script behaviours with ``then(...)``; once the script is used up every request gets 200.

    Behaviours: ``("ok",)``, ``("status", code, headers)``, ``("reset",)`` (connection reset),
    ``("hold", event)`` (answer once the event is set, or after 10 s), ``("barrier", barrier)``
    (answer 200 once every party arrived, 500 if they never do).
    """

    def __init__(self) -> None:
        self.script: deque[tuple[Any, ...]] = deque()
        self.requests = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server._serve(self)

            do_GET = do_PUT = do_POST = _any

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def then(self, *behaviour: Any, times: int = 1) -> FlakyServer:
        self.script.extend([behaviour] * times)
        return self

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
            behaviour = self.script.popleft() if self.script else ("ok",)
        kind = behaviour[0]
        if kind == "reset":
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            handler.connection.close()
            handler.close_connection = True
            return
        if kind == "hold":
            behaviour[1].wait(10)
        if kind == "barrier":
            try:
                behaviour[1].wait(timeout=10)
            except threading.BrokenBarrierError:
                self._send(handler, 500, {"error": {"code": "BARRIER_BROKEN"}})
                return
        if kind == "status":
            code, headers = behaviour[1], behaviour[2] if len(behaviour) > 2 else {}
            self._send(
                handler, code, {"error": {"code": f"HTTP_{code}", "message": "scripted"}}, headers
            )
            return
        self._send(handler, 200, OK_BODY)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        code: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        try:
            handler.send_response(code)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timed out) first: that was the point of the test

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()
