"""The front's agent on a real order service: its gunicorn master tells HAProxy the instance
may take one more request for each one waiting long on inventory, and one fewer once it is
answered (shared/front_agent.py)."""

import concurrent.futures
import socket
import uuid

import pytest
import requests

from lab import processes
from lab.postgres import free_port
from tests.helpers import bearer, gremlin, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def orders_with_agent(system, tmp_path):
    port, agent = free_port(), free_port()
    env = {
        **system.process_env("orders"),
        "ORDER_BIND": f"127.0.0.1:{port}",
        "FRONT_AGENT_BIND": f"127.0.0.1:{agent}",
        "INVENTORY_HEDGE_AFTER_S": "0",  # one call held, not a second copy beside it
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    base = f"http://127.0.0.1:{port}"
    command = processes.gunicorn_command("orders")
    with processes.running(command, tmp_path / "orders.log", env, f"{base}/health/ready"):
        yield base, agent


def place(base):
    return requests.post(
        f"{base}/api/v1/orders",
        headers={**bearer("customer"), "Idempotency-Key": str(uuid.uuid4())},
        json={"items": [{"sku": "AGENT-1", "quantity": 1}]},
        timeout=30,
    )


def told(agent):
    with socket.create_connection(("127.0.0.1", agent), timeout=5) as conn:
        return conn.makefile().read()


def test_an_order_waiting_on_a_slow_inventory_lets_the_front_send_one_more(orders_with_agent, live):
    base, agent = orders_with_agent
    assert told(agent) == "maxconn:6\n"  # LAYOUTS["orders"].at_once
    live.create_product("AGENT-1", 10)
    slow = {"delay_ms": 3000, "method": "PUT", "path": "/api/v1/reservations/*"}
    with gremlin(f"http://127.0.0.1:{live.inventory_port}", "slow", kind="latency", **slow):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            placed = []

            def one_held():
                # Each inventory worker reads the gremlins again within half a second: until
                # one has, an order passes unheld, so place them one at a time until one waits.
                if not placed or placed[-1].done():
                    placed.append(pool.submit(place, base))
                return told(agent) == "maxconn:7\n"

            wait_until(one_held, timeout_s=10)
            assert placed[-1].result().status_code in (201, 202)
        wait_until(lambda: told(agent) == "maxconn:6\n", timeout_s=10)
