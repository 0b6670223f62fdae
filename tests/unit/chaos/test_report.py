"""The printed chaos report says which invariants were checked and how orders were answered."""

import io

from lab.chaos.report import print_table
from lab.chaos.scenario import Timeline, first_answers, judge
from lab.invariants import Observed


def report(invariants):
    return {
        "scenario": "demo",
        "passed": not any(invariants.values()),
        "invariants": invariants,
        "first_answers": {
            "definite": 9,
            "pending": 1,
            "definite_share": 0.9,
            "asked_while_inventory_down": 0,
            "definite_share_while_up": 0.9,
        },
        "confirmed_per_s": 50.0,
        "target_results": {"definite_share": {"want": 0.95, "got": 0.9, "met": False}},
        "orders_by_status": {"CONFIRMED": 9},
        "client_status_codes": {"201": 9, "202": 1},
        "latency_ms": {"p50": 1, "p95": 2, "p99": 3, "max": 4},
        "gremlins": {},
        "affected_orders": {},
        "retries": 0,
        "breaker_openings": 0,
        "drain_s": 0.1,
    }


def test_every_invariant_is_named_with_its_result():
    out = io.StringIO()

    print_table([report({"stock adds up": [], "no 5xx": ["order service answered 500"]})], out)

    said = out.getvalue()
    assert "demo: invariants: stock adds up ok, no 5xx FAILED" in said
    assert "VIOLATION no 5xx: order service answered 500" in said
    assert "90% (9:1)" in said
    assert "demo: target definite_share >= 95%: 90% MISSED" in said


def test_the_first_answer_per_key_decides_definite_or_pending():
    observed = Observed()
    observed.record("a", 202, {})
    observed.record("a", 201, {})  # a retry of a: not a first answer
    observed.record("b", 422, {})
    observed.record("c", 201, {})

    timeline = Timeline(first_asked={"a": 1.0, "b": 2.0, "c": 3.0})

    answers = first_answers(observed, timeline)

    assert (answers["definite"], answers["pending"], answers["definite_share"]) == (2, 1, 0.667)


def test_orders_asked_for_while_inventory_was_down_are_judged_apart():
    observed = Observed()
    for key, status in (("before", 201), ("during", 202), ("after", 422)):
        observed.record(key, status, {})
    timeline = Timeline(
        first_asked={"before": 1.0, "during": 5.0, "after": 9.0}, outages=[[4.0, 6.0]]
    )

    answers = first_answers(observed, timeline)

    assert answers["definite_share"] == 0.667
    assert answers["asked_while_inventory_down"] == 1
    assert answers["definite_share_while_up"] == 1.0


def test_targets_are_judged_against_the_baseline_of_the_same_run():
    storm = {
        "targets": {"definite_share": 0.9, "confirmed_rate": 0.5},
        "first_answers": {"definite_share_while_up": 0.93},
        "confirmed_per_s": 40.0,
    }

    judged = judge(storm, {"confirmed_per_s": 100.0})

    assert judged["definite_share"] == {"want": 0.9, "got": 0.93, "gates": True, "met": True}
    assert judged["confirmed_rate"] == {"want": 0.5, "got": 0.4, "gates": False, "met": False}
    assert judge(storm, None)["confirmed_rate"]["got"] is None
