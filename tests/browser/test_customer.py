import uuid

from playwright.sync_api import expect

from lab import processes
from tests.browser.pages import (
    log_in,
    log_out,
    order_status,
    overflows,
    place_order,
    sign_up,
    unlabelled_controls,
)

PASSWORD = "a-good-password-1"


def test_a_new_customer_signs_up_logs_in_and_sees_an_order_confirmed(page, live, shoot):
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/signup")
    shoot(page, "signup")
    sign_up(page, email, PASSWORD)
    log_out(page)
    shoot(page, "login")
    log_in(page, email, PASSWORD)

    page.goto("/orders/new")
    shoot(page, "new-order")
    order_id = place_order(page, [("CONSOLE-1", 3)])

    expect(order_status(page)).to_have_text("CONFIRMED")
    expect(page.get_by_role("status")).to_contain_text("Order confirmed")
    # Three at the price inventory reserved them at (12.50 EUR), added up by the service.
    expect(page.locator("#order-panel [data-total]")).to_have_text("€37.50")
    shoot(page, "order-confirmed")
    assert live.order(order_id)["status"] == "CONFIRMED"
    assert live.product("CONSOLE-1")["reserved"] == 3

    page.goto("/orders")
    row = page.locator(f"tr[data-order-id='{order_id}']")
    expect(row.locator("[data-status]")).to_have_text("CONFIRMED")
    expect(row.locator("[data-total]")).to_have_text("€37.50")
    shoot(page, "my-orders")


def test_a_customer_pays_on_the_providers_page_and_the_order_turns_paid(page, live, shoot):
    sign_up(page, f"payer-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
    order_id = place_order(page, [("CONSOLE-1", 2)])
    expect(order_status(page)).to_have_text("CONFIRMED")

    page.get_by_role("button", name=f"Pay order {order_id[:8]}").click()

    # The provider's hosted page, then back to the console, which follows the order.
    expect(page.get_by_test_id("amount")).to_have_text("€25.00")
    shoot(page, "pay-page")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(order_status(page)).to_have_text("PAID", timeout=15000)
    shoot(page, "order-paid")
    assert live.order(order_id)["status"] == "PAID"
    history = [h["status"] for h in live.order(order_id)["history"]]
    assert history == ["PENDING", "CONFIRMED", "PAID"]


def test_an_order_of_several_lines_and_a_cancel_from_the_orders_page(page, live):
    live.create_product("CONSOLE-2", 10)
    sign_up(page, f"lines-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
    order_id = place_order(page, [("CONSOLE-1", 2), ("CONSOLE-2", 4)])
    expect(order_status(page)).to_have_text("CONFIRMED")
    assert [i["quantity"] for i in live.order(order_id)["items"]] == [2, 4]

    page.goto("/orders")
    page.get_by_role("button", name=f"Cancel order {order_id[:8]}").click()
    expect(page.locator(f"tr[data-order-id='{order_id}'] [data-status]")).to_have_text("CANCELLED")
    # The release reaches inventory at once or through the reconciler a moment later.
    processes.poll(
        lambda: live.product("CONSOLE-2")["reserved"] == 0, timeout_s=15, what="stock released"
    )


def test_too_little_stock_is_a_rejection_shown_with_what_is_available(page, live):
    sign_up(page, f"short-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
    place_order(page, [("CONSOLE-1", 500)])
    expect(order_status(page)).to_have_text("REJECTED")
    expect(page.locator("#order-panel")).to_contain_text("CONSOLE-1: asked 500, available 100")


def test_a_mistake_in_the_form_is_explained_beside_its_line_and_nothing_is_placed(page, live):
    sign_up(page, f"typo-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
    page.goto("/orders/new")
    page.locator("#sku-0").fill("not a sku!")
    page.locator("#quantity-0").fill("1")
    page.get_by_role("button", name="Place the order").click()
    expect(page.get_by_role("alert")).to_contain_text("The request is invalid")
    expect(page.locator("li.line").first.locator(".field-error")).to_be_visible()
    assert live.http.get(f"{live.orders}/orders", headers=live.auth()).json()["items"] == []


def test_the_token_never_reaches_the_page_and_the_cookie_is_http_only(page, live):
    sign_up(page, f"cookie-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
    cookie = next(c for c in page.context.cookies() if c["name"] == "console_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("() => document.cookie") == ""  # invisible to scripts
    for path in ("/orders", "/orders/new"):
        page.goto(path)
        assert "eyJ" not in page.content()  # the start of every JWT


def test_every_control_has_a_label_and_pages_fit_a_narrow_phone(page, live, shoot):
    sign_up(page, f"narrow-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
    place_order(page, [("CONSOLE-1", 1)])
    page.set_viewport_size({"width": 360, "height": 740})
    for path, name in (("/orders/new", "new-order-360px"), ("/orders", "my-orders-360px")):
        page.goto(path)
        assert unlabelled_controls(page) == []
        assert not overflows(page)
        shoot(page, name)


def test_the_order_form_works_from_the_keyboard(page, live):
    sign_up(page, f"keys-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
    page.goto("/orders/new")
    page.locator("#sku-0").focus()
    page.keyboard.type("CONSOLE-1")
    page.keyboard.press("Tab")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(order_status(page)).to_have_text("CONFIRMED")


def test_an_order_with_a_shipping_address_and_a_wrong_country_explained_beside_it(page, live):
    sign_up(page, f"ships-{uuid.uuid4().hex[:8]}@example.com", PASSWORD)
    page.goto("/orders/new")
    page.locator("#sku-0").fill("CONSOLE-1")
    page.locator("#quantity-0").fill("1")
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("12 St James's Square")
    page.get_by_label("City").fill("London")
    page.get_by_label("Postal code").fill("SW1Y 4JH")
    page.get_by_label("Country (two letters, such as GB)").fill("ZZ")
    page.get_by_role("button", name="Place the order").click()
    expect(page.locator("#address .field-error")).to_contain_text("ISO 3166-1")
    assert page.url.endswith("/orders/new")  # refused before anything was recorded: the form

    page.get_by_label("Country (two letters, such as GB)").fill("gb")
    page.get_by_role("button", name="Place the order").click()
    page.wait_for_url("**/orders/*-*")
    expect(page.locator("[data-address]")).to_have_text(
        "Ships to: Ada Lovelace, 12 St James's Square, SW1Y 4JH London, GB"
    )
    order_id = page.url.rsplit("/", 1)[1]
    assert live.order(order_id)["shipping_address"]["country"] == "GB"
