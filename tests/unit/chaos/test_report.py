"""The printed chaos report says which invariants were checked and how orders were answered."""

import io

from chaos.runner.report import print_table
from chaos.runner.scenario import first_answers
from lab.invariants import Observed


def report(invariants):
    return {
        "scenario": "demo",
        "passed": not any(invariants.values()),
        "invariants": invariants,
        "first_answers": {"definite": 9, "pending": 1, "definite_share": 0.9},
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


def test_the_first_answer_per_key_decides_definite_or_pending():
    observed = Observed()
    observed.record("a", 202, {})
    observed.record("a", 201, {})  # a retry of a: not a first answer
    observed.record("b", 422, {})
    observed.record("c", 201, {})

    assert first_answers(observed) == {"definite": 2, "pending": 1, "definite_share": 0.667}
