"""The webhook endpoint and its inbox: what is refused, what is kept once, what dies, and what
a person does with the dead."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text

from shared import signing
from shared.auth import Role
from tests.helpers import run_threads, wait_until


def _event(event_id: str, kind: str, payment_id: str, amount: int = 100) -> bytes:
    obj = {"id": payment_id, "amount_cents": amount, "currency": "EUR", "status": "succeeded"}
    doc = {"id": event_id, "type": kind, "created": int(time.time()), "data": {"object": obj}}
    return json.dumps(doc).encode()


def _post(live, body: bytes, header: str | None):
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[signing.HEADER] = header
    return live.http.post(f"{live.orders}/payments/webhook", data=body, headers=headers, timeout=10)


def _signed(live, body: bytes, at: float | None = None) -> str:
    return signing.header(live.settings.webhook_secrets, int(at or time.time()), body)


def _kept(engine, event_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM payment_events WHERE id = :id"), {"id": event_id}
        ).scalar_one()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "t=1,sha256=00",
        "forged",
        "expired",
        "altered",
    ],
)
def test_an_unverified_webhook_is_refused_and_nothing_is_kept(live, orders_engine, header):
    body = _event("evt_refused", "payment_intent.succeeded", "pi_x")
    value = {
        "forged": signing.header(["not-the-secret"], int(time.time()), body),
        "expired": _signed(live, body, at=time.time() - 3600),
        "altered": _signed(live, body.replace(b"pi_x", b"pi_y")),
    }.get(header or "", header)

    refused = _post(live, body, value)

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert _kept(orders_engine, "evt_refused") == 0


def test_a_replayed_event_is_kept_once(live, orders_engine):
    body = _event("evt_twice", "payment_intent.payment_failed", "pi_unknown")

    first = _post(live, body, _signed(live, body))
    second = _post(live, body, _signed(live, body))

    assert (first.status_code, first.json()) == (200, {"received": True, "duplicate": False})
    assert (second.status_code, second.json()["duplicate"]) == (200, True)
    assert _kept(orders_engine, "evt_twice") == 1


def test_two_deliveries_of_one_event_at_once_keep_it_once(live, orders_engine):
    body = _event("evt_race", "payment_intent.payment_failed", "pi_unknown")
    header = _signed(live, body)

    results, errors = run_threads(4, lambda _: _post(live, body, header))

    assert not errors and {r.status_code for r in results} == {200}
    assert sorted(r.json()["duplicate"] for r in results) == [False, True, True, True]
    assert _kept(orders_engine, "evt_race") == 1


def _dead(live) -> list[dict]:
    response = live.http.get(
        f"{live.orders}/payments/dead-letters", headers=live.auth(), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_an_event_that_keeps_failing_is_dead_and_a_person_replays_or_discards_it(
    live, orders_engine
):
    body = _event("evt_orphan", "payment_intent.succeeded", "pi_nobody_knows")
    assert _post(live, body, _signed(live, body)).status_code == 200

    dead = wait_until(lambda: [e for e in _dead(live) if e["id"] == "evt_orphan"], timeout_s=20)

    assert dead[0]["attempts"] == 3
    assert "no payment pi_nobody_knows" in dead[0]["last_error"]
    customer = live.http.get(
        f"{live.orders}/payments/dead-letters",
        headers=live.auth("c-1", Role.CUSTOMER),
        timeout=10,
    )
    assert customer.status_code == 403

    replayed = live.http.post(
        f"{live.orders}/payments/dead-letters/evt_orphan/replay", headers=live.auth(), timeout=10
    )
    assert replayed.status_code == 200
    # Back in the inbox, it fails its three tries again and is dead again.
    wait_until(lambda: [e for e in _dead(live) if e["id"] == "evt_orphan"], timeout_s=20)
    discarded = live.http.post(
        f"{live.orders}/payments/dead-letters/evt_orphan/discard", headers=live.auth(), timeout=10
    )
    assert discarded.status_code == 200 and discarded.json()["items"] == []
    with orders_engine.connect() as conn:
        row = conn.execute(
            text("SELECT resolution, resolved_by FROM payment_events WHERE id = 'evt_orphan'")
        ).one()
    assert row.resolution == "discarded" and row.resolved_by.startswith("admin:")
    again = live.http.post(
        f"{live.orders}/payments/dead-letters/evt_orphan/discard", headers=live.auth(), timeout=10
    )
    assert again.status_code == 404


def test_a_failure_after_the_success_changes_nothing(live, orders_engine):
    live.create_product("WH-A", 5, price_cents=500)
    order_id = live.place("c-wh", [("WH-A", 1)]).json()["id"]
    payment = live.pay(order_id)
    wait_until(lambda: live.order(order_id)["status"] == "PAID", timeout_s=15)

    late = _event("evt_late_failure", "payment_intent.payment_failed", payment["payment_id"], 500)
    assert _post(live, late, _signed(live, late)).status_code == 200

    def processed() -> bool:
        with orders_engine.connect() as conn:
            return bool(
                conn.execute(
                    text("SELECT processed_at IS NOT NULL FROM payment_events WHERE id = :id"),
                    {"id": "evt_late_failure"},
                ).scalar()
            )

    wait_until(processed, timeout_s=10)
    answer = live.http.get(
        f"{live.orders}/orders/{order_id}/payments", headers=live.auth(), timeout=10
    ).json()
    assert (answer["status"], answer["declines"]) == ("captured", 0)
    assert live.order(order_id)["status"] == "PAID"
