"""After a fork (gunicorn's preload_app), a child never uses the parent's connections."""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from sqlalchemy import text

from order_service.inventory.http import HttpInventory
from shared.db import make_engine


def in_child(work) -> object:
    """Run ``work()`` in a forked child and return what it returned (JSON through a pipe)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running the parent's cleanup
        try:
            os.write(write, json.dumps(work()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(answer)


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_forked_child_opens_its_own_database_connection(settings):
    engine = make_engine(settings.database_url("orders"), settings, application_name="fork-test")
    try:
        parent = backend_pid(engine)  # now pooled in the parent, as the master's would be

        child = in_child(lambda: backend_pid(engine))

        assert child != parent
        assert backend_pid(engine) == parent  # and the child left the parent's connection alone
    finally:
        engine.dispose()


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client pools the connection

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_forked_child_drops_the_parents_keep_alive_sockets():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = HttpInventory(
            f"http://127.0.0.1:{server.server_port}", connect_timeout_s=1, read_timeout_s=1
        )
        assert client.ping()
        adapter = client.session.get_adapter("http://")
        assert len(adapter.poolmanager.pools) == 1  # the parent keeps its connection

        pooled_in_child = in_child(lambda: len(adapter.poolmanager.pools))

        assert pooled_in_child == 0
        assert len(adapter.poolmanager.pools) == 1
    finally:
        server.shutdown()
        server.server_close()
