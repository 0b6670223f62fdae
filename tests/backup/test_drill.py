"""The restore drill, end to end on real processes and a real archiving PostgreSQL cluster:
load, back up, more load, restore inventory to the backup, audit the drift, repair it.

Also: a point-in-time restore between two known orders, and restores that must be refused
(a damaged or missing backup, a time the archive does not cover) without changing anything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from lab.backups import Backups, RestoreRefused
from lab.invariants import drain
from lab.postgres import Database, LocalCluster, free_port, provision, scratch_dir
from lab.system import System
from shared.auth import Role
from shared.config import Settings
from shared.db import make_engine
from shared.migrate import upgrade

ORDERS = Database("drill_orders", "drill_orders", "drill-orders-pw")
INVENTORY = Database("drill_inventory", "drill_inventory", "drill-inventory-pw")
# The payment provider the audit reads too (it checks paid and closed orders against it).
PAYMENTS = Database("drill_payments", "drill_payments", "drill-payments-pw")


@dataclass
class Drill:
    cluster: LocalCluster
    backups: Backups
    system: System
    orders_engine: Engine

    def restore(self, at: datetime | None = None) -> dict[str, float]:
        return self.backups.restore(
            "inventory",
            INVENTORY,
            at,
            stop=lambda: self.system.stop("inventory"),
            start=lambda: self.system.start("inventory"),
        )

    def audit(self, *args: str) -> tuple[int, dict[str, Any]]:
        """``python -m order_service.audit --json``, as ``make audit`` runs it."""
        env = {
            **self.system.process_env("reconciler"),
            "ORDER_URL": f"http://127.0.0.1:{self.system.order_port}",
            "AUDIT_SETTLE_S": "0",
        }
        done = subprocess.run(
            [sys.executable, "-m", "order_service.audit", "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)

    def confirmed(self, sku: str, quantity: int) -> str:
        answer = self.system.place(
            f"c-{uuid.uuid4().hex[:6]}", [(sku, quantity)], key=str(uuid.uuid4())
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def reservation(self, order_id: str) -> int:
        return self.system.http.get(
            f"{self.system.inventory}/reservations/{order_id}",
            headers=self.system.auth("drill", Role.ADMIN),
            timeout=10,
        ).status_code

    def server_now(self) -> datetime:
        with psycopg.connect(self.cluster.admin_conninfo()) as conn:
            row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def drill() -> Iterator[Drill]:
    root = scratch_dir("restore-drill-")
    cluster = LocalCluster(root / "pg", free_port(), archive=root / "backups" / "wal")
    cluster.start()
    try:
        provision(cluster.admin_conninfo(), [ORDERS, INVENTORY, PAYMENTS])
        host, port = "127.0.0.1", cluster.port
        settings = Settings(
            app_env="test",
            orders_database_url=ORDERS.url(host, port),
            inventory_database_url=INVENTORY.url(host, port),
            orders_owner_database_url=ORDERS.owner_url(host, port),
            inventory_owner_database_url=INVENTORY.owner_url(host, port),
            payments_provider_database_url=PAYMENTS.owner_url(host, port),
            log_level="WARNING",
        )
        upgrade("orders", settings.owner_database_url("orders"))
        upgrade("inventory", settings.owner_database_url("inventory"))
        engine = make_engine(settings.database_url("orders"), settings, application_name="drill")
        system = System(settings, root / "logs")
        with system.started(("payments", "inventory", "orders", "reconciler")):
            yield Drill(cluster, Backups(root / "backups", cluster, keep=2), system, engine)
        engine.dispose()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def _findings(report: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in report["findings"]:
        found.setdefault(f["invariant"], set()).add(f["subject"])
    return found


def _outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {f["subject"]: f["outcome"] for f in report["findings"]}


def test_the_restore_drill_finds_exactly_the_orders_after_the_backup_and_repairs_them(drill):
    system = drill.system
    system.create_product("DRILL-A", 100)
    system.create_product("DRILL-B", 5)
    before = [drill.confirmed("DRILL-A", 2) for _ in range(4)]
    assert drill.audit()[0] == 0

    drill.backups.take()

    after = [drill.confirmed("DRILL-A", 3) for _ in range(3)]
    scarce = drill.confirmed("DRILL-B", 4)
    assert system.act(after[0], "ship").status_code == 200
    assert system.act(before[0], "cancel").status_code == 200
    drain(drill.orders_engine)

    drill.restore()
    # Inventory is back at the backup: it forgot the later reserves, the ship and the cancel.
    assert [drill.reservation(o) for o in [*after, scarce]] == [404] * 4
    assert system.product("DRILL-A")["reserved"] == 8
    # Meanwhile someone takes B's stock: the forgotten order for 4 can no longer be reserved.
    drill.confirmed("DRILL-B", 3)

    status, report = drill.audit()
    assert status == 1
    assert _findings(report) == {
        "confirmed_without_reservation": {after[1], after[2], scarce},
        "shipped_not_committed": {after[0]},
        "reserved_for_closed_order": {before[0]},
    }

    status, repaired = drill.audit("--repair")
    assert status == 1  # one is left to a person
    assert _outcomes(repaired) == {
        after[0]: "repaired",
        after[1]: "repaired",
        after[2]: "repaired",
        before[0]: "repaired",
        scarce: "flagged",
    }
    flagged = system.order(scarce)
    assert flagged["status"] == "CONFIRMED"  # never silently changed
    assert "stock short" in flagged["attention"]["reason"]

    status, left = drill.audit()
    assert _findings(left) == {"confirmed_without_reservation": {scarce}}
    a, b = system.product("DRILL-A"), system.product("DRILL-B")
    assert (a["on_hand"], a["reserved"]) == (97, 3 * 2 + 2 * 3)  # a shipped 3; 3 + 2 hold
    assert (b["on_hand"], b["reserved"]) == (5, 3)


def test_a_point_in_time_restore_keeps_the_first_order_and_not_the_second(drill):
    drill.system.create_product("DRILL-PITR", 50)
    drill.backups.take()
    first = drill.confirmed("DRILL-PITR", 1)
    between = drill.server_now()
    second = drill.confirmed("DRILL-PITR", 2)

    drill.restore(at=between)

    assert (drill.reservation(first), drill.reservation(second)) == (200, 404)
    assert drill.system.product("DRILL-PITR")["reserved"] == 1


def test_a_time_outside_the_archive_is_refused_and_nothing_changes(drill):
    drill.system.create_product("DRILL-OUT", 10)
    kept = drill.confirmed("DRILL-OUT", 1)
    for at in (datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1)):
        with pytest.raises(RestoreRefused, match="outside what the backups cover"):
            drill.restore(at=at)
    assert drill.reservation(kept) == 200


def test_a_damaged_backup_is_refused_and_nothing_is_overwritten(drill):
    drill.system.create_product("DRILL-BAD", 10)
    backup = drill.backups.take()
    kept = drill.confirmed("DRILL-BAD", 1)
    victim = max((backup.path / "base").rglob("*"), key=lambda p: p.stat().st_size)
    with victim.open("r+b") as damaged:
        damaged.seek(100)
        damaged.write(os.urandom(64))

    with pytest.raises(RestoreRefused, match="damaged"):
        drill.restore()
    assert drill.reservation(kept) == 200
    assert drill.system.product("DRILL-BAD")["reserved"] == 1


def test_a_missing_backup_is_refused_and_nothing_is_overwritten(drill):
    drill.system.create_product("DRILL-GONE", 10)
    backup = drill.backups.take()
    kept = drill.confirmed("DRILL-GONE", 1)
    shutil.rmtree(backup.path)

    with pytest.raises(RestoreRefused, match="incomplete"):
        drill.restore()
    assert drill.reservation(kept) == 200
    empty = Backups(drill.backups.root / "nowhere", drill.cluster)
    with pytest.raises(RestoreRefused, match="no backup"):
        empty.choose(None)
