"""The buffering front: 200 slow connections through HAProxy, and other clients are served.

One inventory instance of the light layout (two workers of four threads) behind HAProxy as
``make up`` renders it, with at most 50 connections per source address. An attacker at
127.0.0.2 opens 200 connections and sends half a request on each: HAProxy closes the 150 past
its limit at once and holds the other 50 itself, so no worker thread waits on any of them,
while a client at 127.0.0.1 is answered every time. Straight to gunicorn, 50 such connections
hold all eight threads until the read bound cuts them (tests/e2e/test_slow_clients.py).
"""

import select
import socket

import pytest
import requests

from lab import haproxy, processes
from lab.postgres import free_port
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e
ATTACKER = "127.0.0.2"
PER_SOURCE = 50
SLOW = 200


@pytest.fixture
def edge(live, tmp_path):
    port, metrics = free_port(), free_port()
    frontend = haproxy.Frontend(
        "inventory", f"127.0.0.1:{port}", {"inventory": f"127.0.0.1:{live.inventory_port}"}
    )
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        haproxy.render(
            [frontend],
            f"127.0.0.1:{metrics}",
            tmp_path / "errors",
            per_source_connections=PER_SOURCE,
        )
    )
    ready = f"http://127.0.0.1:{port}/health/ready"
    with processes.running(haproxy.command(config), tmp_path / "haproxy.log", {}, ready):
        yield port


def closed(conn):
    """Has the other end closed this connection (without answering)?"""
    readable, _, _ = select.select([conn], [], [], 0)
    if not readable:
        return False
    try:
        return conn.recv(1) == b""
    except OSError:  # reset, or never connected
        return True


def test_two_hundred_slow_connections_hold_no_worker_and_others_are_served(edge, live):
    live.create_product("EDGE-1", 5)
    slow = []
    try:
        for _ in range(SLOW):
            conn = socket.socket()
            conn.bind((ATTACKER, 0))
            slow.append(conn)
            try:
                conn.connect(("127.0.0.1", edge))
                conn.sendall(b"GET /api/v1/products/EDGE-1 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            except OSError:
                pass  # refused past the limit before the request was even sent

        wait_until(lambda: sum(closed(c) for c in slow) >= SLOW - PER_SOURCE, timeout_s=5)
        answers = [
            requests.get(f"http://127.0.0.1:{edge}/api/v1/products/EDGE-1", timeout=5)
            for _ in range(20)
        ]
        still_open = [c for c in slow if not closed(c)]
    finally:
        for conn in slow:
            conn.close()

    assert [a.status_code for a in answers] == [200] * 20
    assert all(a.json()["on_hand"] == 5 for a in answers)
    # The 50 the limit let in were still waiting for the rest of their request: held by HAProxy.
    assert len(still_open) == PER_SOURCE
