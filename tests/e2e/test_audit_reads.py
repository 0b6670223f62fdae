"""What the audit reads, through the real services: every order with the service identity,
inventory's reservations and stock check; and nobody else may read them."""

import uuid
from datetime import UTC, datetime

from shared.auth import Role


def _service(live, audience):
    return live.auth("order-audit", Role.SERVICE, audience)


def test_the_service_identity_reads_every_order_and_changes_none(live):
    live.create_product("AUDIT-1", 10)
    mine = live.place("c-1", [("AUDIT-1", 1)]).json()["id"]
    theirs = live.place("c-2", [("AUDIT-1", 2)]).json()["id"]
    service = _service(live, live.settings.auth_audience)

    listed = live.http.get(f"{live.orders}/orders", headers=service, timeout=10).json()["items"]
    assert {o["id"] for o in listed} == {mine, theirs}
    one = live.http.get(f"{live.orders}/orders/{theirs}", headers=service, timeout=10)
    assert one.json()["customer_id"] == "c-2"
    for action in ("cancel", "ship"):
        refused = live.http.post(
            f"{live.orders}/orders/{mine}/{action}", headers=service, timeout=10
        )
        assert refused.status_code == 403, action
    placed = live.http.post(
        f"{live.orders}/orders",
        json={"items": [{"sku": "AUDIT-1", "quantity": 1}]},
        headers=service,
        timeout=10,
    )
    assert placed.status_code == 403
    # A service token meant for inventory is no key to the order service.
    other = live.http.get(f"{live.orders}/orders", headers=_service(live, "inventory"), timeout=10)
    assert other.status_code == 401


def test_inventory_lists_reservations_by_status_and_age_page_by_page(live):
    live.create_product("AUDIT-2", 100)
    placed = [live.place(f"c-{i}", [("AUDIT-2", i + 1)]).json()["id"] for i in range(5)]
    assert live.act(placed[0], "cancel").status_code == 200
    service = _service(live, "inventory")
    url = f"{live.inventory}/reservations"

    seen, after = [], None
    while True:
        page = live.http.get(
            url,
            params={"limit": 2, **({"after": after} if after else {})},
            headers=service,
            timeout=10,
        ).json()
        seen += page["items"]
        after = page["next_after"]
        if not after:
            break
    assert [r["id"] for r in seen] == sorted(placed)
    by_id = {r["id"]: r for r in seen}
    assert [(ln["sku"], ln["quantity"]) for ln in by_id[placed[3]]["lines"]] == [("AUDIT-2", 4)]

    reserved = live.http.get(url, params={"status": "RESERVED"}, headers=service, timeout=10)
    assert {r["id"] for r in reserved.json()["items"]} == set(placed[1:])
    later = datetime.now(UTC).isoformat()
    recent = live.http.get(url, params={"updated_since": later}, headers=service, timeout=10)
    assert recent.json()["items"] == []
    bad = live.http.get(url, params={"status": "LOST"}, headers=service, timeout=10)
    assert bad.status_code == 400
    assert "status" in bad.json()["error"]["details"]["fields"]


def test_the_stock_check_sets_each_product_beside_its_ledger_and_reservations(live):
    live.create_product("AUDIT-3", 20)
    order = live.place("c-1", [("AUDIT-3", 5)]).json()["id"]
    assert live.act(order, "ship").status_code == 200
    live.place("c-2", [("AUDIT-3", 4)])
    check = live.http.get(
        f"{live.inventory}/stock/check", headers=_service(live, "inventory"), timeout=10
    ).json()["items"]
    assert check == [
        {
            "sku": "AUDIT-3",
            "on_hand": 15,
            "reserved": 4,
            "ledger_on_hand": 15,
            "ledger_reserved": 4,
            "ledger_received": 20,
            "held_by_reservations": 4,
            "shipped_by_reservations": 5,
        }
    ]


def test_a_customer_reads_neither_reservations_nor_the_stock_check(live):
    customer = live.auth(f"c-{uuid.uuid4().hex[:6]}", Role.CUSTOMER)
    for path in ("/reservations", "/stock/check"):
        answer = live.http.get(f"{live.inventory}{path}", headers=customer, timeout=10)
        assert answer.status_code == 403, path


def test_the_last_audit_run_is_on_the_order_services_metrics(live, orders_engine):
    from functools import partial

    from order_service.audit.drift import Finding, Invariant, Repair
    from order_service.audit.records import record_run
    from order_service.audit.run import Outcome, Report
    from order_service.repository import UnitOfWork

    report = Report(datetime(2026, 11, 22, 10, 0, tzinfo=UTC), repair=True)
    lost = Finding(Invariant.CONFIRMED_WITHOUT_RESERVATION, "o-1", "", Repair.RESERVE)
    report.findings += [(lost, Outcome.REPAIRED), (lost, Outcome.REPAIRED), (lost, Outcome.FLAGGED)]
    report.finished_at = datetime(2026, 11, 22, 10, 0, 5, tzinfo=UTC)
    record_run(partial(UnitOfWork, orders_engine), report)

    text = live.http.get(f"http://127.0.0.1:{live.order_port}/metrics", timeout=10).text
    series = 'orders_audit_findings{invariant="confirmed_without_reservation",outcome="%s"}'
    assert f"{series % 'repaired'} 2.0" in text
    assert f"{series % 'flagged'} 1.0" in text
    assert f"{series % 'open'} 0.0" in text
    [last] = [ln for ln in text.splitlines() if ln.startswith("orders_audit_last_run_timestamp")]
    assert float(last.split()[1]) == report.finished_at.timestamp()
