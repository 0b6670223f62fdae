"""The stack's floor the bench compares against does the pattern's work, on real processes.

A floor that skipped a write or the HTTP hop would make every feature look more expensive than
it is; this checks what each of its orders leaves behind.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import requests

from lab.bench.floor import FloorSide


def test_each_floor_order_is_stored_reserved_over_http_and_confirmed(tmp_path: Path) -> None:
    with FloorSide(tmp_path) as floor:
        url = f"http://127.0.0.1:{floor.port}/api/v1/orders"
        body = '{"customer_id": "bench", "items": [{"sku": "BENCH-1", "quantity": 1}]}'
        with requests.Session() as client:
            answers = [
                client.post(
                    url, data=body, headers={"Content-Type": "application/json"}, timeout=10
                )
                for _ in range(5)
            ]
        groups = floor.groups()

        def rows(database: str, sql: str) -> list[tuple[object, ...]]:
            with psycopg.connect(floor.cluster.admin_conninfo(database)) as conn:
                return conn.execute(sql).fetchall()

        orders = rows(
            "floor_orders", "SELECT id::text, status, body->>'customer_id' FROM floor_orders"
        )
        reservations = rows("floor_inventory", "SELECT id::text FROM floor_reservations")

    assert [a.status_code for a in answers] == [201] * 5
    placed = {a.json()["id"] for a in answers}
    assert {(oid, "CONFIRMED", "bench") for oid in placed} == set(orders)
    assert {(oid,) for oid in placed} == set(reservations)  # each reserved through inventory
    # What the bench reads CPU from: each app's master with its workers, and the server.
    assert set(groups) == {"orders", "inventory", "postgres"}
    assert all(len(pids) > 1 for pids in groups.values())
