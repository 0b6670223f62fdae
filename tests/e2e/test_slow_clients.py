"""A client that sends its request byte by byte cannot hold a worker thread (slowloris).

One inventory gunicorn with a single worker of two threads and a one-second read bound: more
slow clients than threads trickle their headers (or a body); each is cut off by the server, and
a normal request meanwhile is answered.
"""

import concurrent.futures
import os
import select
import socket

import pytest
import requests

from lab import processes
from lab.postgres import free_port
from tests.helpers import bearer

pytestmark = pytest.mark.e2e
TRICKLE_S = 0.1  # the slow client's own pace: one byte per interval
MAX_BYTES = 300  # 30 s of trickling: far past the bound, and past the normal request's timeout


@pytest.fixture
def tight_inventory(system, tmp_path):
    port = free_port()
    env = {
        **system.process_env("inventory"),
        "INVENTORY_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
        "REQUEST_READ_TIMEOUT_S": os.environ.get("SLOW_CLIENT_BOUND_S", "1"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    command = processes.gunicorn_command("inventory")
    ready = f"http://127.0.0.1:{port}/health/ready"
    with processes.running(command, tmp_path / "inv.log", env, ready):
        yield port


def trickle(port, head, tail):
    """Send ``head`` at once, then ``tail`` one byte per interval until the server hangs up.

    Returns what the server answered before closing, or None if it never closed.
    """
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(head)
    try:
        for byte in tail[:MAX_BYTES]:
            readable, _, _ = select.select([conn], [], [], TRICKLE_S)
            if readable:
                return conn.recv(4096)  # an answer, or b"" for a plain close
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                return b""
        return None
    finally:
        conn.close()


def test_slow_headers_are_cut_off_and_normal_requests_still_served(tight_inventory):
    port = tight_inventory
    head = b"GET /health/live HTTP/1.1\r\nHost: x\r\n"
    tail = b"X-Slow: " + b"a" * MAX_BYTES

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        slow = [pool.submit(trickle, port, head, tail) for _ in range(3)]
        normal = requests.get(f"http://127.0.0.1:{port}/health/live", timeout=15)
        results = [f.result(timeout=60) for f in slow]

    assert normal.status_code == 200
    assert None not in results  # every slow client was disconnected by the server


def test_a_slow_body_is_answered_408(tight_inventory):
    port = tight_inventory
    token = bearer("admin", "slow-admin")["Authorization"]
    body = b'{"sku": "SLOW-1", "name": "slow", "on_hand": 1' + b" " * MAX_BYTES + b"}"
    head = (
        f"POST /api/v1/products HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    answer = trickle(port, head + body[:10], body[10:])

    assert answer is not None and answer.startswith(b"HTTP/1.1 408")
    assert (
        requests.get(f"http://127.0.0.1:{port}/api/v1/products/SLOW-1", timeout=5).status_code
        == 404
    )
