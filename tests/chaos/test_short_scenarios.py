"""Short versions of two chaos scenarios, so every `make test` keeps the guarantees honest.

The full set, at full size, runs with `make test-chaos`.
"""

import shutil

import pytest

from lab.chaos import all_scenarios, run_scenario
from lab.invariants import violations


def scenario(name):
    (found,) = all_scenarios([name], scale=0.25)
    return found


def test_crashes_after_commit_lose_nothing(
    chaos_system, orders_owner_engine, inventory_owner_engine
):
    report = run_scenario(
        chaos_system,
        orders_owner_engine,
        inventory_owner_engine,
        scenario("crashes_after_commit_10pct"),
    )

    assert violations(report["invariants"]) == []
    assert report["gremlins"]["crash-10pct"]["fired"] > 0
    assert "PENDING" not in report["orders_by_status"]
    assert report["orders_by_status"].get("REJECTED", 0) > 0  # scarce stock ran out


def test_inventory_stopped_mid_run_loses_nothing(
    chaos_system, orders_owner_engine, inventory_owner_engine
):
    report = run_scenario(
        chaos_system, orders_owner_engine, inventory_owner_engine, scenario("inventory_stopped")
    )

    assert violations(report["invariants"]) == []
    assert report["client_status_codes"].get("202", 0) > 0  # the outage was felt, as PENDING
    assert report["breaker_openings"] > 0


@pytest.mark.skipif(
    shutil.which("haproxy") is None or shutil.which("redis-server") is None,
    reason="haproxy and redis-server are needed (apt-get install haproxy redis-server)",
)
def test_instances_killed_behind_the_load_balancer_lose_nothing(
    chaos_system, orders_owner_engine, inventory_owner_engine
):
    report = run_scenario(
        chaos_system,
        orders_owner_engine,
        inventory_owner_engine,
        scenario("scale_instance_killed"),
    )

    assert violations(report["invariants"]) == []
    assert "no command sent by two reconcilers at once" in report["invariants"]
    assert report["layout"] == "2 x 2, 2 reconciler(s)"
    assert report["first_answers"]["definite_share_while_up"] >= 0.9
