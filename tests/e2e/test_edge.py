"""The buffering front: 200 slow connections through HAProxy, and other clients are served.

One inventory instance of the light layout (two workers of four threads) behind HAProxy as
``make up`` renders it, with at most 50 connections per source address. An attacker at
127.0.0.2 opens 200 connections and sends half a request on each: HAProxy closes the 150 past
its limit at once and holds the other 50 itself, so no worker thread waits on any of them,
while a client at 127.0.0.1 is answered every time. Straight to gunicorn, 50 such connections
hold all eight threads until the read bound cuts them (tests/e2e/test_slow_clients.py).

Past what an instance is sent at once, requests wait in HAProxy's queue, and once enough wait
the next is refused by HAProxy itself, before any instance sees it.
"""

import concurrent.futures
import select
import socket

import pytest
import requests
from sqlalchemy import text

from lab import haproxy, processes
from lab.postgres import free_port
from shared.front_agent import Agent, Waits
from tests.helpers import gremlin, wait_until

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


@pytest.fixture
def one_at_once(live, tmp_path, request):
    """HAProxy sending the inventory instance one request at once, as ``capacity`` says; with
    ``agent`` (the test's parameter), as many as that agent tells it."""
    port, metrics = free_port(), free_port()
    agent = getattr(request, "param", None)
    frontend = haproxy.Frontend(
        "inventory",
        f"127.0.0.1:{port}",
        {"inventory": f"127.0.0.1:{live.inventory_port}"},
        capacity=1,
        agents={"inventory": agent.port} if agent else {},
    )
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy.render([frontend], f"127.0.0.1:{metrics}", tmp_path / "errors"))
    ready = f"http://127.0.0.1:{port}/health/ready"
    if agent:
        agent.start(f"127.0.0.1:{agent.port}")
    try:
        with processes.running(haproxy.command(config), tmp_path / "haproxy.log", {}, ready):
            yield port, metrics
    finally:
        if agent:
            agent.stop()


def _haproxy(metrics, series):
    """One figure from HAProxy's own metrics: ``series`` is its name and labels, as printed."""
    text = requests.get(f"http://127.0.0.1:{metrics}/metrics", timeout=5).text
    return float(next(x for x in text.splitlines() if x.startswith(series)).rsplit(" ", 1)[1])


def _queued(metrics):
    return _haproxy(metrics, 'haproxy_backend_current_queue{proxy="inventory"}')


def test_past_the_instances_capacity_one_waits_and_the_next_is_refused_by_the_front(
    one_at_once, live, inventory_engine
):
    port, metrics = one_at_once
    base = f"http://127.0.0.1:{port}/api/v1/products"
    with products_held(live), concurrent.futures.ThreadPoolExecutor(2) as pool:
        held = _hold(pool, f"{base}/HELD", inventory_engine)
        waiting = pool.submit(requests.get, f"{base}/WAITING", timeout=30)
        wait_until(lambda: _queued(metrics) >= 1, timeout_s=10)
        refused = requests.get(f"{base}/REFUSED", timeout=30)
        assert refused.status_code == 503, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["details"]["reason"]) == ("OVERLOADED", "front")
        assert int(refused.headers["Retry-After-Ms"]) > 0
        # Both others were served in their turn: the wait was HAProxy's, not a thread's.
        assert [held.result().status_code, waiting.result().status_code] == [404, 404]
    assert _fired(inventory_engine) == 2  # the refused one never reached the instance


def products_held(live):
    """Every product read held 3 s at the instance, by a latency gremlin."""
    held = {"delay_ms": 3000, "method": "GET", "path": "/api/v1/products/*"}
    return gremlin(f"http://127.0.0.1:{live.inventory_port}", "hold", kind="latency", **held)


def _hold(pool, url, engine):
    """A request the gremlin holds at the instance. Each worker reads the gremlins again within
    half a second, so until one does, requests pass unheld: send them one at a time until one
    is held."""
    sent = None

    def holding():
        nonlocal sent
        if sent is None or sent.done():
            sent = pool.submit(requests.get, url, timeout=30)
        return _fired(engine) >= 1

    wait_until(holding, timeout_s=10)
    return sent


def _fired(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM gremlin_firings")).scalar_one()


class TwoAtOnce(Agent):
    """A real agent whose instance has nothing stuck and two at once."""

    def __init__(self):
        super().__init__(Waits(rows=1, threads=1), at_once=2, most=2)
        self.port = free_port()


@pytest.mark.parametrize("one_at_once", [TwoAtOnce()], indirect=True)
def test_haproxy_sends_the_instance_as_many_as_its_agent_says(one_at_once, live, inventory_engine):
    port, metrics = one_at_once
    base = f"http://127.0.0.1:{port}/api/v1/products"
    wait_until(lambda: _limit(metrics) == 2, timeout_s=10)  # its capacity says one
    with products_held(live), concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = _hold(pool, f"{base}/FIRST", inventory_engine)
        second = pool.submit(requests.get, f"{base}/SECOND", timeout=30)
        # The second reaches the instance beside the first (held there too, or answered by a
        # worker yet to read the gremlin), not after it.
        wait_until(
            lambda: second.done() or _fired(inventory_engine) >= 2 or first.done(), timeout_s=10
        )
        assert not first.done()
        assert [first.result().status_code, second.result().status_code] == [404, 404]


def _limit(metrics):
    """How many requests HAProxy sends the instance at once, as it stands now."""
    return _haproxy(metrics, 'haproxy_server_limit_sessions{proxy="inventory",server="inventory"}')
