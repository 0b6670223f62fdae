"""Faults with real processes: inventory stopped, the reconciler and a web worker killed.

After each, once the reconciler has drained, every invariant of the design must hold.
"""

import os
import signal
import threading

from sqlalchemy import text

from lab import processes
from lab.invariants import Observed, check_all, drain, violations
from tests.helpers import wait_until


def place_until_answered(live, observed, i):
    items = [("P-1", 1 + i % 3)] + ([("P-2", 1)] if i % 4 == 0 else [])
    return live.place_definite(f"key-{i}", f"c-{i % 5}", items, observed)[0]


def products(live):
    live.create_product("P-1", 40)
    live.create_product("P-2", 3)  # scarce: some orders must be rejected


def assert_invariants(orders_engine, inventory_engine, observed):
    drain(orders_engine, timeout_s=90)
    assert violations(check_all(orders_engine, inventory_engine, observed)) == []


def test_orders_taken_while_inventory_is_down_all_settle_when_it_returns(
    live, orders_engine, inventory_engine
):
    products(live)
    observed = Observed()
    for i in range(8):
        place_until_answered(live, observed, i)

    live.stop("inventory")
    during = [place_until_answered(live, observed, i) for i in range(8, 24)]
    live.start("inventory")
    for i in range(24, 32):
        place_until_answered(live, observed, i)
    for i in range(0, 32, 5):  # clients retrying: replays must equal the first answers
        place_until_answered(live, observed, i)

    assert {r.status_code for r in during} == {202}
    assert all(r.json()["status"] == "PENDING" for r in during)
    assert_invariants(orders_engine, inventory_engine, observed)


def test_a_reconciler_killed_while_it_works_loses_and_repeats_nothing(
    live, orders_engine, inventory_engine
):
    products(live)
    observed = Observed()
    live.stop("reconciler")
    live.stop("inventory")
    for i in range(30):
        place_until_answered(live, observed, i)
    live.start("inventory")
    live.start("reconciler")
    before = pending(orders_engine)
    wait_until(lambda: pending(orders_engine) < before)  # it has started on the backlog

    live.kill("reconciler")
    live.start("reconciler")

    assert before == 30
    assert_invariants(orders_engine, inventory_engine, observed)


def test_an_order_worker_killed_mid_request_loses_no_order(live, orders_engine, inventory_engine):
    products(live)
    observed = Observed()
    master = live.procs["orders"].pid

    def client(offset):
        for i in range(offset, 60, 6):
            place_until_answered(live, observed, i)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    wait_until(lambda: len(observed.statuses) >= 10)
    os.kill(processes.children(master)[0], signal.SIGKILL)
    for t in threads:
        t.join()

    assert len(observed.by_key) == 60
    assert_invariants(orders_engine, inventory_engine, observed)


def pending(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM orders WHERE status = 'PENDING'")).scalar()


def test_health_says_degraded_not_down_while_inventory_is_away(live):
    root = live.orders.removesuffix("/api/v1")
    assert live.http.get(f"{root}/health").json()["status"] == "ok"

    live.stop("inventory")
    health = live.http.get(f"{root}/health")

    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["checks"]["inventory"]["reachable"] is False
    assert health.json()["checks"]["database"]["status"] == "ok"


def test_the_reconciler_stops_cleanly_on_sigterm(live):
    proc = live.procs.pop("reconciler")

    proc.terminate()

    assert proc.wait(timeout=20) == 0
