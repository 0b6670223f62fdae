"""The order flow through real gunicorn processes over HTTP, stock checked in the inventory API."""

import uuid
from datetime import datetime

from shared.auth import Role


def test_an_order_is_confirmed_and_reserves_stock(live):
    live.create_product("E2E-A", 10)

    response = live.place("c-1", [("E2E-A", 3)])

    assert response.status_code == 201
    assert response.json()["status"] == "CONFIRMED"
    assert response.headers["Location"] == f"/api/v1/orders/{response.json()['id']}"
    assert (live.product("E2E-A")["reserved"], live.product("E2E-A")["available"]) == (3, 7)


def test_cancel_releases_and_ship_deducts_for_good(live):
    live.create_product("E2E-A", 10)
    cancelled = live.place("c-1", [("E2E-A", 2)]).json()["id"]
    shipped = live.place("c-1", [("E2E-A", 5)]).json()["id"]

    assert live.act(cancelled, "cancel").json()["status"] == "CANCELLED"
    assert live.act(shipped, "ship").json()["status"] == "SHIPPED"
    assert live.act(shipped, "deliver").json()["status"] == "DELIVERED"

    product = live.product("E2E-A")
    assert (product["on_hand"], product["reserved"]) == (5, 0)
    history = [h["status"] for h in live.order(shipped)["history"]]
    assert history == ["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"]


def test_not_enough_stock_is_a_422_and_the_order_is_rejected(live):
    live.create_product("E2E-A", 1)

    response = live.place("c-1", [("E2E-A", 2)])

    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (422, "INSUFFICIENT_STOCK")
    assert error["details"]["shortages"] == [
        {"sku": "E2E-A", "requested": 2, "available": 1, "reason": "insufficient_stock"}
    ]
    assert live.order(error["details"]["order_id"])["status"] == "REJECTED"
    assert live.product("E2E-A")["reserved"] == 0


def test_a_retried_request_with_the_same_key_replays_the_first_answer(live):
    live.create_product("E2E-A", 10)
    first = live.place("c-1", [("E2E-A", 1)], key="retry-me")

    again = live.place("c-1", [("E2E-A", 1)], key="retry-me")
    other = live.place("c-1", [("E2E-A", 2)], key="retry-me")

    assert again.headers["Idempotent-Replayed"] == "true"
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert (other.status_code, other.json()["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert live.product("E2E-A")["reserved"] == 1


def test_an_illegal_transition_is_a_409(live):
    live.create_product("E2E-A", 10)
    order_id = live.place("c-1", [("E2E-A", 1)]).json()["id"]
    live.act(order_id, "cancel")

    response = live.act(order_id, "ship")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "INVALID_TRANSITION")


def test_an_unknown_order_is_a_404(live):
    response = live.act(str(uuid.uuid4()), "cancel")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "NOT_FOUND")


def test_orders_list_newest_first_with_a_cursor_and_filters(live):
    live.create_product("E2E-A", 100)
    ids = [live.place(f"c-{i % 2}", [("E2E-A", 1)]).json()["id"] for i in range(5)]

    pages, params = [], {"limit": 2}
    for _ in range(10):  # a cursor that never ends would fail here, not hang
        page = live.http.get(f"{live.orders}/orders", params=params, headers=live.auth()).json()
        pages.append(page["items"])
        if page["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": page["next_cursor"]}
    as_c1 = live.auth("c-1", Role.CUSTOMER)
    mine = live.http.get(f"{live.orders}/orders", headers=as_c1).json()

    listed = [o for page in pages for o in page]
    # Newest first by the server's own timestamps (ties broken by id), every order exactly once.
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(o["id"] for o in listed) == sorted(ids)
    keys = [(datetime.fromisoformat(o["created_at"]), o["id"]) for o in listed]
    assert keys == sorted(keys, reverse=True)
    assert {o["id"] for o in mine["items"]} == {ids[1], ids[3]}
    assert mine["next_cursor"] is None


def test_health_reports_ready_with_the_database_up(live):
    for base in (live.orders, live.inventory):
        root = base.removesuffix("/api/v1")
        assert live.http.get(f"{root}/health/live").json() == {"status": "ok"}
        assert live.http.get(f"{root}/health/ready").status_code == 200


def test_items_of_one_sku_are_one_line_stored_and_reserved_whole(live):
    live.create_product("MERGE-1", 5000)

    response = live.place("c-merge", [("MERGE-1", 1000), ("MERGE-1", 1000), ("MERGE-1", 73)])

    assert response.status_code == 201, response.text
    assert [(i["sku"], i["quantity"]) for i in response.json()["items"]] == [("MERGE-1", 2073)]
    assert live.product("MERGE-1")["reserved"] == 2073
