import json
import threading
import time
import uuid

from playwright.sync_api import expect

from lab import processes
from shared import signing
from tests.browser.conftest import ADMIN
from tests.browser.pages import log_in, order_status, place_order, sign_up

# Past the order service's read timeout (1 s here), on reserves only: placements wait until the
# reserve deadline (2 s here) and answer 202 PENDING. No longer than needed: every copy the
# order service and the reconciler send holds an inventory thread that long.
SLOW_RESERVES = {
    "kind": "latency",
    "delay_ms": "1500",
    "method": "PUT",
    "path": "/api/v1/reservations/*",
}
OTHER_CUSTOMERS = 6


def _add_gremlin(page, name, values):
    page.goto("/admin/gremlins")
    page.get_by_label("name", exact=True).fill(name)
    for field, value in values.items():
        control = page.locator(f"#g-{field}")
        if control.evaluate("el => el.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    page.get_by_role("button", name="Turn it on").click()
    expect(page.locator(f"tr[data-gremlin='{name}']")).to_be_visible()


def _slow_orders_from_other_customers(live, count):
    """Customers on the API at the same moment: each waits out the reserve deadline."""
    answers = []

    def one(i):
        answers.append(live.place(f"other-{i}", [("CONSOLE-1", 1)]).status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_a_slow_inventory_turns_the_light_red_and_orders_pending_then_all_settles(
    page, live, shoot
):
    try:
        log_in(page, *ADMIN)
        expect(page.locator("[data-light]")).to_have_attribute("data-light", "green")
        _add_gremlin(page, "slow-reserves", SLOW_RESERVES)
        shoot(page, "gremlins")

        assert set(_slow_orders_from_other_customers(live, OTHER_CUSTOMERS)) == {202}
        light = page.locator("[data-light]")
        expect(light).to_have_attribute("data-light", "red", timeout=15_000)
        expect(light).to_contain_text("SLOW")
        shoot(page, "status-strip-red")

        order_id = place_order(page, [("CONSOLE-1", 2)])
        expect(order_status(page)).to_have_text("PENDING")
        expect(page.get_by_role("status").first).to_contain_text("PENDING")
        shoot(page, "order-pending")

        page.goto("/admin/gremlins")
        page.get_by_role("button", name="Remove gremlin slow-reserves").click()
        expect(page.locator("#gremlin-rows")).to_contain_text("No gremlin is on.")
        page.goto(f"/orders/{order_id}")
        expect(order_status(page)).to_have_text("CONFIRMED", timeout=30_000)
        shoot(page, "order-settled")
        # Every order placed meanwhile settles too, and the slow answers leave the 30 s window.
        expect(page.locator("[data-pending]")).to_have_text("0", timeout=30_000)
        expect(page.locator("[data-light]")).to_have_attribute(
            "data-light", "green", timeout=60_000
        )
        orders = live.http.get(f"{live.orders}/orders", headers=live.auth(), timeout=5).json()[
            "items"
        ]
        assert [o["status"] for o in orders] == ["CONFIRMED"] * (OTHER_CUSTOMERS + 1)
        assert live.product("CONSOLE-1")["reserved"] == OTHER_CUSTOMERS + 2
    finally:
        # Copies of those reserves that met the gremlin just before it went are still asleep in
        # inventory; a graceful restart lets them finish before the tables are emptied for the
        # next test (as the chaos runner does between scenarios), even when this test failed.
        live.http.delete(f"http://127.0.0.1:{live.inventory_port}/chaos", headers=live.auth())
        live.stop("inventory")
        live.start("inventory")


def test_an_admin_ships_and_delivers_from_the_orders_page_and_watches_stock(page, live, shoot):
    placed = live.place("customer-a", [("CONSOLE-1", 5)], key=str(uuid.uuid4())).json()
    log_in(page, *ADMIN)
    page.goto("/admin/stock")
    row = page.locator("tr[data-sku='CONSOLE-1']")
    expect(row.locator("[data-reserved]")).to_have_text("5")
    expect(row.locator("[data-price]")).to_have_text("€12.50")
    shoot(page, "stock")

    page.goto("/orders")
    shoot(page, "all-orders")
    # It has a price: it ships once paid.
    expect(page.get_by_role("button", name=f"Ship order {placed['id'][:8]}")).to_have_count(0)
    live.pay(placed["id"])
    processes.poll(
        lambda: live.order(placed["id"])["status"] == "PAID", timeout_s=15, what="order paid"
    )
    page.goto("/orders")
    page.get_by_role("button", name=f"Ship order {placed['id'][:8]}").click()
    expect(page.locator(f"tr[data-order-id='{placed['id']}'] [data-status]")).to_have_text(
        "SHIPPED"
    )
    page.get_by_role("button", name=f"Deliver order {placed['id'][:8]}").click()
    expect(page.locator(f"tr[data-order-id='{placed['id']}'] [data-status]")).to_have_text(
        "DELIVERED"
    )
    page.goto("/admin/stock")
    expect(row.locator("[data-on-hand]")).to_have_text("95")
    expect(row.locator("[data-reserved]")).to_have_text("0")


def test_stock_moves_on_the_stock_page_without_a_reload(page, live):
    log_in(page, *ADMIN)
    page.goto("/admin/stock")
    available = page.locator("tr[data-sku='CONSOLE-1'] [data-available]")
    expect(available).to_have_text("100")
    live.place("customer-b", [("CONSOLE-1", 7)])
    expect(available).to_have_text("93")


def test_a_customer_may_not_open_the_admin_pages(page, live):
    sign_up(page, f"c-{uuid.uuid4().hex[:8]}@example.com", "a-good-password-1")
    page.goto("/admin/gremlins")
    expect(page.get_by_role("status")).to_contain_text("That page is for admins.")
    expect(page.get_by_role("link", name="Gremlins")).to_have_count(0)


def test_an_admin_sees_a_dead_payment_event_and_discards_it(page, live, shoot):
    body = json.dumps(
        {
            "id": "evt_browser_dead",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": "pi_unknown", "amount_cents": 100, "currency": "EUR"}},
        }
    ).encode()
    header = signing.header(live.settings.webhook_secrets, int(time.time()), body)
    kept = live.http.post(
        f"{live.orders}/payments/webhook",
        data=body,
        headers={"Content-Type": "application/json", signing.HEADER: header},
        timeout=10,
    )
    assert kept.status_code == 200
    log_in(page, *ADMIN)

    def listed() -> bool:
        page.goto("/admin/payments/dead-letters")
        return page.locator("tr[data-event='evt_browser_dead']").count() == 1

    processes.poll(listed, timeout_s=20, what="the event in the dead-letter queue")
    expect(page.locator("tr[data-event='evt_browser_dead']")).to_contain_text(
        "no payment pi_unknown"
    )
    shoot(page, "dead-letters")
    page.get_by_role("button", name="Discard event evt_browser_dead").click()

    expect(page.get_by_role("status")).to_contain_text("discarded")
    expect(page.locator("[data-empty]")).to_be_visible()
